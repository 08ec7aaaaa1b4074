"""Multi-hop payments for the reference node: forwarding, gossip and the routing payer, wired together.

multihop = enable_multihop(lightning_node, MultihopConfig(...))   # before lightning_node.start()
await lightning_node.start(); multihop.start()
result = await multihop.payer.pay(bolt11, timeout_s=60)            # PayResult (status, preimage, parts,
                                                                   # attempts with erring_index/code)
route = multihop.payer.get_route(destination, amount_msat, final_cltv_delta)   # getroute
attempt = await multihop.payer.send_route(route, payment_hash, payment_secret)  # sendpay
await multihop.payer.wait_attempt(payment_hash, partid, timeout_s)               # waitsendpay
multihop.gossip.graph (ChannelGraph), multihop.relay.settled (forwards)
await multihop.stop()                                             # before lightning_node.stop()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reference_node.forwarding.relay import HtlcRelay, RelayConfig
from reference_node.gossip_sync import GossipConfig, GossipSync
from reference_node.pay.payer import (
    AttemptResult,
    AttemptStatus,
    PayerConfig,
    PayError,
    PayResult,
    RoutingPayer,
)

if TYPE_CHECKING:
    from reference_node.node import LightningNode


@dataclass(frozen=True)
class MultihopConfig:
    relay: RelayConfig = field(default_factory=RelayConfig)
    gossip: GossipConfig = field(default_factory=GossipConfig)
    payer: PayerConfig = field(default_factory=PayerConfig)


@dataclass
class Multihop:
    relay: HtlcRelay
    gossip: GossipSync
    payer: RoutingPayer

    def start(self) -> None:
        self.gossip.start()

    async def stop(self) -> None:
        self.payer.close()
        self.relay.close()
        await self.gossip.stop()


def enable_multihop(node: LightningNode, config: MultihopConfig | None = None) -> Multihop:
    """Install forwarding, gossip and routed payments on `node` (registers message handlers, the channel
    report handler and persistence hooks)."""
    config = config or MultihopConfig()
    relay = HtlcRelay(node, config.relay)
    gossip = GossipSync(node, relay, config.gossip)
    payer = RoutingPayer(node, relay, gossip.graph, config.payer)
    return Multihop(relay, gossip, payer)


__all__ = [
    "AttemptResult",
    "AttemptStatus",
    "Multihop",
    "MultihopConfig",
    "PayError",
    "PayResult",
    "PayerConfig",
    "RoutingPayer",
    "enable_multihop",
]
