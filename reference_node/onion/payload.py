"""BOLT 4 "`payload` format": the TLV hop payload of a payment onion, and the reader's rules.

The record schema uses reference_node.wire's typed TLV streams. `read_hop_payload` applies the
reader requirements of "Packet Structure / Requirements" and returns one of four typed payloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from reference_node.onion.failure_messages import FailureCode
from reference_node.onion.wire_adapter import (
    BYTE,
    POINT,
    SHORT_CHANNEL_ID,
    TU32,
    TU64,
    RawTlv,
    ShortChannelId,
    TlvRecord,
    TlvStream,
    TlvType,
    WireError,
    decode_bigsize,
    decode_tlv_stream,
    encode_tlv_stream,
    fixed,
    rest,
)


@dataclass(frozen=True)
class AmtToForward(TlvRecord):
    amt_to_forward_msat: Annotated[int, TU64]


@dataclass(frozen=True)
class OutgoingCltvValue(TlvRecord):
    outgoing_cltv_value: Annotated[int, TU32]


@dataclass(frozen=True)
class ShortChannelIdTlv(TlvRecord):
    short_channel_id: Annotated[ShortChannelId, SHORT_CHANNEL_ID]


@dataclass(frozen=True)
class PaymentData(TlvRecord):
    payment_secret: Annotated[bytes, fixed(32, BYTE)]
    total_msat: Annotated[int, TU64]


@dataclass(frozen=True)
class EncryptedRecipientData(TlvRecord):
    encrypted_recipient_data: Annotated[bytes, rest(BYTE)]


@dataclass(frozen=True)
class CurrentPathKey(TlvRecord):
    path_key: Annotated[bytes, POINT]


@dataclass(frozen=True)
class PaymentMetadata(TlvRecord):
    payment_metadata: Annotated[bytes, rest(BYTE)]


@dataclass(frozen=True)
class TotalAmountMsat(TlvRecord):
    total_msat: Annotated[int, TU64]


@dataclass(frozen=True)
class PayloadTlvs(TlvStream):
    """`tlv_stream`: `payload`."""

    amt_to_forward: Annotated[AmtToForward | None, TlvType(2)] = None
    outgoing_cltv_value: Annotated[OutgoingCltvValue | None, TlvType(4)] = None
    short_channel_id: Annotated[ShortChannelIdTlv | None, TlvType(6)] = None
    payment_data: Annotated[PaymentData | None, TlvType(8)] = None
    encrypted_recipient_data: Annotated[EncryptedRecipientData | None, TlvType(10)] = None
    current_path_key: Annotated[CurrentPathKey | None, TlvType(12)] = None
    payment_metadata: Annotated[PaymentMetadata | None, TlvType(16)] = None
    total_amount_msat: Annotated[TotalAmountMsat | None, TlvType(18)] = None

    def to_bytes(self) -> bytes:
        return encode_tlv_stream(self)


_TYPE_OF = {
    "amt_to_forward": 2,
    "outgoing_cltv_value": 4,
    "short_channel_id": 6,
    "payment_data": 8,
    "encrypted_recipient_data": 10,
    "current_path_key": 12,
    "payment_metadata": 16,
    "total_amount_msat": 18,
}


class InvalidOnionPayload(ValueError):
    """The hop payload breaks a reader rule: PERM|22 `invalid_onion_payload` with `type`/`offset`."""

    failure_code = FailureCode.invalid_onion_payload

    def __init__(self, message: str, tlv_type: int, offset: int) -> None:
        super().__init__(f"{message} (type {tlv_type}, offset {offset})")
        self.tlv_type = tlv_type
        self.offset = offset


@dataclass(frozen=True)
class ForwardPayload:
    """Outside a blinded route, not the final node."""

    amt_to_forward_msat: int
    outgoing_cltv_value: int
    short_channel_id: ShortChannelId


@dataclass(frozen=True)
class FinalPayload:
    """Outside a blinded route, the final node. `total_msat` defaults to `amt_to_forward`."""

    amt_to_forward_msat: int
    outgoing_cltv_value: int
    total_msat: int
    payment_secret: bytes | None
    payment_metadata: bytes | None


@dataclass(frozen=True)
class BlindedForwardPayload:
    """Inside a blinded route, not the final node: the instructions are in the encrypted data."""

    encrypted_recipient_data: bytes
    current_path_key: bytes | None


@dataclass(frozen=True)
class BlindedFinalPayload:
    """Inside a blinded route, the final node."""

    encrypted_recipient_data: bytes
    current_path_key: bytes | None
    amt_to_forward_msat: int
    outgoing_cltv_value: int
    total_amount_msat: int


HopPayload = ForwardPayload | FinalPayload | BlindedForwardPayload | BlindedFinalPayload


def _record_offsets(raw: bytes) -> dict[int, int]:
    """Byte offset of each record's type in the payload, for `invalid_onion_payload`'s `offset`."""
    offsets: dict[int, int] = {}
    position = 0
    while position < len(raw):
        record_type, after_type = decode_bigsize(raw, position)
        length, after_length = decode_bigsize(raw, after_type)
        offsets[record_type] = position
        position = after_length + length
    return offsets


def decode_payload(raw: bytes) -> PayloadTlvs:
    """Decode the TLV stream; any BOLT 1 violation (order, length, unknown even) is InvalidOnionPayload."""
    try:
        return decode_tlv_stream(PayloadTlvs, raw)
    except WireError as exc:
        tlv_type = getattr(exc, "tlv_type", 0)
        raise InvalidOnionPayload(f"payload is not a valid tlv stream: {exc}", tlv_type, 0) from exc


def read_hop_payload(raw: bytes, *, is_final: bool, update_add_has_path_key: bool) -> HopPayload:
    """Apply "The reader" rules of BOLT 4 "Packet Structure" to a decrypted hop payload.

    `is_final` comes from the onion (all-zero `next_hmac`); `update_add_has_path_key` says whether
    the incoming `update_add_htlc` carried a `path_key`. Checks that need the decrypted
    `encrypted_recipient_data` or channel state are left to the caller (see route_blinding).
    """
    tlvs = decode_payload(raw)
    offsets = _record_offsets(raw)
    present = {name for name in _TYPE_OF if getattr(tlvs, name) is not None}
    unknown_types = [record.type for record in tlvs.unknown_records]

    def fail(message: str, name: str) -> InvalidOnionPayload:
        tlv_type = _TYPE_OF[name]
        return InvalidOnionPayload(message, tlv_type, offsets.get(tlv_type, 0))

    if tlvs.encrypted_recipient_data is not None:
        if update_add_has_path_key and tlvs.current_path_key is not None:
            raise fail("current_path_key present although update_add_htlc has path_key", "current_path_key")
        if not update_add_has_path_key and tlvs.current_path_key is None:
            raise fail("blinded payload without path_key or current_path_key", "current_path_key")
        path_key = None if tlvs.current_path_key is None else tlvs.current_path_key.path_key
        allowed = {"encrypted_recipient_data", "current_path_key"}
        if is_final:
            allowed |= {"amt_to_forward", "outgoing_cltv_value", "total_amount_msat"}
        extra = sorted(present - allowed, key=_TYPE_OF.__getitem__)
        if extra:
            raise fail(f"{extra[0]} is not allowed in a blinded payload", extra[0])
        if unknown_types:
            raise InvalidOnionPayload("unknown tlv in a blinded payload", unknown_types[0], 0)
        erd = tlvs.encrypted_recipient_data.encrypted_recipient_data
        if not is_final:
            return BlindedForwardPayload(erd, path_key)
        for name in ("amt_to_forward", "outgoing_cltv_value", "total_amount_msat"):
            if name not in present:
                raise fail(f"{name} missing from the final blinded payload", name)
        assert tlvs.amt_to_forward and tlvs.outgoing_cltv_value and tlvs.total_amount_msat
        return BlindedFinalPayload(
            erd,
            path_key,
            tlvs.amt_to_forward.amt_to_forward_msat,
            tlvs.outgoing_cltv_value.outgoing_cltv_value,
            tlvs.total_amount_msat.total_msat,
        )

    if update_add_has_path_key:
        raise InvalidOnionPayload("update_add_htlc has path_key but payload has no encrypted data", 10, 0)
    if tlvs.current_path_key is not None:
        raise fail("current_path_key without encrypted_recipient_data", "current_path_key")
    for name in ("amt_to_forward", "outgoing_cltv_value"):
        if name not in present:
            raise fail(f"{name} missing", name)
    assert tlvs.amt_to_forward and tlvs.outgoing_cltv_value
    amount_msat = tlvs.amt_to_forward.amt_to_forward_msat
    cltv = tlvs.outgoing_cltv_value.outgoing_cltv_value
    if not is_final:
        if tlvs.short_channel_id is None:
            raise fail("short_channel_id missing for a forwarding node", "short_channel_id")
        return ForwardPayload(amount_msat, cltv, tlvs.short_channel_id.short_channel_id)
    # "MUST treat total_msat as if it were equal to amt_to_forward if it is not present."
    total_msat = amount_msat if tlvs.payment_data is None else tlvs.payment_data.total_msat
    return FinalPayload(
        amount_msat,
        cltv,
        total_msat,
        None if tlvs.payment_data is None else tlvs.payment_data.payment_secret,
        None if tlvs.payment_metadata is None else tlvs.payment_metadata.payment_metadata,
    )


def forward_payload_tlvs(
    amt_to_forward_msat: int, outgoing_cltv_value: int, scid: ShortChannelId
) -> PayloadTlvs:
    """Writer rules for a non-final node outside a blinded route."""
    return PayloadTlvs(
        amt_to_forward=AmtToForward(amt_to_forward_msat),
        outgoing_cltv_value=OutgoingCltvValue(outgoing_cltv_value),
        short_channel_id=ShortChannelIdTlv(scid),
    )


def final_payload_tlvs(
    amt_to_forward_msat: int,
    outgoing_cltv_value: int,
    payment_secret: bytes | None = None,
    total_msat: int | None = None,
    payment_metadata: bytes | None = None,
    custom_records: tuple[RawTlv, ...] = (),
) -> PayloadTlvs:
    """Writer rules for the final node outside a blinded route (no `short_channel_id`)."""
    payment_data = None
    if payment_secret is not None:
        payment_data = PaymentData(payment_secret, amt_to_forward_msat if total_msat is None else total_msat)
    return PayloadTlvs(
        amt_to_forward=AmtToForward(amt_to_forward_msat),
        outgoing_cltv_value=OutgoingCltvValue(outgoing_cltv_value),
        payment_data=payment_data,
        payment_metadata=None if payment_metadata is None else PaymentMetadata(payment_metadata),
        unknown_records=custom_records,
    )


def blinded_payload_tlvs(
    encrypted_recipient_data: bytes,
    current_path_key: bytes | None = None,
    final: tuple[int, int, int] | None = None,
) -> PayloadTlvs:
    """Writer rules inside a blinded route; `final` = (amt_to_forward_msat, outgoing_cltv_value,
    total_amount_msat) for the final node only."""
    amount = cltv = total = None
    if final is not None:
        amount, cltv, total = (AmtToForward(final[0]), OutgoingCltvValue(final[1]), TotalAmountMsat(final[2]))
    return PayloadTlvs(
        amt_to_forward=amount,
        outgoing_cltv_value=cltv,
        encrypted_recipient_data=EncryptedRecipientData(encrypted_recipient_data),
        current_path_key=None if current_path_key is None else CurrentPathKey(current_path_key),
        total_amount_msat=total,
    )
