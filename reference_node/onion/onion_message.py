"""BOLT 4 "Onion Messages": `onion_message` (type 513) over blinded paths.

Same Sphinx as payments with an empty `associated_data`; every hop is blinded, so each one gets a
`path_key` with the message and finds its instructions in `encrypted_recipient_data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from reference_node.onion.route_blinding import BlindedHop, BlindingError, EncryptedDataTlv, unblind_hop
from reference_node.onion.sphinx import (
    HOP_PAYLOADS_LEN,
    OnionPacket,
    OnionProcessingError,
    construct_onion,
    process_onion,
)
from reference_node.onion.wire_adapter import (
    BYTE,
    ShortChannelId,
    TlvRecord,
    TlvStream,
    TlvType,
    WireError,
    decode_tlv_stream,
    encode_tlv_stream,
    rest,
)

ONION_MESSAGE_TYPE = 513
# "SHOULD set onion_message_packet len to 1366 or 32834": payload areas of 1300 or 32768 bytes.
LARGE_HOP_PAYLOADS_LEN = 32834 - 66
# "Field numbers 64 and above are reserved for payloads for the final hop."
FIRST_FINAL_PAYLOAD_TYPE = 64


class OnionMessageIgnored(Exception):
    """The reader "MUST ignore the message"; `reason` says which rule applied."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RawBytes(TlvRecord):
    value: Annotated[bytes, rest(BYTE)]


@dataclass(frozen=True)
class OnionmsgTlv(TlvStream):
    """`tlv_stream`: `onionmsg_tlv`. `reply_path` and the BOLT 12 payloads are kept as bytes."""

    reply_path: Annotated[RawBytes | None, TlvType(2)] = None
    encrypted_recipient_data: Annotated[RawBytes | None, TlvType(4)] = None
    invoice_request: Annotated[RawBytes | None, TlvType(64)] = None
    invoice: Annotated[RawBytes | None, TlvType(66)] = None
    invoice_error: Annotated[RawBytes | None, TlvType(68)] = None

    def to_bytes(self) -> bytes:
        return encode_tlv_stream(self)


@dataclass(frozen=True)
class OnionMessage:
    """The `onion_message` message: [point:path_key][u16:len][len*byte:onion_message_packet]."""

    path_key: bytes
    onion_message_packet: bytes

    def to_bytes(self) -> bytes:
        packet = self.onion_message_packet
        return ONION_MESSAGE_TYPE.to_bytes(2, "big") + self.path_key + len(packet).to_bytes(2, "big") + packet

    @classmethod
    def from_bytes(cls, raw: bytes) -> OnionMessage:
        if len(raw) < 2 + 33 + 2 or int.from_bytes(raw[:2], "big") != ONION_MESSAGE_TYPE:
            raise OnionMessageIgnored("not an onion_message")
        length = int.from_bytes(raw[35:37], "big")
        if len(raw) < 37 + length:
            raise OnionMessageIgnored("onion_message_packet truncated")
        return cls(raw[2:35], raw[37 : 37 + length])


@dataclass(frozen=True)
class ForwardOnionMessage:
    """Not the final node: send `message` to `next_node_id` (or over `short_channel_id`)."""

    next_node_id: bytes | None
    short_channel_id: ShortChannelId | None
    message: OnionMessage
    encrypted_data_tlv: EncryptedDataTlv


@dataclass(frozen=True)
class ReceivedOnionMessage:
    """The final node: the payload and the decrypted `encrypted_data_tlv` (for `path_id`)."""

    payload: OnionmsgTlv
    encrypted_data_tlv: EncryptedDataTlv


def construct_onion_message(
    session_key: bytes,
    first_path_key: bytes,
    hops: Sequence[BlindedHop],
    final_payload: OnionmsgTlv,
) -> OnionMessage:
    """ "The writer": onion to each `blinded_node_id`, non-final hops carrying only their
    `encrypted_recipient_data`; the final hop's `encrypted_recipient_data` is added to `final_payload`."""
    payloads = [OnionmsgTlv(encrypted_recipient_data=RawBytes(hop.encrypted_recipient_data)) for hop in hops]
    last = hops[-1].encrypted_recipient_data
    payloads[-1] = OnionmsgTlv(
        reply_path=final_payload.reply_path,
        encrypted_recipient_data=RawBytes(last),
        invoice_request=final_payload.invoice_request,
        invoice=final_payload.invoice,
        invoice_error=final_payload.invoice_error,
        unknown_records=final_payload.unknown_records,
    )
    encoded = [payload.to_bytes() for payload in payloads]
    needed = sum(len(p) + 3 + 32 for p in encoded)
    size = HOP_PAYLOADS_LEN if needed <= HOP_PAYLOADS_LEN else LARGE_HOP_PAYLOADS_LEN
    packet = construct_onion(
        session_key,
        [hop.blinded_node_id for hop in hops],
        encoded,
        associated_data=b"",
        hop_payloads_len=size,
    )
    return OnionMessage(first_path_key, packet.to_bytes())


def process_onion_message(
    message: OnionMessage, node_private_key: bytes
) -> ForwardOnionMessage | ReceivedOnionMessage:
    """ "The reader": decrypt with an empty associated_data and the `path_key`, then apply the rules.

    Raises OnionMessageIgnored for every "MUST ignore the message" case.
    """
    try:
        peeled = process_onion(
            OnionPacket.from_bytes(message.onion_message_packet),
            node_private_key,
            associated_data=b"",
            path_key=message.path_key,
        )
    except (OnionProcessingError, ValueError) as exc:
        raise OnionMessageIgnored(f"decryption failed: {exc}") from exc
    try:
        payload = decode_tlv_stream(OnionmsgTlv, peeled.payload)
    except WireError as exc:
        raise OnionMessageIgnored(f"onionmsg_tlv: {exc}") from exc
    if payload.encrypted_recipient_data is None:
        raise OnionMessageIgnored("no encrypted_recipient_data")
    try:
        hop = unblind_hop(node_private_key, message.path_key, payload.encrypted_recipient_data.value)
    except BlindingError as exc:
        raise OnionMessageIgnored(str(exc)) from exc
    data = hop.encrypted_data_tlv
    if peeled.next_onion is None:
        final_fields = [
            name
            for name in ("invoice_request", "invoice", "invoice_error")
            if getattr(payload, name) is not None
        ]
        final_fields += [str(r.type) for r in payload.unknown_records if r.type >= FIRST_FINAL_PAYLOAD_TYPE]
        if len(final_fields) > 1:
            raise OnionMessageIgnored(f"more than one payload field: {final_fields}")
        return ReceivedOnionMessage(payload, data)
    if (
        payload.reply_path is not None
        or payload.unknown_records
        or any(getattr(payload, name) is not None for name in ("invoice_request", "invoice", "invoice_error"))
    ):
        raise OnionMessageIgnored("a non-final onionmsg_tlv holds fields other than encrypted_recipient_data")
    if data.path_id is not None:
        raise OnionMessageIgnored("path_id in a non-final hop's encrypted_data_tlv")
    if data.next_node_id is None and data.short_channel_id is None:
        raise OnionMessageIgnored("neither next_node_id nor short_channel_id")
    return ForwardOnionMessage(
        None if data.next_node_id is None else data.next_node_id.node_id,
        None if data.short_channel_id is None else data.short_channel_id.short_channel_id,
        OnionMessage(hop.next_path_key, peeled.next_onion.to_bytes()),
        data,
    )
