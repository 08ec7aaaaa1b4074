"""Gossip queries: the handlers' replies go through the wire codec, cover the asked range by BOLT 7's
rules (hypothesis over random short_channel_id sets), and a querier can sync a graph from them."""

from __future__ import annotations

import functools
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_node.gossip.announcements import build_node_announcement, channel_update_checksum
from reference_node.gossip.errors import QueryError, QueryStateError, ReplyRangeError
from reference_node.gossip.flags import BITCOIN_CHAIN_HASH
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.queries import (
    answer_query_channel_range,
    answer_query_short_channel_ids,
    max_short_ids_per_reply,
)
from reference_node.gossip.sync import (
    ChannelRangeQuery,
    RangeEntry,
    ShortIdQueryGate,
    build_short_id_queries,
    short_ids_to_query,
)
from reference_node.wire import (
    MAX_MESSAGE_SIZE,
    ChannelAnnouncement,
    ChannelUpdate,
    ChannelUpdateChecksums,
    ChannelUpdateTimestamps,
    ChecksumsTlv,
    EncodeError,
    Message,
    NodeAnnouncement,
    QueryChannelRange,
    QueryFlagsTlv,
    QueryShortChannelIds,
    QueryShortChannelIdsTlvs,
    ReplyChannelRange,
    ReplyChannelRangeTlvs,
    ReplyShortChannelIdsEnd,
    ShortChannelId,
    TimestampsTlv,
    decode_message,
    encode_message,
)
from reference_node.wire.features import Features
from reference_node.wire.gossip_encoding import (
    QueryFlag,
    QueryOptionFlag,
    encode_query_flags,
    encode_short_ids,
    encode_timestamps,
)
from tests.test_gossip_support import CHAIN, NOW, FakeChain, Party, public_channel

PARTIES = [Party(f"p{i}") for i in range(6)]
BOTH = int(QueryOptionFlag.WANT_TIMESTAMPS | QueryOptionFlag.WANT_CHECKSUMS)


M = TypeVar("M", bound=Message)


def _wire(msg: M) -> M:
    decoded = decode_message(encode_message(msg))
    assert type(decoded) is type(msg)
    return decoded


@functools.cache
def _graph_with(scids: tuple[ShortChannelId, ...]) -> ChannelGraph:
    graph = ChannelGraph(CHAIN)
    chain = FakeChain()
    for index, scid in enumerate(scids):
        a, b = PARTIES[index % 6], PARTIES[(index + 1) % 6]
        public_channel(graph, chain, a, b, scid, timestamp=NOW + index)
    return graph


scid_sets = st.lists(
    st.builds(ShortChannelId, st.integers(100, 160), st.integers(0, 3), st.integers(0, 1)),
    max_size=25,
    unique=True,
).map(lambda xs: tuple(sorted(xs)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scids=scid_sets,
    first=st.integers(90, 170),
    count=st.integers(1, 80),
    limit=st.integers(1, 6),
    option=st.sampled_from([0, 1, 2, 3]),
)
def test_range_replies_cover_the_query_and_list_exactly_the_channels_in_it(
    scids: tuple[ShortChannelId, ...], first: int, count: int, limit: int, option: int
) -> None:
    graph = _graph_with(scids)
    querier = ChannelRangeQuery(CHAIN, first, count, option)
    replies = answer_query_channel_range(graph, _wire(querier.message()), max_short_ids=limit)
    assert replies[0].first_blocknum <= first < replies[0].first_blocknum + replies[0].number_of_blocks
    done = [querier.receive(_wire(reply)) for reply in replies]
    assert done == [False] * (len(replies) - 1) + [True]
    assert [r.sync_complete for r in replies] == [0] * (len(replies) - 1) + [1]
    expected = [s for s in scids if first <= s.block_height < first + count]
    assert [e.short_channel_id for e in querier.entries()] == expected
    for entry in querier.entries():
        record = graph.channel(entry.short_channel_id)
        assert record is not None
        if option & QueryOptionFlag.WANT_TIMESTAMPS:
            assert entry.timestamps == ChannelUpdateTimestamps(*(u.timestamp for u in record.updates if u))
        else:
            assert entry.timestamps is None
        if option & QueryOptionFlag.WANT_CHECKSUMS:
            sums = [channel_update_checksum(u) for u in record.updates if u]
            assert entry.checksums == ChannelUpdateChecksums(*sums)
        else:
            assert entry.checksums is None


@pytest.mark.parametrize("option", [0, 1, 2, 3])
def test_a_full_reply_fits_in_one_message_and_one_more_id_would_not(option: int) -> None:
    def reply(count: int) -> ReplyChannelRange:
        scids = [ShortChannelId(1, i, 0) for i in range(count)]
        tlvs = ReplyChannelRangeTlvs(
            timestamps_tlv=TimestampsTlv(*encode_timestamps([ChannelUpdateTimestamps(1, 2)] * count))
            if option & 1
            else None,
            checksums_tlv=ChecksumsTlv((ChannelUpdateChecksums(1, 2),) * count) if option & 2 else None,
        )
        return ReplyChannelRange(CHAIN, 1, 1, 1, encode_short_ids(scids), tlvs)

    limit = max_short_ids_per_reply(option)
    assert len(encode_message(reply(limit))) <= MAX_MESSAGE_SIZE
    with pytest.raises(EncodeError):
        encode_message(reply(limit + 1))


def test_a_block_larger_than_a_reply_is_split_and_still_covered() -> None:
    scids = tuple(ShortChannelId(120, i, 0) for i in range(5))
    replies = answer_query_channel_range(
        _graph_with(scids), QueryChannelRange(CHAIN, 100, 50), max_short_ids=2
    )
    assert len(replies) == 3
    assert [r.first_blocknum for r in replies] == [100, 120, 120]
    assert replies[-1].first_blocknum + replies[-1].number_of_blocks == 150


def test_range_query_for_an_unknown_chain_gets_one_empty_reply() -> None:
    replies = answer_query_channel_range(_graph_with(()), QueryChannelRange(BITCOIN_CHAIN_HASH, 0, 10))
    assert len(replies) == 1 and replies[0].encoded_short_ids == b"\x00" and replies[0].sync_complete == 1


def test_range_query_of_zero_blocks_is_refused() -> None:
    with pytest.raises(QueryError):
        answer_query_channel_range(_graph_with(()), QueryChannelRange(CHAIN, 0, 0))


@pytest.mark.parametrize(
    ("reply", "rule"),
    [
        (ReplyChannelRange(CHAIN, 101, 10, 1, b"\x00"), "first reply"),
        (ReplyChannelRange(BITCOIN_CHAIN_HASH, 100, 10, 1, b"\x00"), "chain_hash"),
        (ReplyChannelRange(CHAIN, 100, 5, 1, b"\x00"), "sync_complete"),
        (ReplyChannelRange(CHAIN, 100, 10, 1, encode_short_ids([ShortChannelId(200, 0, 0)])), "outside"),
    ],
)
def test_querier_rejects_replies_that_break_the_rules(reply: ReplyChannelRange, rule: str) -> None:
    with pytest.raises(ReplyRangeError, match=rule):
        ChannelRangeQuery(CHAIN, 100, 10).receive(reply)


def test_querier_rejects_replies_going_backwards() -> None:
    query = ChannelRangeQuery(CHAIN, 100, 10)
    assert not query.receive(ReplyChannelRange(CHAIN, 100, 5, 0, b"\x00"))
    with pytest.raises(ReplyRangeError, match="backwards"):
        query.receive(ReplyChannelRange(CHAIN, 99, 11, 1, b"\x00"))


# -- query_short_channel_ids ----------------------------------------------------------------------------

SCIDS = (ShortChannelId(110, 1, 0), ShortChannelId(111, 2, 1))


def _graph_with_nodes() -> ChannelGraph:
    graph = _graph_with(SCIDS)
    for party in PARTIES[:3]:
        msg = build_node_announcement(
            node_secret=party.node_secret, node_id=party.node_id, timestamp=NOW, features=Features()
        )
        graph.receive_node_announcement(msg)
    return graph


def _query(scids: list[ShortChannelId], flags: list[int] | None = None) -> QueryShortChannelIds:
    tlvs = QueryShortChannelIdsTlvs()
    if flags is not None:
        tlvs = QueryShortChannelIdsTlvs(query_flags=QueryFlagsTlv(*encode_query_flags(flags)))
    return _wire(QueryShortChannelIds(CHAIN, encode_short_ids(scids), tlvs))


def test_query_without_flags_gets_announcements_updates_nodes_then_end() -> None:
    replies = answer_query_short_channel_ids(_graph_with_nodes(), _query(list(SCIDS)))
    kinds = [type(_wire(m)).__name__ for m in replies]
    assert kinds == ["ChannelAnnouncement", "ChannelUpdate", "ChannelUpdate"] * 2 + [
        "NodeAnnouncement"
    ] * 3 + ["ReplyShortChannelIdsEnd"]
    node_ids = [m.node_id for m in replies if isinstance(m, NodeAnnouncement)]
    assert len(set(node_ids)) == len(node_ids)
    assert replies[-1] == ReplyShortChannelIdsEnd(CHAIN, 1)


def test_query_flags_select_what_is_sent() -> None:
    graph = _graph_with_nodes()
    replies = answer_query_short_channel_ids(
        graph,
        _query(list(SCIDS), [int(QueryFlag.CHANNEL_UPDATE_NODE_2), int(QueryFlag.CHANNEL_ANNOUNCEMENT)]),
    )
    assert [type(m) for m in replies] == [ChannelUpdate, ChannelAnnouncement, ReplyShortChannelIdsEnd]
    first = graph.channel(SCIDS[0])
    assert first is not None and replies[0] == first.updates[1]


def test_unknown_short_channel_ids_are_skipped() -> None:
    replies = answer_query_short_channel_ids(_graph_with_nodes(), _query([ShortChannelId(5, 5, 5)]))
    assert replies == [ReplyShortChannelIdsEnd(CHAIN, 1)]


def test_query_for_another_chain_says_no_full_information() -> None:
    msg = QueryShortChannelIds(BITCOIN_CHAIN_HASH, encode_short_ids(SCIDS))
    assert answer_query_short_channel_ids(_graph_with_nodes(), msg) == [
        ReplyShortChannelIdsEnd(BITCOIN_CHAIN_HASH, 0)
    ]


@pytest.mark.parametrize(
    "msg",
    [
        QueryShortChannelIds(CHAIN, b"\x00" + bytes(7)),
        QueryShortChannelIds(CHAIN, b"\x01" + bytes(8)),
        QueryShortChannelIds(CHAIN, b"\x07"),
        QueryShortChannelIds(
            CHAIN, encode_short_ids(SCIDS), QueryShortChannelIdsTlvs(QueryFlagsTlv(*encode_query_flags([1])))
        ),
    ],
    ids=["partial-id", "zlib", "unknown-encoding", "flag-count"],
)
def test_malformed_queries_raise_a_query_error(msg: QueryShortChannelIds) -> None:
    with pytest.raises(QueryError):
        answer_query_short_channel_ids(_graph_with_nodes(), msg)


# -- the querying side ------------------------------------------------------------------------------------


def test_querier_asks_everything_for_unknown_and_only_newer_different_updates_for_known() -> None:
    graph = _graph_with(SCIDS)
    record = graph.channel(SCIDS[0])
    assert record is not None and record.updates[0] is not None and record.updates[1] is not None
    same = ChannelUpdateChecksums(*(channel_update_checksum(u) for u in record.updates if u))
    t1, t2 = record.updates[0].timestamp, record.updates[1].timestamp
    entries = [
        RangeEntry(ShortChannelId(9, 9, 9)),
        RangeEntry(SCIDS[0], ChannelUpdateTimestamps(t1 + 1, t2), None),
        RangeEntry(SCIDS[1], ChannelUpdateTimestamps(t1 + 10, t2 + 10), ChannelUpdateChecksums(0, 0)),
        RangeEntry(SCIDS[0], ChannelUpdateTimestamps(t1 + 1, t2 + 1), same),
    ]
    wanted = short_ids_to_query(graph, entries)
    assert wanted == [(ShortChannelId(9, 9, 9), 0b11111), (SCIDS[0], int(QueryFlag.CHANNEL_UPDATE_NODE_1))]


def test_short_id_queries_fit_in_messages_and_round_trip() -> None:
    wanted = [(ShortChannelId(1, i, 0), 3) for i in range(8000)]
    messages = build_short_id_queries(CHAIN, wanted)
    assert len(messages) == 2
    assert all(len(encode_message(m)) <= MAX_MESSAGE_SIZE for m in messages)
    assert sum(len(m.encoded_short_ids) - 1 for m in messages) == 8 * 8000


def test_only_one_short_id_query_is_outstanding() -> None:
    gate = ShortIdQueryGate()
    first, second = build_short_id_queries(CHAIN, [(ShortChannelId(1, 1, 1), 1)]) * 2
    assert gate.enqueue([first, second]) is first
    assert gate.enqueue([]) is None
    assert gate.receive_end(ReplyShortChannelIdsEnd(CHAIN, 1)) is second
    assert gate.receive_end(ReplyShortChannelIdsEnd(CHAIN, 1)) is None
    with pytest.raises(QueryStateError):
        gate.receive_end(ReplyShortChannelIdsEnd(CHAIN, 1))


def test_an_empty_graph_syncs_from_a_full_one_through_queries() -> None:
    full = _graph_with_nodes()
    chain = FakeChain()
    for index, scid in enumerate(SCIDS):
        chain.fund(PARTIES[index % 6], PARTIES[(index + 1) % 6], scid)
    empty = ChannelGraph(CHAIN)
    query = ChannelRangeQuery(CHAIN, 0, 1000, BOTH)
    for reply in answer_query_channel_range(full, _wire(query.message())):
        query.receive(_wire(reply))
    for msg in build_short_id_queries(CHAIN, short_ids_to_query(empty, query.entries())):
        for answer in answer_query_short_channel_ids(full, _wire(msg)):
            received = _wire(answer)
            if isinstance(received, ChannelAnnouncement):
                assert empty.receive_channel_announcement(received, lookup=chain.lookup, now=NOW).accepted
            elif isinstance(received, ChannelUpdate):
                assert empty.receive_channel_update(received, now=NOW).accepted
            elif isinstance(received, NodeAnnouncement):
                assert empty.receive_node_announcement(received).accepted
    assert list(empty.channels()) == [type(c)(**{**c.__dict__, "received_at": NOW}) for c in full.channels()]
    assert list(empty.nodes()) == list(full.nodes())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flags=st.lists(st.integers(0, 0b11111), min_size=len(SCIDS), max_size=len(SCIDS)))
def test_replies_follow_each_query_flag_exactly(flags: list[int]) -> None:
    graph = _graph_with_nodes()
    replies = answer_query_short_channel_ids(graph, _query(list(SCIDS), flags))
    expected: list[Message] = []
    nodes: list[bytes] = []
    for scid, flag in zip(SCIDS, flags, strict=True):
        record = graph.channel(scid)
        assert record is not None and record.announcement is not None
        if flag & QueryFlag.CHANNEL_ANNOUNCEMENT:
            expected.append(record.announcement)
        for bit, stored in (
            (QueryFlag.CHANNEL_UPDATE_NODE_1, record.updates[0]),
            (QueryFlag.CHANNEL_UPDATE_NODE_2, record.updates[1]),
        ):
            if flag & bit and stored is not None:
                expected.append(stored)
        for bit, node_id in (
            (QueryFlag.NODE_ANNOUNCEMENT_NODE_1, record.node_id_1),
            (QueryFlag.NODE_ANNOUNCEMENT_NODE_2, record.node_id_2),
        ):
            known = graph.node(node_id)
            if flag & bit and known is not None and node_id not in nodes:
                nodes.append(node_id)
    expected.extend(n.announcement for n in (graph.node(i) for i in nodes) if n is not None)
    expected.append(ReplyShortChannelIdsEnd(CHAIN, 1))
    assert replies == expected
