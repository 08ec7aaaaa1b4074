"""Onion messages: a message over a blinded path, and the reader's "MUST ignore" rules."""

from __future__ import annotations

import pytest

from reference_node.onion.crypto import public_key_of
from reference_node.onion.onion_message import (
    ForwardOnionMessage,
    OnionMessage,
    OnionMessageIgnored,
    OnionmsgTlv,
    RawBytes,
    ReceivedOnionMessage,
    construct_onion_message,
    process_onion_message,
)
from reference_node.onion.route_blinding import (
    BlindedHop,
    EncryptedDataTlv,
    NextNodeId,
    PathId,
    create_blinded_path,
)
from reference_node.onion.sphinx import construct_onion

KEYS = [bytes([i]) * 32 for i in (0x51, 0x52, 0x53)]
NODE_IDS = [public_key_of(k) for k in KEYS]


def _path(middle: EncryptedDataTlv | None = None) -> tuple[bytes, tuple[BlindedHop, ...]]:
    data = [
        EncryptedDataTlv(next_node_id=NextNodeId(NODE_IDS[1])),
        middle or EncryptedDataTlv(next_node_id=NextNodeId(NODE_IDS[2])),
        EncryptedDataTlv(path_id=PathId(b"reply-1")),
    ]
    created = create_blinded_path(b"\x61" * 32, NODE_IDS, [d.to_bytes() for d in data])
    return created.path.first_path_key, created.path.hops


def _deliver(message: OnionMessage) -> ForwardOnionMessage | ReceivedOnionMessage:
    result: ForwardOnionMessage | ReceivedOnionMessage = process_onion_message(message, KEYS[0])
    for key, node_id in zip(KEYS[1:], NODE_IDS[1:], strict=True):
        assert isinstance(result, ForwardOnionMessage) and result.next_node_id == node_id
        result = process_onion_message(result.message, key)
    return result


def test_message_reaches_the_final_node_with_its_path_id() -> None:
    first_path_key, hops = _path()
    payload = OnionmsgTlv(invoice_request=RawBytes(b"invreq"))
    message = construct_onion_message(b"\x62" * 32, first_path_key, hops, payload)
    assert len(message.onion_message_packet) == 1366
    received = _deliver(OnionMessage.from_bytes(message.to_bytes()))
    assert isinstance(received, ReceivedOnionMessage)
    assert received.payload.invoice_request == RawBytes(b"invreq")
    assert received.encrypted_data_tlv.path_id == PathId(b"reply-1")


def test_large_payload_uses_the_32834_byte_packet() -> None:
    first_path_key, hops = _path()
    message = construct_onion_message(
        b"\x62" * 32, first_path_key, hops, OnionmsgTlv(invoice=RawBytes(bytes(4000)))
    )
    assert len(message.onion_message_packet) == 32834
    assert isinstance(_deliver(message), ReceivedOnionMessage)


def test_two_payload_fields_at_the_final_node_are_ignored() -> None:
    first_path_key, hops = _path()
    payload = OnionmsgTlv(invoice_request=RawBytes(b"a"), invoice=RawBytes(b"b"))
    with pytest.raises(OnionMessageIgnored):
        _deliver(construct_onion_message(b"\x62" * 32, first_path_key, hops, payload))


def test_path_id_at_a_forwarding_node_is_ignored() -> None:
    first_path_key, hops = _path(EncryptedDataTlv(next_node_id=NextNodeId(NODE_IDS[2]), path_id=PathId(b"x")))
    message = construct_onion_message(b"\x62" * 32, first_path_key, hops, OnionmsgTlv())
    forwarded = process_onion_message(message, KEYS[0])
    assert isinstance(forwarded, ForwardOnionMessage)
    with pytest.raises(OnionMessageIgnored):
        process_onion_message(forwarded.message, KEYS[1])


def test_forwarding_node_without_a_next_hop_is_ignored() -> None:
    first_path_key, hops = _path(EncryptedDataTlv())
    message = construct_onion_message(b"\x62" * 32, first_path_key, hops, OnionmsgTlv())
    forwarded = process_onion_message(message, KEYS[0])
    assert isinstance(forwarded, ForwardOnionMessage)
    with pytest.raises(OnionMessageIgnored):
        process_onion_message(forwarded.message, KEYS[1])


def test_extra_field_for_a_forwarding_node_is_ignored() -> None:
    first_path_key, hops = _path()
    payloads = [
        OnionmsgTlv(
            encrypted_recipient_data=RawBytes(hops[0].encrypted_recipient_data), invoice=RawBytes(b"x")
        ),
        OnionmsgTlv(encrypted_recipient_data=RawBytes(hops[1].encrypted_recipient_data)),
    ]
    packet = construct_onion(
        b"\x63" * 32, [hop.blinded_node_id for hop in hops[:2]], [p.to_bytes() for p in payloads]
    )
    with pytest.raises(OnionMessageIgnored):
        process_onion_message(OnionMessage(first_path_key, packet.to_bytes()), KEYS[0])


def test_wrong_path_key_is_ignored() -> None:
    first_path_key, hops = _path()
    message = construct_onion_message(b"\x62" * 32, first_path_key, hops, OnionmsgTlv())
    with pytest.raises(OnionMessageIgnored):
        process_onion_message(OnionMessage(NODE_IDS[2], message.onion_message_packet), KEYS[0])
