"""Forwarding in the reference node (BOLT 4 "Accepting and Forwarding a Payment", BOLT 2 HTLC relay).

relay = HtlcRelay(lightning_node, RelayConfig(policy=ForwardingPolicy(...), mpp_timeout_s=60))
    installs itself as the channel layer's report handler (the payment service stays behind it for
    single-part final HTLCs). relay.updates: LocalChannelUpdates (our signed channel_update per
    channel, shared with gossip); relay.watch_outgoing(slot, htlc_id, callback) for payers;
    relay.settled: ForwardRecord list; relay.mpp: MppReceiver (basic_mpp final node).
check_forward(IncomingForward, OutgoingChannel | None, height, ForwardLimits) -> FailureMessage | None
"""

from reference_node.forwarding.checks import (
    ForwardLimits,
    IncomingForward,
    OutgoingChannel,
    check_forward,
)
from reference_node.forwarding.policy import ForwardingPolicy, LocalChannelInfo, LocalChannelUpdates
from reference_node.forwarding.relay import ForwardRecord, HtlcRelay, RelayConfig

__all__ = [
    "ForwardLimits",
    "ForwardRecord",
    "ForwardingPolicy",
    "HtlcRelay",
    "IncomingForward",
    "LocalChannelInfo",
    "LocalChannelUpdates",
    "OutgoingChannel",
    "RelayConfig",
    "check_forward",
]
