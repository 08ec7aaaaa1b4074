"""A node stopped and started again from its data directory: channels come back from SQLite, the node
reconnects to its channel peers by itself, the channel reestablishes and payments continue."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from reference_node.channel import ChannelState
from reference_node.node import LightningNode
from reference_node.nodekey import Entropy, NodeKey
from reference_node.store import PaymentStatus

TIMEOUT_S = 30.0


def _node(tmp_path: Path, chain: EmbeddedChain, name: str) -> LightningNode:
    secret = hashlib.sha256(f"restart {name}".encode()).digest()
    return LightningNode(
        NodeKey.from_secret(secret),
        EmbeddedChainSource(chain),
        tmp_path / name,
        entropy=Entropy(name.encode()),
    )


def test_restarted_node_reconnects_reestablishes_and_pays(tmp_path: Path) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            a, b = _node(tmp_path, chain, "a"), _node(tmp_path, chain, "b")
            await a.start()
            await b.start()
            try:
                chain.fund(a.wallet.new_address(), 1_000_000, confirm=True)
                await a.sync_chain()
                host, port = b.node.address
                await a.connect(b.node_id, host, port)
                ref = (await a.fund_channel(b.node_id, 600_000)).channel_id.hex()
                chain.mine(3)
                for node in (a, b):
                    await node.sync_chain()
                    await node.wait_for_channel(ref, frozenset({ChannelState.NORMAL}), TIMEOUT_S)
                first = b.payments.create_invoice(70_000_000, "before", "x")
                assert (await a.payments.pay(first.bolt11, None, TIMEOUT_S)).status is PaymentStatus.COMPLETE
                await a.stop()
                chain.mine(2)  # blocks found while a was down are scanned at start
                a = _node(tmp_path, chain, "a")
                await a.start()
                slot = a.channels.find(ref)
                await a.channels.changes.wait_for(
                    lambda: (
                        slot.channel.data.reestablish_received and slot.channel.state is ChannelState.NORMAL
                    ),
                    TIMEOUT_S,
                )
                assert a.current_height() == chain.height()
                second = b.payments.create_invoice(30_000_000, "after", "x")
                assert (await a.payments.pay(second.bolt11, None, TIMEOUT_S)).status is PaymentStatus.COMPLETE
                payment = a.store.payment(first.payment_hash)
                assert payment is not None and payment.status is PaymentStatus.COMPLETE
                b_slot = b.channels.find(ref)
                await b.channels.changes.wait_for(lambda: not b_slot.channel.ledger.updates, TIMEOUT_S)
                assert b_slot.channel.balances_msat()[0] == 100_000_000
            finally:
                await a.stop()
                await b.stop()

    asyncio.run(scenario())
