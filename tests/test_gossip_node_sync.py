"""Gossip in the running node (reference_node/gossip_sync.py), over real BOLT 8 connections between
in-process reference nodes: every node learns the whole graph, the graph is persisted in the store,
`query_channel_range` / `query_short_channel_ids` answered to a peer that negotiated gossip_queries, and
a late node catching up by asking them."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from harness.scenarios.steps.network import (
    MULTIHOP_FEATURES,
    NetworkSpec,
    ReferenceNetwork,
    Topology,
    build_network,
    wait_for_gossip,
)
from reference_node.gossip.flags import Direction
from reference_node.gossip.persist import load_graph
from reference_node.gossip_sync import GossipConfig, InitialSync
from reference_node.node import LightningNode, Network, NodeConfig
from reference_node.nodekey import Entropy, NodeKey
from reference_node.pay import MultihopConfig, enable_multihop
from reference_node.peer import Peer
from reference_node.store import Store
from reference_node.wire import (
    Message,
    QueryChannelRange,
    QueryShortChannelIds,
    ReplyChannelRange,
    ReplyShortChannelIdsEnd,
)
from reference_node.wire.gossip_encoding import decode_short_ids, encode_short_ids

TIMEOUT_S = 60.0
CHAIN_HASH = Network.REGTEST.chain_hash


async def _network(tmp_path: Path, chain: EmbeddedChain, nodes: int) -> ReferenceNetwork:
    chain.mine(101)
    return await build_network(NetworkSpec.of_topology(nodes, Topology.LINE), chain, tmp_path, seed=3)


def test_every_node_learns_every_channel_and_node_of_a_line(tmp_path: Path) -> None:
    async def run() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            network = await _network(tmp_path, chain, 5)
            try:
                await wait_for_gossip(network, TIMEOUT_S)
                for multihop in network.multihop:
                    graph = multihop.gossip.graph
                    assert {n.node_id for n in graph.nodes()} == {n.node_id for n in network.nodes}
                    assert sum(1 for c in graph.channels() if c.public) == 4
            finally:
                await network.stop()

    asyncio.run(run())


def test_the_graph_is_persisted_in_the_store(tmp_path: Path) -> None:
    async def run() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            network = await _network(tmp_path, chain, 3)
            try:
                await wait_for_gossip(network, TIMEOUT_S)
            finally:
                await network.stop()
        store = Store(tmp_path / "net-0" / "node.sqlite3")
        raw = store.get_meta("gossip/graph")
        store.close()
        assert raw is not None
        graph = load_graph(json.loads(raw))
        assert sum(1 for c in graph.channels() if c.public) == 2
        assert sum(1 for n in graph.nodes() if n.announcement is not None) == 3

    asyncio.run(run())


def test_query_channel_range_and_query_short_channel_ids_are_answered(tmp_path: Path) -> None:
    async def run() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            network = await _network(tmp_path, chain, 3)
            try:
                await wait_for_gossip(network, TIMEOUT_S)
                asker, answerer = network.nodes[0], network.nodes[1]
                received: list[Message] = []
                got = asyncio.Event()

                async def capture(peer: Peer, message: Message) -> None:
                    received.append(message)
                    got.set()

                asker.node.register_handler("reply_channel_range", capture)
                asker.node.register_handler("reply_short_channel_ids_end", capture)
                peer = asker.node.peer(answerer.node_id)
                assert peer is not None
                await peer.send(QueryChannelRange(CHAIN_HASH, 0, 0xFFFFFFFF))
                async with asyncio.timeout(TIMEOUT_S):
                    while not any(isinstance(m, ReplyChannelRange) and m.sync_complete for m in received):
                        got.clear()
                        await got.wait()
                replies = [m for m in received if isinstance(m, ReplyChannelRange)]
                short_ids = [s for r in replies for s in decode_short_ids(r.encoded_short_ids)]
                expected = sorted(
                    c.short_channel_id for c in network.multihop[1].gossip.graph.channels() if c.public
                )
                assert sorted(short_ids) == expected
                # then the announcements themselves, ended by reply_short_channel_ids_end
                announcements: list[Message] = []
                for name in ("channel_announcement", "channel_update", "node_announcement"):
                    asker.node.register_handler(name, lambda _p, m: _append(announcements, m))
                await peer.send(QueryShortChannelIds(CHAIN_HASH, encode_short_ids(expected)))
                async with asyncio.timeout(TIMEOUT_S):
                    while not any(isinstance(m, ReplyShortChannelIdsEnd) for m in received):
                        got.clear()
                        await got.wait()
                end = next(m for m in received if isinstance(m, ReplyShortChannelIdsEnd))
                assert end.full_information == 1
                assert sum(1 for m in announcements if m.NAME == "channel_announcement") == len(expected)
            finally:
                await network.stop()

    asyncio.run(run())


async def _append(messages: list[Message], message: Message) -> None:
    messages.append(message)


def test_a_late_node_syncing_by_range_queries_learns_the_graph_from_one_peer(tmp_path: Path) -> None:
    async def run() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            network = await _network(tmp_path, chain, 3)
            late = LightningNode(
                NodeKey.from_secret(hashlib.sha256(b"late joiner").digest()),
                EmbeddedChainSource(chain),
                tmp_path / "late",
                config=NodeConfig(features=MULTIHOP_FEATURES),
                entropy=Entropy(b"late"),
            )
            # the history comes only from query_channel_range + query_short_channel_ids: its
            # gossip_timestamp_filter starts now
            by_queries = GossipConfig(initial_sync=InitialSync.RANGE_QUERIES)
            services = enable_multihop(late, MultihopConfig(gossip=by_queries))
            try:
                await wait_for_gossip(network, TIMEOUT_S)
                await late.start()
                services.start()
                host, port = network.nodes[1].node.address
                await late.connect(network.nodes[1].node_id, host, port)

                def learnt() -> bool:
                    channels = [c for c in services.gossip.graph.channels() if c.public]
                    updates = sum(1 for c in channels for d in Direction if c.update(d) is not None)
                    announced = sum(1 for n in services.gossip.graph.nodes() if n.announcement is not None)
                    return len(channels) == 2 and updates == 4 and announced == 3

                await services.gossip.wait_for(learnt, TIMEOUT_S)
            finally:
                await services.stop()
                await late.stop()
                await network.stop()

    asyncio.run(run())
