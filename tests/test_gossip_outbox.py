"""gossip_timestamp_filter handling and the per-peer outgoing gossip queue."""

from __future__ import annotations

from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.outbox import GossipOutbox, TimestampFilter, messages_in_range, no_gossip_filter
from reference_node.wire import (
    ChannelAnnouncement,
    ChannelUpdate,
    GossipTimestampFilter,
    Message,
    ShortChannelId,
)
from tests.test_gossip_support import CHAIN, NOW, FakeChain, Party, announce, public_channel, update

ALICE, BOB, CAROL = Party("alice"), Party("bob"), Party("carol")
OLD, NEW = ShortChannelId(100, 1, 0), ShortChannelId(200, 1, 0)


def _scid(msg: Message) -> ShortChannelId:
    assert isinstance(msg, ChannelAnnouncement | ChannelUpdate)
    return msg.short_channel_id


def _graph() -> ChannelGraph:
    graph = ChannelGraph(CHAIN)
    chain = FakeChain()
    public_channel(graph, chain, ALICE, BOB, OLD, timestamp=NOW)
    public_channel(graph, chain, BOB, CAROL, NEW, timestamp=NOW + 1000)
    return graph


def test_filter_selects_updates_in_range_each_after_its_announcement() -> None:
    sent = messages_in_range(_graph(), TimestampFilter(NOW + 500, 1000))
    assert [type(m) for m in sent] == [ChannelAnnouncement, ChannelUpdate, ChannelUpdate]
    assert _scid(sent[0]) == NEW


def test_range_end_is_exclusive() -> None:
    assert _scid(messages_in_range(_graph(), TimestampFilter(NOW, 1000))[0]) == OLD
    assert len(messages_in_range(_graph(), TimestampFilter(NOW, 1000))) == 3


def test_announcement_without_updates_is_never_sent() -> None:
    graph = ChannelGraph(CHAIN)
    chain = FakeChain()
    chain.fund(ALICE, BOB, OLD)
    assert graph.receive_channel_announcement(
        announce(ALICE, BOB, OLD), lookup=chain.lookup, now=NOW
    ).accepted
    assert messages_in_range(graph, TimestampFilter(0, 0xFFFFFFFF)) == []


def test_spent_channels_are_not_sent() -> None:
    graph = _graph()
    graph.mark_spent(OLD, 300)
    assert all(_scid(m) == NEW for m in messages_in_range(graph, TimestampFilter(0, 1 << 33)))


def test_no_relayed_gossip_before_a_filter_but_own_gossip_goes_out() -> None:
    outbox = GossipOutbox(CHAIN)
    relayed = update(ALICE, BOB, OLD)
    outbox.queue_relayed((relayed,))
    assert outbox.flush() == []
    own = update(BOB, ALICE, OLD)
    outbox.queue_own((own,))
    assert outbox.flush() == [own]


def test_filter_returns_the_backlog_and_restricts_relayed_gossip() -> None:
    graph = _graph()
    outbox = GossipOutbox(CHAIN)
    backlog = outbox.receive_filter(GossipTimestampFilter(CHAIN, NOW + 500, 1000), graph)
    assert len(backlog) == 3
    outbox.queue_relayed((update(ALICE, BOB, OLD, timestamp=NOW + 2000),))
    assert outbox.flush() == []
    inside = update(ALICE, BOB, OLD, timestamp=NOW + 600)
    outbox.queue_relayed((inside,))
    assert outbox.flush() == [inside]


def test_filter_for_another_chain_is_not_answered() -> None:
    outbox = GossipOutbox(CHAIN)
    assert outbox.receive_filter(no_gossip_filter(bytes(32)), _graph()) == []
    assert outbox.filter is None


def test_no_gossip_filter_admits_nothing() -> None:
    assert messages_in_range(_graph(), TimestampFilter.of(no_gossip_filter(CHAIN))) == []


def test_newer_update_replaces_the_queued_one_and_announcements_go_first() -> None:
    outbox = GossipOutbox(CHAIN)
    outbox.receive_filter(GossipTimestampFilter(CHAIN, 0, 0xFFFFFFFF), ChannelGraph(CHAIN))
    first = update(ALICE, BOB, OLD, timestamp=NOW)
    second = update(ALICE, BOB, OLD, timestamp=NOW + 1)
    announcement = announce(ALICE, BOB, OLD)
    outbox.queue_relayed((first,))
    outbox.queue_relayed((announcement, second))
    assert outbox.pending() == 2
    assert outbox.flush() == [announcement, second]
    assert outbox.pending() == 0
