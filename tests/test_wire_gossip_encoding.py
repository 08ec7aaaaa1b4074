"""BOLT 7 encoded arrays: encoded_short_ids, encoded_query_flags, encoded_timestamps."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_node.wire import DecodeError, ForbiddenEncodingError, ShortChannelId, TruncatedError
from reference_node.wire.gossip_encoding import (
    EncodingType,
    UnknownEncodingTypeError,
    decode_query_flags,
    decode_short_ids,
    decode_timestamps,
    encode_query_flags,
    encode_short_ids,
    encode_timestamps,
)
from reference_node.wire.messages_bolt07 import ChannelUpdateTimestamps

SCIDS = st.lists(
    st.builds(
        ShortChannelId, st.integers(0, (1 << 24) - 1), st.integers(0, (1 << 24) - 1), st.integers(0, 65535)
    ),
    max_size=20,
).map(tuple)


@given(SCIDS)
def test_short_ids_round_trip_uncompressed(scids: tuple[ShortChannelId, ...]) -> None:
    encoded = encode_short_ids(scids)
    assert encoded[0] == EncodingType.UNCOMPRESSED
    assert decode_short_ids(encoded) == scids


def test_zlib_short_ids_are_refused_unless_inspecting() -> None:
    scids = (ShortChannelId(1, 2, 3), ShortChannelId(4, 5, 6))
    encoded = bytes([EncodingType.COMPRESSED_ZLIB]) + zlib.compress(encode_short_ids(scids)[1:])
    with pytest.raises(ForbiddenEncodingError):
        decode_short_ids(encoded)
    assert decode_short_ids(encoded, allow_zlib=True) == scids


def test_unknown_encoding_type_is_an_error() -> None:
    with pytest.raises(UnknownEncodingTypeError):
        decode_short_ids(b"\x02" + bytes(8))


def test_partial_short_channel_id_is_an_error() -> None:
    with pytest.raises(TruncatedError):
        decode_short_ids(b"\x00" + bytes(7))


def test_empty_encoded_short_ids_has_no_encoding_byte() -> None:
    with pytest.raises(TruncatedError):
        decode_short_ids(b"")


def test_inspection_bounds_decompressed_size() -> None:
    bomb = bytes([EncodingType.COMPRESSED_ZLIB]) + zlib.compress(bytes(8 << 20))
    with pytest.raises(DecodeError):
        decode_short_ids(bomb, allow_zlib=True)


def test_corrupt_zlib_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        decode_short_ids(b"\x01not zlib", allow_zlib=True)


@given(st.lists(st.integers(0, (1 << 64) - 1), max_size=20))
def test_query_flags_round_trip(flags: list[int]) -> None:
    encoding_type, encoded = encode_query_flags(flags)
    assert decode_query_flags(encoding_type, encoded) == tuple(flags)


@given(st.lists(st.tuples(st.integers(0, (1 << 32) - 1), st.integers(0, (1 << 32) - 1)), max_size=20))
def test_timestamps_round_trip(pairs: list[tuple[int, int]]) -> None:
    items = tuple(ChannelUpdateTimestamps(a, b) for a, b in pairs)
    encoding_type, encoded = encode_timestamps(items)
    assert decode_timestamps(encoding_type, encoded) == items
