"""A forwarding node restarted while a forwarded HTLC is in flight still relays the preimage back: the
link between its incoming and outgoing HTLC is in its store (nothing needed to recover funds lives only
in memory)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from harness.scenarios.steps.network import (
    MULTIHOP_FEATURES,
    NetworkSpec,
    Topology,
    build_network,
    check_balance_changes,
    wait_for_gossip,
)
from reference_node.channel import ChannelState
from reference_node.node import LightningNode, NodeConfig
from reference_node.nodekey import Entropy, NodeKey
from reference_node.pay import MultihopConfig, enable_multihop
from reference_node.pay.payer import AttemptStatus
from reference_node.payments.channels import ChannelConfig
from reference_node.store import PaymentStatus

TIMEOUT_S = 60.0
SEED = 21


def test_a_restarted_forwarder_relays_the_preimage_of_an_htlc_it_forwarded_before(tmp_path: Path) -> None:
    async def run() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            network = await build_network(
                NetworkSpec.of_topology(3, Topology.LINE), chain, tmp_path, seed=SEED
            )
            try:
                await wait_for_gossip(network, TIMEOUT_S)
                payer, forwarder, payee = network.nodes
                payee.controls.withhold_preimages = True
                row = payee.payments.create_invoice(3_000_000, "held", "d")
                await network.settled(TIMEOUT_S)
                before = network.balances_msat()
                paying = asyncio.ensure_future(network.multihop[0].payer.pay(row.bolt11, None, TIMEOUT_S))
                (in_slot,) = payee.channels.slots.values()

                def held() -> bool:
                    ledger = in_slot.channel.data.ledger
                    return ledger is not None and any(
                        u.payment_hash == row.payment_hash for u in ledger.updates
                    )

                await payee.channels.changes.wait_for(held, TIMEOUT_S)
                assert len(network.multihop[1].relay.links) == 1

                # the forwarder goes down and comes back from its data directory
                await network.multihop[1].stop()
                await forwarder.stop()
                secret = hashlib.sha256(f"boltcheck-network/{SEED}/net/1".encode()).digest()
                restarted = LightningNode(
                    NodeKey.from_secret(secret),
                    EmbeddedChainSource(chain),
                    tmp_path / "net-1",
                    config=NodeConfig(features=MULTIHOP_FEATURES),
                    entropy=Entropy(f"{SEED}/net/1".encode()),
                    channel_config=ChannelConfig(minimum_depth=1),
                    alias="net-1",
                )
                services = enable_multihop(restarted, MultihopConfig())
                network.nodes[1], network.multihop[1] = restarted, services
                await restarted.start()
                services.start()
                assert len(services.relay.links) == 1
                host, port = restarted.node.address
                await payer.connect(restarted.node_id, host, port)  # it reconnects to payee by itself
                for node in (payer, payee):
                    for slot in node.channels.slots.values():
                        await node.channels.changes.wait_for(slot.channel.is_link_ready, TIMEOUT_S)
                assert all(s.channel.state is ChannelState.NORMAL for s in restarted.channels.slots.values())

                # the payee releases the preimage now: it must travel back through the restarted node
                ledger = in_slot.channel.data.ledger
                assert ledger is not None
                htlc = next(u for u in ledger.updates if u.payment_hash == row.payment_hash)
                await payee.channels.command(
                    in_slot, lambda: in_slot.channel.fulfill_htlc(htlc.htlc_id, row.preimage)
                )
                result = await paying
                assert result.status is PaymentStatus.COMPLETE and result.preimage == row.preimage
                await network.settled(TIMEOUT_S)
                parts = [a for a in result.attempts if a.status is AttemptStatus.COMPLETE]
                check_balance_changes(network, before, network.balances_msat(), parts)
                assert len(services.relay.links) == 0
            finally:
                await network.stop()

    asyncio.run(run())
