"""BOLT 11 tagged fields: `type` (5 bits), `data_length` (10 bits), `data` (`data_length` x 5 bits).

Each known type is a frozen value class that converts to and from its 5-bit words. Fields the reader
skips (unknown types, `f` with an unknown version) are kept as `SkippedField`, so an invoice can be
re-encoded exactly as it was signed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from reference_node.bitcoin.bech32 import CHARSET
from reference_node.invoice.errors import (
    FieldTooLongError,
    MalformedFieldError,
    NonMinimalFieldError,
    WrongFieldLengthError,
)
from reference_node.invoice.fallback import P2SH_VERSION, FallbackAddress
from reference_node.invoice.features import features_from_words, features_to_words
from reference_node.invoice.route_hint import HOP_LENGTH, RouteHintHop
from reference_node.invoice.words import Words, bytes_to_words, int_to_words, words_to_bytes, words_to_int
from reference_node.wire.features import Features

MAX_DATA_LENGTH = 1023  # 10-bit `data_length`
HASH_DATA_LENGTH = 52  # 256 bits
NODE_ID_DATA_LENGTH = 53  # 264 bits
# Spec defaults when the field is absent.
DEFAULT_EXPIRY_SECONDS = 3600
DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA = 18


class FieldLengthRule(enum.Enum):
    """What a reader does with a `p`, `h`, `s` or `n` field of the wrong `data_length`.

    FAIL is the requirement at the spec commit the project follows ("MUST fail the payment if any field
    with fixed `data_length` ... does not have the correct length"). SKIP is the earlier rule ("MUST skip
    over ... `p`, `h`, `s` or `n` fields that do NOT have `data_length`s of 52, 52, 52 or 53"), which the
    spec's example "Same, but including fields which must be ignored" still follows.
    """

    FAIL = "fail"
    SKIP = "skip"


class SkipReason(enum.Enum):
    UNKNOWN_TYPE = "unknown type"
    UNKNOWN_FALLBACK_VERSION = "f field with an unknown version"
    WRONG_LENGTH = "fixed-length field with the wrong data_length (skipped under FieldLengthRule.SKIP)"


def tag_letter(type_code: int) -> str:
    """Fields are named by their type's bech32 character (`p` = 1, `9` = 5, ...)."""
    return CHARSET[type_code]


@dataclass(frozen=True)
class PaymentHash:
    TYPE: ClassVar[int] = 1  # p
    payment_hash: bytes

    def to_words(self) -> Words:
        return _fixed_bytes_words(self.payment_hash, 32, "payment_hash")

    @classmethod
    def from_words(cls, words: Words) -> PaymentHash:
        return cls(words_to_bytes(words, "p field"))


@dataclass(frozen=True)
class PaymentSecret:
    TYPE: ClassVar[int] = 16  # s
    payment_secret: bytes

    def to_words(self) -> Words:
        return _fixed_bytes_words(self.payment_secret, 32, "payment_secret")

    @classmethod
    def from_words(cls, words: Words) -> PaymentSecret:
        return cls(words_to_bytes(words, "s field"))


@dataclass(frozen=True)
class Description:
    TYPE: ClassVar[int] = 13  # d
    description: str

    def to_words(self) -> Words:
        return bytes_to_words(self.description.encode("utf-8"))

    @classmethod
    def from_words(cls, words: Words) -> Description:
        raw = words_to_bytes(words, "d field")
        try:
            return cls(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise MalformedFieldError(f"d field is not valid UTF-8: {exc}") from exc


@dataclass(frozen=True)
class DescriptionHash:
    TYPE: ClassVar[int] = 23  # h
    description_hash: bytes

    def to_words(self) -> Words:
        return _fixed_bytes_words(self.description_hash, 32, "description_hash")

    @classmethod
    def from_words(cls, words: Words) -> DescriptionHash:
        return cls(words_to_bytes(words, "h field"))


@dataclass(frozen=True)
class PaymentMetadata:
    TYPE: ClassVar[int] = 27  # m
    payment_metadata: bytes

    def to_words(self) -> Words:
        return bytes_to_words(self.payment_metadata)

    @classmethod
    def from_words(cls, words: Words) -> PaymentMetadata:
        return cls(words_to_bytes(words, "m field"))


@dataclass(frozen=True)
class PayeeNodeId:
    TYPE: ClassVar[int] = 19  # n
    node_id: bytes

    def to_words(self) -> Words:
        return _fixed_bytes_words(self.node_id, 33, "node_id")

    @classmethod
    def from_words(cls, words: Words) -> PayeeNodeId:
        return cls(words_to_bytes(words, "n field"))


@dataclass(frozen=True)
class Expiry:
    TYPE: ClassVar[int] = 6  # x
    expiry_seconds: int

    def __post_init__(self) -> None:
        _check_non_negative(self.expiry_seconds, "expiry_seconds")

    def to_words(self) -> Words:
        return int_to_words(self.expiry_seconds)  # "MUST use the minimum data_length possible"

    @classmethod
    def from_words(cls, words: Words) -> Expiry:
        return cls(_minimal_int(words, "x"))


@dataclass(frozen=True)
class MinFinalCltvExpiryDelta:
    TYPE: ClassVar[int] = 24  # c
    min_final_cltv_expiry_delta: int

    def __post_init__(self) -> None:
        _check_non_negative(self.min_final_cltv_expiry_delta, "min_final_cltv_expiry_delta")

    def to_words(self) -> Words:
        return int_to_words(self.min_final_cltv_expiry_delta)

    @classmethod
    def from_words(cls, words: Words) -> MinFinalCltvExpiryDelta:
        return cls(_minimal_int(words, "c"))


@dataclass(frozen=True)
class Fallback:
    TYPE: ClassVar[int] = 9  # f
    fallback: FallbackAddress

    def to_words(self) -> Words:
        return (self.fallback.version, *bytes_to_words(self.fallback.program))

    @classmethod
    def from_words(cls, words: Words) -> Fallback:
        if not words:
            raise MalformedFieldError("f field without a version")
        return cls(FallbackAddress(words[0], words_to_bytes(words[1:], "f field")))


@dataclass(frozen=True)
class RouteHint:
    TYPE: ClassVar[int] = 3  # r
    hops: tuple[RouteHintHop, ...]

    def to_words(self) -> Words:
        if not self.hops:
            raise MalformedFieldError("an r field contains one or more entries")
        return bytes_to_words(b"".join(hop.to_bytes() for hop in self.hops))

    @classmethod
    def from_words(cls, words: Words) -> RouteHint:
        data = words_to_bytes(words, "r field")
        if not data or len(data) % HOP_LENGTH:
            raise MalformedFieldError(f"r field of {len(data)} bytes is not a whole number of entries")
        starts = range(0, len(data), HOP_LENGTH)
        return cls(tuple(RouteHintHop.from_bytes(data[i : i + HOP_LENGTH]) for i in starts))


@dataclass(frozen=True)
class FeaturesField:
    TYPE: ClassVar[int] = 5  # 9
    features: Features

    def to_words(self) -> Words:
        # "if `9` contains non-zero bits: MUST use the minimum data_length ... otherwise: MUST omit".
        words = features_to_words(self.features)
        if not words:
            raise MalformedFieldError("a 9 field with no bits set must be omitted")
        return words

    @classmethod
    def from_words(cls, words: Words) -> FeaturesField:
        return cls(features_from_words(words))


@dataclass(frozen=True)
class SkippedField:
    """A field the reader skips, kept as its raw words (it is part of what the signature covers)."""

    type_code: int
    data: Words
    reason: SkipReason

    def to_words(self) -> Words:
        return self.data


TaggedField = (
    PaymentHash
    | PaymentSecret
    | Description
    | DescriptionHash
    | PaymentMetadata
    | PayeeNodeId
    | Expiry
    | MinFinalCltvExpiryDelta
    | Fallback
    | RouteHint
    | FeaturesField
    | SkippedField
)
_KNOWN: dict[int, Callable[[Words], TaggedField]] = {
    cls.TYPE: cls.from_words
    for cls in (
        PaymentHash,
        PaymentSecret,
        Description,
        DescriptionHash,
        PaymentMetadata,
        PayeeNodeId,
        Expiry,
        MinFinalCltvExpiryDelta,
        Fallback,
        RouteHint,
        FeaturesField,
    )
}
_FIXED_DATA_LENGTH = {
    PaymentHash.TYPE: HASH_DATA_LENGTH,
    DescriptionHash.TYPE: HASH_DATA_LENGTH,
    PaymentSecret.TYPE: HASH_DATA_LENGTH,
    PayeeNodeId.TYPE: NODE_ID_DATA_LENGTH,
}


def type_code(field: TaggedField) -> int:
    return field.type_code if isinstance(field, SkippedField) else field.TYPE


def encode_field(field: TaggedField) -> Words:
    """`type`, 10-bit `data_length`, `data`."""
    data = field.to_words()
    if len(data) > MAX_DATA_LENGTH:
        raise FieldTooLongError(
            f"{tag_letter(type_code(field))} field needs {len(data)} words; data_length is at most 1023"
        )
    return (type_code(field), *int_to_words(len(data), 2), *data)


def decode_fields(words: Sequence[int], length_rule: FieldLengthRule) -> tuple[TaggedField, ...]:
    """Split the words between the timestamp and the signature into tagged fields."""
    fields: list[TaggedField] = []
    position = 0
    while position < len(words):
        if len(words) - position < 3:
            raise MalformedFieldError(f"truncated tagged field header at word {position}")
        field_type = words[position]
        data_length = words[position + 1] << 5 | words[position + 2]
        data = tuple(words[position + 3 : position + 3 + data_length])
        if len(data) != data_length:
            raise MalformedFieldError(
                f"{tag_letter(field_type)} field at word {position}: data_length {data_length}, "
                f"only {len(data)} words left"
            )
        fields.append(_decode_one(field_type, data, length_rule))
        position += 3 + data_length
    return tuple(fields)


def _decode_one(field_type: int, data: Words, length_rule: FieldLengthRule) -> TaggedField:
    parse = _KNOWN.get(field_type)
    if parse is None:
        return SkippedField(field_type, data, SkipReason.UNKNOWN_TYPE)
    expected_length = _FIXED_DATA_LENGTH.get(field_type)
    if expected_length is not None and len(data) != expected_length:
        if length_rule is FieldLengthRule.SKIP:
            return SkippedField(field_type, data, SkipReason.WRONG_LENGTH)
        raise WrongFieldLengthError(
            f"{tag_letter(field_type)} field has data_length {len(data)}, not {expected_length}"
        )
    # "MUST skip over `f` fields that use an unknown `version`."
    if field_type == Fallback.TYPE and data and data[0] > P2SH_VERSION:
        return SkippedField(field_type, data, SkipReason.UNKNOWN_FALLBACK_VERSION)
    return parse(data)


def _fixed_bytes_words(value: bytes, length: int, name: str) -> Words:
    if len(value) != length:
        raise MalformedFieldError(f"{name} must be {length} bytes, got {len(value)}")
    return bytes_to_words(value)


def _check_non_negative(value: int, name: str) -> None:
    if value < 0:
        raise MalformedFieldError(f"{name} {value} is negative")
    # data_length is at most 1023 words: 5115 bits.
    if value.bit_length() > MAX_DATA_LENGTH * 5:
        raise FieldTooLongError(f"{name} does not fit in a field")


def _minimal_int(words: Words, tag: str) -> int:
    # "if a `c`, `x`, or `9` field is provided which has a non-minimal `data_length` (i.e. begins with
    # 0 field elements): SHOULD treat the invoice as invalid."
    if words and words[0] == 0:
        raise NonMinimalFieldError(f"{tag} field begins with a 0 field element")
    return words_to_int(words)
