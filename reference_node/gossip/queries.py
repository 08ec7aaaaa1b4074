"""Answering gossip queries (BOLT 7 "Query Messages"), pure handlers over a `ChannelGraph`.

- `answer_query_short_channel_ids`: the announcements/updates asked for, then `reply_short_channel_ids_end`.
- `answer_query_channel_range`: `reply_channel_range` messages covering the range, each within the 65535-byte
  message limit, with `timestamps_tlv` / `checksums_tlv` when `query_option` asks for them.
Malformed queries raise QueryError ("MAY send a `warning`").
"""

from __future__ import annotations

from collections.abc import Sequence

from reference_node.gossip.announcements import channel_update_checksum, update_dont_forward
from reference_node.gossip.errors import QueryError
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.records import ChannelRecord
from reference_node.wire import (
    MAX_MESSAGE_SIZE,
    ChannelUpdate,
    ChannelUpdateChecksums,
    ChannelUpdateTimestamps,
    ChecksumsTlv,
    DecodeError,
    Message,
    QueryChannelRange,
    QueryShortChannelIds,
    ReplyChannelRange,
    ReplyChannelRangeTlvs,
    ReplyShortChannelIdsEnd,
    TimestampsTlv,
)
from reference_node.wire.gossip_encoding import (
    QueryFlag,
    QueryOptionFlag,
    decode_query_flags,
    decode_short_ids,
    encode_short_ids,
    encode_timestamps,
)

ALL_QUERY_FLAGS = int(
    QueryFlag.CHANNEL_ANNOUNCEMENT
    | QueryFlag.CHANNEL_UPDATE_NODE_1
    | QueryFlag.CHANNEL_UPDATE_NODE_2
    | QueryFlag.NODE_ANNOUNCEMENT_NODE_1
    | QueryFlag.NODE_ANNOUNCEMENT_NODE_2
)


def _served_update(update: ChannelUpdate | None) -> ChannelUpdate | None:
    """Updates marked `dont_forward` are never given to other peers (BOLT 7 channel_update origin rules)."""
    return None if update is None or update_dont_forward(update) else update


def answer_query_short_channel_ids(
    graph: ChannelGraph, msg: QueryShortChannelIds, *, full_information: bool = True
) -> list[Message]:
    """BOLT 7 receiver of `query_short_channel_ids`. Unknown `short_channel_id`s are skipped; only public
    channels are known to other peers. `full_information` is 0 for a chain we do not follow."""
    if msg.chain_hash != graph.chain_hash:
        return [ReplyShortChannelIdsEnd(chain_hash=msg.chain_hash, full_information=0)]
    try:
        short_ids = decode_short_ids(msg.encoded_short_ids)
    except DecodeError as exc:
        raise QueryError(msg.NAME, f"encoded_short_ids: {exc}") from exc
    if msg.tlvs.query_flags is None:
        flags: Sequence[int] = [ALL_QUERY_FLAGS] * len(short_ids)
    else:
        try:
            flags = decode_query_flags(
                msg.tlvs.query_flags.encoding_type, msg.tlvs.query_flags.encoded_query_flags
            )
        except DecodeError as exc:
            raise QueryError(msg.NAME, f"encoded_query_flags: {exc}") from exc
        if len(flags) != len(short_ids):
            raise QueryError(
                msg.NAME,
                f"{len(flags)} query flags for {len(short_ids)} short_channel_ids (must be one each)",
            )
    replies: list[Message] = []
    node_ids: list[bytes] = []  # "SHOULD avoid sending duplicate node_announcements"
    for scid, flag in zip(short_ids, flags, strict=True):
        record = graph.channel(scid)
        if record is None or record.announcement is None:
            continue
        replies.extend(_channel_reply(record, flag))
        for bit, node_id in (
            (QueryFlag.NODE_ANNOUNCEMENT_NODE_1, record.node_id_1),
            (QueryFlag.NODE_ANNOUNCEMENT_NODE_2, record.node_id_2),
        ):
            if flag & bit and node_id not in node_ids:
                node_ids.append(node_id)
    for node_id in node_ids:
        node = graph.node(node_id)
        if node is not None:
            replies.append(node.announcement)
    replies.append(ReplyShortChannelIdsEnd(chain_hash=msg.chain_hash, full_information=int(full_information)))
    return replies


def _channel_reply(record: ChannelRecord, flag: int) -> list[Message]:
    assert record.announcement is not None
    out: list[Message] = []
    if flag & QueryFlag.CHANNEL_ANNOUNCEMENT:
        out.append(record.announcement)
    for bit, update in (
        (QueryFlag.CHANNEL_UPDATE_NODE_1, record.updates[0]),
        (QueryFlag.CHANNEL_UPDATE_NODE_2, record.updates[1]),
    ):
        served = _served_update(update)
        if flag & bit and served is not None:
            out.append(served)
    return out


# reply_channel_range bytes besides the ids: type 2, chain_hash 32, first_blocknum 4, number_of_blocks 4,
# sync_complete 1, len 2, encoding type 1.
_REPLY_FIXED_LEN = 46
# Each TLV record: type (1) + length (bigsize, up to 3 for a length below 65536) [+ encoding type (1)].
_TIMESTAMPS_TLV_OVERHEAD = 5
_CHECKSUMS_TLV_OVERHEAD = 4
_SCID_LEN = 8
_PER_CHANNEL_EXTRA_LEN = 8  # one channel_update_timestamps or channel_update_checksums


def max_short_ids_per_reply(query_option_flags: int) -> int:
    """How many `short_channel_id`s fit in one `reply_channel_range` with the asked-for TLVs."""
    available = MAX_MESSAGE_SIZE - _REPLY_FIXED_LEN
    per_channel = _SCID_LEN
    if query_option_flags & QueryOptionFlag.WANT_TIMESTAMPS:
        available -= _TIMESTAMPS_TLV_OVERHEAD
        per_channel += _PER_CHANNEL_EXTRA_LEN
    if query_option_flags & QueryOptionFlag.WANT_CHECKSUMS:
        available -= _CHECKSUMS_TLV_OVERHEAD
        per_channel += _PER_CHANNEL_EXTRA_LEN
    return available // per_channel


def answer_query_channel_range(
    graph: ChannelGraph, msg: QueryChannelRange, *, max_short_ids: int | None = None
) -> list[ReplyChannelRange]:
    """BOLT 7 receiver of `query_channel_range`: one or more `reply_channel_range`.

    Replies are in ascending order; the first starts at the query's `first_blocknum`, the last ends at (or
    after) the query's end, and consecutive replies meet, so together they cover the range. A block whose
    channels do not fit in one reply is split ("MAY split block contents across multiple
    `reply_channel_range`"): the next reply starts at that same block. Spent channels and channels we do
    not know publicly are not listed. `max_short_ids` lowers the per-reply limit (tests)."""
    if msg.number_of_blocks == 0:
        raise QueryError(msg.NAME, "number_of_blocks must be 1 or greater")
    option = 0 if msg.tlvs.query_option is None else msg.tlvs.query_option.query_option_flags
    limit = max_short_ids_per_reply(option)
    if max_short_ids is not None:
        limit = min(limit, max_short_ids)
    query_end = msg.first_blocknum + msg.number_of_blocks
    channels: list[ChannelRecord] = []
    if msg.chain_hash == graph.chain_hash:
        channels = [
            c
            for c in graph.channels()
            if c.public and not c.spent and msg.first_blocknum <= c.short_channel_id.block_height < query_end
        ]
    chunks = [channels[i : i + limit] for i in range(0, len(channels), limit)] or [[]]
    replies = []
    for index, chunk in enumerate(chunks):
        first = msg.first_blocknum if index == 0 else chunk[0].short_channel_id.block_height
        if index == len(chunks) - 1:
            end = query_end
        else:
            last_block = chunk[-1].short_channel_id.block_height
            next_first = chunks[index + 1][0].short_channel_id.block_height
            end = last_block + 1 if next_first == last_block else next_first
        replies.append(
            ReplyChannelRange(
                chain_hash=msg.chain_hash,
                first_blocknum=first,
                number_of_blocks=end - first,
                sync_complete=int(index == len(chunks) - 1),
                encoded_short_ids=encode_short_ids(c.short_channel_id for c in chunk),
                tlvs=_reply_tlvs(chunk, option),
            )
        )
    return replies


def _reply_tlvs(chunk: list[ChannelRecord], option: int) -> ReplyChannelRangeTlvs:
    timestamps_tlv = None
    checksums_tlv = None
    if option & QueryOptionFlag.WANT_TIMESTAMPS:
        encoding_type, encoded = encode_timestamps(
            ChannelUpdateTimestamps(*(_timestamp(_served_update(u)) for u in c.updates)) for c in chunk
        )
        timestamps_tlv = TimestampsTlv(encoding_type=encoding_type, encoded_timestamps=encoded)
    if option & QueryOptionFlag.WANT_CHECKSUMS:
        checksums_tlv = ChecksumsTlv(
            checksums=tuple(
                ChannelUpdateChecksums(*(_checksum(_served_update(u)) for u in c.updates)) for c in chunk
            )
        )
    return ReplyChannelRangeTlvs(timestamps_tlv=timestamps_tlv, checksums_tlv=checksums_tlv)


def _timestamp(update: ChannelUpdate | None) -> int:
    """ "or 0 if there was no `channel_update` from that node"."""
    return 0 if update is None else update.timestamp


def _checksum(update: ChannelUpdate | None) -> int:
    return 0 if update is None else channel_update_checksum(update)
