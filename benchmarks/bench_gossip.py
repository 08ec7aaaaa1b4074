"""Gossip and pathfinding throughput. Run: .venv/bin/pytest benchmarks/bench_gossip.py --benchmark-only

- receiving a channel_announcement (4 signature checks + funding script check) and a channel_update;
- answering query_channel_range with timestamps and checksums over 1000 channels;
- find_route on a random graph of 2000 nodes and 10000 channels (both directions), and a 4-part MPP split.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.gossip.announcements import (
    ChannelPolicy,
    build_channel_update,
    direction_of,
    unsigned_channel_announcement,
)
from reference_node.gossip.flags import REGTEST_CHAIN_HASH
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.mpp import split_payment
from reference_node.gossip.pathfinding import RouteRequest, find_route
from reference_node.gossip.queries import answer_query_channel_range
from reference_node.gossip.records import FundingOutput
from reference_node.gossip.route import RouteEdge
from reference_node.gossip.signing import sign_channel_announcement
from reference_node.transactions.funding import funding_script_pubkey
from reference_node.wire import (
    ChannelAnnouncement,
    ChannelUpdate,
    QueryChannelRange,
    QueryChannelRangeTlvs,
    QueryOptionTlv,
    ShortChannelId,
)
from reference_node.wire.features import Features

CHAIN = REGTEST_CHAIN_HASH
NOW = 1_700_000_000
NODES, CHANNELS = 2000, 10_000
POLICY = ChannelPolicy(40, 1, 100_000_000, 1000, 100)


@dataclass(frozen=True)
class Party:
    name: str

    def secret(self, kind: str) -> bytes:
        return hashlib.sha256(f"{kind}/{self.name}".encode()).digest()

    @property
    def node_id(self) -> bytes:
        return public_key_of(self.secret("node"))

    @property
    def funding_pubkey(self) -> bytes:
        return public_key_of(self.secret("funding"))


ALICE, BOB = Party("alice"), Party("bob")


class FakeChain:
    def __init__(self) -> None:
        self.outputs: dict[ShortChannelId, FundingOutput] = {}

    def fund(self, a: Party, b: Party, scid: ShortChannelId) -> None:
        script = funding_script_pubkey(a.funding_pubkey, b.funding_pubkey)
        self.outputs[scid] = FundingOutput(script, 1_000_000, 6)

    def lookup(self, scid: ShortChannelId) -> FundingOutput | None:
        return self.outputs.get(scid)


def announce(a: Party, b: Party, scid: ShortChannelId) -> ChannelAnnouncement:
    unsigned = unsigned_channel_announcement(
        chain_hash=CHAIN,
        short_channel_id=scid,
        node_id_a=a.node_id,
        node_id_b=b.node_id,
        bitcoin_key_a=a.funding_pubkey,
        bitcoin_key_b=b.funding_pubkey,
        features=Features(),
    )
    first, second = (a, b) if a.node_id < b.node_id else (b, a)
    return sign_channel_announcement(
        unsigned,
        node_secret_1=first.secret("node"),
        node_secret_2=second.secret("node"),
        bitcoin_secret_1=first.secret("funding"),
        bitcoin_secret_2=second.secret("funding"),
    )


def update(origin: Party, other: Party, scid: ShortChannelId, *, timestamp: int = NOW) -> ChannelUpdate:
    return build_channel_update(
        node_secret=origin.secret("node"),
        chain_hash=CHAIN,
        short_channel_id=scid,
        timestamp=timestamp,
        direction=direction_of(origin.node_id, other.node_id),
        policy=POLICY,
    )


def public_channel(graph: ChannelGraph, chain: FakeChain, a: Party, b: Party, scid: ShortChannelId) -> None:
    chain.fund(a, b, scid)
    assert graph.receive_channel_announcement(announce(a, b, scid), lookup=chain.lookup, now=NOW).accepted
    assert graph.receive_channel_update(update(a, b, scid), now=NOW).accepted
    assert graph.receive_channel_update(update(b, a, scid), now=NOW).accepted


def test_bench_receive_channel_announcement(benchmark: BenchmarkFixture) -> None:
    scid = ShortChannelId(700_000, 1, 0)
    chain = FakeChain()
    chain.fund(ALICE, BOB, scid)
    msg = announce(ALICE, BOB, scid)

    def receive() -> None:
        assert ChannelGraph(CHAIN).receive_channel_announcement(msg, lookup=chain.lookup, now=NOW).accepted

    benchmark(receive)


def test_bench_receive_channel_update(benchmark: BenchmarkFixture) -> None:
    scid = ShortChannelId(700_000, 1, 0)
    chain = FakeChain()
    graph = ChannelGraph(CHAIN)
    chain.fund(ALICE, BOB, scid)
    assert graph.receive_channel_announcement(
        announce(ALICE, BOB, scid), lookup=chain.lookup, now=NOW
    ).accepted
    updates = iter([update(ALICE, BOB, scid, timestamp=NOW + i) for i in range(1, 20_000)])

    def receive() -> None:
        assert graph.receive_channel_update(next(updates), now=NOW + 20_000).accepted

    benchmark.pedantic(receive, rounds=2000, iterations=1)


def test_bench_answer_query_channel_range(benchmark: BenchmarkFixture) -> None:
    graph, chain = ChannelGraph(CHAIN), FakeChain()
    parties = [Party(f"bench{i}") for i in range(50)]
    rng = random.Random(7)
    for i in range(1000):
        a, b = rng.sample(parties, 2)
        public_channel(graph, chain, a, b, ShortChannelId(600_000 + i // 3, i % 3, 0))
    query = QueryChannelRange(CHAIN, 0, 0xFFFFFFFF, QueryChannelRangeTlvs(QueryOptionTlv(3)))
    replies = benchmark(answer_query_channel_range, graph, query)
    assert len(replies) == 1


def _node(i: int) -> bytes:
    return b"\x02" + i.to_bytes(32, "big")


@pytest.fixture(scope="module")
def big_graph() -> list[RouteEdge]:
    rng = random.Random(42)
    edges = []
    for i in range(CHANNELS):
        a, b = rng.sample(range(NODES), 2)
        capacity = rng.randrange(100_000, 50_000_000) * 1000
        for u, v in ((a, b), (b, a)):
            policy = ChannelPolicy(
                rng.choice([18, 40, 80, 144]), 1, capacity, rng.randrange(0, 2000), rng.randrange(0, 2000)
            )
            edges.append(RouteEdge(ShortChannelId(500_000 + i, 0, 0), _node(u), _node(v), policy, capacity))
    return edges


def test_bench_find_route(benchmark: BenchmarkFixture, big_graph: list[RouteEdge]) -> None:
    request = RouteRequest(_node(0), _node(1), 50_000_000, 800_018)
    route = benchmark(find_route, big_graph, request)
    assert route.final_amount_msat == 50_000_000


def test_bench_split_payment(benchmark: BenchmarkFixture, big_graph: list[RouteEdge]) -> None:
    request = RouteRequest(_node(0), _node(1), 400_000_000, 800_018)
    routes = benchmark(split_payment, big_graph, request)
    assert sum(r.final_amount_msat for r in routes) == 400_000_000
