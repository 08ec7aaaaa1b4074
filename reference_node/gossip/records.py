"""The values the graph stores: one `ChannelRecord` per channel, one `NodeRecord` per announced node, and
the `GossipResult` every receive call returns."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from reference_node.gossip.addresses import ParsedAddresses
from reference_node.gossip.announcements import ChannelPolicy, update_disabled
from reference_node.gossip.flags import Direction
from reference_node.wire import ChannelAnnouncement, ChannelUpdate, Message, NodeAnnouncement, ShortChannelId
from reference_node.wire.features import Features


@dataclass(frozen=True)
class FundingOutput:
    """What the chain says about the output a `short_channel_id` points to (given by the node's lookup)."""

    script_pubkey: bytes
    amount_sat: int
    confirmations: int
    spent: bool = False


# The node's chain lookup: the output at (block, tx index, output index), or None when there is none.
FundingLookup = Callable[[ShortChannelId], FundingOutput | None]


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    IGNORED = "ignored"


class IgnoreReason(enum.Enum):
    """Why a gossip message was ignored; each value quotes the BOLT 7 condition."""

    UNKNOWN_CHAIN = "the specified chain_hash is unknown to the receiver"
    FUNDING_OUTPUT_NOT_FOUND = "the short_channel_id's output does not exist"
    NOT_FUNDING_OUTPUT = "the short_channel_id's output does NOT correspond to a P2WSH using bitcoin_key_1/2"
    FUNDING_SPENT = "the output is spent"
    TOO_FEW_CONFIRMATIONS = "the short_channel_id's output does NOT have at least 6 confirmations"
    NODE_IDS_NOT_ORDERED = "node_id_1 is not the lexicographically-lesser key"
    BLACKLISTED_NODE = "node_id_1 OR node_id_2 are blacklisted"
    DUPLICATE_ANNOUNCEMENT = "the transaction was previously announced as this channel"
    CONFLICTING_ANNOUNCEMENT = "a valid channel_announcement for the same output named different node_ids"
    UNKNOWN_CHANNEL = "the short_channel_id does NOT match a previous channel_announcement"
    SPENT_NOT_DISABLED = "the channel output has been spent and the disable bit is not set"
    SAME_TIMESTAMP = "timestamp equal to the last-received channel_update, fields equal"
    SAME_TIMESTAMP_DIFFERENT_FIELDS = "timestamp equal to the last-received channel_update, fields differ"
    OLDER_TIMESTAMP = "timestamp lower than (or equal to) the last-received one"
    FUTURE_TIMESTAMP = "the timestamp is unreasonably far in the future"
    UNKNOWN_NODE = "node_id is NOT previously known from a channel_announcement message"


@dataclass(frozen=True)
class GossipResult:
    """The outcome of receiving one gossip message.

    `to_relay` lists what to queue for rebroadcasting, in order: a `channel_announcement` is relayed only
    with its first `channel_update` (BOLT 7 gossip_timestamp_filter: "If a `channel_announcement` has no
    corresponding `channel_update`s: MUST NOT send"), and before it."""

    verdict: Verdict
    reason: IgnoreReason | None = None
    to_relay: tuple[Message, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.verdict == Verdict.ACCEPTED

    @classmethod
    def ignored(cls, reason: IgnoreReason) -> GossipResult:
        return cls(Verdict.IGNORED, reason)


@dataclass(frozen=True)
class ChannelRecord:
    """A channel in the graph. `announcement` is None for our own unannounced channels; `updates` is
    indexed by `Direction` (the latest `channel_update` from node_id_1, then from node_id_2)."""

    short_channel_id: ShortChannelId
    node_id_1: bytes
    node_id_2: bytes
    capacity_sat: int | None
    features: Features
    announcement: ChannelAnnouncement | None
    updates: tuple[ChannelUpdate | None, ChannelUpdate | None] = (None, None)
    received_at: int = 0
    spent_at_height: int | None = None

    @property
    def public(self) -> bool:
        return self.announcement is not None

    @property
    def spent(self) -> bool:
        return self.spent_at_height is not None

    def node_id(self, direction: Direction) -> bytes:
        return self.node_id_1 if direction == Direction.FROM_NODE_1 else self.node_id_2

    def direction_from(self, node_id: bytes) -> Direction:
        if node_id == self.node_id_1:
            return Direction.FROM_NODE_1
        if node_id == self.node_id_2:
            return Direction.FROM_NODE_2
        raise KeyError(f"{node_id.hex()} is not an end of {self.short_channel_id}")

    def update(self, direction: Direction) -> ChannelUpdate | None:
        return self.updates[direction]

    def policy(self, direction: Direction) -> ChannelPolicy | None:
        update = self.updates[direction]
        return None if update is None else ChannelPolicy.of_update(update)

    def disabled(self, direction: Direction) -> bool:
        update = self.updates[direction]
        return update is None or update_disabled(update)

    def has_unknown_even_feature(self) -> bool:
        """BOLT 7: "if there is an unknown even bit in the `features` field: MUST NOT attempt to route
        messages through the channel"."""
        return any(bit % 2 == 0 for bit in self.features.unknown_bits())


@dataclass(frozen=True)
class NodeRecord:
    node_id: bytes
    announcement: NodeAnnouncement
    addresses: ParsedAddresses

    @property
    def features(self) -> Features:
        return Features.from_bytes(self.announcement.features)

    @property
    def timestamp(self) -> int:
        return self.announcement.timestamp

    def has_unknown_even_feature(self) -> bool:
        """BOLT 7 node_announcement: unknown even bits: "MUST NOT route a payment _through_ the node"."""
        return any(bit % 2 == 0 for bit in self.features.unknown_bits())
