"""The `r` field: one or more hops of a private route to the payee (BOLT 11 "Tagged Fields")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reference_node.invoice.errors import MalformedFieldError

# pubkey (264 bits) + short_channel_id (64) + fee_base_msat (32) + fee_proportional_millionths (32)
# + cltv_expiry_delta (16) = 408 bits.
HOP_LENGTH = 51
_SCID_TEXT = re.compile(r"^(\d+)x(\d+)x(\d+)$")


@dataclass(frozen=True)
class RouteHintHop:
    """One entry: `pubkey` is the node at the start of the channel; the rest as in BOLT 7 `channel_update`."""

    pubkey: bytes
    short_channel_id: int
    fee_base_msat: int
    fee_proportional_millionths: int
    cltv_expiry_delta: int

    def __post_init__(self) -> None:
        if len(self.pubkey) != 33:
            raise MalformedFieldError(f"route hint pubkey of {len(self.pubkey)} bytes, not 33")
        for name, value, bits in (
            ("short_channel_id", self.short_channel_id, 64),
            ("fee_base_msat", self.fee_base_msat, 32),
            ("fee_proportional_millionths", self.fee_proportional_millionths, 32),
            ("cltv_expiry_delta", self.cltv_expiry_delta, 16),
        ):
            if not 0 <= value < 1 << bits:
                raise MalformedFieldError(f"route hint {name} {value} does not fit in {bits} bits")

    def to_bytes(self) -> bytes:
        return (
            self.pubkey
            + self.short_channel_id.to_bytes(8, "big")
            + self.fee_base_msat.to_bytes(4, "big")
            + self.fee_proportional_millionths.to_bytes(4, "big")
            + self.cltv_expiry_delta.to_bytes(2, "big")
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> RouteHintHop:
        if len(data) != HOP_LENGTH:
            raise MalformedFieldError(f"route hint entry of {len(data)} bytes, not {HOP_LENGTH}")
        return cls(
            pubkey=data[:33],
            short_channel_id=int.from_bytes(data[33:41], "big"),
            fee_base_msat=int.from_bytes(data[41:45], "big"),
            fee_proportional_millionths=int.from_bytes(data[45:49], "big"),
            cltv_expiry_delta=int.from_bytes(data[49:51], "big"),
        )


def scid_to_text(short_channel_id: int) -> str:
    """BOLT 7 human form `block x transaction x output`."""
    return f"{short_channel_id >> 40}x{short_channel_id >> 16 & 0xFFFFFF}x{short_channel_id & 0xFFFF}"


def scid_from_text(text: str) -> int:
    match = _SCID_TEXT.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a short_channel_id of the form BLOCKxTXxOUTPUT")
    block, tx_index, output = (int(group) for group in match.groups())
    if block >= 1 << 24 or tx_index >= 1 << 24 or output >= 1 << 16:
        raise ValueError(f"{text!r}: a part is out of range")
    return block << 40 | tx_index << 16 | output
