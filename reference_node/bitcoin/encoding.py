"""Bitcoin's little-endian integers and CompactSize (varint) encoding."""

from __future__ import annotations

from reference_node.bitcoin.errors import TxParseError


def compact_size(n: int) -> bytes:
    """CompactSize length prefix, as used for script, witness and vector lengths."""
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def var_bytes(data: bytes) -> bytes:
    return compact_size(len(data)) + data


class ByteReader:
    """A cursor over bytes that raises TxParseError (with the offset) instead of reading past the end."""

    __slots__ = ("data", "offset")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def read(self, n: int) -> bytes:
        end = self.offset + n
        if end > len(self.data):
            raise TxParseError(
                f"truncated: need {n} bytes at offset {self.offset}, have {len(self.data) - self.offset}"
            )
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def peek(self, n: int) -> bytes:
        return self.data[self.offset : self.offset + n]

    def u32(self) -> int:
        return int.from_bytes(self.read(4), "little")

    def i32(self) -> int:
        return int.from_bytes(self.read(4), "little", signed=True)

    def u64(self) -> int:
        return int.from_bytes(self.read(8), "little")

    def i64(self) -> int:
        return int.from_bytes(self.read(8), "little", signed=True)

    def compact_size(self) -> int:
        first = self.read(1)[0]
        if first < 0xFD:
            return first
        width = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
        value = int.from_bytes(self.read(width), "little")
        if value < {2: 0xFD, 4: 0x10000, 8: 0x100000000}[width]:
            raise TxParseError(f"non-canonical CompactSize {value} at offset {self.offset - width - 1}")
        return value

    def var_bytes(self) -> bytes:
        return self.read(self.compact_size())

    def at_end(self) -> bool:
        return self.offset == len(self.data)
