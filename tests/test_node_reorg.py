"""The node's chain scan across a reorganization: blocks replaced since the last scan are rewound, what they
confirmed is unconfirmed again, and the new blocks are scanned."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from reference_node.node import LightningNode
from reference_node.nodekey import Entropy, NodeKey


def _node(tmp_path: Path, chain: EmbeddedChain) -> LightningNode:
    key = NodeKey.from_secret(hashlib.sha256(b"reorg").digest())
    return LightningNode(key, EmbeddedChainSource(chain), tmp_path / "node", entropy=Entropy(b"reorg"))


def test_a_payment_unconfirmed_by_a_reorg_is_unconfirmed_in_the_wallet(tmp_path: Path) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            node = _node(tmp_path, chain)
            await node.start()
            try:
                chain.fund(node.wallet.new_address(), 80_000)
                [mined] = chain.mine(1)
                await node.sync_chain()
                assert node.wallet.balance_sat(confirmed_only=True) == 80_000
                chain.invalidate_block(mined)  # the payment goes back to the mempool
                for _ in range(2):  # a longer chain without it
                    chain.generate_block(chain.faucet.address, [])
                await node.sync_chain()
                assert node.wallet.balance_sat(confirmed_only=True) == 0
                assert node.wallet.balance_sat() == 80_000
                height = chain.height()
                assert node.store.scanned_hash(height) == chain.block_hash(height)
                chain.mine(1)  # now it confirms again, in a new block
                await node.sync_chain()
                assert node.wallet.balance_sat(confirmed_only=True) == 80_000
                assert {u.height for u in node.wallet.utxos()} == {chain.height()}
            finally:
                await node.stop()

    asyncio.run(scenario())


def test_blocks_replaced_while_the_node_was_down_are_rescanned(tmp_path: Path) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            node = _node(tmp_path, chain)
            await node.start()
            chain.fund(node.wallet.new_address(), 50_000)
            chain.mine(1)
            await node.sync_chain()
            await node.stop()
            chain.reorg(depth=2, new_blocks=3)  # the payment is re-mined in a different block
            node = _node(tmp_path, chain)
            await node.start()
            try:
                assert node.current_height() == chain.height()
                [utxo] = node.wallet.utxos()
                assert utxo.height is not None
                assert chain.get_tx(utxo.txid[::-1].hex()).block_height == utxo.height
            finally:
                await node.stop()

    asyncio.run(scenario())
