"""`short_channel_id` (BOLT 7 "Definition of `short_channel_id`")."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TEXT = re.compile(r"^(\d+)x(\d+)x(\d+)$")


@dataclass(frozen=True, order=True)
class ShortChannelId:
    """Block height (3 bytes), transaction index (3 bytes), output index (2 bytes), big-endian.

    BOLT 7 writes it as the string "BLOCKxTXxOUTPUT" (for example "539268x845x1").
    """

    block_height: int
    tx_index: int
    output_index: int

    def __post_init__(self) -> None:
        if not (
            0 <= self.block_height < 1 << 24
            and 0 <= self.tx_index < 1 << 24
            and 0 <= self.output_index < 1 << 16
        ):
            raise ValueError(f"short_channel_id component out of range: {self}")

    @classmethod
    def from_int(cls, value: int) -> ShortChannelId:
        if not 0 <= value < 1 << 64:
            raise ValueError(f"short_channel_id out of range: {value}")
        return cls(value >> 40, (value >> 16) & 0xFFFFFF, value & 0xFFFF)

    @classmethod
    def from_bytes(cls, data: bytes) -> ShortChannelId:
        if len(data) != 8:
            raise ValueError(f"short_channel_id needs 8 bytes, got {len(data)}")
        return cls.from_int(int.from_bytes(data, "big"))

    @classmethod
    def from_str(cls, text: str) -> ShortChannelId:
        match = _TEXT.match(text)
        if not match:
            raise ValueError(f"short_channel_id must look like 'BLOCKxTXxOUTPUT', got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3)))

    def to_int(self) -> int:
        return (self.block_height << 40) | (self.tx_index << 16) | self.output_index

    def to_bytes(self) -> bytes:
        return self.to_int().to_bytes(8, "big")

    def __str__(self) -> str:
        return f"{self.block_height}x{self.tx_index}x{self.output_index}"
