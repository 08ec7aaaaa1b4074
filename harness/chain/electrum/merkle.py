"""Bitcoin merkle trees as the Electrum protocol uses them: transaction branches (blockchain.transaction.
get_merkle) and header-chain branches for checkpoints (cp_height of blockchain.block.header(s)).

Hashes are 32-byte values in internal byte order; the protocol prints them reversed (display order).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


class MerkleError(ValueError):
    """An empty leaf list or an index outside it."""


def double_sha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _next_level(level: list[bytes]) -> list[bytes]:
    if len(level) % 2:
        # Bitcoin's tree pairs an odd last node with itself (CVE-2012-2459 shape, consensus as is).
        level = [*level, level[-1]]
    return [double_sha256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]


def merkle_branch_and_root(leaves: Sequence[bytes], index: int) -> tuple[list[bytes], bytes]:
    """The sibling hashes from leaf `index` up to the root (bottom first), and the root."""
    if not leaves:
        raise MerkleError("a merkle tree needs at least one leaf")
    if not 0 <= index < len(leaves):
        raise MerkleError(f"leaf index {index} outside 0..{len(leaves) - 1}")
    level = list(leaves)
    branch: list[bytes] = []
    position = index
    while len(level) > 1:
        sibling = position ^ 1
        branch.append(level[sibling] if sibling < len(level) else level[position])
        level = _next_level(level)
        position //= 2
    return branch, level[0]


def root_from_branch(leaf: bytes, branch: Sequence[bytes], index: int) -> bytes:
    """Fold a branch back into a root (what a client does to check a proof)."""
    node = leaf
    for sibling in branch:
        node = double_sha256(sibling + node) if index & 1 else double_sha256(node + sibling)
        index >>= 1
    return node


def display_hex(hash_internal: bytes) -> str:
    return hash_internal[::-1].hex()
