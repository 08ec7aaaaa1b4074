"""BOLT 7 bolt07/routing-example.json (3): the "Routing Example" of "Recommendations for Routing".

The example's four nodes get deterministic keys; their channels are announced with signed
`channel_announcement`s (checked against a funding output) and their policies with signed
`channel_update`s, into a ChannelGraph. For each worked payment the route the pathfinder chooses from
the payer (A->D->C: with B excluded, as the text's alternative) must give the spec's `update_add_htlc`
amount and `cltv_expiry`, every onion payload's `amt_to_forward` and `outgoing_cltv_value`, and (where the
text states it) the fee.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import re
from collections.abc import Iterator
from functools import partial
from typing import Any

from harness.vectors import VectorCase, expect_equal, load_json
from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.gossip.announcements import (
    ChannelPolicy,
    build_channel_update,
    direction_of,
    unsigned_channel_announcement,
)
from reference_node.gossip.flags import REGTEST_CHAIN_HASH
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.pathfinding import RouteRequest, edges_from_graph, find_route
from reference_node.gossip.records import FundingOutput
from reference_node.gossip.signing import sign_channel_announcement
from reference_node.transactions.funding import funding_script_pubkey
from reference_node.wire import ShortChannelId
from reference_node.wire.features import Features

BOLT = 7
FILE = "bolt07/routing-example.json"
# Any height and time: the example states CLTVs relative to current-block-height.
CURRENT_BLOCK_HEIGHT = 800_000
NOW = 1_700_000_000
_CAPACITY_SAT = 1_000_000
_TERMS = re.compile(r"^current-block-height((?: \+ \d+)+)$")


def _secret(label: str) -> bytes:
    return hashlib.sha256(f"boltcheck/routing-example/{label}".encode()).digest()


def _node_id(name: str) -> bytes:
    return public_key_of(_secret(f"node/{name}"))


def _height(text: str) -> int:
    match = _TERMS.match(text)
    if match is None:
        raise ValueError(f"not a height relative to current-block-height: {text!r}")
    return CURRENT_BLOCK_HEIGHT + sum(int(term) for term in match.group(1).split("+")[1:])


def _scid(data: dict[str, Any], a: str, b: str) -> ShortChannelId:
    pairs = [sorted(pair) for pair in data["channels"]]
    return ShortChannelId(700_000 + pairs.index(sorted((a, b))), 1, 0)


def _funded(funding: FundingOutput, _short_channel_id: ShortChannelId) -> FundingOutput:
    return funding


def _graph(data: dict[str, Any]) -> ChannelGraph:
    graph = ChannelGraph(REGTEST_CHAIN_HASH)
    for a, b in data["channels"]:
        scid = _scid(data, a, b)
        first, second = sorted((a, b), key=_node_id)
        unsigned = unsigned_channel_announcement(
            chain_hash=REGTEST_CHAIN_HASH,
            short_channel_id=scid,
            node_id_a=_node_id(a),
            node_id_b=_node_id(b),
            bitcoin_key_a=public_key_of(_secret(f"funding/{a}")),
            bitcoin_key_b=public_key_of(_secret(f"funding/{b}")),
            features=Features(),
        )
        announcement = sign_channel_announcement(
            unsigned,
            node_secret_1=_secret(f"node/{first}"),
            node_secret_2=_secret(f"node/{second}"),
            bitcoin_secret_1=_secret(f"funding/{first}"),
            bitcoin_secret_2=_secret(f"funding/{second}"),
        )
        script = funding_script_pubkey(
            public_key_of(_secret(f"funding/{a}")), public_key_of(_secret(f"funding/{b}"))
        )
        funding = FundingOutput(script, _CAPACITY_SAT, 6)
        result = graph.receive_channel_announcement(announcement, lookup=partial(_funded, funding), now=NOW)
        expect_equal(f"channel {a}-{b} announcement accepted", result.accepted, True)
    for entry in data["channel_updates"]:
        policy = ChannelPolicy(
            cltv_expiry_delta=entry["cltv_expiry_delta"],
            htlc_minimum_msat=0,
            htlc_maximum_msat=_CAPACITY_SAT * 1000,
            fee_base_msat=entry["fee_base_msat"],
            fee_proportional_millionths=entry["fee_proportional_millionths"],
        )
        origin, other = entry["from"], entry["to"]
        update = build_channel_update(
            node_secret=_secret(f"node/{origin}"),
            chain_hash=REGTEST_CHAIN_HASH,
            short_channel_id=_scid(data, origin, other),
            timestamp=NOW,
            direction=direction_of(_node_id(origin), _node_id(other)),
            policy=policy,
        )
        result = graph.receive_channel_update(update, now=NOW)
        expect_equal(f"channel_update {origin}->{other} accepted", result.accepted, True)
    return graph


def _check(data: dict[str, Any], payment: dict[str, Any]) -> str:
    path = payment["path"]
    request = RouteRequest(
        source=_node_id(path[0]),
        destination=_node_id(path[-1]),
        amount_msat=data["amount_msat"],
        final_cltv_value=CURRENT_BLOCK_HEIGHT
        + data["min_final_cltv_expiry_delta"]
        + data["shadow_route_cltv_delta"],
    )
    edges = edges_from_graph(_graph(data))
    route = find_route(edges, request)
    how = "the cheapest route"
    if [hop.node_id for hop in route.hops] != [_node_id(n) for n in path[1:]]:
        # the text's alternative ("If A instead routed via D"): the other nodes are left out
        excluded = frozenset(_node_id(n) for n in data["nodes"] if n not in path)
        route = find_route(edges, dataclasses.replace(request, excluded_nodes=excluded))
        how = "the alternative route"
    expect_equal("path", [hop.node_id for hop in route.hops], [_node_id(n) for n in path[1:]])
    add = payment["update_add_htlc"]
    expect_equal("update_add_htlc amount_msat", route.amount_msat, add["amount_msat"])
    expect_equal("update_add_htlc cltv_expiry", route.cltv_expiry, _height(add["cltv_expiry"]))
    expect_equal("onion payloads", len(route.hops), len(payment["onion_payloads"]))
    for index, (hop, payload) in enumerate(zip(route.hops, payment["onion_payloads"], strict=True)):
        expect_equal(f"payload {index} node", hop.node_id, _node_id(payload["node"]))
        expect_equal(f"payload {index} amt_to_forward", hop.amount_to_forward_msat, payload["amt_to_forward"])
        expect_equal(
            f"payload {index} outgoing_cltv_value",
            hop.outgoing_cltv_value,
            _height(payload["outgoing_cltv_value"]),
        )
    if "fee_msat" in payment:
        expect_equal("fee", route.total_fee_msat, payment["fee_msat"])
    hops = " -> ".join(itertools.chain([path[0]], (p["node"] for p in payment["onion_payloads"])))
    return (
        f"{hops} ({how}): {route.amount_msat} msat, cltv_expiry +{route.cltv_expiry - CURRENT_BLOCK_HEIGHT}"
    )


def cases() -> Iterator[VectorCase]:
    data: dict[str, Any] = load_json(FILE)
    for payment in data["payments"]:
        yield VectorCase(BOLT, f"routing-example/{payment['name']}", partial(_check, data, payment))
