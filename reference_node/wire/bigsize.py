"""BigSize (BOLT 1 Appendix A): big-endian CompactSize, always minimally encoded."""

from __future__ import annotations

from reference_node.wire.errors import EncodeError, NonCanonicalBigSizeError, TruncatedError

BIGSIZE_MAX = 0xFFFF_FFFF_FFFF_FFFF

# Prefix byte -> (payload length, smallest value that needs this length).
_WIDE = {0xFD: (2, 0xFD), 0xFE: (4, 0x1_0000), 0xFF: (8, 0x1_0000_0000)}


def encode_bigsize(value: int) -> bytes:
    """Encode `value` (0 <= value < 2**64) in its unique minimal BigSize form."""
    if not 0 <= value <= BIGSIZE_MAX:
        raise EncodeError(f"bigsize out of range: {value}")
    if value < 0xFD:
        return bytes((value,))
    if value < 0x1_0000:
        return b"\xfd" + value.to_bytes(2, "big")
    if value < 0x1_0000_0000:
        return b"\xfe" + value.to_bytes(4, "big")
    return b"\xff" + value.to_bytes(8, "big")


def decode_bigsize(
    data: bytes, offset: int = 0, *, end: int | None = None, where: str = "bigsize"
) -> tuple[int, int]:
    """Decode one BigSize at `offset` (reading no further than `end`); return (value, offset past it).

    Raises TruncatedError ("EOF" when no byte at all, "unexpected EOF" when cut short) and
    NonCanonicalBigSizeError, the two failure kinds Appendix A's vectors distinguish.
    """
    limit = len(data) if end is None else end
    if offset >= limit:
        raise TruncatedError("EOF", where=where)
    prefix = data[offset]
    if prefix < 0xFD:
        return prefix, offset + 1
    width, minimum = _WIDE[prefix]
    stop = offset + 1 + width
    if stop > limit:
        raise TruncatedError("unexpected EOF", where=where)
    value = int.from_bytes(data[offset + 1 : stop], "big")
    if value < minimum:
        raise NonCanonicalBigSizeError("decoded bigsize is not canonical", where=where)
    return value, stop
