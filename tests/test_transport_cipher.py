"""BOLT 8 message framing and key rotation (sans-I/O)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_node.transport import (
    MAX_MESSAGE_SIZE,
    MessageBadMac,
    MessageDecryptor,
    MessageEncryptor,
    MessageShortFrame,
    MessageTooLarge,
)


def _pair() -> tuple[MessageEncryptor, MessageDecryptor]:
    key, chaining_key = os.urandom(32), os.urandom(32)
    return MessageEncryptor(key, chaining_key), MessageDecryptor(key, chaining_key)


def test_frame_is_length_prefix_plus_body_plus_two_macs() -> None:
    encryptor, _ = _pair()
    assert len(encryptor.encrypt(b"hello")) == 18 + 5 + 16


def test_largest_message_is_65535_bytes() -> None:
    encryptor, decryptor = _pair()
    message = os.urandom(MAX_MESSAGE_SIZE)
    assert decryptor.feed(encryptor.encrypt(message)) == [message]


def test_message_over_65535_bytes_is_refused() -> None:
    encryptor, _ = _pair()
    with pytest.raises(MessageTooLarge) as failure:
        encryptor.encrypt(bytes(MAX_MESSAGE_SIZE + 1))
    assert failure.value.length == MAX_MESSAGE_SIZE + 1
    assert encryptor.cipher.nonce == 0  # nothing was consumed


def test_keys_rotate_every_500_messages_on_both_sides() -> None:
    encryptor, decryptor = _pair()
    first_key = encryptor.cipher.key
    for count in range(1, 1201):
        message = count.to_bytes(4, "big")
        assert decryptor.feed(encryptor.encrypt(message)) == [message]
        if count == 499:
            assert encryptor.cipher.key == first_key
        if count == 500:
            assert encryptor.cipher.key != first_key
            assert encryptor.cipher.nonce == 0
    assert encryptor.cipher.key == decryptor.cipher.key
    assert encryptor.cipher.nonce == decryptor.cipher.nonce == 400


@pytest.mark.parametrize(("offset", "part"), [(0, "length"), (17, "length"), (18, "body"), (-1, "body")])
def test_a_flipped_bit_fails_the_mac_of_that_part(offset: int, part: str) -> None:
    encryptor, decryptor = _pair()
    frame = bytearray(encryptor.encrypt(b"some lightning message"))
    frame[offset] ^= 0x01
    with pytest.raises(MessageBadMac) as failure:
        decryptor.feed(bytes(frame))
    assert failure.value.part == part


def test_frames_from_a_different_key_are_rejected() -> None:
    encryptor, _ = _pair()
    _, other_decryptor = _pair()
    with pytest.raises(MessageBadMac):
        other_decryptor.feed(encryptor.encrypt(b"x"))


def test_replayed_frame_is_rejected_because_the_nonce_moved_on() -> None:
    encryptor, decryptor = _pair()
    frame = encryptor.encrypt(b"once")
    assert decryptor.feed(frame) == [b"once"]
    with pytest.raises(MessageBadMac):
        decryptor.feed(frame)


def test_wrong_size_parts_are_refused() -> None:
    _, decryptor = _pair()
    with pytest.raises(MessageShortFrame):
        decryptor.decrypt_length(bytes(17))
    with pytest.raises(MessageShortFrame):
        decryptor.decrypt_body(bytes(20), 5)


@settings(max_examples=50, deadline=None)
@given(
    messages=st.lists(st.binary(max_size=300), min_size=1, max_size=8),
    cuts=st.lists(st.integers(min_value=1, max_value=64), max_size=40),
)
def test_any_chunking_of_the_stream_yields_the_same_messages(messages: list[bytes], cuts: list[int]) -> None:
    encryptor, decryptor = _pair()
    stream = b"".join(encryptor.encrypt(m) for m in messages)
    received: list[bytes] = []
    position = 0
    for cut in cuts:
        received += decryptor.feed(stream[position : position + cut])
        position += cut
    received += decryptor.feed(stream[position:])
    assert received == messages
    assert decryptor.buffered == 0
