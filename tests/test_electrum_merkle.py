"""Merkle branches for the Electrum protocol, checked against python-bitcoinlib's merkle tree builder."""

from __future__ import annotations

import hashlib

import pytest
from bitcoin.core import CBlock
from hypothesis import given
from hypothesis import strategies as st

from harness.chain.electrum.merkle import MerkleError, merkle_branch_and_root, root_from_branch

leaves_strategy = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=40)


def _fold(leaf: bytes, branch: list[bytes], index: int) -> bytes:
    # Written out again here (not the module's root_from_branch): what a client does with a proof.
    node = leaf
    for sibling in branch:
        pair = sibling + node if index % 2 else node + sibling
        node = hashlib.sha256(hashlib.sha256(pair).digest()).digest()
        index //= 2
    return node


@given(leaves=leaves_strategy, data=st.data())
def test_root_equals_bitcoinlib_merkle_root(leaves: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(leaves) - 1))
    _branch, root = merkle_branch_and_root(leaves, index)
    assert root == CBlock.build_merkle_tree_from_txids(leaves)[-1]


@given(leaves=leaves_strategy, data=st.data())
def test_every_branch_folds_back_to_the_root(leaves: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(leaves) - 1))
    branch, root = merkle_branch_and_root(leaves, index)
    assert _fold(leaves[index], branch, index) == root
    assert root_from_branch(leaves[index], branch, index) == root


@given(
    leaves=st.lists(st.binary(min_size=32, max_size=32), min_size=2, max_size=40, unique=True), data=st.data()
)
def test_a_branch_does_not_prove_another_leaf(leaves: list[bytes], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(leaves) - 1))
    other = data.draw(st.integers(0, len(leaves) - 1).filter(lambda i: leaves[i] != leaves[index]))
    branch, root = merkle_branch_and_root(leaves, index)
    assert _fold(leaves[other], branch, index) != root


def test_branch_length_is_the_tree_depth() -> None:
    leaves = [bytes([n]) * 32 for n in range(5)]
    branch, _root = merkle_branch_and_root(leaves, 4)
    assert len(branch) == 3  # 5 leaves -> 3 levels above them


def test_single_leaf_is_its_own_root_with_empty_branch() -> None:
    leaf = b"\x07" * 32
    assert merkle_branch_and_root([leaf], 0) == ([], leaf)


@pytest.mark.parametrize("index", [-1, 3])
def test_index_outside_the_leaves_is_refused(index: int) -> None:
    with pytest.raises(MerkleError, match="outside"):
        merkle_branch_and_root([b"\x00" * 32] * 3, index)


def test_no_leaves_is_refused() -> None:
    with pytest.raises(MerkleError, match="at least one leaf"):
        merkle_branch_and_root([], 0)
