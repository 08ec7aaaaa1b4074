"""BOLT 4 "Failure Messages": every `failure_code`, its flags and its data, as one table.

A `failuremsg` is a 2-byte `failure_code`, the code's data, then an optional TLV stream
(kept as raw bytes in `FailureMessage.extension_tlvs`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum, IntEnum

from reference_node.onion.wire_adapter import BigSizeError, decode_bigsize, encode_bigsize


class FailureFlag(IntEnum):
    """The top byte of `failure_code` read as a set of flags."""

    BADONION = 0x8000  # unparsable onion encrypted by sending peer
    PERM = 0x4000  # permanent failure (otherwise transient)
    NODE = 0x2000  # node failure (otherwise channel)
    UPDATE = 0x1000  # channel forwarding parameter was violated


BADONION = FailureFlag.BADONION
PERM = FailureFlag.PERM
NODE = FailureFlag.NODE
UPDATE = FailureFlag.UPDATE


class FailureCode(IntEnum):
    """BOLT 4 failure codes, named as the spec names them."""

    temporary_node_failure = NODE | 2
    permanent_node_failure = PERM | NODE | 2
    required_node_feature_missing = PERM | NODE | 3
    invalid_onion_version = BADONION | PERM | 4
    invalid_onion_hmac = BADONION | PERM | 5
    invalid_onion_key = BADONION | PERM | 6
    temporary_channel_failure = UPDATE | 7
    permanent_channel_failure = PERM | 8
    required_channel_feature_missing = PERM | 9
    unknown_next_peer = PERM | 10
    amount_below_minimum = UPDATE | 11
    fee_insufficient = UPDATE | 12
    incorrect_cltv_expiry = UPDATE | 13
    expiry_too_soon = UPDATE | 14
    incorrect_or_unknown_payment_details = PERM | 15
    final_incorrect_cltv_expiry = 18
    final_incorrect_htlc_amount = 19
    channel_disabled = UPDATE | 20
    expiry_too_far = 21
    invalid_onion_payload = PERM | 22
    mpp_timeout = 23
    invalid_onion_blinding = BADONION | PERM | 24

    def has_flag(self, flag: FailureFlag) -> bool:
        return bool(self.value & flag)


class FieldType(Enum):
    """How one data field of a failure message is serialized (BOLT 1 fundamental types)."""

    SHA256 = "sha256"
    U16 = "u16"
    U32 = "u32"
    U64 = "u64"
    BIGSIZE = "bigsize"
    CHANNEL_UPDATE = "u16 len + len*byte"


# The spec's data for each code, in order: (FailureMessage attribute, type).
FAILURE_DATA: dict[FailureCode, tuple[tuple[str, FieldType], ...]] = {
    FailureCode.temporary_node_failure: (),
    FailureCode.permanent_node_failure: (),
    FailureCode.required_node_feature_missing: (),
    FailureCode.invalid_onion_version: (("sha256_of_onion", FieldType.SHA256),),
    FailureCode.invalid_onion_hmac: (("sha256_of_onion", FieldType.SHA256),),
    FailureCode.invalid_onion_key: (("sha256_of_onion", FieldType.SHA256),),
    FailureCode.temporary_channel_failure: (("channel_update", FieldType.CHANNEL_UPDATE),),
    FailureCode.permanent_channel_failure: (),
    FailureCode.required_channel_feature_missing: (),
    FailureCode.unknown_next_peer: (),
    FailureCode.amount_below_minimum: (
        ("htlc_msat", FieldType.U64),
        ("channel_update", FieldType.CHANNEL_UPDATE),
    ),
    FailureCode.fee_insufficient: (
        ("htlc_msat", FieldType.U64),
        ("channel_update", FieldType.CHANNEL_UPDATE),
    ),
    FailureCode.incorrect_cltv_expiry: (
        ("cltv_expiry", FieldType.U32),
        ("channel_update", FieldType.CHANNEL_UPDATE),
    ),
    FailureCode.expiry_too_soon: (("channel_update", FieldType.CHANNEL_UPDATE),),
    FailureCode.incorrect_or_unknown_payment_details: (
        ("htlc_msat", FieldType.U64),
        ("height", FieldType.U32),
    ),
    FailureCode.final_incorrect_cltv_expiry: (("cltv_expiry", FieldType.U32),),
    FailureCode.final_incorrect_htlc_amount: (("incoming_htlc_amt_msat", FieldType.U64),),
    FailureCode.channel_disabled: (
        ("disabled_flags", FieldType.U16),
        ("channel_update", FieldType.CHANNEL_UPDATE),
    ),
    FailureCode.expiry_too_far: (),
    FailureCode.invalid_onion_payload: (("tlv_type", FieldType.BIGSIZE), ("offset", FieldType.U16)),
    FailureCode.mpp_timeout: (),
    FailureCode.invalid_onion_blinding: (("sha256_of_onion", FieldType.SHA256),),
}

_FIXED_WIDTH = {FieldType.SHA256: 32, FieldType.U16: 2, FieldType.U32: 4, FieldType.U64: 8}


class FailureMessageError(ValueError):
    """A `failuremsg` that cannot be encoded or decoded; says which code and field."""


@dataclass(frozen=True)
class FailureMessage:
    """A decoded `failuremsg`. Only the fields FAILURE_DATA lists for `code` are set."""

    code: FailureCode
    sha256_of_onion: bytes | None = None
    channel_update: bytes | None = None
    htlc_msat: int | None = None
    cltv_expiry: int | None = None
    height: int | None = None
    incoming_htlc_amt_msat: int | None = None
    disabled_flags: int | None = None
    tlv_type: int | None = None
    offset: int | None = None
    extension_tlvs: bytes = b""

    def __post_init__(self) -> None:
        wanted = {name for name, _ in FAILURE_DATA[self.code]}
        for field in fields(self):
            if field.name in ("code", "extension_tlvs"):
                continue
            present = getattr(self, field.name) is not None
            if present != (field.name in wanted):
                state = "missing" if field.name in wanted else "not part of this code"
                raise FailureMessageError(f"{self.code.name}: field {field.name} is {state}")

    def to_bytes(self) -> bytes:
        out = [self.code.value.to_bytes(2, "big")]
        for name, field_type in FAILURE_DATA[self.code]:
            out.append(_encode_field(self.code, name, field_type, getattr(self, name)))
        out.append(self.extension_tlvs)
        return b"".join(out)

    @classmethod
    def from_bytes(cls, raw: bytes) -> FailureMessage:
        """Decode; an unknown code raises UnknownFailureCode (the origin still knows its flags)."""
        if len(raw) < 2:
            raise FailureMessageError(f"failuremsg of {len(raw)} bytes has no failure_code")
        code_value = int.from_bytes(raw[:2], "big")
        try:
            code = FailureCode(code_value)
        except ValueError as exc:
            raise UnknownFailureCode(code_value, raw[2:]) from exc
        position = 2
        values: dict[str, bytes | int] = {}
        for name, field_type in FAILURE_DATA[code]:
            values[name], position = _decode_field(code, name, field_type, raw, position)
        return cls(code, extension_tlvs=raw[position:], **values)  # type: ignore[arg-type]


class UnknownFailureCode(FailureMessageError):
    """A `failure_code` this table does not define; its flag bits still tell the origin what to do."""

    def __init__(self, code: int, data: bytes) -> None:
        super().__init__(f"unknown failure_code {code:#06x}")
        self.code = code
        self.data = data

    def has_flag(self, flag: FailureFlag) -> bool:
        return bool(self.code & flag)


def _encode_field(code: FailureCode, name: str, field_type: FieldType, value: bytes | int) -> bytes:
    if field_type is FieldType.CHANNEL_UPDATE:
        assert isinstance(value, bytes)
        if len(value) > 0xFFFF:
            raise FailureMessageError(f"{code.name}.{name}: {len(value)} bytes do not fit a u16 length")
        return len(value).to_bytes(2, "big") + value
    if field_type is FieldType.BIGSIZE:
        assert isinstance(value, int)
        return encode_bigsize(value)
    width = _FIXED_WIDTH[field_type]
    if field_type is FieldType.SHA256:
        assert isinstance(value, bytes)
        if len(value) != width:
            raise FailureMessageError(f"{code.name}.{name}: expected 32 bytes, got {len(value)}")
        return value
    assert isinstance(value, int)
    if not 0 <= value < 1 << (8 * width):
        raise FailureMessageError(f"{code.name}.{name}: {value} does not fit {field_type.value}")
    return value.to_bytes(width, "big")


def _decode_field(
    code: FailureCode, name: str, field_type: FieldType, raw: bytes, position: int
) -> tuple[bytes | int, int]:
    if field_type is FieldType.BIGSIZE:
        try:
            value, end = decode_bigsize(raw, position)
        except BigSizeError as exc:
            raise FailureMessageError(f"{code.name}.{name}: {exc}") from exc
        return value, end
    if field_type is FieldType.CHANNEL_UPDATE:
        length_end = position + 2
        if length_end > len(raw):
            raise FailureMessageError(f"{code.name}.{name}: truncated length")
        end = length_end + int.from_bytes(raw[position:length_end], "big")
        if end > len(raw):
            raise FailureMessageError(f"{code.name}.{name}: truncated channel_update")
        return raw[length_end:end], end
    end = position + _FIXED_WIDTH[field_type]
    if end > len(raw):
        raise FailureMessageError(f"{code.name}.{name}: truncated {field_type.value}")
    chunk = raw[position:end]
    return (chunk if field_type is FieldType.SHA256 else int.from_bytes(chunk, "big")), end
