"""A failure's channel_update (BOLT 4 "Receiving Failure Codes"): usable for retries of the same payment
when valid and more recent, never applied to the graph."""

from __future__ import annotations

import dataclasses

from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.mission_control import policy_from_failure
from reference_node.gossip.pathfinding import RouteRequest, edges_from_graph, find_route
from reference_node.gossip.persist import dump_graph
from reference_node.gossip.route import Route
from reference_node.onion.failure_messages import FailureCode, FailureMessage
from reference_node.wire import ChannelUpdate, ShortChannelId, encode_message
from tests.test_gossip_support import CHAIN, NOW, FakeChain, Party, policy, public_channel, update

ALICE, BOB, CAROL = Party("alice"), Party("bob"), Party("carol")
AB, BC = ShortChannelId(100, 1, 0), ShortChannelId(101, 1, 0)
AMOUNT = 1_000_000


def _setup() -> tuple[ChannelGraph, Route]:
    graph, chain = ChannelGraph(CHAIN), FakeChain()
    public_channel(graph, chain, ALICE, BOB, AB)
    public_channel(graph, chain, BOB, CAROL, BC)
    route = find_route(edges_from_graph(graph), RouteRequest(ALICE.node_id, CAROL.node_id, AMOUNT, 800_018))
    return graph, route


def _fee_insufficient(new_update: ChannelUpdate, *, with_type: bool = True) -> FailureMessage:
    raw = encode_message(new_update)
    return FailureMessage(
        FailureCode.fee_insufficient, htlc_msat=AMOUNT, channel_update=raw if with_type else raw[2:]
    )


def test_newer_valid_update_from_the_erring_node_is_used_for_the_retry_only() -> None:
    graph, route = _setup()
    before = dump_graph(graph)
    dearer = update(BOB, CAROL, BC, timestamp=NOW + 10, channel_policy=policy(base=5000))
    learned = policy_from_failure(route, 0, _fee_insufficient(dearer))
    assert learned is not None
    key, new_policy = learned
    assert key == (BC, BOB.node_id) and new_policy.fee_base_msat == 5000
    retry = find_route(
        edges_from_graph(graph),
        RouteRequest(ALICE.node_id, CAROL.node_id, AMOUNT, 800_018, policy_overrides={key: new_policy}),
    )
    assert retry.hops[0].fee_msat == new_policy.fee_msat(AMOUNT)
    assert dump_graph(graph) == before  # "MUST NOT ... apply the channel_update to the local network graph"


def test_update_without_its_type_prefix_is_read_too() -> None:
    _, route = _setup()
    dearer = update(BOB, CAROL, BC, timestamp=NOW + 10, channel_policy=policy(base=5000))
    assert policy_from_failure(route, 0, _fee_insufficient(dearer, with_type=False)) is not None


def test_update_not_more_recent_than_the_one_used_is_not_considered() -> None:
    _, route = _setup()
    same_time = update(BOB, CAROL, BC, timestamp=NOW, channel_policy=policy(base=5000))
    assert policy_from_failure(route, 0, _fee_insufficient(same_time)) is None


def test_update_signed_by_someone_else_is_not_considered() -> None:
    _, route = _setup()
    forged = update(CAROL, BOB, BC, timestamp=NOW + 10, channel_policy=policy(base=5000))
    forged = dataclasses.replace(forged, channel_flags=update(BOB, CAROL, BC).channel_flags)
    assert policy_from_failure(route, 0, _fee_insufficient(forged)) is None


def test_update_for_another_channel_or_an_empty_one_is_not_considered() -> None:
    _, route = _setup()
    other = update(BOB, CAROL, ShortChannelId(9, 9, 9), timestamp=NOW + 10)
    assert policy_from_failure(route, 0, _fee_insufficient(other)) is None
    empty = FailureMessage(FailureCode.fee_insufficient, htlc_msat=AMOUNT, channel_update=b"")
    assert policy_from_failure(route, 0, empty) is None
