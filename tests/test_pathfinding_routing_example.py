"""BOLT 7 "Routing Example" (vectors/bolt07/routing-example.json): the per-hop amounts and CLTVs of
B->C, A->B->C and A->D->C, from routes built over signed channel_updates in a ChannelGraph."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from harness.vectors import load_json
from reference_node.gossip.announcements import ChannelPolicy
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.pathfinding import RouteRequest, edges_from_graph, find_route
from reference_node.gossip.route import Route, RouteEdge, build_route
from reference_node.wire import ShortChannelId
from tests.test_gossip_support import CHAIN, NOW, FakeChain, Party, announce, update

DATA: dict[str, Any] = load_json("bolt07/routing-example.json")
CURRENT_BLOCK_HEIGHT = 800_000  # any height: the example states CLTVs relative to it
PARTIES = {name: Party(f"routing-example/{name}") for name in DATA["nodes"]}
_TERMS = re.compile(r"^current-block-height((?: \+ \d+)+)$")


def _height(text: str) -> int:
    match = _TERMS.match(text)
    assert match, text
    return CURRENT_BLOCK_HEIGHT + sum(int(term) for term in match.group(1).split("+")[1:])


def _scid(a: str, b: str) -> ShortChannelId:
    pair = sorted((a, b))
    return ShortChannelId(700_000 + [sorted(c) for c in DATA["channels"]].index(pair), 1, 0)


def _graph() -> ChannelGraph:
    graph = ChannelGraph(CHAIN)
    chain = FakeChain()
    for a, b in DATA["channels"]:
        chain.fund(PARTIES[a], PARTIES[b], _scid(a, b))
        assert graph.receive_channel_announcement(
            announce(PARTIES[a], PARTIES[b], _scid(a, b)), lookup=chain.lookup, now=NOW
        ).accepted
    for entry in DATA["channel_updates"]:
        policy = ChannelPolicy(
            entry["cltv_expiry_delta"], 0, 10**9, entry["fee_base_msat"], entry["fee_proportional_millionths"]
        )
        msg = update(
            PARTIES[entry["from"]],
            PARTIES[entry["to"]],
            _scid(entry["from"], entry["to"]),
            channel_policy=policy,
        )
        assert graph.receive_channel_update(msg, now=NOW).accepted
    return graph


def _final_cltv_value() -> int:
    return CURRENT_BLOCK_HEIGHT + DATA["min_final_cltv_expiry_delta"] + DATA["shadow_route_cltv_delta"]


def _edges_along(path: list[str]) -> list[RouteEdge]:
    edges = edges_from_graph(_graph())
    chosen = []
    for a, b in itertools.pairwise(path):
        chosen.append(
            next(
                e
                for e in edges
                if e.from_node_id == PARTIES[a].node_id and e.to_node_id == PARTIES[b].node_id
            )
        )
    return chosen


def _check(route: Route, payment: dict[str, Any]) -> None:
    assert route.amount_msat == payment["update_add_htlc"]["amount_msat"]
    assert route.cltv_expiry == _height(payment["update_add_htlc"]["cltv_expiry"])
    assert len(route.hops) == len(payment["onion_payloads"])
    for hop, payload in zip(route.hops, payment["onion_payloads"], strict=True):
        assert hop.node_id == PARTIES[payload["node"]].node_id
        assert hop.amount_to_forward_msat == payload["amt_to_forward"]
        assert hop.outgoing_cltv_value == _height(payload["outgoing_cltv_value"])
    if "fee_msat" in payment:
        assert route.total_fee_msat == payment["fee_msat"]


@pytest.mark.parametrize("payment", DATA["payments"], ids=lambda p: p["name"])
def test_route_along_the_example_path_has_the_spec_values(payment: dict[str, Any]) -> None:
    route = build_route(_edges_along(payment["path"]), DATA["amount_msat"], _final_cltv_value())
    _check(route, payment)


def _payment(name: str) -> dict[str, Any]:
    return next(p for p in DATA["payments"] if p["name"] == name)


def _request(source: str, **kwargs: Any) -> RouteRequest:
    return RouteRequest(
        PARTIES[source].node_id, PARTIES["C"].node_id, DATA["amount_msat"], _final_cltv_value(), **kwargs
    )


def test_pathfinding_from_a_chooses_the_cheaper_route_via_b() -> None:
    _check(find_route(edges_from_graph(_graph()), _request("A")), _payment("A->B->C"))


def test_pathfinding_from_a_without_b_goes_via_d() -> None:
    route = find_route(
        edges_from_graph(_graph()), _request("A", excluded_nodes=frozenset({PARTIES["B"].node_id}))
    )
    _check(route, _payment("A->D->C"))


def test_pathfinding_from_b_pays_c_directly() -> None:
    _check(find_route(edges_from_graph(_graph()), _request("B")), _payment("B->C"))
