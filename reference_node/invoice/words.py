"""5-bit "field elements": the unit of the BOLT 11 data part."""

from __future__ import annotations

from collections.abc import Sequence

from reference_node.bitcoin.bech32 import convertbits
from reference_node.invoice.errors import MalformedFieldError

Words = tuple[int, ...]


def bytes_to_words(data: bytes) -> Words:
    """Bytes to 5-bit words, zero-padded ("MUST pad field data to a multiple of 5 bits, using 0s")."""
    return tuple(convertbits(data, 8, 5, pad=True))


def words_to_bytes(words: Sequence[int], what: str) -> bytes:
    """5-bit words to whole bytes; the bits left over (fewer than 8) must be zero padding."""
    total_bits = len(words) * 5
    padding_bits = total_bits % 8
    value = words_to_int(words)
    if value & ((1 << padding_bits) - 1):
        raise MalformedFieldError(f"{what}: non-zero padding bits")
    return (value >> padding_bits).to_bytes(total_bits // 8, "big")


def words_to_int(words: Sequence[int]) -> int:
    """Big-endian 5-bit words as an integer (`x`, `c`, `9`, the timestamp)."""
    value = 0
    for word in words:
        value = value << 5 | word
    return value


def int_to_words(value: int, length: int | None = None) -> Words:
    """An integer as big-endian 5-bit words: `length` words, or the minimum (no leading 0 words)."""
    if value < 0:
        raise ValueError(f"cannot encode negative value {value}")
    minimal = (value.bit_length() + 4) // 5
    count = minimal if length is None else length
    if count < minimal:
        raise ValueError(f"value {value} does not fit in {count} 5-bit words")
    return tuple((value >> (5 * (count - 1 - index))) & 31 for index in range(count))
