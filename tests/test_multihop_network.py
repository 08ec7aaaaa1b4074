"""Multi-hop payments between in-process reference nodes on an EmbeddedChain (harness network builder):
fees to the msat over a line, retries that learn from an attributed failure, multi-part sending, and the
MPP timeout at the payee."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

from harness.chain.embedded import EmbeddedChain
from harness.scenarios.steps.network import (
    NetworkSpec,
    ReferenceNetwork,
    Topology,
    build_network,
    check_balance_changes,
    wait_for_gossip,
)
from reference_node.forwarding.policy import ForwardingPolicy
from reference_node.gossip.flags import Direction
from reference_node.invoice import Currency, create_invoice, encode_invoice
from reference_node.invoice.route_hint import RouteHintHop
from reference_node.onion.failure_messages import FailureCode
from reference_node.pay.payer import AttemptStatus
from reference_node.store import InvoiceRow, InvoiceStatus, PaymentStatus
from reference_node.wire import ShortChannelId

TIMEOUT_S = 60.0


async def _with_network(tmp_path: Path, spec: NetworkSpec, body: object) -> None:
    with EmbeddedChain(tmp_path / "chain") as chain:
        chain.mine(101)
        network = await build_network(spec, chain, tmp_path, seed=7)
        try:
            await wait_for_gossip(network, TIMEOUT_S)
            await body(network)  # type: ignore[operator]
        finally:
            await network.stop()


async def _pay(network: ReferenceNetwork, payer: int, payee: int, amount_msat: int) -> list[int]:
    row = network.nodes[payee].payments.create_invoice(amount_msat, f"t-{payer}-{payee}-{amount_msat}", "t")
    await network.settled(TIMEOUT_S)
    before = network.balances_msat()
    result = await network.multihop[payer].payer.pay(row.bolt11, None, TIMEOUT_S)
    assert result.status is PaymentStatus.COMPLETE, result.failure
    await network.settled(TIMEOUT_S)
    parts = [a for a in result.attempts if a.status is AttemptStatus.COMPLETE]
    check_balance_changes(network, before, network.balances_msat(), parts)
    return [len(p.route.hops) for p in parts]


def test_a_three_hop_payment_pays_each_forwarder_its_fee_to_the_msat(tmp_path: Path) -> None:
    spec = NetworkSpec.of_topology(
        4, Topology.LINE, policy=ForwardingPolicy(fee_base_msat=777, fee_proportional_millionths=1234)
    )

    async def body(network: ReferenceNetwork) -> None:
        assert await _pay(network, 0, 3, 5_555_555) == [3]
        store = network.nodes[0].store
        assert all(p.status is PaymentStatus.COMPLETE for p in store.payments())

    asyncio.run(_with_network(tmp_path, spec, body))


def test_the_payer_retries_around_a_channel_that_failed_and_succeeds(tmp_path: Path) -> None:
    # 0-1-3 and 0-2-3; node 1 is made cheaper, then its channel to 3 is drained: the first attempt fails at
    # node 1 with temporary_channel_failure, MissionControl learns it, the retry goes via node 2.
    spec = NetworkSpec(4, ((0, 1), (1, 3), (0, 2), (2, 3)), channel_sat=500_000)

    async def body(network: ReferenceNetwork) -> None:
        relay_1 = network.multihop[1].relay
        slot_1_3 = next(
            s for s in network.nodes[1].channels.slots.values() if s.peer_id == network.nodes[3].node_id
        )
        scid = ShortChannelId.from_int(slot_1_3.channel.data.short_channel_id or 0)
        relay_1.updates.set_policy(scid, ForwardingPolicy(fee_base_msat=0, fee_proportional_millionths=0))
        await network.multihop[1].gossip.check_channels()
        graph_0 = network.multihop[0].gossip.graph

        def cheaper_known() -> bool:
            record = graph_0.channel(scid)
            direction = Direction(0 if network.nodes[1].node_id < network.nodes[3].node_id else 1)
            policy = record.policy(direction) if record is not None else None
            return policy is not None and policy.fee_base_msat == 0

        await network.multihop[0].gossip.wait_for(cheaper_known, TIMEOUT_S)
        await _pay(network, 1, 3, 450_000_000)  # drains node 1's side of 1-3
        row = network.nodes[3].payments.create_invoice(200_000_000, "retry", "t")
        result = await network.multihop[0].payer.pay(row.bolt11, None, TIMEOUT_S)
        assert result.status is PaymentStatus.COMPLETE, result.failure
        first, last = result.attempts[0], result.attempts[-1]
        assert first.status is AttemptStatus.FAILED
        assert first.failure_code == FailureCode.temporary_channel_failure
        assert first.erring_node == network.nodes[1].node_id
        assert last.status is AttemptStatus.COMPLETE
        assert last.route.hops[0].node_id == network.nodes[2].node_id

    asyncio.run(_with_network(tmp_path, spec, body))


def test_an_amount_no_single_route_carries_is_sent_in_parts(tmp_path: Path) -> None:
    spec = NetworkSpec(4, ((0, 1), (1, 3), (0, 2), (2, 3)), channel_sat=300_000)

    async def body(network: ReferenceNetwork) -> None:
        hops = await _pay(network, 0, 3, 400_000_000)
        assert len(hops) >= 2
        (row,) = network.nodes[0].store.payments()
        assert row.status is PaymentStatus.COMPLETE and row.amount_msat == 400_000_000

    asyncio.run(_with_network(tmp_path, spec, body))


def test_a_lone_part_times_out_at_the_payee_with_mpp_timeout(tmp_path: Path) -> None:
    spec = NetworkSpec.of_topology(3, Topology.LINE, mpp_timeout_s=0.2)

    async def body(network: ReferenceNetwork) -> None:
        payer = network.multihop[0].payer
        row = network.nodes[2].payments.create_invoice(1_000_000, "lone", "t")
        invoice = payer.decode(row.bolt11)
        route = payer.get_route(invoice.payee_node_id, 400_000, invoice.min_final_cltv_expiry_delta)
        # one part of 400000 msat announcing a total of 1000000: the payee waits, then gives up
        attempt = await payer.send_route(
            route, invoice.payment_hash, invoice.payment_secret, 1_000_000, partid=1
        )
        result = await payer.wait_attempt(invoice.payment_hash, attempt.partid, TIMEOUT_S)
        assert result.failure_code == FailureCode.mpp_timeout
        assert result.erring_index == 1  # the payee, two hops away
        paid = network.nodes[2].store.invoice(invoice.payment_hash)
        assert paid is not None and paid.received_msat is None

    asyncio.run(_with_network(tmp_path, spec, body))


def test_a_payment_to_an_unknown_hash_is_failed_by_the_payee_and_nothing_moves(tmp_path: Path) -> None:
    spec = NetworkSpec.of_topology(3, Topology.LINE)

    async def body(network: ReferenceNetwork) -> None:
        payer = network.multihop[0].payer
        route = payer.get_route(network.nodes[2].node_id, 50_000, 18)
        await network.settled(TIMEOUT_S)
        before = network.balances_msat()
        payment_hash = hashlib.sha256(b"nobody has this").digest()
        attempt = await payer.send_route(route, payment_hash, bytes(32))
        result = await payer.wait_attempt(payment_hash, attempt.partid, TIMEOUT_S)
        assert result.failure_code == FailureCode.incorrect_or_unknown_payment_details
        assert result.erring_node == network.nodes[2].node_id
        await network.settled(TIMEOUT_S)
        assert network.balances_msat() == before

    asyncio.run(_with_network(tmp_path, spec, body))


def test_a_payee_behind_a_private_channel_is_reached_through_the_invoice_route_hint(tmp_path: Path) -> None:
    # 0-1 public, 1-2 private: only the invoice's `r` field tells the payer about the last channel
    spec = NetworkSpec(3, ((0, 1), (1, 2)), private=frozenset({(1, 2)}))

    async def body(network: ReferenceNetwork) -> None:
        payee, forwarder = network.nodes[2], network.nodes[1]
        assert all(
            c.node_id_2 != payee.node_id and c.node_id_1 != payee.node_id
            for c in network.multihop[0].gossip.graph.channels()
        )
        (private_slot,) = payee.channels.slots.values()
        scid = private_slot.channel.data.short_channel_id
        assert scid is not None
        policy = spec.policy
        hint = RouteHintHop(
            forwarder.node_id,
            scid,
            policy.fee_base_msat,
            policy.fee_proportional_millionths,
            policy.cltv_expiry_delta,
        )
        preimage = hashlib.sha256(b"behind a private channel").digest()
        secret = hashlib.sha256(b"its payment_secret").digest()
        invoice = create_invoice(
            currency=Currency.REGTEST,
            payment_hash=hashlib.sha256(preimage).digest(),
            payment_secret=secret,
            timestamp=int(time.time()),
            private_key=payee.key.private_key.secret,
            amount_msat=7_000_000,
            description="hinted",
            min_final_cltv_expiry_delta=18,
            route_hints=[(hint,)],
        )
        bolt11 = encode_invoice(invoice)
        payee.store.add_invoice(
            InvoiceRow(
                invoice.payment_hash,
                "hinted",
                bolt11,
                preimage,
                secret,
                7_000_000,
                "hinted",
                2**40,
                InvoiceStatus.UNPAID,
                None,
                None,
                None,
            )
        )
        await network.settled(TIMEOUT_S)
        before = network.balances_msat()
        result = await network.multihop[0].payer.pay(bolt11, None, TIMEOUT_S)
        assert result.status is PaymentStatus.COMPLETE, result.failure
        (part,) = [a for a in result.attempts if a.status is AttemptStatus.COMPLETE]
        assert [h.node_id for h in part.route.hops] == [forwarder.node_id, payee.node_id]
        await network.settled(TIMEOUT_S)
        check_balance_changes(network, before, network.balances_msat(), [part])

    asyncio.run(_with_network(tmp_path, spec, body))
