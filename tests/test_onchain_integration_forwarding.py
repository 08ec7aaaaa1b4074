"""Forwarded HTLCs settled on chain (issue 7 item 4): three in-process reference nodes A -> B -> C on an
EmbeddedChain. The B-C channel closes with A's payment in flight through B:
- C claims the HTLC on chain with its preimage: B learns the preimage from C's witness and fulfils A
  (BOLT 5 "MUST extract the payment preimage from the transaction input witness");
- C never claims: B times the HTLC out on chain and, once that is deep enough, fails A's HTLC
  (BOLT 5 "MUST fail the corresponding incoming HTLC (if any) once the resolving transaction has reached
  reasonable depth")."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from harness.chain.embedded import EmbeddedChain
from harness.scenarios.steps.network import (
    NetworkSpec,
    ReferenceNetwork,
    Topology,
    build_network,
    wait_for_gossip,
)
from reference_node.channel import ChannelState
from reference_node.node import LightningNode
from reference_node.onchain import GoOnchain, HtlcResolvedOnchain, PreimageLearned
from reference_node.pay.payer import PayResult
from reference_node.payments.channels import ChannelSlot
from reference_node.store import InvoiceRow, PaymentStatus

TIMEOUT_S = 60.0
SEED = 7
AMOUNT_MSAT = 3_000_000
MAX_BLOCKS = 400


async def _mine(network: ReferenceNetwork, blocks: int) -> None:
    for _ in range(blocks):
        network.chain.mine(1)
        for node in network.nodes:
            await node.sync_chain()


def _slot_to(node: LightningNode, peer: LightningNode) -> ChannelSlot:
    return next(s for s in node.channels.slots.values() if s.peer_id == peer.node_id)


async def _held_at_payee(
    network: ReferenceNetwork,
) -> tuple[InvoiceRow, asyncio.Task[PayResult], ChannelSlot]:
    """A pays C through B; C withholds the preimage: the HTLC sits in C's channel with B."""
    _payer, forwarder, payee = network.nodes
    payee.controls.withhold_preimages = True
    row = payee.payments.create_invoice(AMOUNT_MSAT, "held", "d")
    await network.settled(TIMEOUT_S)
    paying = asyncio.ensure_future(network.multihop[0].payer.pay(row.bolt11, None, TIMEOUT_S * 10))
    slot_c = _slot_to(payee, forwarder)

    def held() -> bool:
        ledger = slot_c.channel.data.ledger
        return ledger is not None and any(u.payment_hash == row.payment_hash for u in ledger.updates)

    await payee.channels.changes.wait_for(held, TIMEOUT_S)
    assert len(network.multihop[1].relay.links) == 1
    return row, paying, slot_c


def _run(tmp_path: Path, scenario: Callable[[ReferenceNetwork], Awaitable[None]]) -> None:
    async def main() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            network = await build_network(
                NetworkSpec.of_topology(3, Topology.LINE), chain, tmp_path, seed=SEED
            )
            try:
                await wait_for_gossip(network, TIMEOUT_S)
                await scenario(network)
            finally:
                await network.stop()

    asyncio.run(main())


def test_preimage_claimed_on_chain_downstream_fulfils_the_incoming_htlc(tmp_path: Path) -> None:
    async def scenario(network: ReferenceNetwork) -> None:
        payer, forwarder, payee = network.nodes
        row, paying, slot_c = await _held_at_payee(network)
        # C leaves and closes on chain, its HTLC still held
        await payee.go_offline(True)
        closed = await payee.close(slot_c.channel.data.channel_id.hex(), None, force=True)  # type: ignore[union-attr]
        assert closed.tx is not None
        await _mine(network, 1)
        # now C claims the HTLC with its preimage (HTLC-success on its own commitment)
        payee.controls.withhold_preimages = False
        assert await payee.onchain.add_preimages(slot_c, [row.preimage]) == 1
        await _mine(network, 1)
        slot_b_down = _slot_to(forwarder, payee)
        learned = [
            e.action
            for e in forwarder.onchain.events
            if e.slot_key == slot_b_down.key and isinstance(e.action, PreimageLearned)
        ]
        assert [a.payment_preimage for a in learned] == [row.preimage]
        result = await asyncio.wait_for(paying, TIMEOUT_S)
        assert result.status is PaymentStatus.COMPLETE and result.preimage == row.preimage
        # the fulfil went upstream off chain: A's channel with B stays open
        assert _slot_to(payer, forwarder).channel.state is ChannelState.NORMAL
        assert [r.fulfilled for r in network.multihop[1].relay.settled] == [True]
        assert len(network.multihop[1].relay.links) == 0
        # and the upstream monitor knows the preimage (to claim on chain if A's channel closes too)
        monitor_up = forwarder.onchain.monitor_of(_slot_to(forwarder, payer))
        assert monitor_up is not None and monitor_up.records.preimage_for(row.payment_hash) == row.preimage

    _run(tmp_path, scenario)


def test_htlc_timed_out_on_chain_downstream_fails_the_incoming_htlc(tmp_path: Path) -> None:
    async def scenario(network: ReferenceNetwork) -> None:
        payer, forwarder, payee = network.nodes
        _row, paying, _slot_c = await _held_at_payee(network)
        # C vanishes with the HTLC: B must go on chain at the BOLT 2 deadline and time it out
        await payee.go_offline(True)
        slot_b_down = _slot_to(forwarder, payee)
        for _ in range(MAX_BLOCKS):
            await _mine(network, 1)
            if paying.done():
                break
        assert paying.done(), "A's payment still pending after the downstream HTLC timed out"
        result = paying.result()
        assert result.status is PaymentStatus.FAILED
        timeouts = [
            e.action
            for e in forwarder.onchain.events
            if e.slot_key == slot_b_down.key and isinstance(e.action, HtlcResolvedOnchain)
        ]
        assert [(a.offered_by_us, a.fulfilled) for a in timeouts] == [(True, False)]
        assert slot_b_down.closing_tx is not None  # B went on chain (its commitment)
        assert _slot_to(payer, forwarder).channel.state is ChannelState.NORMAL
        assert [r.fulfilled for r in network.multihop[1].relay.settled] == [False]

    _run(tmp_path, scenario)


def test_preimage_learned_on_chain_with_the_payer_away_goes_on_chain_upstream_before_the_deadline(
    tmp_path: Path,
) -> None:
    async def scenario(network: ReferenceNetwork) -> None:
        payer, forwarder, payee = network.nodes
        row, _paying, slot_c = await _held_at_payee(network)
        # A goes away: B cannot fulfil off chain, it must claim A's HTLC on chain before A can time it out
        await payer.go_offline(True)
        await payee.go_offline(True)
        await payee.close(slot_c.channel.data.channel_id.hex(), None, force=True)  # type: ignore[union-attr]
        await _mine(network, 1)
        payee.controls.withhold_preimages = False
        await payee.onchain.add_preimages(slot_c, [row.preimage])
        slot_up = _slot_to(forwarder, payer)
        for _ in range(MAX_BLOCKS):
            await _mine(network, 1)
            if _claimed_upstream(forwarder, slot_up):
                break
        go_onchain = [
            e.action
            for e in forwarder.onchain.events
            if e.slot_key == slot_up.key and isinstance(e.action, GoOnchain)
        ]
        assert [a.requirement for a in go_onchain] == ["bolt02-cltv_expiry_delta-fulfiller-must-03"]
        assert _claimed_upstream(forwarder, slot_up), "B never claimed A's HTLC on chain with the preimage"

    _run(tmp_path, scenario)


def _claimed_upstream(forwarder: LightningNode, slot_up: ChannelSlot) -> bool:
    return any(
        e.slot_key == slot_up.key
        and isinstance(e.action, HtlcResolvedOnchain)
        and not e.action.offered_by_us
        and e.action.fulfilled
        for e in forwarder.onchain.events
    )
