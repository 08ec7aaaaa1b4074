"""BOLT 11 invoice strings: bech32 (no length limit) <-> `Invoice`."""

from __future__ import annotations

from reference_node.bitcoin import bech32
from reference_node.invoice.errors import (
    BadChecksumError,
    Bech32EncodingError,
    InvalidCharacterError,
    MixedCaseError,
    NoSeparatorError,
    TooShortError,
)
from reference_node.invoice.fields import FieldLengthRule, decode_fields
from reference_node.invoice.hrp import parse_hrp
from reference_node.invoice.invoice import TIMESTAMP_WORDS, Invoice, UnsignedInvoice, read_invoice
from reference_node.invoice.signature import SIGNATURE_WORDS, InvoiceSignature
from reference_node.invoice.words import words_to_int


def decode_invoice(text: str, length_rule: FieldLengthRule = FieldLengthRule.FAIL) -> Invoice:
    """Decode and check an invoice: bech32, human-readable part, tagged fields, signature.

    Raises an `InvoiceError` subclass naming what is wrong. Expiry is not checked here: call
    `Invoice.check_payable(now)` with an explicit `now`.
    """
    unsigned, signature = decode_unchecked(text, length_rule)
    return read_invoice(unsigned, signature)


def decode_unchecked(
    text: str, length_rule: FieldLengthRule = FieldLengthRule.FAIL
) -> tuple[UnsignedInvoice, InvoiceSignature]:
    """The bech32 and field layers only: no required-field, feature or signature checks."""
    # "MUST parse the address as Bech32, as specified in BIP-0173 (also without the character limit)."
    decoded = _bech32_decode(text)
    if decoded.encoding is not bech32.Encoding.BECH32:
        raise BadChecksumError("checksum is bech32m, not bech32")
    hrp = parse_hrp(decoded.hrp)
    words = decoded.data
    if len(words) < TIMESTAMP_WORDS + SIGNATURE_WORDS:
        raise TooShortError(
            f"data part of {len(words)} words cannot hold a timestamp and a {SIGNATURE_WORDS}-word signature"
        )
    timestamp = words_to_int(words[:TIMESTAMP_WORDS])
    fields = decode_fields(words[TIMESTAMP_WORDS:-SIGNATURE_WORDS], length_rule)
    signature = InvoiceSignature.from_words(words[-SIGNATURE_WORDS:])
    return UnsignedInvoice(hrp.currency, hrp.amount_msat, timestamp, fields), signature


def encode_invoice(invoice: Invoice, uppercase: bool = False) -> str:
    """The invoice string, from its signed fields ("SHOULD use upper case for QR codes")."""
    unsigned = invoice.unsigned
    words = (*unsigned.data_words(), *invoice.signature.to_words())
    text = bech32.bech32_encode(unsigned.hrp, words, bech32.Encoding.BECH32, max_length=None)
    return text.upper() if uppercase else text


def _bech32_decode(text: str) -> bech32.Bech32Decoded:
    try:
        return bech32.bech32_decode(text, max_length=None)
    except bech32.Bech32ChecksumError as exc:
        raise BadChecksumError(str(exc)) from exc
    except bech32.Bech32MixedCaseError as exc:
        raise MixedCaseError(str(exc)) from exc
    except bech32.Bech32SeparatorError as exc:
        raise NoSeparatorError(str(exc)) from exc
    except bech32.Bech32CharacterError as exc:
        raise InvalidCharacterError(str(exc)) from exc
    except bech32.Bech32Error as exc:
        raise Bech32EncodingError(str(exc)) from exc
