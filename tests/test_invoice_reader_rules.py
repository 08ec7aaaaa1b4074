"""BOLT 11 reader and writer rules, one behaviour per test, on invoices built field by field."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from coincurve import PrivateKey
from coincurve.utils import GROUP_ORDER_INT
from hypothesis import given
from hypothesis import strategies as st

from reference_node.bitcoin import bech32
from reference_node.invoice import errors
from reference_node.invoice.codec import decode_invoice, encode_invoice
from reference_node.invoice.fields import (
    Description,
    DescriptionHash,
    Expiry,
    FeaturesField,
    FieldLengthRule,
    PayeeNodeId,
    PaymentHash,
    PaymentSecret,
    SkippedField,
    SkipReason,
    TaggedField,
    encode_field,
)
from reference_node.invoice.hrp import Currency, format_hrp
from reference_node.invoice.invoice import TIMESTAMP_WORDS, Invoice, UnsignedInvoice, create_invoice
from reference_node.invoice.signature import InvoiceSignature, sign, signing_hash
from reference_node.invoice.words import bytes_to_words, int_to_words
from reference_node.wire.features import Feature, Features

KEY = hashlib.sha256(b"boltcheck test payee").digest()
OTHER_KEY = hashlib.sha256(b"boltcheck someone else").digest()
NODE_ID = PrivateKey(KEY).public_key.format(compressed=True)
PAYMENT_HASH = hashlib.sha256(b"preimage").digest()
SECRET = hashlib.sha256(b"secret").digest()
TIMESTAMP = 1_700_000_000
BASE_FIELDS: tuple[TaggedField, ...] = (PaymentHash(PAYMENT_HASH), PaymentSecret(SECRET), Description("test"))


def raw(tag: str, words: Sequence[int]) -> SkippedField:
    """Any field content, written as is (to build what a conforming writer would not)."""
    return SkippedField(bech32.CHARSET.index(tag), tuple(words), SkipReason.UNKNOWN_TYPE)


def invoice_text(
    fields: Sequence[TaggedField] = BASE_FIELDS,
    key: bytes = KEY,
    hrp: str = "lnbc",
    signature: InvoiceSignature | None = None,
    encoding: bech32.Encoding = bech32.Encoding.BECH32,
) -> str:
    data = list(int_to_words(TIMESTAMP, TIMESTAMP_WORDS))
    for field in fields:
        data.extend(encode_field(field))
    chosen = signature or sign(signing_hash(hrp, data), key)
    return bech32.bech32_encode(hrp, [*data, *chosen.to_words()], encoding, max_length=None)


def high_s(signature: InvoiceSignature) -> InvoiceSignature:
    """The same signature with S negated; the recovery id's parity flips with it."""
    s = int.from_bytes(signature.compact[32:], "big")
    return InvoiceSignature(
        signature.compact[:32] + (GROUP_ORDER_INT - s).to_bytes(32, "big"), signature.recovery_id ^ 1
    )


def low_s_signature(fields: Sequence[TaggedField]) -> InvoiceSignature:
    data = list(int_to_words(TIMESTAMP, TIMESTAMP_WORDS))
    for field in fields:
        data.extend(encode_field(field))
    return sign(signing_hash("lnbc", data), KEY)


# Human-readable part


@given(st.integers(1, 10**12), st.sampled_from(["", "m", "u", "n"]))
def test_amount_is_multiplied_by_its_multiplier(amount: int, multiplier: str) -> None:
    # BOLT 11: m = 0.001, u = 0.000001, n = 0.000000001 bitcoin; 1 bitcoin = 10^11 millisatoshi.
    msat_per_unit = {"": 10**11, "m": 10**8, "u": 10**5, "n": 10**2}[multiplier]
    invoice = decode_invoice(invoice_text(hrp=f"lnbc{amount}{multiplier}"))
    assert invoice.amount_msat == amount * msat_per_unit


@given(st.integers(1, 10**12))
def test_pico_amount_ending_in_zero_is_a_whole_msat_amount(tenths: int) -> None:
    assert decode_invoice(invoice_text(hrp=f"lnbc{tenths * 10}p")).amount_msat == tenths


@given(st.integers(1, 10**12).filter(lambda n: n % 10 != 0))
def test_pico_amount_not_ending_in_zero_is_rejected(amount: int) -> None:
    with pytest.raises(errors.SubMillisatoshiAmountError):
        decode_invoice(invoice_text(hrp=f"lnbc{amount}p"))


@pytest.mark.parametrize("letter", ["x", "k", "b", "m0", "mm"])
def test_amount_followed_by_a_non_multiplier_is_rejected(letter: str) -> None:
    with pytest.raises(errors.BadAmountError):
        decode_invoice(invoice_text(hrp=f"lnbc25{letter}"))


def test_unknown_currency_prefix_is_rejected() -> None:
    with pytest.raises(errors.UnknownPrefixError):
        decode_invoice(invoice_text(hrp="lnxyz1m"))


@pytest.mark.parametrize("currency", list(Currency))
def test_each_currency_prefix_is_understood(currency: Currency) -> None:
    assert decode_invoice(invoice_text(hrp=format_hrp(currency, 1000))).currency is currency


@given(st.integers(1, 21_000_000 * 10**11))
def test_writer_uses_the_largest_multiplier_giving_an_integer(amount_msat: int) -> None:
    hrp = format_hrp(Currency.BITCOIN, amount_msat)
    assert decode_invoice(invoice_text(hrp=hrp)).amount_msat == amount_msat
    digits = hrp[4:].rstrip("munp")
    # A larger multiplier would need a non-integer: the digits cannot end in 000 unless no larger exists.
    assert not (digits.endswith("000") and hrp[-1] in "munp")


# Bech32 layer


def test_bech32m_checksum_is_not_a_valid_invoice_checksum() -> None:
    with pytest.raises(errors.BadChecksumError):
        decode_invoice(invoice_text(encoding=bech32.Encoding.BECH32M))


def test_invoice_longer_than_90_characters_is_accepted() -> None:
    text = invoice_text()
    assert len(text) > 90
    assert decode_invoice(text).description == "test"


def test_upper_case_invoice_decodes_like_lower_case() -> None:
    text = invoice_text()
    assert decode_invoice(text.upper()) == decode_invoice(text)


def test_data_part_too_short_for_a_signature_is_rejected() -> None:
    short = bech32.bech32_encode("lnbc", [0] * 100, bech32.Encoding.BECH32, max_length=None)
    with pytest.raises(errors.TooShortError):
        decode_invoice(short)


# Tagged fields


def test_field_running_past_the_signature_is_rejected() -> None:
    data = [*int_to_words(TIMESTAMP, TIMESTAMP_WORDS), 13, 31, 31]  # `d` claiming 1023 words
    signature = sign(signing_hash("lnbc", data), KEY)
    text = bech32.bech32_encode(
        "lnbc", [*data, *signature.to_words()], bech32.Encoding.BECH32, max_length=None
    )
    with pytest.raises(errors.MalformedFieldError):
        decode_invoice(text)


@pytest.mark.parametrize(
    ("tag", "length"), [("p", 51), ("p", 53), ("h", 51), ("s", 53), ("n", 52), ("n", 54)]
)
def test_fixed_length_field_of_wrong_length_fails_the_invoice(tag: str, length: int) -> None:
    fields = [*BASE_FIELDS, raw(tag, [0] * length)]
    with pytest.raises(errors.WrongFieldLengthError):
        decode_invoice(invoice_text(fields))


@pytest.mark.parametrize(("tag", "length"), [("p", 51), ("h", 53), ("s", 51), ("n", 54)])
def test_fixed_length_field_of_wrong_length_is_skipped_under_the_earlier_rule(tag: str, length: int) -> None:
    fields = [*BASE_FIELDS, raw(tag, [0] * length)]
    invoice = decode_invoice(invoice_text(fields), FieldLengthRule.SKIP)
    assert invoice.payment_hash == PAYMENT_HASH
    assert invoice.tagged_fields[-1] == SkippedField(
        bech32.CHARSET.index(tag), (0,) * length, SkipReason.WRONG_LENGTH
    )


def test_unknown_field_is_ignored_and_kept_for_re_encoding() -> None:
    text = invoice_text([*BASE_FIELDS, raw("2", [1, 2, 3])])
    invoice = decode_invoice(text)
    assert invoice.tagged_fields[-1] == SkippedField(10, (1, 2, 3), SkipReason.UNKNOWN_TYPE)
    assert encode_invoice(invoice) == text


@pytest.mark.parametrize("version", range(19, 32))
def test_fallback_with_unknown_version_is_skipped(version: int) -> None:
    invoice = decode_invoice(invoice_text([*BASE_FIELDS, raw("f", [version, *bytes_to_words(bytes(20))])]))
    assert invoice.fallbacks == ()
    assert isinstance(invoice.tagged_fields[-1], SkippedField)
    assert invoice.tagged_fields[-1].reason is SkipReason.UNKNOWN_FALLBACK_VERSION


@pytest.mark.parametrize(("version", "length"), [(17, 19), (18, 32), (0, 21), (1, 41), (2, 1)])
def test_fallback_of_known_version_with_bad_program_is_rejected(version: int, length: int) -> None:
    with pytest.raises(errors.FallbackAddressError):
        decode_invoice(invoice_text([*BASE_FIELDS, raw("f", [version, *bytes_to_words(bytes(length))])]))


@pytest.mark.parametrize("tag", ["x", "c", "9"])
def test_field_beginning_with_a_zero_element_is_treated_as_invalid(tag: str) -> None:
    with pytest.raises(errors.NonMinimalFieldError):
        decode_invoice(invoice_text([*BASE_FIELDS, raw(tag, [0, 1, 28])]))


def test_description_that_is_not_utf8_is_rejected() -> None:
    fields = (PaymentHash(PAYMENT_HASH), PaymentSecret(SECRET), raw("d", bytes_to_words(b"\xff\xfe")))
    with pytest.raises(errors.MalformedFieldError):
        decode_invoice(invoice_text(fields))


def test_route_hint_that_is_not_whole_entries_is_rejected() -> None:
    with pytest.raises(errors.MalformedFieldError):
        decode_invoice(invoice_text([*BASE_FIELDS, raw("r", bytes_to_words(bytes(50)))]))


def test_both_d_and_h_fail_the_invoice() -> None:
    with pytest.raises(errors.ConflictingFieldsError):
        decode_invoice(invoice_text([*BASE_FIELDS, DescriptionHash(bytes(32))]))


def test_neither_d_nor_h_fails_the_invoice() -> None:
    with pytest.raises(errors.MissingFieldError):
        decode_invoice(invoice_text(BASE_FIELDS[:2]))


def test_missing_payment_hash_fails_the_invoice() -> None:
    with pytest.raises(errors.MissingFieldError):
        decode_invoice(invoice_text(BASE_FIELDS[1:]))


def test_first_payment_hash_is_used() -> None:
    second = PaymentHash(bytes(32))
    assert decode_invoice(invoice_text([*BASE_FIELDS, second])).payment_hash == PAYMENT_HASH


@pytest.mark.parametrize("timestamp", [-1, 2**35])
def test_timestamp_outside_35_bits_cannot_be_written(timestamp: int) -> None:
    with pytest.raises(errors.BadTimestampError):
        UnsignedInvoice(Currency.BITCOIN, None, timestamp, BASE_FIELDS)


def test_negative_expiry_cannot_be_written() -> None:
    with pytest.raises(errors.MalformedFieldError):
        Expiry(-1)


def test_description_over_639_bytes_cannot_be_written() -> None:
    with pytest.raises(errors.FieldTooLongError):
        invoice_text([*BASE_FIELDS[:2], Description("x" * 640)])


# Features


def test_unknown_odd_feature_is_ignored() -> None:
    invoice = decode_invoice(invoice_text([*BASE_FIELDS, FeaturesField(Features.from_bits({8, 14, 201}))]))
    assert invoice.features.set_bits() == (8, 14, 201)


def test_unknown_even_feature_fails_and_names_the_bit() -> None:
    with pytest.raises(errors.UnknownEvenFeatureError) as caught:
        decode_invoice(invoice_text([*BASE_FIELDS, FeaturesField(Features.from_bits({8, 14, 200}))]))
    assert caught.value.bits == (200,)


def test_feature_without_its_dependency_is_not_payable() -> None:
    # BOLT 9: option_zeroconf depends on option_scid_alias (a dependency that is not ASSUMED).
    zeroconf_alone = Features.of(optional=[Feature.option_zeroconf])
    invoice = decode_invoice(invoice_text([*BASE_FIELDS, FeaturesField(zeroconf_alone)]))
    with pytest.raises(errors.MissingFeatureDependencyError):
        invoice.check_payable(now=TIMESTAMP)


# Signature


def test_payee_is_recovered_without_n() -> None:
    invoice = decode_invoice(invoice_text())
    assert (invoice.payee_node_id, invoice.has_node_id_field) == (NODE_ID, False)


def test_high_s_signature_is_accepted_for_recovery_without_n() -> None:
    signature = high_s(low_s_signature(BASE_FIELDS))
    invoice = decode_invoice(invoice_text(signature=signature))
    assert not invoice.signature.is_low_s
    assert invoice.payee_node_id == NODE_ID


def test_n_field_validates_the_signature() -> None:
    invoice = decode_invoice(invoice_text([*BASE_FIELDS, PayeeNodeId(NODE_ID)]))
    assert (invoice.payee_node_id, invoice.has_node_id_field) == (NODE_ID, True)


def test_high_s_signature_with_n_fails() -> None:
    fields = [*BASE_FIELDS, PayeeNodeId(NODE_ID)]
    with pytest.raises(errors.HighSSignatureError):
        decode_invoice(invoice_text(fields, signature=high_s(low_s_signature(fields))))


def test_signature_by_another_key_than_n_fails() -> None:
    with pytest.raises(errors.InvalidSignatureError):
        decode_invoice(invoice_text([*BASE_FIELDS, PayeeNodeId(NODE_ID)], key=OTHER_KEY))


def test_n_field_that_is_not_a_point_fails() -> None:
    with pytest.raises(errors.InvalidNodeIdError):
        decode_invoice(invoice_text([*BASE_FIELDS, PayeeNodeId(b"\x02" + b"\xff" * 32)]))


def test_recovery_id_above_3_fails() -> None:
    good = low_s_signature(BASE_FIELDS)
    words = bytes_to_words(good.compact + b"\x04")
    data = list(int_to_words(TIMESTAMP, TIMESTAMP_WORDS))
    for field in BASE_FIELDS:
        data.extend(encode_field(field))
    text = bech32.bech32_encode("lnbc", [*data, *words], bech32.Encoding.BECH32, max_length=None)
    with pytest.raises(errors.BadRecoveryIdError):
        decode_invoice(text)


def test_tampered_field_changes_the_recovered_payee() -> None:
    text = invoice_text()
    signature = decode_invoice(text).signature
    tampered = decode_invoice(invoice_text([*BASE_FIELDS[:2], Description("tset")], signature=signature))
    assert tampered.payee_node_id != NODE_ID


# Payer checks with an explicit clock


def _created(expiry_seconds: int | None) -> Invoice:
    return create_invoice(
        currency=Currency.REGTEST,
        payment_hash=PAYMENT_HASH,
        payment_secret=SECRET,
        timestamp=TIMESTAMP,
        private_key=KEY,
        description="test",
        expiry_seconds=expiry_seconds,
    )


def test_expiry_defaults_to_3600_seconds() -> None:
    invoice = _created(None)
    assert invoice.expires_at == TIMESTAMP + 3600
    invoice.check_payable(now=TIMESTAMP + 3600)
    with pytest.raises(errors.InvoiceExpiredError):
        invoice.check_payable(now=TIMESTAMP + 3601)


@given(st.integers(1, 2**32), st.integers(0, 2**33))
def test_invoice_is_expired_only_after_timestamp_plus_expiry(expiry_seconds: int, elapsed: int) -> None:
    assert _created(expiry_seconds).is_expired(TIMESTAMP + elapsed) == (elapsed > expiry_seconds)


def test_description_is_checked_against_h() -> None:
    description = "a long description served elsewhere"
    invoice = create_invoice(
        currency=Currency.BITCOIN,
        payment_hash=PAYMENT_HASH,
        payment_secret=SECRET,
        timestamp=TIMESTAMP,
        private_key=KEY,
        description_hash=hashlib.sha256(description.encode()).digest(),
    )
    invoice.check_description(description)
    with pytest.raises(errors.DescriptionHashMismatchError):
        invoice.check_description(description + ".")
