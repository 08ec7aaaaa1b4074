"""Our forwarding policy per channel and the signed `channel_update`s that announce it (BOLT 7
"The `channel_update` Message"). The same update is broadcast by gossip and returned in UPDATE failures
(BOLT 4), so both read it from here."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from reference_node.gossip.announcements import (
    ChannelPolicy,
    build_channel_update,
    direction_of,
    update_disabled,
)
from reference_node.wire import ChannelUpdate, ShortChannelId, encode_message

# Defaults as Core Lightning ships them (fee-base 1 sat, fee-per-satoshi 10 ppm, cltv-delta 34): BOLT 7
# leaves the values to the node.
DEFAULT_FEE_BASE_MSAT = 1000
DEFAULT_FEE_PROPORTIONAL_MILLIONTHS = 10
DEFAULT_CLTV_EXPIRY_DELTA = 34


@dataclass(frozen=True)
class ForwardingPolicy:
    """What we charge and require to forward over one of our channels (the channel's htlc_maximum_msat
    comes from its capacity)."""

    fee_base_msat: int = DEFAULT_FEE_BASE_MSAT
    fee_proportional_millionths: int = DEFAULT_FEE_PROPORTIONAL_MILLIONTHS
    cltv_expiry_delta: int = DEFAULT_CLTV_EXPIRY_DELTA
    htlc_minimum_msat: int = 1

    def channel_policy(self, htlc_maximum_msat: int) -> ChannelPolicy:
        return ChannelPolicy(
            cltv_expiry_delta=self.cltv_expiry_delta,
            htlc_minimum_msat=self.htlc_minimum_msat,
            htlc_maximum_msat=htlc_maximum_msat,
            fee_base_msat=self.fee_base_msat,
            fee_proportional_millionths=self.fee_proportional_millionths,
        )


@dataclass(frozen=True)
class LocalChannelInfo:
    """What the update needs to know about one of our channels."""

    short_channel_id: ShortChannelId
    remote_node_id: bytes
    capacity_msat: int
    disabled: bool


class LocalChannelUpdates:
    """Builds, signs and caches our `channel_update` for each of our channels; a new one (with a larger
    `timestamp`: "MUST set `timestamp` to greater than 0, AND to greater than any previously-sent
    `channel_update` for this `short_channel_id`") only when the policy or the disable bit changes."""

    def __init__(
        self,
        node_secret: bytes,
        node_id: bytes,
        chain_hash: bytes,
        default_policy: ForwardingPolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._node_secret = node_secret
        self.node_id = node_id
        self.chain_hash = chain_hash
        self.default_policy = default_policy
        self._clock = clock
        self._policies: dict[ShortChannelId, ForwardingPolicy] = {}
        self._updates: dict[ShortChannelId, ChannelUpdate] = {}

    def set_policy(self, short_channel_id: ShortChannelId, policy: ForwardingPolicy) -> None:
        self._policies[short_channel_id] = policy

    def forwarding_policy(self, short_channel_id: ShortChannelId) -> ForwardingPolicy:
        return self._policies.get(short_channel_id, self.default_policy)

    def channel_policy(self, info: LocalChannelInfo) -> ChannelPolicy:
        return self.forwarding_policy(info.short_channel_id).channel_policy(info.capacity_msat)

    def update_for(self, info: LocalChannelInfo) -> ChannelUpdate:
        """The current update, signed anew when it would differ from the cached one."""
        policy = self.channel_policy(info)
        cached = self._updates.get(info.short_channel_id)
        if (
            cached is not None
            and ChannelPolicy.of_update(cached) == policy
            and update_disabled(cached) == info.disabled
        ):
            return cached
        timestamp = int(self._clock())
        if cached is not None and timestamp <= cached.timestamp:
            timestamp = cached.timestamp + 1
        update = build_channel_update(
            node_secret=self._node_secret,
            chain_hash=self.chain_hash,
            short_channel_id=info.short_channel_id,
            timestamp=timestamp,
            direction=direction_of(self.node_id, info.remote_node_id),
            policy=policy,
            disabled=info.disabled,
            capacity_msat=info.capacity_msat,
        )
        self._updates[info.short_channel_id] = update
        return update

    def failure_update_bytes(self, info: LocalChannelInfo) -> bytes:
        """The update for a BOLT 4 failure's `channel_update` field, with its 2-byte message type."""
        return encode_message(self.update_for(info))
