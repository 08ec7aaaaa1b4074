"""The scripted peer's own contract: expectations fail loudly and precisely, the barrier keeps order,
and the trace records everything."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from reference_node.node import Network, Node, NodeConfig
from reference_node.nodekey import Entropy, node_key_from_seed
from reference_node.peer import Peer
from reference_node.scripted_peer import (
    ScriptedPeer,
    ScriptExpectationFailed,
    ScriptTimeout,
    TraceDirection,
    UnexpectedDisconnect,
)
from reference_node.wire import Message, Ping, build_message

TIMEOUT_S = 5.0
SHORT_S = 0.2
REGTEST = Network.REGTEST.chain_hash


def _run(scenario: Callable[[Node, ScriptedPeer], Awaitable[None]]) -> None:
    async def main() -> None:
        node = Node(node_key_from_seed(b"target"), NodeConfig(), Entropy(b"target"))
        host, port = await node.start("127.0.0.1", 0)
        try:
            peer = await ScriptedPeer.connect(host, port, node.node_id, entropy=Entropy(b"script"))
            await peer.exchange_init(networks=[REGTEST], timeout_s=TIMEOUT_S)
            await node.wait_for_peer(peer.local_node_id, TIMEOUT_S)
            await asyncio.wait_for(scenario(node, peer), TIMEOUT_S * 2)
            await peer.close()
        finally:
            await node.stop()

    asyncio.run(main())


def test_expect_with_a_wrong_field_value_names_the_field() -> None:
    async def scenario(node: Node, peer: ScriptedPeer) -> None:
        await peer.send(Ping(num_pong_bytes=4, ignored=b""))
        with pytest.raises(ScriptExpectationFailed, match="ignored = 00000000 does not match"):
            await peer.expect("pong", TIMEOUT_S, ignored=bytes(5))

    _run(scenario)


def test_expect_accepts_predicates_as_field_matchers() -> None:
    async def scenario(node: Node, peer: ScriptedPeer) -> None:
        await peer.send(Ping(num_pong_bytes=4, ignored=b""))
        await peer.expect("pong", TIMEOUT_S, ignored=lambda value: len(value) == 4)

    _run(scenario)


def test_expect_of_another_message_reports_what_arrived() -> None:
    async def scenario(node: Node, peer: ScriptedPeer) -> None:
        await peer.send_raw((32768).to_bytes(2, "big"))  # the node answers with a warning
        with pytest.raises(ScriptExpectationFailed, match="expected channel_ready, received warning"):
            await peer.expect("channel_ready", TIMEOUT_S)

    _run(scenario)


def test_expect_times_out_when_nothing_comes() -> None:
    async def scenario(node: Node, peer: ScriptedPeer) -> None:
        with pytest.raises(ScriptTimeout, match="no channel_ready"):
            await peer.expect("channel_ready", SHORT_S)

    _run(scenario)


def test_expect_after_the_node_hung_up_is_an_unexpected_disconnect() -> None:
    async def scenario(node: Node, peer: ScriptedPeer) -> None:
        await peer.send_raw((32768).to_bytes(2, "big"))
        await peer.expect_error_or_warning(TIMEOUT_S)
        with pytest.raises(UnexpectedDisconnect):
            await peer.expect("pong", TIMEOUT_S)

    _run(scenario)


def test_expect_disconnect_fails_while_the_connection_stays_open() -> None:
    async def scenario(node: Node, peer: ScriptedPeer) -> None:
        with pytest.raises(ScriptTimeout, match="still open"):
            await peer.expect_disconnect(SHORT_S)

    _run(scenario)


def test_sync_keeps_messages_that_arrived_before_the_pong_for_later_expects() -> None:
    async def scenario(node: Node, peer: ScriptedPeer) -> None:
        async def echo(remote: Peer, message: Message) -> None:
            await remote.send(build_message("peer_storage_retrieval", {"blob": "01"}))

        node.register_handler("peer_storage", echo)
        await peer.send(build_message("peer_storage", {"blob": "01"}))
        await peer.sync(TIMEOUT_S)
        await peer.expect("peer_storage_retrieval", SHORT_S, blob=b"\x01")

    _run(scenario)


def test_scripted_peer_answers_the_nodes_pings_by_itself() -> None:
    async def scenario(node: Node, peer: ScriptedPeer) -> None:
        remote = node.peer(peer.local_node_id)
        assert remote is not None
        pong = await remote.ping(num_pong_bytes=21, timeout_s=TIMEOUT_S)
        assert len(pong.ignored) == 21

    _run(scenario)


def test_trace_records_direction_name_fields_and_bytes_in_order() -> None:
    async def scenario(node: Node, peer: ScriptedPeer) -> None:
        await peer.send(Ping(num_pong_bytes=2, ignored=b""))
        await peer.expect("pong", TIMEOUT_S)
        entries = [(e.direction, e.name) for e in peer.trace]
        # The two inits cross on the wire, so their relative order is not fixed.
        assert set(entries[:2]) == {(TraceDirection.SENT, "init"), (TraceDirection.RECEIVED, "init")}
        assert entries[2:] == [(TraceDirection.SENT, "ping"), (TraceDirection.RECEIVED, "pong")]
        ping_entry = peer.trace[2]
        assert ping_entry.fields["num_pong_bytes"] == 2
        assert ping_entry.raw == bytes.fromhex("001200020000")
        assert all(a.timestamp <= b.timestamp for a, b in zip(peer.trace, peer.trace[1:], strict=False))
        assert peer.trace_json()[3]["direction"] == "received"

    _run(scenario)
