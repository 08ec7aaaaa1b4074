"""The in-memory gossip graph and every BOLT 7 receiver rule for the three gossip messages.

`ChannelGraph` is pure: the chain is reached through a `FundingLookup` callback, and time ("now", the
best block height) is always a parameter. Each `receive_*` returns a `GossipResult` (accepted, or ignored
with the reason) or raises a `GossipWarning` where BOLT 7 says "SHOULD send a `warning`".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from reference_node.bitcoin.ecdsa import parse_public_key
from reference_node.bitcoin.errors import SignatureError
from reference_node.gossip.addresses import parse_addresses
from reference_node.gossip.announcements import (
    same_fields_below_timestamp,
    update_direction,
    update_disabled,
    update_dont_forward,
)
from reference_node.gossip.errors import InvalidNodeIdError
from reference_node.gossip.flags import (
    ANNOUNCEMENT_MIN_CONFIRMATIONS,
    SPENT_CHANNEL_FORGET_DELAY_BLOCKS,
    STALE_CHANNEL_AGE_SECONDS,
)
from reference_node.gossip.records import (
    ChannelRecord,
    FundingLookup,
    GossipResult,
    IgnoreReason,
    NodeRecord,
    Verdict,
)
from reference_node.gossip.signing import (
    verify_channel_announcement,
    verify_channel_update,
    verify_node_announcement,
)
from reference_node.transactions.funding import funding_script_pubkey
from reference_node.wire import ChannelAnnouncement, ChannelUpdate, Message, NodeAnnouncement, ShortChannelId
from reference_node.wire.features import Features

# "if the `timestamp` is unreasonably far in the future: MAY discard": our bound.
DEFAULT_MAX_FUTURE_SECONDS = 24 * 3600


class ChannelGraph:
    """Channels (public and our own private ones), both directions' latest updates, announced nodes."""

    def __init__(
        self,
        chain_hash: bytes,
        *,
        confirmation_slack: int = 0,
        max_future_seconds: int = DEFAULT_MAX_FUTURE_SECONDS,
    ) -> None:
        """`confirmation_slack`: accept announcements this many confirmations short of 6 ("MAY accept the
        message if the output is close to 6 confirmations")."""
        self.chain_hash = chain_hash
        self.confirmation_slack = confirmation_slack
        self.max_future_seconds = max_future_seconds
        self._channels: dict[ShortChannelId, ChannelRecord] = {}
        self._nodes: dict[bytes, NodeRecord] = {}
        self._blacklist: set[bytes] = set()
        # Harness defects (reference_node.faults) switch these off; a correct node never does.
        self.verify_signatures = True
        self.check_funding_output = True

    # -- read access -------------------------------------------------------------------------------------

    def channel(self, short_channel_id: ShortChannelId) -> ChannelRecord | None:
        return self._channels.get(short_channel_id)

    def channels(self) -> Iterator[ChannelRecord]:
        """Every channel, in `short_channel_id` order."""
        for scid in sorted(self._channels):
            yield self._channels[scid]

    def node(self, node_id: bytes) -> NodeRecord | None:
        return self._nodes.get(node_id)

    def nodes(self) -> Iterator[NodeRecord]:
        for node_id in sorted(self._nodes):
            yield self._nodes[node_id]

    def channels_of(self, node_id: bytes) -> list[ChannelRecord]:
        return [c for c in self.channels() if node_id in (c.node_id_1, c.node_id_2)]

    def is_blacklisted(self, node_id: bytes) -> bool:
        return node_id in self._blacklist

    def blacklisted(self) -> frozenset[bytes]:
        return frozenset(self._blacklist)

    def _known_from_announcement(self, node_id: bytes) -> bool:
        return any(c.public and node_id in (c.node_id_1, c.node_id_2) for c in self._channels.values())

    # -- our own channels ----------------------------------------------------------------------------------

    def add_local_channel(
        self, short_channel_id: ShortChannelId, local_node_id: bytes, remote_node_id: bytes, capacity_sat: int
    ) -> ChannelRecord:
        """One of our channels, before (or without) announcement: BOLT 7 "SHOULD accept `channel_update`s
        for its own channels (even if non-public)". `short_channel_id` may be an alias."""
        node_id_1, node_id_2 = sorted((local_node_id, remote_node_id))
        existing = self._channels.get(short_channel_id)
        if existing is not None:
            return existing
        record = ChannelRecord(short_channel_id, node_id_1, node_id_2, capacity_sat, Features(), None)
        self._channels[short_channel_id] = record
        return record

    def add_own_announcement(self, announcement: ChannelAnnouncement, capacity_sat: int, now: int) -> None:
        """A `channel_announcement` we assembled ourselves (announcement_signatures exchange): no chain
        lookup needed, we funded it; signatures are still checked."""
        verify_channel_announcement(announcement)
        self._store_announcement(announcement, capacity_sat, now)

    def remove_channel(self, short_channel_id: ShortChannelId) -> None:
        self._channels.pop(short_channel_id, None)
        self.prune_orphan_nodes()

    # -- channel_announcement --------------------------------------------------------------------------------

    def receive_channel_announcement(
        self, msg: ChannelAnnouncement, *, lookup: FundingLookup, now: int
    ) -> GossipResult:
        """BOLT 7 "The `channel_announcement` Message", receiving node requirements, in the spec's order.
        Raises InvalidSignatureError (a GossipWarning) when a signature is invalid."""
        if msg.chain_hash != self.chain_hash:
            return GossipResult.ignored(IgnoreReason.UNKNOWN_CHAIN)
        if not msg.node_id_1 < msg.node_id_2:
            return GossipResult.ignored(IgnoreReason.NODE_IDS_NOT_ORDERED)
        output = lookup(msg.short_channel_id)
        if output is None:
            return GossipResult.ignored(IgnoreReason.FUNDING_OUTPUT_NOT_FOUND)
        if self.check_funding_output:
            if output.script_pubkey != funding_script_pubkey(msg.bitcoin_key_1, msg.bitcoin_key_2):
                return GossipResult.ignored(IgnoreReason.NOT_FUNDING_OUTPUT)
            if output.spent:
                return GossipResult.ignored(IgnoreReason.FUNDING_SPENT)
            if output.confirmations < ANNOUNCEMENT_MIN_CONFIRMATIONS - self.confirmation_slack:
                return GossipResult.ignored(IgnoreReason.TOO_FEW_CONFIRMATIONS)
        if self.verify_signatures:
            verify_channel_announcement(msg)
        if msg.node_id_1 in self._blacklist or msg.node_id_2 in self._blacklist:
            return GossipResult.ignored(IgnoreReason.BLACKLISTED_NODE)
        existing = self._channels.get(msg.short_channel_id)
        if existing is not None and existing.announcement is not None:
            if (existing.node_id_1, existing.node_id_2) == (msg.node_id_1, msg.node_id_2):
                return GossipResult.ignored(IgnoreReason.DUPLICATE_ANNOUNCEMENT)
            # "SHOULD blacklist the previous message's node_id_1 and node_id_2, as well as this node_id_1 and
            # node_id_2 AND forget any channels connected to them."
            self._blacklist_and_forget((existing.node_id_1, existing.node_id_2, msg.node_id_1, msg.node_id_2))
            return GossipResult.ignored(IgnoreReason.CONFLICTING_ANNOUNCEMENT)
        self._store_announcement(msg, output.amount_sat, now)
        # Queued for rebroadcast together with its first channel_update (see GossipResult.to_relay).
        return GossipResult(Verdict.ACCEPTED)

    def _store_announcement(self, msg: ChannelAnnouncement, capacity_sat: int, now: int) -> None:
        previous = self._channels.get(msg.short_channel_id)
        updates: tuple[ChannelUpdate | None, ChannelUpdate | None] = (None, None)
        if previous is not None and (previous.node_id_1, previous.node_id_2) == (
            msg.node_id_1,
            msg.node_id_2,
        ):
            updates = previous.updates  # our own private channel becoming public keeps its updates
        self._channels[msg.short_channel_id] = ChannelRecord(
            short_channel_id=msg.short_channel_id,
            node_id_1=msg.node_id_1,
            node_id_2=msg.node_id_2,
            capacity_sat=capacity_sat,
            features=Features.from_bytes(msg.features),
            announcement=msg,
            updates=updates,
            received_at=now,
        )

    def _blacklist_and_forget(self, node_ids: tuple[bytes, ...]) -> None:
        self._blacklist.update(node_ids)
        for scid, record in list(self._channels.items()):
            if record.node_id_1 in self._blacklist or record.node_id_2 in self._blacklist:
                del self._channels[scid]
        for node_id in node_ids:
            self._nodes.pop(node_id, None)

    # -- channel_update ------------------------------------------------------------------------------------

    def receive_channel_update(self, msg: ChannelUpdate, *, now: int) -> GossipResult:
        """BOLT 7 "The `channel_update` Message", receiving node requirements. Raises InvalidSignatureError
        when the signature is not by the node its direction bit names."""
        record = self._channels.get(msg.short_channel_id)
        if record is None:
            # "MUST ignore `channel_update`s that do NOT correspond to one of its own channels."
            return GossipResult.ignored(IgnoreReason.UNKNOWN_CHANNEL)
        disabled = update_disabled(msg)
        if record.spent and not disabled:
            return GossipResult.ignored(IgnoreReason.SPENT_NOT_DISABLED)
        direction = update_direction(msg)
        if self.verify_signatures:
            verify_channel_update(msg, record.node_id(direction))
        if msg.chain_hash != self.chain_hash:
            return GossipResult.ignored(IgnoreReason.UNKNOWN_CHAIN)
        last = record.update(direction)
        if last is not None:
            if msg.timestamp == last.timestamp:
                if same_fields_below_timestamp(msg, last):
                    return GossipResult.ignored(IgnoreReason.SAME_TIMESTAMP)
                # "MAY blacklist this node_id": we only ignore; a relaying peer may have re-signed nothing,
                # but equal timestamps with different parameters is the origin's fault, not the relayer's.
                return GossipResult.ignored(IgnoreReason.SAME_TIMESTAMP_DIFFERENT_FIELDS)
            if msg.timestamp < last.timestamp:
                return GossipResult.ignored(IgnoreReason.OLDER_TIMESTAMP)
        if msg.timestamp > now + self.max_future_seconds:
            return GossipResult.ignored(IgnoreReason.FUTURE_TIMESTAMP)
        updates = list(record.updates)
        first_update = updates[0] is None and updates[1] is None
        updates[direction] = msg
        self._channels[msg.short_channel_id] = dataclasses.replace(record, updates=(updates[0], updates[1]))
        return GossipResult(Verdict.ACCEPTED, None, self._relay_for_update(record, msg, first_update))

    @staticmethod
    def _relay_for_update(
        record: ChannelRecord, msg: ChannelUpdate, first_update: bool
    ) -> tuple[Message, ...]:
        if record.announcement is None or update_dont_forward(msg):
            return ()  # private channel, or "MUST NOT forward such a `channel_update` to other peers"
        if record.spent:
            # "SHOULD NOT rebroadcast `channel_update`s to its peers, unless they have the disable bit"; the
            # spent channel's announcement itself is not rebroadcast.
            return (msg,) if update_disabled(msg) else ()
        return (record.announcement, msg) if first_update else (msg,)

    # -- node_announcement ----------------------------------------------------------------------------------

    def receive_node_announcement(self, msg: NodeAnnouncement) -> GossipResult:
        """BOLT 7 "The `node_announcement` Message", receiving node requirements. Raises InvalidNodeIdError,
        InvalidSignatureError or AddressDescriptorError (all GossipWarning)."""
        try:
            parse_public_key(msg.node_id)
        except SignatureError as exc:
            raise InvalidNodeIdError(
                msg.NAME, f"node_id is not a valid compressed public key: {exc}"
            ) from exc
        if self.verify_signatures:
            verify_node_announcement(msg)
        addresses = parse_addresses(msg.addresses)
        if not self._known_from_announcement(msg.node_id):
            return GossipResult.ignored(IgnoreReason.UNKNOWN_NODE)
        last = self._nodes.get(msg.node_id)
        if last is not None and msg.timestamp <= last.timestamp:
            return GossipResult.ignored(IgnoreReason.OLDER_TIMESTAMP)
        self._nodes[msg.node_id] = NodeRecord(msg.node_id, msg, addresses)
        # "if more than one type 5 address is announced: ... MUST not forward the node_announcement"
        return GossipResult(Verdict.ACCEPTED, None, (msg,) if addresses.forwardable else ())

    # -- pruning -------------------------------------------------------------------------------------------

    def mark_spent(self, short_channel_id: ShortChannelId, block_height: int) -> None:
        """The funding output was spent in the block at `block_height`."""
        record = self._channels.get(short_channel_id)
        if record is not None and record.spent_at_height is None:
            self._channels[short_channel_id] = dataclasses.replace(record, spent_at_height=block_height)

    def unmark_spent(self, short_channel_id: ShortChannelId) -> None:
        """The spend was reorganized out."""
        record = self._channels.get(short_channel_id)
        if record is not None:
            self._channels[short_channel_id] = dataclasses.replace(record, spent_at_height=None)

    def forget_spent(self, best_block_height: int) -> list[ShortChannelId]:
        """BOLT 7 "if the funding output of a channel is spent and received 72 block confirmations: SHOULD
        be removed from the local network view". A spend in block H has best - H + 1 confirmations."""
        gone = [
            scid
            for scid, record in self._channels.items()
            if record.spent_at_height is not None
            and best_block_height - record.spent_at_height + 1 >= SPENT_CHANNEL_FORGET_DELAY_BLOCKS
        ]
        for scid in gone:
            del self._channels[scid]
        self.prune_orphan_nodes()
        return sorted(gone)

    def prune_stale(self, now: int) -> list[ShortChannelId]:
        """BOLT 7 "if the `timestamp` of the latest `channel_update` in either direction is older than two
        weeks (1209600 seconds): MAY prune the channel". A direction never updated counts from when the
        announcement was received. Our own unannounced channels are never pruned."""
        cutoff = now - STALE_CHANNEL_AGE_SECONDS
        gone = []
        for scid, record in self._channels.items():
            if not record.public:
                continue
            timestamps = [
                record.received_at if update is None else update.timestamp for update in record.updates
            ]
            if min(timestamps) < cutoff:
                gone.append(scid)
        for scid in gone:
            del self._channels[scid]
        self.prune_orphan_nodes()
        return sorted(gone)

    def prune_orphan_nodes(self) -> list[bytes]:
        """ "if the announced node no longer has any associated open channels: MAY prune nodes"."""
        gone = [node_id for node_id in self._nodes if not self._known_from_announcement(node_id)]
        for node_id in gone:
            del self._nodes[node_id]
        return gone

    # -- used by persist.py --------------------------------------------------------------------------------

    def _restore(
        self, channels: list[ChannelRecord], nodes: list[NodeRecord], blacklist: list[bytes]
    ) -> None:
        self._channels = {c.short_channel_id: c for c in channels}
        self._nodes = {n.node_id: n for n in nodes}
        self._blacklist = set(blacklist)
