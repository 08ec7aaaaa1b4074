"""The querying side of gossip queries (BOLT 7 "Query Messages"): send `query_channel_range`, check and
collect the `reply_channel_range`s, decide which `short_channel_id`s to ask for, and build the
`query_short_channel_ids` (one outstanding at a time per peer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reference_node.gossip.announcements import channel_update_checksum
from reference_node.gossip.errors import QueryStateError, ReplyRangeError
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.queries import ALL_QUERY_FLAGS
from reference_node.wire import (
    MAX_MESSAGE_SIZE,
    ChannelUpdate,
    ChannelUpdateChecksums,
    ChannelUpdateTimestamps,
    DecodeError,
    QueryChannelRange,
    QueryChannelRangeTlvs,
    QueryFlagsTlv,
    QueryOptionTlv,
    QueryShortChannelIds,
    QueryShortChannelIdsTlvs,
    ReplyChannelRange,
    ReplyShortChannelIdsEnd,
    ShortChannelId,
)
from reference_node.wire.gossip_encoding import (
    QueryFlag,
    decode_short_ids,
    decode_timestamps,
    encode_query_flags,
    encode_short_ids,
)


@dataclass(frozen=True)
class RangeEntry:
    """One `short_channel_id` a peer listed, with the timestamps/checksums it gave (when asked)."""

    short_channel_id: ShortChannelId
    timestamps: ChannelUpdateTimestamps | None = None
    checksums: ChannelUpdateChecksums | None = None


class ChannelRangeQuery:
    """One `query_channel_range` we sent and the replies to it."""

    def __init__(
        self, chain_hash: bytes, first_blocknum: int, number_of_blocks: int, query_option_flags: int = 0
    ) -> None:
        if number_of_blocks < 1:
            raise QueryStateError("number_of_blocks must be 1 or greater")
        self.chain_hash = chain_hash
        self.first_blocknum = first_blocknum
        self.number_of_blocks = number_of_blocks
        self.query_option_flags = query_option_flags
        self._entries: list[RangeEntry] = []
        self._last_first_blocknum: int | None = None
        self.complete = False

    @property
    def end(self) -> int:
        return self.first_blocknum + self.number_of_blocks

    def message(self) -> QueryChannelRange:
        tlvs = QueryChannelRangeTlvs(
            query_option=QueryOptionTlv(query_option_flags=self.query_option_flags)
            if self.query_option_flags
            else None
        )
        return QueryChannelRange(
            chain_hash=self.chain_hash,
            first_blocknum=self.first_blocknum,
            number_of_blocks=self.number_of_blocks,
            tlvs=tlvs,
        )

    def receive(self, reply: ReplyChannelRange) -> bool:
        """Check one reply against the BOLT 7 rules for replies and collect its ids; True once the range
        is covered. Raises ReplyRangeError naming the broken rule."""
        if self.complete:
            raise ReplyRangeError("reply_channel_range after the final reply")
        if reply.chain_hash != self.chain_hash:
            raise ReplyRangeError("chain_hash differs from the query's")
        reply_end = reply.first_blocknum + reply.number_of_blocks
        if self._last_first_blocknum is None:
            if not (reply.first_blocknum <= self.first_blocknum < reply_end):
                raise ReplyRangeError(
                    "the first reply must start at or before first_blocknum and end after it"
                )
        elif reply.first_blocknum < self._last_first_blocknum:
            raise ReplyRangeError("first_blocknum went backwards")
        try:
            short_ids = decode_short_ids(reply.encoded_short_ids)
            timestamps = self._timestamps(reply, len(short_ids))
        except DecodeError as exc:
            raise ReplyRangeError(f"bad encoded array: {exc}") from exc
        checksums = self._checksums(reply, len(short_ids))
        for index, scid in enumerate(short_ids):
            if not reply.first_blocknum <= scid.block_height < reply_end:
                raise ReplyRangeError(f"{scid} is outside the reply's blocks")
            self._entries.append(
                RangeEntry(
                    scid,
                    None if timestamps is None else timestamps[index],
                    None if checksums is None else checksums[index],
                )
            )
        self._last_first_blocknum = reply.first_blocknum
        final = reply_end >= self.end
        if not final and reply.sync_complete:
            raise ReplyRangeError("sync_complete set on a reply that does not reach the end of the range")
        self.complete = final
        return final

    @staticmethod
    def _timestamps(reply: ReplyChannelRange, count: int) -> Sequence[ChannelUpdateTimestamps] | None:
        tlv = reply.tlvs.timestamps_tlv
        if tlv is None:
            return None
        items = decode_timestamps(tlv.encoding_type, tlv.encoded_timestamps)
        if len(items) != count:
            raise ReplyRangeError(f"{len(items)} timestamps for {count} short_channel_ids")
        return items

    @staticmethod
    def _checksums(reply: ReplyChannelRange, count: int) -> Sequence[ChannelUpdateChecksums] | None:
        tlv = reply.tlvs.checksums_tlv
        if tlv is None:
            return None
        if len(tlv.checksums) != count:
            raise ReplyRangeError(f"{len(tlv.checksums)} checksums for {count} short_channel_ids")
        return tlv.checksums

    def entries(self) -> tuple[RangeEntry, ...]:
        """Every listed id once (a split block may repeat none, but replies may overlap), in order."""
        seen: dict[ShortChannelId, RangeEntry] = {}
        for entry in self._entries:
            seen[entry.short_channel_id] = entry
        return tuple(seen[scid] for scid in sorted(seen))


def _want_update(ours: ChannelUpdate | None, their_timestamp: int, their_checksum: int | None) -> bool:
    """Ask for their update only if it is newer than ours and, when checksums were given, carries
    different information (a checksum of 0 means "none": "it will not be queried")."""
    if their_timestamp == 0:
        return False
    if ours is None:
        return True
    if their_timestamp <= ours.timestamp:
        return False
    if their_checksum is None:
        return True
    return their_checksum != 0 and their_checksum != channel_update_checksum(ours)


def short_ids_to_query(
    graph: ChannelGraph, entries: Sequence[RangeEntry]
) -> list[tuple[ShortChannelId, int]]:
    """(short_channel_id, query_flag) for what we lack: everything for unknown channels; for known ones,
    the updates their timestamps (and checksums) say are newer and different. Known channels without
    timestamps are not asked for."""
    wanted: list[tuple[ShortChannelId, int]] = []
    for entry in entries:
        record = graph.channel(entry.short_channel_id)
        if record is None or record.announcement is None:
            wanted.append((entry.short_channel_id, ALL_QUERY_FLAGS))
            continue
        if entry.timestamps is None:
            continue
        flag = 0
        their = (entry.timestamps.timestamp_node_id_1, entry.timestamps.timestamp_node_id_2)
        sums = (
            (None, None)
            if entry.checksums is None
            else (entry.checksums.checksum_node_id_1, entry.checksums.checksum_node_id_2)
        )
        for direction, bit in enumerate((QueryFlag.CHANNEL_UPDATE_NODE_1, QueryFlag.CHANNEL_UPDATE_NODE_2)):
            if _want_update(record.updates[direction], their[direction], sums[direction]):
                flag |= bit
        if flag:
            wanted.append((entry.short_channel_id, flag))
    return wanted


# query_short_channel_ids: type 2, chain_hash 32, len 2, encoding byte 1; query_flags TLV: type 1, length
# up to 3, encoding byte 1; a flag below 0xfd is one byte.
_QUERY_FIXED_LEN = 37
_QUERY_FLAGS_OVERHEAD = 5


def build_short_id_queries(
    chain_hash: bytes, wanted: Sequence[tuple[ShortChannelId, int]], *, with_flags: bool = True
) -> list[QueryShortChannelIds]:
    """`query_short_channel_ids` messages for `wanted`, in ascending order, each within 65535 bytes."""
    per_id = 8 + (1 if with_flags else 0)
    limit = (MAX_MESSAGE_SIZE - _QUERY_FIXED_LEN - (_QUERY_FLAGS_OVERHEAD if with_flags else 0)) // per_id
    ordered = sorted(wanted)
    messages = []
    for start in range(0, len(ordered), limit):
        chunk = ordered[start : start + limit]
        tlvs = QueryShortChannelIdsTlvs()
        if with_flags:
            encoding_type, encoded = encode_query_flags(flag for _, flag in chunk)
            tlvs = QueryShortChannelIdsTlvs(
                query_flags=QueryFlagsTlv(encoding_type=encoding_type, encoded_query_flags=encoded)
            )
        messages.append(
            QueryShortChannelIds(
                chain_hash=chain_hash, encoded_short_ids=encode_short_ids(s for s, _ in chunk), tlvs=tlvs
            )
        )
    return messages


class ShortIdQueryGate:
    """BOLT 7 sender: "MUST NOT send `query_short_channel_ids` if it has sent a previous
    `query_short_channel_ids` to this peer and not received `reply_short_channel_ids_end`"."""

    def __init__(self) -> None:
        self._queue: list[QueryShortChannelIds] = []
        self._outstanding: QueryShortChannelIds | None = None

    def enqueue(self, queries: Sequence[QueryShortChannelIds]) -> QueryShortChannelIds | None:
        """Add queries; returns the one to send now, if none is outstanding."""
        self._queue.extend(queries)
        return self._next()

    def receive_end(self, msg: ReplyShortChannelIdsEnd) -> QueryShortChannelIds | None:
        """The peer finished answering; returns the next query to send, if any."""
        if self._outstanding is None:
            raise QueryStateError("reply_short_channel_ids_end without an outstanding query")
        if msg.chain_hash != self._outstanding.chain_hash:
            raise QueryStateError("reply_short_channel_ids_end for another chain")
        self._outstanding = None
        return self._next()

    @property
    def outstanding(self) -> QueryShortChannelIds | None:
        return self._outstanding

    def _next(self) -> QueryShortChannelIds | None:
        if self._outstanding is not None or not self._queue:
            return None
        self._outstanding = self._queue.pop(0)
        return self._outstanding
