"""The "go offline" control: the node stops listening, drops its peers and refuses to connect; back online
it listens on the same address and its channel reestablishes."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from reference_node.channel import ChannelState
from reference_node.node import LightningNode, PeerConnectFailed
from reference_node.nodekey import Entropy, NodeKey
from reference_node.store import PaymentStatus

TIMEOUT_S = 30.0


def _node(tmp_path: Path, chain: EmbeddedChain, name: str) -> LightningNode:
    secret = hashlib.sha256(f"offline {name}".encode()).digest()
    return LightningNode(
        NodeKey.from_secret(secret),
        EmbeddedChainSource(chain),
        tmp_path / name,
        entropy=Entropy(name.encode()),
    )


def test_offline_node_refuses_connections_and_comes_back_on_the_same_address(tmp_path: Path) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            a, b = _node(tmp_path, chain, "a"), _node(tmp_path, chain, "b")
            await a.start()
            await b.start()
            try:
                chain.fund(a.wallet.new_address(), 1_000_000, confirm=True)
                await a.sync_chain()
                address = b.node.address
                await a.connect(b.node_id, *address)
                ref = (await a.fund_channel(b.node_id, 500_000)).channel_id.hex()
                chain.mine(3)
                for node in (a, b):
                    await node.sync_chain()
                    await node.wait_for_channel(ref, frozenset({ChannelState.NORMAL}), TIMEOUT_S)
                before = len(a.node.disconnects(b.node_id))
                await b.go_offline(True)
                await a.node.wait_for_disconnect(b.node_id, TIMEOUT_S, after=before)
                with pytest.raises(PeerConnectFailed):
                    await a.connect(b.node_id, *address, timeout_s=5.0)
                with pytest.raises(PeerConnectFailed):
                    await b.connect(a.node_id, *a.node.address)
                await b.go_offline(False)
                assert b.node.address == address
                await a.connect(b.node_id, *address)
                slot = a.channels.find(ref)
                await a.channels.changes.wait_for(lambda: slot.channel.data.reestablish_received, TIMEOUT_S)
                invoice = b.payments.create_invoice(10_000, "after", "x")
                assert (
                    await a.payments.pay(invoice.bolt11, None, TIMEOUT_S)
                ).status is PaymentStatus.COMPLETE
            finally:
                await a.stop()
                await b.stop()

    asyncio.run(scenario())
