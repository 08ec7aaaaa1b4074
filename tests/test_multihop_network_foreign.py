"""A node under test driven only through its NodeDriver (as Core Lightning or LDK are) in a network of
in-process reference nodes: channels opened through the driver, payments forwarded through it, its fee
checked against its own channel_update and its balance against its peers' commitments.

The driver here is a ReferenceDriver with gossip (a node the network does not build or configure: it
forwards with its own default policy, unlike the network's), so the tests need no external binary; the
same path runs Core Lightning and LDK (`boltcheck run --suite bolt04_multihop_payments --target cln|ldk`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.drivers.base import ChannelInfo, UnsupportedOperation
from harness.drivers.reference import ReferenceDriver
from harness.drivers.registry import NodeSetup
from harness.scenarios.steps.network import (
    NetworkSpec,
    ReferenceNetwork,
    Topology,
    build_network,
    check_balance_changes,
    wait_for_gossip,
)
from harness.scenarios.steps.network_foreign import (
    ForeignBalanceMismatch,
    ForeignMember,
    ForeignPolicyUnknown,
    advertised_policy,
)
from reference_node.forwarding.policy import ForwardingPolicy
from reference_node.gossip.graph import ChannelGraph
from reference_node.pay.payer import AttemptStatus
from reference_node.store import PaymentStatus
from reference_node.wire import ShortChannelId

TIMEOUT_S = 60.0
FOREIGN_AT = 1
# the network's own nodes forward with this policy; the foreign node with its defaults (different)
NETWORK_POLICY = ForwardingPolicy(fee_base_msat=777, fee_proportional_millionths=1234)


class MisreportingDriver(ReferenceDriver):
    """Reports each channel's local balance 1 msat high (a node or driver that gets its balance wrong)."""

    async def list_channels(self) -> list[ChannelInfo]:
        return [
            replace(c, local_balance_msat=c.local_balance_msat + 1) for c in await super().list_channels()
        ]


Body = Callable[[ReferenceNetwork], Awaitable[None]]


def _run(tmp_path: Path, body: Body, driver_class: type[ReferenceDriver] = ReferenceDriver) -> None:
    async def main() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            setup = NodeSetup(
                "foreign",
                "reference",
                hashlib.sha256(b"foreign").digest(),
                tmp_path,
                options={"gossip": True},
                chain=chain,
            )
            driver = driver_class(setup)
            await driver.start()
            try:
                spec = NetworkSpec.of_topology(4, Topology.LINE, policy=NETWORK_POLICY)
                foreign = ForeignMember(FOREIGN_AT, "foreign", driver, driver.address)
                network = await build_network(spec, chain, tmp_path / "net", seed=9, foreign=foreign)
                try:
                    await wait_for_gossip(network, TIMEOUT_S)
                    await body(network)
                finally:
                    await network.stop()
            finally:
                await driver.stop()

    asyncio.run(main())


async def _pay_across(network: ReferenceNetwork, amount_msat: int) -> str:
    """Node 0 pays node 3 through the foreign node 1; returns the balance check's verdict."""
    row = network.node(3).payments.create_invoice(amount_msat, f"foreign-{amount_msat}", "t")
    await network.settled(TIMEOUT_S)
    before = network.balances_msat()
    result = await network.services(0).payer.pay(row.bolt11, None, TIMEOUT_S)
    assert result.status is PaymentStatus.COMPLETE, result.failure
    await network.settled(TIMEOUT_S)
    parts = [a for a in result.attempts if a.status is AttemptStatus.COMPLETE]
    assert [network.index_of(n) for n in parts[0].route.node_ids()] == [0, 1, 2, 3]
    return check_balance_changes(network, before, network.balances_msat(), parts)


def test_a_payment_through_a_driven_node_pays_it_the_fee_of_its_own_channel_update(tmp_path: Path) -> None:
    async def body(network: ReferenceNetwork) -> None:
        before = network.balances_msat()[FOREIGN_AT]
        await _pay_across(network, 5_555_555)
        earned = network.balances_msat()[FOREIGN_AT] - before
        # its fee is its own default policy's, which it advertised, not the network's
        own = ForwardingPolicy()
        assert earned == own.fee_base_msat + 5_555_555 * own.fee_proportional_millionths // 10**6
        assert own != NETWORK_POLICY
        assert "as its peers do" in await network.check_foreign_balance(TIMEOUT_S)

    _run(tmp_path, body)


def test_a_driven_node_reporting_a_balance_its_peers_do_not_have_fails(tmp_path: Path) -> None:
    async def body(network: ReferenceNetwork) -> None:
        with pytest.raises(ForeignBalanceMismatch, match="peer says"):
            await network.check_foreign_balance(TIMEOUT_S)

    _run(tmp_path, body, MisreportingDriver)


def test_the_driven_node_cannot_be_payer_or_payee(tmp_path: Path) -> None:
    async def body(network: ReferenceNetwork) -> None:
        with pytest.raises(UnsupportedOperation, match="node 1 is the node under test"):
            network.services(FOREIGN_AT, "pay from the network's payer")
        with pytest.raises(UnsupportedOperation, match="be the network's payee"):
            network.node(FOREIGN_AT, "be the network's payee")
        assert network.foreign is not None
        assert network.node_id(FOREIGN_AT) == network.foreign.node_id

    _run(tmp_path, body)


def test_a_policy_missing_from_the_neighbours_graph_is_named() -> None:
    graph = ChannelGraph(bytes(32))
    with pytest.raises(ForeignPolicyUnknown, match="not in the neighbour's graph"):
        advertised_policy(graph, ShortChannelId(110, 1, 0), bytes(33))
