"""Pathfinding on random small graphs against a brute-force search over every simple path (hypothesis):
the fee is the least possible, and each hop's amount and CLTV are exactly BOLT 7's backward computation,
recomputed here independently. Plus the 20-hop limit, route hints and our live balances."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_node.gossip.announcements import ChannelPolicy
from reference_node.gossip.errors import RouteNotFoundError
from reference_node.gossip.pathfinding import (
    LocalChannel,
    RouteRequest,
    edges_from_route_hints,
    find_route,
)
from reference_node.gossip.route import MAX_HOPS, Route, RouteEdge
from reference_node.invoice.route_hint import RouteHintHop
from reference_node.wire import ShortChannelId

HEIGHT = 800_000
FINAL_CLTV = HEIGHT + 18


def node(i: int) -> bytes:
    return b"\x02" + bytes([i]) * 32


@dataclass(frozen=True)
class Spec:
    u: int
    v: int
    base: int
    ppm: int
    cltv: int
    htlc_max: int
    capacity: int


edge_specs = st.builds(
    Spec,
    u=st.integers(0, 5),
    v=st.integers(0, 5),
    base=st.integers(0, 5000),
    ppm=st.integers(0, 50_000),
    cltv=st.integers(0, 200),
    htlc_max=st.integers(1, 3_000_000),
    capacity=st.integers(1, 3_000_000),
).filter(lambda s: s.u != s.v)


def _edges(specs: list[Spec]) -> list[RouteEdge]:
    return [
        RouteEdge(
            ShortChannelId(100 + i, 0, 0),
            node(s.u),
            node(s.v),
            ChannelPolicy(s.cltv, 0, s.htlc_max, s.base, s.ppm),
            s.capacity,
        )
        for i, s in enumerate(specs)
    ]


def _backward(path: list[RouteEdge], amount: int) -> list[tuple[int, int]] | None:
    """(HTLC amount, cltv offset) arriving at each hop, or None if a channel cannot carry it. Written
    from BOLT 7 "HTLC Fees" independently of reference_node.gossip.route."""
    arriving: list[tuple[int, int]] = []
    amt, cltv = amount, FINAL_CLTV
    for index in range(len(path) - 1, -1, -1):
        edge = path[index]
        if index > 0 and not (edge.policy.htlc_minimum_msat <= amt <= edge.policy.htlc_maximum_msat):
            return None
        if edge.capacity_msat is not None and amt > edge.capacity_msat:
            return None
        arriving.append((amt, cltv))
        if index > 0:
            p = edge.policy
            amt, cltv = (
                amt + p.fee_base_msat + amt * p.fee_proportional_millionths // 1_000_000,
                cltv + p.cltv_expiry_delta,
            )
    arriving.reverse()
    return arriving


def _brute_force_min_fee(edges: list[RouteEdge], source: bytes, target: bytes, amount: int) -> int | None:
    best: int | None = None

    def walk(at: bytes, path: list[RouteEdge], seen: set[bytes]) -> None:
        nonlocal best
        if at == target:
            values = _backward(path, amount)
            if values is not None:
                fee = values[0][0] - amount
                best = fee if best is None else min(best, fee)
            return
        if len(path) == MAX_HOPS:
            return
        for edge in edges:
            if edge.from_node_id == at and edge.to_node_id not in seen:
                walk(edge.to_node_id, [*path, edge], seen | {edge.to_node_id})

    walk(source, [], {source})
    return best


def _assert_hops_match_independent_computation(route: Route, amount: int) -> None:
    values = _backward(list(route.edges), amount)
    assert values is not None
    for hop, (htlc_amount, htlc_cltv) in zip(route.hops, values, strict=True):
        assert (hop.htlc_amount_msat, hop.htlc_cltv_expiry) == (htlc_amount, htlc_cltv)
    for hop, (next_amount, next_cltv) in zip(route.hops, [*values[1:], (amount, FINAL_CLTV)], strict=True):
        assert (hop.amount_to_forward_msat, hop.outgoing_cltv_value) == (next_amount, next_cltv)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(edge_specs, min_size=1, max_size=14), amount=st.integers(1, 2_000_000))
def test_route_fee_is_the_brute_force_minimum_and_hops_are_exact(specs: list[Spec], amount: int) -> None:
    edges = _edges(specs)
    expected = _brute_force_min_fee(edges, node(0), node(1), amount)
    request = RouteRequest(node(0), node(1), amount, FINAL_CLTV)
    if expected is None:
        with pytest.raises(RouteNotFoundError):
            find_route(edges, request)
        return
    route = find_route(edges, request)
    assert route.total_fee_msat == expected
    assert route.final_amount_msat == amount
    assert route.hops[-1].node_id == node(1) and route.source_node_id == node(0)
    _assert_hops_match_independent_computation(route, amount)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(edge_specs, min_size=1, max_size=14),
    max_hops=st.integers(1, 4),
    amount=st.integers(1, 10**6),
)
def test_route_respects_a_lower_hop_limit(specs: list[Spec], max_hops: int, amount: int) -> None:
    try:
        route = find_route(
            _edges(specs), RouteRequest(node(0), node(1), amount, FINAL_CLTV, max_hops=max_hops)
        )
    except RouteNotFoundError:
        return
    assert len(route.hops) <= max_hops
    _assert_hops_match_independent_computation(route, amount)


def _line(length: int) -> list[RouteEdge]:
    policy = ChannelPolicy(10, 0, 10**9, 1, 1)
    return [RouteEdge(ShortChannelId(1, i, 0), node(i), node(i + 1), policy, 10**9) for i in range(length)]


def test_twenty_hops_are_allowed_and_twenty_one_are_not() -> None:
    route = find_route(_line(MAX_HOPS), RouteRequest(node(0), node(MAX_HOPS), 1000, FINAL_CLTV))
    assert len(route.hops) == MAX_HOPS
    with pytest.raises(RouteNotFoundError):
        find_route(_line(MAX_HOPS + 1), RouteRequest(node(0), node(MAX_HOPS + 1), 1000, FINAL_CLTV))


def test_route_hints_reach_a_private_destination() -> None:
    public = _line(2)  # 0 -> 1 -> 2
    private_payee = node(9)
    hint = [RouteHintHop(node(2), ShortChannelId(5, 5, 5).to_int(), 1000, 2000, 144)]
    edges = public + edges_from_route_hints([hint], private_payee)
    route = find_route(edges, RouteRequest(node(0), private_payee, 500_000, FINAL_CLTV))
    assert [h.node_id for h in route.hops] == [node(1), node(2), private_payee]
    assert route.hops[-1].short_channel_id == ShortChannelId(5, 5, 5)
    # node(2) forwards over the hinted channel and charges the hint's fee and delta.
    assert route.hops[1].fee_msat == 1000 + 500_000 * 2000 // 1_000_000
    assert route.hops[1].htlc_cltv_expiry == FINAL_CLTV + 144


def test_live_balances_of_our_channels_limit_the_first_hop() -> None:
    policy = ChannelPolicy(10, 0, 10**9, 0, 0)
    edges = [
        RouteEdge(ShortChannelId(1, 1, 0), node(0), node(2), policy, 10**9),
        RouteEdge(ShortChannelId(1, 2, 0), node(0), node(3), policy, 10**9),
        RouteEdge(ShortChannelId(1, 3, 0), node(2), node(1), ChannelPolicy(10, 0, 10**9, 0, 0), 10**9),
        RouteEdge(ShortChannelId(1, 4, 0), node(3), node(1), ChannelPolicy(10, 0, 10**9, 5, 0), 10**9),
    ]
    request = RouteRequest(node(0), node(1), 1_000_000, FINAL_CLTV)
    assert find_route(edges, request).hops[0].node_id == node(2)
    local = [
        LocalChannel(ShortChannelId(1, 1, 0), node(2), 999_999),
        LocalChannel(ShortChannelId(1, 2, 0), node(3), 1_000_005),
    ]
    assert find_route(edges, request, local_channels=local).hops[0].node_id == node(3)
    # A private channel known only locally is usable too.
    private = [LocalChannel(ShortChannelId(9, 9, 9), node(1), 2_000_000)]
    assert find_route(edges, request, local_channels=private).hops[0].short_channel_id == ShortChannelId(
        9, 9, 9
    )


def test_cltv_risk_trades_fee_for_delay() -> None:
    slow = ChannelPolicy(1000, 0, 10**9, 0, 0)
    fast = ChannelPolicy(10, 0, 10**9, 100, 0)
    edges = [
        RouteEdge(ShortChannelId(1, 1, 0), node(0), node(2), slow, 10**9),
        RouteEdge(ShortChannelId(1, 2, 0), node(0), node(3), slow, 10**9),
        RouteEdge(ShortChannelId(1, 3, 0), node(2), node(1), slow, 10**9),
        RouteEdge(ShortChannelId(1, 4, 0), node(3), node(1), fast, 10**9),
    ]
    cheap = find_route(edges, RouteRequest(node(0), node(1), 1000, FINAL_CLTV))
    quick = find_route(edges, RouteRequest(node(0), node(1), 1000, FINAL_CLTV, cltv_risk_msat_per_block=1))
    assert cheap.hops[0].node_id == node(2) and quick.hops[0].node_id == node(3)


def test_all_permutations_of_a_diamond_agree_on_the_cheapest_route() -> None:
    policies = [ChannelPolicy(10, 0, 10**9, base, 0) for base in (5, 7)]
    for order in itertools.permutations(range(4)):
        pieces = [
            RouteEdge(ShortChannelId(1, 1, 0), node(0), node(2), policies[0], 10**9),
            RouteEdge(ShortChannelId(1, 2, 0), node(0), node(3), policies[0], 10**9),
            RouteEdge(ShortChannelId(1, 3, 0), node(2), node(1), policies[1], 10**9),
            RouteEdge(ShortChannelId(1, 4, 0), node(3), node(1), policies[0], 10**9),
        ]
        edges = [pieces[i] for i in order]
        assert find_route(edges, RouteRequest(node(0), node(1), 1000, FINAL_CLTV)).hops[0].node_id == node(3)
