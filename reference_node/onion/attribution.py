"""BOLT 4 attributable failures: `attribution_data` (hold times and truncated HMACs).

Layout (BOLT 2 `update_fail_htlc_tlvs` / `update_fulfill_htlc_tlvs` type 1): 20 u32
`htlc_hold_times` (units of 100 ms), then 210 4-byte `truncated_hmacs`. Node x (counted from the
node holding the data) owns 20 - x HMACs; its slot s assumes it is 19 - x - s hops from the erring
node, so its leftmost slot is the farthest position ("hmac_0_2 | hmac_0_1 | hmac_0_0 | ...").
"""

from __future__ import annotations

import hmac as _hmac
from collections.abc import Sequence
from dataclasses import dataclass

from reference_node.onion.crypto import KeyType, chacha20_stream, generate_key, hmac_sha256, xor

MAX_HOPS = 20  # "the maximum supported number of hops in a route (20)"
HOLD_TIME_LEN = 4
TRUNCATED_HMAC_LEN = 4
HOLD_TIMES_LEN = MAX_HOPS * HOLD_TIME_LEN
HMAC_COUNT = MAX_HOPS * (MAX_HOPS + 1) // 2  # 20 + 19 + ... + 1 = 210
ATTRIBUTION_DATA_LEN = HOLD_TIMES_LEN + HMAC_COUNT * TRUNCATED_HMAC_LEN  # 920


class AttributionError(ValueError):
    """Attribution data that is malformed or whose HMAC for a hop does not verify."""


@dataclass(frozen=True)
class UnwrappedAttribution:
    """One hop's layer removed at the origin: its reported hold time and the data for the next hop."""

    hold_time: int  # units of 100 milliseconds
    next_attribution_data: bytes


def _block_start(node: int) -> int:
    """Index of node `node`'s first HMAC: 20 + 19 + ... (node terms)."""
    return MAX_HOPS * node - node * (node - 1) // 2


def _split_hmacs(data: bytes) -> list[list[bytes]]:
    hmacs = data[HOLD_TIMES_LEN:]
    blocks = []
    for node in range(MAX_HOPS):
        start = _block_start(node)
        blocks.append(
            [
                hmacs[(start + slot) * TRUNCATED_HMAC_LEN : (start + slot + 1) * TRUNCATED_HMAC_LEN]
                for slot in range(MAX_HOPS - node)
            ]
        )
    return blocks


def _compute_hmacs(
    um_key: bytes,
    return_packet: bytes,
    hold_times: bytes,
    downstream: Sequence[Sequence[bytes]],
    slots: range,
) -> list[bytes]:
    """The HMACs of the node at x = 0 for `slots`.

    Slot s (19 - s hops from the erring node) covers: the return packet before this node's stream,
    the first 20 - s hold times, and the 19 - s downstream HMACs at the same slot.
    """
    result = []
    for slot in slots:
        positions = MAX_HOPS - slot
        covered = b"".join(downstream[node][slot] for node in range(positions - 1))
        message = return_packet + hold_times[: positions * HOLD_TIME_LEN] + covered
        result.append(hmac_sha256(um_key, message)[:TRUNCATED_HMAC_LEN])
    return result


def _cipher(data: bytes, shared_secret: bytes) -> bytes:
    """XOR with the `ammagext` stream (its own inverse)."""
    return xor(data, chacha20_stream(generate_key(KeyType.AMMAGEXT, shared_secret), ATTRIBUTION_DATA_LEN))


def add_attribution(
    shared_secret: bytes,
    hold_time: int,
    downstream_attribution_data: bytes | None,
    return_packet: bytes = b"",
) -> bytes:
    """ "Initialization", "Transformation" and "Update" of `attribution_data` at one node.

    `return_packet` is the failure return packet before this node's `ammag` stream (the raw packet
    at the erring node, the received packet at an intermediate node), or empty for a fulfill.
    `downstream_attribution_data` None means an all-zero block (erring node, or none received).
    """
    previous = (
        downstream_attribution_data
        if downstream_attribution_data is not None
        else bytes(ATTRIBUTION_DATA_LEN)
    )
    if len(previous) != ATTRIBUTION_DATA_LEN:
        raise AttributionError(f"attribution_data is {len(previous)} bytes, expected {ATTRIBUTION_DATA_LEN}")
    if not 0 <= hold_time <= 0xFFFFFFFF:
        raise AttributionError(f"hold time {hold_time} does not fit a u32")
    # Shift the hold times right; shift the HMAC blocks and prune each block's leftmost slot.
    hold_times = hold_time.to_bytes(HOLD_TIME_LEN, "big") + previous[: HOLD_TIMES_LEN - HOLD_TIME_LEN]
    downstream = [block[1:] for block in _split_hmacs(previous)[:-1]]
    own = _compute_hmacs(
        generate_key(KeyType.UM, shared_secret), return_packet, hold_times, downstream, range(MAX_HOPS)
    )
    flat = b"".join(own) + b"".join(b"".join(block) for block in downstream)
    return _cipher(hold_times + flat, shared_secret)


def unwrap_attribution(
    attribution_data: bytes, shared_secret: bytes, return_packet: bytes, remaining_hops: int
) -> UnwrappedAttribution:
    """The origin's check for one hop ("Origin node"): verify the HMACs for every position the
    erring node can still be at (`remaining_hops` of them), then return the hop's hold time and the
    data as the next hop produced it. Raises AttributionError when an HMAC does not verify.
    """
    if len(attribution_data) != ATTRIBUTION_DATA_LEN:
        raise AttributionError(
            f"attribution_data is {len(attribution_data)} bytes, expected {ATTRIBUTION_DATA_LEN}"
        )
    if not 1 <= remaining_hops <= MAX_HOPS:
        raise AttributionError(f"remaining hops {remaining_hops} is outside 1..{MAX_HOPS}")
    plain = _cipher(attribution_data, shared_secret)
    blocks = _split_hmacs(plain)
    slots = range(MAX_HOPS - remaining_hops, MAX_HOPS)
    expected = _compute_hmacs(
        generate_key(KeyType.UM, shared_secret), return_packet, plain[:HOLD_TIMES_LEN], blocks[1:], slots
    )
    for slot, want in zip(slots, expected, strict=True):
        if not _hmac.compare_digest(want, blocks[0][slot]):
            raise AttributionError(f"attribution hmac for position {MAX_HOPS - 1 - slot} does not verify")
    hold_time = int.from_bytes(plain[:HOLD_TIME_LEN], "big")
    # Undo the shift: what the next hop sent, with zeros where its pruned slots were.
    next_hold_times = plain[HOLD_TIME_LEN:HOLD_TIMES_LEN] + bytes(HOLD_TIME_LEN)
    next_hmacs = b"".join(bytes(TRUNCATED_HMAC_LEN) + b"".join(block) for block in [*blocks[1:], []])
    return UnwrappedAttribution(hold_time, next_hold_times + next_hmacs)
