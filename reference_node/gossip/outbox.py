"""What to send one peer: `gossip_timestamp_filter` handling and the staggered-broadcast queue (BOLT 7
"The `gossip_timestamp_filter` Message" and "Rebroadcasting"). Pure: the node calls `flush()` on its own
timer (BOLT 7: "SHOULD flush outgoing gossip messages once every 60 seconds").
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.gossip.announcements import update_direction, update_dont_forward
from reference_node.gossip.graph import ChannelGraph
from reference_node.wire import (
    ChannelAnnouncement,
    ChannelUpdate,
    GossipTimestampFilter,
    Message,
    NodeAnnouncement,
    ShortChannelId,
)

_U32_MAX = 0xFFFFFFFF


@dataclass(frozen=True)
class TimestampFilter:
    """`first_timestamp` <= timestamp < `first_timestamp` + `timestamp_range` (computed without u32 wrap)."""

    first_timestamp: int
    timestamp_range: int

    @classmethod
    def of(cls, msg: GossipTimestampFilter) -> TimestampFilter:
        return cls(msg.first_timestamp, msg.timestamp_range)

    def admits(self, timestamp: int) -> bool:
        return self.first_timestamp <= timestamp < self.first_timestamp + self.timestamp_range


def no_gossip_filter(chain_hash: bytes) -> GossipTimestampFilter:
    """BOLT 7 sender: "If the receiver does not offer `gossip_queries`: SHOULD set `first_timestamp` to
    0xFFFFFFFF and `timestamp_range` to 0"."""
    return GossipTimestampFilter(chain_hash=chain_hash, first_timestamp=_U32_MAX, timestamp_range=0)


def messages_in_range(graph: ChannelGraph, timestamp_filter: TimestampFilter) -> list[Message]:
    """The stored gossip a `gossip_timestamp_filter` asks for, in sending order: for each public unspent
    channel, its `channel_announcement` (whose timestamp is "the `timestamp` of a corresponding
    `channel_update`") before its updates, then the node announcements. Announcements without updates,
    spent channels and `dont_forward` updates are not sent."""
    channel_part: list[Message] = []
    nodes_part: list[Message] = []
    for record in graph.channels():
        if record.announcement is None or record.spent:
            continue
        updates = [u for u in record.updates if u is not None and not update_dont_forward(u)]
        wanted = [u for u in updates if timestamp_filter.admits(u.timestamp)]
        if wanted:
            channel_part.append(record.announcement)
            channel_part.extend(wanted)
    for node in graph.nodes():
        if node.addresses.forwardable and timestamp_filter.admits(node.timestamp):
            nodes_part.append(node.announcement)
    return channel_part + nodes_part


class GossipOutbox:
    """The gossip queued for one peer.

    - Until the peer sends `gossip_timestamp_filter`, only gossip we generated ourselves is queued
      ("MUST not send gossip it did not generate itself, until it receives `gossip_timestamp_filter`").
    - Our own gossip ignores the filter ("SHOULD send gossip messages as it generates them regardless of
      `timestamp`"); relayed gossip must pass it.
    - A newer `channel_update` or `node_announcement` replaces the queued one from the same origin, so a
      flush sends each item once; announcements go before the updates that follow them.
    """

    def __init__(self, chain_hash: bytes) -> None:
        self.chain_hash = chain_hash
        self.filter: TimestampFilter | None = None
        self._announcements: dict[ShortChannelId, ChannelAnnouncement] = {}
        self._updates: dict[tuple[ShortChannelId, int], ChannelUpdate] = {}
        self._nodes: dict[bytes, NodeAnnouncement] = {}

    def receive_filter(self, msg: GossipTimestampFilter, graph: ChannelGraph) -> list[Message]:
        """Apply a (replacing) filter; returns the stored gossip to send now. A filter for another chain
        is not ours to answer: nothing is sent and the previous filter stays."""
        if msg.chain_hash != self.chain_hash:
            return []
        self.filter = TimestampFilter.of(msg)
        return messages_in_range(graph, self.filter)

    def queue_relayed(self, messages: tuple[Message, ...]) -> None:
        """Queue what a `GossipResult.to_relay` lists (messages we did not generate)."""
        if self.filter is None:
            return
        timestamp = _timestamp_of_group(messages)
        if timestamp is None or not self.filter.admits(timestamp):
            return
        self._add(messages)

    def queue_own(self, messages: tuple[Message, ...]) -> None:
        """Queue gossip we generated, regardless of any filter."""
        self._add(messages)

    def _add(self, messages: tuple[Message, ...]) -> None:
        for msg in messages:
            if isinstance(msg, ChannelAnnouncement):
                self._announcements[msg.short_channel_id] = msg
            elif isinstance(msg, ChannelUpdate):
                key = (msg.short_channel_id, int(update_direction(msg)))
                queued = self._updates.get(key)
                if queued is None or queued.timestamp <= msg.timestamp:
                    self._updates[key] = msg
            elif isinstance(msg, NodeAnnouncement):
                queued_node = self._nodes.get(msg.node_id)
                if queued_node is None or queued_node.timestamp <= msg.timestamp:
                    self._nodes[msg.node_id] = msg

    def pending(self) -> int:
        return len(self._announcements) + len(self._updates) + len(self._nodes)

    def flush(self) -> list[Message]:
        """Everything queued, once: each `channel_announcement` "prior to any corresponding
        `channel_update`s and `node_announcement`s"."""
        out: list[Message] = []
        for scid in sorted(self._announcements):
            out.append(self._announcements[scid])
        for key in sorted(self._updates):
            out.append(self._updates[key])
        for node_id in sorted(self._nodes):
            out.append(self._nodes[node_id])
        self._announcements.clear()
        self._updates.clear()
        self._nodes.clear()
        return out


def _timestamp_of_group(messages: tuple[Message, ...]) -> int | None:
    """A relayed group's timestamp: that of its update or node announcement (an announcement has none)."""
    for msg in messages:
        if isinstance(msg, ChannelUpdate | NodeAnnouncement):
            return msg.timestamp
    return None
