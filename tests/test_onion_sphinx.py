"""Sphinx behaviour beyond the vectors: round trips of any shape, and each processing error."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_node.onion.crypto import public_key_of
from reference_node.onion.failure_messages import FailureCode
from reference_node.onion.sphinx import (
    HOP_PAYLOADS_LEN,
    InvalidOnionHmac,
    InvalidOnionKey,
    InvalidOnionPayloadFraming,
    InvalidOnionVersion,
    OnionConstructionError,
    OnionPacket,
    construct_onion,
    process_onion,
)

PRIVATE_KEYS = st.integers(min_value=1, max_value=2**255).map(lambda n: n.to_bytes(32, "big"))


def _peel_all(packet: OnionPacket, keys: list[bytes], assoc: bytes) -> list[bytes]:
    payloads = []
    current: OnionPacket | None = packet
    for key in keys:
        assert current is not None
        peeled = process_onion(current, key, assoc)
        payloads.append(peeled.payload)
        current = peeled.next_onion
    assert current is None
    return payloads


@settings(max_examples=40, deadline=None)
@given(
    session_key=PRIVATE_KEYS,
    keys=st.lists(PRIVATE_KEYS, min_size=1, max_size=20),
    sizes=st.lists(st.integers(min_value=2, max_value=300), min_size=20, max_size=20),
    assoc=st.binary(max_size=40),
)
def test_every_hop_recovers_its_payload_and_only_the_last_is_final(
    session_key: bytes, keys: list[bytes], sizes: list[int], assoc: bytes
) -> None:
    payloads = [bytes([index % 251 + 1]) * sizes[index] for index in range(len(keys))]
    while sum(len(p) + 3 + 32 for p in payloads) > HOP_PAYLOADS_LEN:
        payloads = [p[: max(2, len(p) // 2)] for p in payloads]
    packet = construct_onion(session_key, [public_key_of(k) for k in keys], payloads, assoc)
    assert len(packet.to_bytes()) == 1366
    assert _peel_all(packet, keys, assoc) == payloads


@settings(max_examples=10, deadline=None)
@given(session_key=PRIVATE_KEYS, keys=st.lists(PRIVATE_KEYS, min_size=1, max_size=5))
def test_onion_message_sized_packets_round_trip(session_key: bytes, keys: list[bytes]) -> None:
    payloads = [b"\x04\x10" + bytes(16) + bytes([i]) * 2000 for i in range(len(keys))]
    packet = construct_onion(session_key, [public_key_of(k) for k in keys], payloads, hop_payloads_len=32768)
    assert len(packet.hop_payloads) == 32768
    assert _peel_all(packet, keys, b"") == payloads


@pytest.fixture
def one_hop() -> tuple[bytes, bytes]:
    key = b"\x11" * 32
    return construct_onion(b"\x22" * 32, [public_key_of(key)], [b"\x02\x01\x01"], b"ad").to_bytes(), key


def test_unknown_version_is_invalid_onion_version_with_the_onion_hash(one_hop: tuple[bytes, bytes]) -> None:
    raw, key = one_hop
    bad = b"\x01" + raw[1:]
    with pytest.raises(InvalidOnionVersion) as raised:
        process_onion(bad, key, b"ad")
    assert raised.value.failure_code is FailureCode.invalid_onion_version
    assert raised.value.sha256_of_onion == hashlib.sha256(bad).digest()


def test_unparsable_public_key_is_invalid_onion_key(one_hop: tuple[bytes, bytes]) -> None:
    raw, key = one_hop
    bad = raw[:1] + b"\x04" + raw[2:]
    with pytest.raises(InvalidOnionKey) as raised:
        process_onion(bad, key, b"ad")
    assert raised.value.failure_code is FailureCode.invalid_onion_key
    assert raised.value.sha256_of_onion == hashlib.sha256(bad).digest()


def test_flipped_payload_bit_is_invalid_onion_hmac(one_hop: tuple[bytes, bytes]) -> None:
    raw, key = one_hop
    bad = raw[:100] + bytes([raw[100] ^ 1]) + raw[101:]
    with pytest.raises(InvalidOnionHmac) as raised:
        process_onion(bad, key, b"ad")
    assert raised.value.failure_code is FailureCode.invalid_onion_hmac


def test_other_associated_data_is_invalid_onion_hmac(one_hop: tuple[bytes, bytes]) -> None:
    raw, key = one_hop
    with pytest.raises(InvalidOnionHmac):
        process_onion(raw, key, b"other payment hash")


def test_wrong_node_key_is_invalid_onion_hmac(one_hop: tuple[bytes, bytes]) -> None:
    raw, _ = one_hop
    with pytest.raises(InvalidOnionHmac):
        process_onion(raw, b"\x33" * 32, b"ad")


@pytest.mark.parametrize("length", [0, 1])
def test_reserved_payload_lengths_are_refused_after_the_hmac_checks(length: int) -> None:
    key = b"\x44" * 32
    raw = construct_onion(b"\x55" * 32, [public_key_of(key)], [b"\x00" * length]).to_bytes()
    with pytest.raises(InvalidOnionPayloadFraming) as raised:
        process_onion(raw, key)
    assert raised.value.failure_code is FailureCode.invalid_onion_payload


def test_payloads_that_do_not_fit_are_refused_at_construction() -> None:
    keys = [public_key_of(bytes([i]) * 32) for i in range(1, 5)]
    with pytest.raises(OnionConstructionError):
        construct_onion(b"\x66" * 32, keys, [bytes(300)] * 4)


def test_payloads_filling_exactly_1300_bytes_are_accepted() -> None:
    key = b"\x77" * 32
    payload = bytes([1]) * (HOP_PAYLOADS_LEN - 3 - 32)  # bigsize prefix of 3 bytes, then the HMAC
    packet = construct_onion(b"\x88" * 32, [public_key_of(key)], [payload])
    assert process_onion(packet, key).payload == payload
