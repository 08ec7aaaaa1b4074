"""BOLT 11 examples (vectors/bolt11/, extracted from 11-payment-encoding.md by
scripts/extract_bolt11_vectors.py): valid invoices decode to the breakdown's fields and re-encode byte
for byte from those fields with the spec's private key; invalid ones fail with the named error class."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from coincurve import PrivateKey
from coincurve.utils import GROUP_ORDER_INT

from harness.vectors import VectorCase, VectorMismatch, expect_equal, load_json
from reference_node.bitcoin.bech32 import CHARSET, convertbits
from reference_node.invoice import errors
from reference_node.invoice.codec import decode_invoice, decode_unchecked, encode_invoice
from reference_node.invoice.fallback import FallbackAddress
from reference_node.invoice.fields import (
    Description,
    DescriptionHash,
    Expiry,
    Fallback,
    FeaturesField,
    FieldLengthRule,
    MinFinalCltvExpiryDelta,
    PayeeNodeId,
    PaymentHash,
    PaymentMetadata,
    PaymentSecret,
    RouteHint,
    SkippedField,
    SkipReason,
    TaggedField,
)
from reference_node.invoice.hrp import Currency
from reference_node.invoice.invoice import Invoice, UnsignedInvoice, read_invoice, sign_invoice
from reference_node.invoice.route_hint import RouteHintHop, scid_from_text
from reference_node.invoice.signature import InvoiceSignature
from reference_node.invoice.words import Words, words_to_bytes
from reference_node.wire.features import Features

BOLT = 11


def cases() -> Iterator[VectorCase]:
    valid = load_json("bolt11/valid.json")
    for index, example in enumerate(valid["examples"], start=1):
        yield VectorCase(BOLT, f"valid-{index:02d}", _valid_check(valid, example))
    invalid = load_json("bolt11/invalid.json")
    for index, example in enumerate(invalid["examples"], start=1):
        yield VectorCase(BOLT, f"invalid-{index:02d}", _invalid_check(example))


def _valid_check(data: dict[str, Any], example: dict[str, Any]) -> Any:
    def check() -> str:
        rule = FieldLengthRule(example.get("field_length_rule", "fail"))
        invoice = decode_invoice(example["invoice"], rule)
        if rule is FieldLengthRule.SKIP:
            _expect_error(example["invoice"], errors.WrongFieldLengthError)
        expected_fields = tuple(_field(field) for field in _in_string_order(example))
        _check_decoded(invoice, example, expected_fields, data)
        _check_reencoded(invoice, example, expected_fields, data)
        return f"{example['title'][:60]}: decoded and re-encoded byte for byte"

    return check


def _check_decoded(
    invoice: Invoice, example: dict[str, Any], expected_fields: tuple[TaggedField, ...], data: dict[str, Any]
) -> None:
    expect_equal("prefix", "ln" + invoice.currency.value, example["prefix"].lower())
    expect_equal("amount_msat", invoice.amount_msat, example["amount_msat"])
    expect_equal("timestamp", invoice.timestamp, example["timestamp"])
    expect_equal("tagged fields", _comparable(invoice.tagged_fields), _comparable(expected_fields))
    for field in example["fields"]:
        if field["tag"] == "f" and not field.get("ignored"):
            shown = [fallback.address(invoice.currency) for fallback in invoice.fallbacks]
            if field["address"] not in shown:
                raise VectorMismatch(f"fallback address {field['address']} not among {shown}")
    signature = example.get("signature")
    if signature:
        expect_equal("signature R||S", invoice.signature.compact, bytes.fromhex(signature["rs"]))
        expect_equal("recovery id", invoice.signature.recovery_id, signature["recovery_id"])
        unsigned = invoice.unsigned
        # "the human-readable part (as UTF-8 bytes) concatenated with the data part ... 0 bits appended"
        signing_data = unsigned.hrp.encode() + bytes(convertbits(unsigned.data_words(), 5, 8, pad=True))
        expect_equal("data for signing", signing_data, bytes.fromhex(signature["signing_data"]))
        expect_equal("signing hash", unsigned.signing_hash(), bytes.fromhex(signature["signing_hash"]))
        expect_equal(
            "sha256 of data for signing", hashlib.sha256(signing_data).digest(), unsigned.signing_hash()
        )
    signer = PrivateKey(bytes.fromhex(data["private_key"])).public_key.format(compressed=True)
    if example.get("payee_node_id"):
        expect_equal("payee node id", invoice.payee_node_id, bytes.fromhex(example["payee_node_id"]))
    elif example.get("resign", True):
        # "NB: all the following examples are signed with `priv_key`".
        expect_equal("payee node id (the key of priv_key)", invoice.payee_node_id, signer)


def _check_reencoded(
    invoice: Invoice, example: dict[str, Any], expected_fields: tuple[TaggedField, ...], data: dict[str, Any]
) -> None:
    currency = Currency(example["prefix"].lower()[2:])
    unsigned = UnsignedInvoice(currency, example["amount_msat"], example["timestamp"], expected_fields)
    if example.get("resign", True):
        rebuilt = sign_invoice(unsigned, bytes.fromhex(data["private_key"]))
        encoded = encode_invoice(rebuilt, uppercase=example["uppercase"])
    else:
        stated = InvoiceSignature(
            bytes.fromhex(example["signature"]["rs"]), example["signature"]["recovery_id"]
        )
        encoded = encode_invoice(_with_signature(invoice, unsigned, stated), uppercase=example["uppercase"])
    expect_equal("re-encoded invoice", encoded, example["invoice"])


def _with_signature(invoice: Invoice, unsigned: UnsignedInvoice, signature: InvoiceSignature) -> Invoice:
    if unsigned != invoice.unsigned:
        raise VectorMismatch("fields from the data file differ from the decoded ones")
    expect_equal("stated signature", invoice.signature, signature)
    return invoice


def _invalid_check(example: dict[str, Any]) -> Any:
    def check() -> str:
        error_class = getattr(errors, example["error"])
        message = _expect_error(example["invoice"], error_class)
        if error_class is errors.HighSSignatureError:
            _expect_low_s_counterpart_verifies(example["invoice"])
            message += "; with S negated it verifies against n"
        return f"{example['title']}: {example['error']} ({message})"

    return check


def _expect_low_s_counterpart_verifies(text: str) -> None:
    # The example must fail for its S alone: negating S (and flipping the recovery id's parity)
    # gives the low-S signature of the same message, which must then verify against `n`.
    unsigned, signature = decode_unchecked(text)
    s_value = int.from_bytes(signature.compact[32:], "big")
    low_s = InvoiceSignature(
        signature.compact[:32] + (GROUP_ORDER_INT - s_value).to_bytes(32, "big"), signature.recovery_id ^ 1
    )
    read_invoice(unsigned, low_s)


def _expect_error(text: str, error_class: type[errors.InvoiceError]) -> str:
    try:
        decode_invoice(text)
    except errors.InvoiceError as exc:
        if not isinstance(exc, error_class):
            raise VectorMismatch(f"expected {error_class.__name__}, got {type(exc).__name__}: {exc}") from exc
        return str(exc)
    raise VectorMismatch(f"expected {error_class.__name__}, but the invoice decoded")


def _field(field: dict[str, Any]) -> TaggedField:
    tag = field["tag"]
    if field.get("ignored"):
        words = _words(field["data"])
        expect_equal(f"{tag} data_length", len(words), _words_value(field["data_length"]))
        return SkippedField(CHARSET.index(tag), words, reason=SkipReason.UNKNOWN_TYPE)
    if tag == "p":
        return PaymentHash(bytes.fromhex(field["payment_hash"]))
    if tag == "s":
        return PaymentSecret(bytes.fromhex(field["payment_secret"]))
    if tag == "d":
        return Description(field["description"])
    if tag == "h":
        return DescriptionHash(bytes.fromhex(field["description_hash"]))
    if tag == "m":
        return PaymentMetadata(bytes.fromhex(field["payment_metadata"]))
    if tag == "n":
        return PayeeNodeId(bytes.fromhex(field["node_id"]))
    if tag == "x":
        return Expiry(field["expiry_seconds"])
    if tag == "c":
        return MinFinalCltvExpiryDelta(field["min_final_cltv_expiry_delta"])
    if tag == "f":
        return Fallback(
            FallbackAddress(field["version"], words_to_bytes(_words(field["program_words"]), "f"))
        )
    if tag == "r":
        return RouteHint(tuple(_hop(hop) for hop in field["hops"]))
    if tag == "9":
        return FeaturesField(Features.from_bits(field["feature_bits"]))
    raise VectorMismatch(f"data file has an unknown field tag {tag!r}")


def _in_string_order(example: dict[str, Any]) -> list[dict[str, Any]]:
    # Two breakdowns list fields in another order than the invoice string; the data file then
    # gives the string's order as `field_order` (each tag once in those examples).
    order = example.get("field_order")
    fields: list[dict[str, Any]] = example["fields"]
    if order is None:
        return fields
    if sorted(order) != sorted(field["tag"] for field in fields):
        raise VectorMismatch(f"field_order {order} does not match the breakdown's tags")
    return sorted(fields, key=lambda field: order.index(field["tag"]))


def _hop(hop: dict[str, Any]) -> RouteHintHop:
    return RouteHintHop(
        pubkey=bytes.fromhex(hop["pubkey"]),
        short_channel_id=scid_from_text(hop["short_channel_id"]),
        fee_base_msat=hop["fee_base_msat"],
        fee_proportional_millionths=hop["fee_proportional_millionths"],
        cltv_expiry_delta=hop["cltv_expiry_delta"],
    )


def _comparable(fields: tuple[TaggedField, ...]) -> tuple[object, ...]:
    # Skipped fields compare by type and raw words; why they were skipped is the decoder's business.
    return tuple(
        ("skipped", field.type_code, field.data) if isinstance(field, SkippedField) else field
        for field in fields
    )


def _words(chars: str) -> Words:
    return tuple(CHARSET.index(char) for char in chars.lower())


def _words_value(chars: str) -> int:
    value = 0
    for word in _words(chars):
        value = value << 5 | word
    return value
