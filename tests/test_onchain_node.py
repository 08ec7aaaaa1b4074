"""BOLT 5 inside the reference node: two in-process `LightningNode`s on an EmbeddedChain (real BOLT 8 on
loopback). A force close and a breach are resolved by the nodes' own on-chain monitors, fed by the node's
chain scan, and the wallets end with what they should, to the satoshi."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.chain.errors import UnknownTransaction
from harness.drivers.reference import EmbeddedChainSource
from reference_node.bitcoin.tx import Tx
from reference_node.channel import ChannelState, ChannelType
from reference_node.faults import Faults
from reference_node.node import LightningNode
from reference_node.nodekey import Entropy, NodeKey
from reference_node.onchain import BroadcastTx, ChannelResolved, CloseKind
from reference_node.store import PaymentStatus
from reference_node.transactions.fees import ANCHOR_OUTPUT_SAT

CHANNEL_SAT = 1_000_000
PUSH_MSAT = 400_000_000
TIMEOUT_S = 60.0


def _node(tmp_path: Path, chain: EmbeddedChain, name: str, faults: Faults | None = None) -> LightningNode:
    secret = hashlib.sha256(f"onchain {name}".encode()).digest()
    return LightningNode(
        NodeKey.from_secret(secret),
        EmbeddedChainSource(chain),
        tmp_path / name,
        entropy=Entropy(name.encode()),
        faults=faults,
    )


def _confirmed(chain: EmbeddedChain, tx: Tx) -> bool:
    try:
        return chain.get_tx(tx.txid_hex).block_height is not None
    except UnknownTransaction:
        return False


def _fee_sat(chain: EmbeddedChain, tx: Tx) -> int:
    spent = 0
    for txin in tx.inputs:
        parent = Tx.parse(chain.get_tx(txin.prevout.txid_hex).raw)
        spent += parent.outputs[txin.prevout.index].amount_sat
    return spent - sum(o.amount_sat for o in tx.outputs)


def _claim_fees_sat(chain: EmbeddedChain, node: LightningNode) -> int:
    """Fees of the node's confirmed on-chain claims (anchor sweeps spend only burnt anchor value)."""
    txs = {
        Tx.parse(e.action.tx).txid(): Tx.parse(e.action.tx)
        for e in node.onchain.events
        if isinstance(e.action, BroadcastTx)
        and not e.action.description.startswith(("anchor sweep", "latest local commitment"))
    }
    return sum(_fee_sat(chain, tx) for tx in txs.values() if _confirmed(chain, tx))


Scenario = Callable[[EmbeddedChain, LightningNode, LightningNode, str], Awaitable[None]]


def _run(tmp_path: Path, anchors: bool, scenario: Scenario, faults_a: Faults | None = None) -> None:
    async def main() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            a = _node(tmp_path, chain, "a", faults_a)
            b = _node(tmp_path, chain, "b")
            for node in (a, b):
                await node.start()
            try:
                chain.fund(a.wallet.new_address(), 3_000_000, confirm=True)
                chain.fund(b.wallet.new_address(), 500_000, confirm=True)  # for fee inputs
                for node in (a, b):
                    await node.sync_chain()
                host, port = b.node.address
                await a.connect(b.node_id, host, port)
                channel_type = ChannelType(anchors=anchors)
                funding = await a.fund_channel(b.node_id, CHANNEL_SAT, PUSH_MSAT, channel_type)
                chain.mine(3)
                ref = funding.channel_id.hex()
                for node in (a, b):
                    await node.sync_chain()
                    await node.wait_for_channel(ref, frozenset({ChannelState.NORMAL}), TIMEOUT_S)
                await scenario(chain, a, b, ref)
            finally:
                for node in (a, b):
                    await node.stop()

    asyncio.run(main())


async def _mine(chain: EmbeddedChain, nodes: tuple[LightningNode, ...], blocks: int) -> None:
    for _ in range(blocks):
        chain.mine(1)
        for node in nodes:
            await node.sync_chain()


async def _pay(payer: LightningNode, payee: LightningNode, amount_msat: int, label: str) -> None:
    invoice = payee.payments.create_invoice(amount_msat, label, "x")
    row = await payer.payments.pay(invoice.bolt11, None, TIMEOUT_S)
    assert row.status is PaymentStatus.COMPLETE, row.failure


def _resolved_kinds(node: LightningNode) -> list[CloseKind]:
    return [e.action.kind for e in node.onchain.events if isinstance(e.action, ChannelResolved)]


@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
def test_force_close_by_the_node_is_swept_to_its_wallet(tmp_path: Path, anchors: bool) -> None:
    async def scenario(chain: EmbeddedChain, a: LightningNode, b: LightningNode, ref: str) -> None:
        await _pay(a, b, 50_000_000, "p1")
        slot_a, slot_b = a.channels.find(ref), b.channels.find(ref)
        ours_msat, theirs_msat = slot_a.channel.balances_msat()
        cost_sat = slot_a.channel.commitment_fee_sat()
        before = {"a": a.wallet.balance_sat(), "b": b.wallet.balance_sat()}
        closed = await a.close(ref, None, force=True)
        assert closed.unilateral and closed.tx is not None
        await _mine(chain, (a, b), 144 + 110)
        assert a.onchain.resolved(slot_a) and b.onchain.resolved(slot_b)
        assert _resolved_kinds(a) == [CloseKind.LOCAL] and _resolved_kinds(b) == [CloseKind.REMOTE]
        fee_inputs_a = a.wallet.balance_sat() - before["a"]
        expected_a = (ours_msat - cost_sat * 1000) // 1000 - _claim_fees_sat(chain, a)
        expected_b = theirs_msat // 1000 - _claim_fees_sat(chain, b)
        # fee coins a node sends itself (anchors: its CPFP child) cost it only their fees
        assert fee_inputs_a == expected_a
        assert b.wallet.balance_sat() - before["b"] == expected_b

    _run(tmp_path, anchors, scenario)


@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
def test_breach_by_the_peer_is_punished_by_the_node(tmp_path: Path, anchors: bool) -> None:
    async def scenario(chain: EmbeddedChain, a: LightningNode, b: LightningNode, ref: str) -> None:
        await _pay(b, a, 100_000_000, "p1")
        await _pay(b, a, 50_000_000, "p2")
        before = a.wallet.balance_sat()
        revoked = await b.onchain.breach(b.channels.find(ref))
        await _mine(chain, (a,), 1)  # the cheater stays away
        await _mine(chain, (a,), 105)
        assert a.onchain.resolved(a.channels.find(ref))
        assert _resolved_kinds(a) == [CloseKind.REVOKED]
        anchors_sat = 2 * ANCHOR_OUTPUT_SAT if anchors else 0
        expected = CHANNEL_SAT - _fee_sat(chain, revoked) - anchors_sat - _claim_fees_sat(chain, a)
        assert a.wallet.balance_sat() - before == expected

    _run(tmp_path, anchors, scenario)


def test_no_penalty_defect_leaves_the_revoked_output_to_the_cheater(tmp_path: Path) -> None:
    async def scenario(chain: EmbeddedChain, a: LightningNode, b: LightningNode, ref: str) -> None:
        await _pay(b, a, 100_000_000, "p1")
        await b.onchain.breach(b.channels.find(ref))
        await _mine(chain, (a,), 5)
        penalties = [
            e
            for e in a.onchain.events
            if isinstance(e.action, BroadcastTx) and e.action.description.startswith("penalty")
        ]
        assert penalties == []

    _run(tmp_path, False, scenario, faults_a=Faults.parse(["no-penalty"]))
