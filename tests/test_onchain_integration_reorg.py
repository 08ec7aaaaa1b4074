"""Reorgs reach the BOLT 5 monitors: two in-process `LightningNode`s on an EmbeddedChain; a block holding a
unilateral close is disconnected (invalidateblock, or a longer branch), the node's chain scan notices the
block-hash mismatch, the monitors forget the close, and see it again (or not) from the new branch; the
channel still resolves to the satoshi."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from reference_node.bitcoin.tx import Tx
from reference_node.node import LightningNode
from reference_node.onchain import ChannelCloseSeen
from tests.test_onchain_node import _mine, _pay, _run

CSV_AND_DEPTH_BLOCKS = 144 + 110  # to_self_delay, then 100 blocks deep (BOLT 5 irrevocably resolved)


def _closes_seen(node: LightningNode) -> list[bytes]:
    return [e.action.txid for e in node.onchain.events if isinstance(e.action, ChannelCloseSeen)]


@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
def test_a_close_unconfirmed_by_invalidateblock_is_forgotten_then_seen_again(
    tmp_path: Path, anchors: bool
) -> None:
    async def scenario(chain: EmbeddedChain, a: LightningNode, b: LightningNode, ref: str) -> None:
        await _pay(a, b, 50_000_000, "p1")
        slot_a, slot_b = a.channels.find(ref), b.channels.find(ref)
        closed = await a.close(ref, None, force=True)
        assert closed.tx is not None
        commitment = Tx.parse(closed.tx)
        await _mine(chain, (a, b), 1)
        monitor_b = b.onchain.monitor_of(slot_b)
        assert monitor_b is not None and monitor_b.evaluation.close is not None
        close_block = chain.tip()
        chain.invalidate_block(close_block)
        for node in (a, b):
            await node.sync_chain()
        assert monitor_b.evaluation.close is None, "the disconnected close is still taken as confirmed"
        assert monitor_b.state.tip == chain.height()
        # the commitment went back to the mempool: the next block confirms it again
        await _mine(chain, (a, b), 1)
        assert monitor_b.evaluation.close is not None
        assert monitor_b.evaluation.close.tx.txid() == commitment.txid()
        assert monitor_b.evaluation.close_height == chain.height()
        await _mine(chain, (a, b), CSV_AND_DEPTH_BLOCKS)
        assert a.onchain.resolved(slot_a) and b.onchain.resolved(slot_b)

    _run(tmp_path, anchors, scenario)


def test_a_longer_branch_replacing_the_close_block_moves_the_close_height(tmp_path: Path) -> None:
    async def scenario(chain: EmbeddedChain, a: LightningNode, b: LightningNode, ref: str) -> None:
        slot_a, slot_b = a.channels.find(ref), b.channels.find(ref)
        await a.close(ref, None, force=True)
        await _mine(chain, (a, b), 2)
        monitor_a = a.onchain.monitor_of(slot_a)
        assert monitor_a is not None
        first_height = monitor_a.evaluation.close_height
        # replace both blocks with three new ones: the commitment lands in the first of them again
        chain.reorg(2, 3)
        for node in (a, b):
            await node.sync_chain()
        assert monitor_a.evaluation.close_height == first_height
        assert monitor_a.state.tip == chain.height()
        # one ChannelCloseSeen per connection of the close block: the reorg made the monitor see it twice
        assert len(_closes_seen(a)) == 2 and len(set(_closes_seen(a))) == 1
        await _mine(chain, (a, b), CSV_AND_DEPTH_BLOCKS)
        assert a.onchain.resolved(slot_a) and b.onchain.resolved(slot_b)

    _run(tmp_path, False, scenario)


def test_a_node_scan_below_the_tip_notices_a_shorter_chain(tmp_path: Path) -> None:
    async def scenario(chain: EmbeddedChain, a: LightningNode, b: LightningNode, ref: str) -> None:
        scanned = a.current_height()
        chain.mine(2)
        await a.sync_chain()
        chain.invalidate_block(chain.block_hash(scanned + 1))
        assert await a.sync_chain() == scanned
        assert a.store.scanned_hash(scanned + 1) is None

    _run(tmp_path, False, scenario)
