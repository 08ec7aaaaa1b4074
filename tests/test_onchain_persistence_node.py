"""BOLT 5 across a restart of the node: after many payments, the node is stopped and started again from its
data directory, and the peer broadcasts its OLDEST revoked commitment that carries HTLCs. The restarted
node's monitor (its bounded state from the meta table, the revoked state's HTLC set from the `commitments`
table, the secret derived from the 49-slot store) takes every output, to the satoshi."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from reference_node.channel import ChannelState, ChannelType
from reference_node.node import LightningNode
from reference_node.nodekey import Entropy, NodeKey
from reference_node.onchain import ChannelResolved, CloseKind
from reference_node.store import PaymentStatus
from reference_node.transactions.fees import ANCHOR_OUTPUT_SAT
from tests.test_onchain_node import _claim_fees_sat, _fee_sat

CHANNEL_SAT = 1_000_000
PUSH_MSAT = 400_000_000
PAYMENTS = 24
TIMEOUT_S = 60.0


def _node(tmp_path: Path, chain: EmbeddedChain, name: str) -> LightningNode:
    secret = hashlib.sha256(f"persistence {name}".encode()).digest()
    return LightningNode(
        NodeKey.from_secret(secret),
        EmbeddedChainSource(chain),
        tmp_path / name,
        entropy=Entropy(name.encode()),
    )


async def _mine(chain: EmbeddedChain, node: LightningNode, blocks: int) -> None:
    for _ in range(blocks):
        chain.mine(1)
        await node.sync_chain()


@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
def test_restarted_node_punishes_the_oldest_revoked_state_with_htlcs(tmp_path: Path, anchors: bool) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            a, b = _node(tmp_path, chain, "a"), _node(tmp_path, chain, "b")
            for node in (a, b):
                await node.start()
            try:
                chain.fund(a.wallet.new_address(), 3_000_000, confirm=True)
                chain.fund(a.wallet.new_address(), 500_000, confirm=True)  # for fee inputs
                await a.sync_chain()
                host, port = b.node.address
                await a.connect(b.node_id, host, port)
                funding = await a.fund_channel(
                    b.node_id, CHANNEL_SAT, PUSH_MSAT, ChannelType(anchors=anchors)
                )
                chain.mine(3)
                ref = funding.channel_id.hex()
                for node in (a, b):
                    await node.sync_chain()
                    await node.wait_for_channel(ref, frozenset({ChannelState.NORMAL}), TIMEOUT_S)
                for n in range(PAYMENTS):
                    payer, payee = (a, b) if n % 2 == 0 else (b, a)
                    invoice = payee.payments.create_invoice(20_000_000 + n, f"p{n}", "x")
                    row = await payer.payments.pay(invoice.bolt11, None, TIMEOUT_S)
                    assert row.status is PaymentStatus.COMPLETE, row.failure
                cheater_slot = b.channels.find(ref)
                monitor = b.onchain.monitor_of(cheater_slot)
                assert monitor is not None
                oldest = min(r.view.commitment_number for r in monitor.records.local if r.view.htlcs)
                assert oldest < monitor.records.local_current_number - PAYMENTS
                await b.go_offline(True)
                before_sat = a.wallet.balance_sat()
                await a.stop()
                a = _node(tmp_path, chain, "a")
                revoked = await b.onchain.breach(cheater_slot, oldest)
                await a.start()
                await _mine(chain, a, 106)
                slot = a.channels.find(ref)
                assert a.onchain.resolved(slot)
                kinds = [e.action.kind for e in a.onchain.events if isinstance(e.action, ChannelResolved)]
                assert kinds == [CloseKind.REVOKED]
                anchors_sat = 2 * ANCHOR_OUTPUT_SAT if anchors else 0
                expected = CHANNEL_SAT - _fee_sat(chain, revoked) - anchors_sat - _claim_fees_sat(chain, a)
                assert a.wallet.balance_sat() - before_sat == expected
            finally:
                for node in (a, b):
                    await node.stop()

    asyncio.run(scenario())
