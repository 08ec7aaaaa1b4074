"""BOLT 7 "Query Messages" encoded arrays: `encoded_short_ids`, `encoded_query_flags`,
`encoded_timestamps`, and the `query_option_flags` / `query_flag` bits.

Messages keep these arrays as raw bytes (so a decoded message re-encodes byte for byte); the
functions here interpret them. Encoding type 1 (zlib) "MUST NOT be used" at this spec commit:
decoding it raises ForbiddenEncodingError unless the caller asks for inspection with
`allow_zlib=True` (used to read old test vectors and to describe what a peer sent); encoding
never produces it.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Iterable

from reference_node.wire.bigsize import encode_bigsize
from reference_node.wire.errors import DecodeError, ForbiddenEncodingError, TruncatedError
from reference_node.wire.messages_bolt07 import CHANNEL_UPDATE_TIMESTAMPS, ChannelUpdateTimestamps
from reference_node.wire.scid import ShortChannelId
from reference_node.wire.types import Reader

# A decompressed array can never need more than a whole message's worth of items; bound zlib output
# (inspection mode only) so a hostile peer cannot exhaust memory.
_MAX_INSPECTED_SIZE = 1 << 20


class EncodingType(enum.IntEnum):
    """BOLT 7 "Encoding types"."""

    UNCOMPRESSED = 0
    COMPRESSED_ZLIB = 1  # "Previously used for zlib compression, this encoding MUST NOT be used."


class QueryOptionFlag(enum.IntFlag):
    """`query_option_flags` of `query_channel_range` (BOLT 7)."""

    WANT_TIMESTAMPS = 1 << 0
    WANT_CHECKSUMS = 1 << 1


class QueryFlag(enum.IntFlag):
    """Bits of one `query_flag` in `encoded_query_flags` (BOLT 7 table)."""

    CHANNEL_ANNOUNCEMENT = 1 << 0
    CHANNEL_UPDATE_NODE_1 = 1 << 1
    CHANNEL_UPDATE_NODE_2 = 1 << 2
    NODE_ANNOUNCEMENT_NODE_1 = 1 << 3
    NODE_ANNOUNCEMENT_NODE_2 = 1 << 4


class UnknownEncodingTypeError(DecodeError):
    """The encoding type byte is neither 0 nor 1 (BOLT 7: "not a known encoding type")."""


def _payload(encoding_type: int, data: bytes, allow_zlib: bool, where: str) -> bytes:
    if encoding_type == EncodingType.UNCOMPRESSED:
        return data
    if encoding_type == EncodingType.COMPRESSED_ZLIB:
        if not allow_zlib:
            raise ForbiddenEncodingError("zlib encoding (type 1) MUST NOT be used", where=where)
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(data, _MAX_INSPECTED_SIZE)
        except zlib.error as exc:
            raise DecodeError(f"bad zlib data: {exc}", where=where) from exc
        if inflater.unconsumed_tail or not inflater.eof:
            raise DecodeError("zlib data truncated or larger than the inspection bound", where=where)
        return out
    raise UnknownEncodingTypeError(f"unknown encoding type {encoding_type}", where=where)


def _split_prefixed(encoded: bytes, where: str) -> tuple[int, bytes]:
    if not encoded:
        raise TruncatedError("empty encoded array has no encoding type byte", where=where)
    return encoded[0], encoded[1:]


def decode_short_ids(encoded_short_ids: bytes, *, allow_zlib: bool = False) -> tuple[ShortChannelId, ...]:
    """`encoded_short_ids` (encoding byte + array) -> short_channel_ids; a partial id is an error."""
    where = "encoded_short_ids"
    encoding_type, data = _split_prefixed(encoded_short_ids, where)
    payload = _payload(encoding_type, data, allow_zlib, where)
    if len(payload) % 8:
        raise TruncatedError("does not decode into a whole number of short_channel_id", where=where)
    return tuple(ShortChannelId.from_bytes(payload[i : i + 8]) for i in range(0, len(payload), 8))


def encode_short_ids(short_ids: Iterable[ShortChannelId]) -> bytes:
    """Uncompressed `encoded_short_ids` (the only encoding a sender may use)."""
    return bytes([EncodingType.UNCOMPRESSED]) + b"".join(s.to_bytes() for s in short_ids)


def decode_query_flags(
    encoding_type: int, encoded_query_flags: bytes, *, allow_zlib: bool = False
) -> tuple[int, ...]:
    """The `query_flags` TLV's array: one minimally encoded bigsize per short_channel_id."""
    where = "encoded_query_flags"
    payload = _payload(encoding_type, encoded_query_flags, allow_zlib, where)
    reader = Reader(payload)
    flags = []
    while reader.remaining():
        flags.append(reader.bigsize(where))
    return tuple(flags)


def encode_query_flags(flags: Iterable[int]) -> tuple[int, bytes]:
    """(encoding_type, encoded_query_flags) for the `query_flags` TLV, uncompressed."""
    return int(EncodingType.UNCOMPRESSED), b"".join(encode_bigsize(flag) for flag in flags)


def decode_timestamps(
    encoding_type: int, encoded_timestamps: bytes, *, allow_zlib: bool = False
) -> tuple[ChannelUpdateTimestamps, ...]:
    """The `timestamps_tlv` array of `channel_update_timestamps`."""
    where = "encoded_timestamps"
    payload = _payload(encoding_type, encoded_timestamps, allow_zlib, where)
    reader = Reader(payload)
    items: list[ChannelUpdateTimestamps] = []
    while reader.remaining():
        items.append(CHANNEL_UPDATE_TIMESTAMPS.read(reader, f"{where}[{len(items)}]"))
    return tuple(items)


def encode_timestamps(timestamps: Iterable[ChannelUpdateTimestamps]) -> tuple[int, bytes]:
    """(encoding_type, encoded_timestamps) for the `timestamps_tlv`, uncompressed."""
    out = bytearray()
    for item in timestamps:
        CHANNEL_UPDATE_TIMESTAMPS.write(item, out)
    return int(EncodingType.UNCOMPRESSED), bytes(out)
