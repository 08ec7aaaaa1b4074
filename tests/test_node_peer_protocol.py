"""The in-process Node against the scripted peer: BOLT 1 init, ping/pong, and how bad input is handled."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from reference_node.node import Network, NetworkPolicy, Node, NodeConfig
from reference_node.nodekey import Entropy, node_key_from_seed
from reference_node.peer import DisconnectCause, MessageReceived, Peer, PeerConnected, PeerEvent
from reference_node.scripted_peer import ScriptedPeer
from reference_node.wire import ErrorMessage, Init, Message, Ping, Pong, WarningMessage, build_message

TIMEOUT_S = 5.0
REGTEST = Network.REGTEST.chain_hash


def _run(scenario: Callable[[Node], Awaitable[None]], config: NodeConfig | None = None) -> None:
    async def main() -> None:
        node = Node(node_key_from_seed(b"node under test"), config or NodeConfig(), Entropy(b"node entropy"))
        await node.start("127.0.0.1", 0)
        try:
            await asyncio.wait_for(scenario(node), TIMEOUT_S * 3)
        finally:
            await node.stop()

    asyncio.run(main())


async def _scripted(node: Node, seed: bytes = b"scripted") -> ScriptedPeer:
    host, port = node.address
    return await ScriptedPeer.connect(host, port, node.node_id, entropy=Entropy(seed))


async def _connected(node: Node, seed: bytes = b"scripted") -> ScriptedPeer:
    peer = await _scripted(node, seed)
    await peer.exchange_init(networks=[REGTEST], timeout_s=TIMEOUT_S)
    await node.wait_for_peer(peer.local_node_id, TIMEOUT_S)
    return peer


def test_node_sends_init_with_its_network_first() -> None:
    async def scenario(node: Node) -> None:
        peer = await _scripted(node)
        their_init = await peer.expect("init", TIMEOUT_S)
        assert isinstance(their_init, Init)
        assert their_init.tlvs.networks is not None
        assert their_init.tlvs.networks.chains == (REGTEST,)
        assert peer.trace[0].name == "init"
        await peer.close()

    _run(scenario)


def test_node_answers_ping_with_num_pong_bytes() -> None:
    async def scenario(node: Node) -> None:
        peer = await _connected(node)
        await peer.send(Ping(num_pong_bytes=77, ignored=bytes(5)))
        await peer.expect("pong", TIMEOUT_S, ignored=bytes(77))
        await peer.close()

    _run(scenario)


def test_node_ignores_ping_asking_65532_bytes_or_more() -> None:
    async def scenario(node: Node) -> None:
        peer = await _connected(node)
        await peer.send(Ping(num_pong_bytes=65532, ignored=b""))
        await peer.send(Ping(num_pong_bytes=3, ignored=b""))
        # The first pong to arrive answers the second ping: the first was ignored.
        await peer.expect("pong", TIMEOUT_S, ignored=bytes(3))
        await peer.close()

    _run(scenario)


def test_node_ignores_unknown_odd_messages() -> None:
    async def scenario(node: Node) -> None:
        peer = await _connected(node)
        await peer.send_raw((32769).to_bytes(2, "big") + b"anything")
        await peer.sync(TIMEOUT_S)
        assert not peer.disconnected
        await peer.close()

    _run(scenario)


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        ((32768).to_bytes(2, "big") + b"x", "unknown even message type 32768"),
        ((18).to_bytes(2, "big") + b"\x00", "malformed message (type 18)"),  # truncated ping
        (b"\x00", "malformed message (type None)"),  # not even a type
    ],
)
def test_node_warns_and_disconnects_on_unknown_even_or_malformed(payload: bytes, what: str) -> None:
    async def scenario(node: Node) -> None:
        peer = await _connected(node)
        await peer.send_raw(payload)
        warning = await peer.expect_error_or_warning(TIMEOUT_S)
        assert isinstance(warning, WarningMessage)
        assert warning.channel_id == bytes(32)
        assert what in warning.data.decode()
        await peer.expect_disconnect(TIMEOUT_S)
        disconnect = await node.wait_for_disconnect(peer.local_node_id, TIMEOUT_S)
        assert disconnect.cause is DisconnectCause.PROTOCOL_VIOLATION
        await peer.close()

    _run(scenario)


def test_node_closes_on_unknown_even_feature_in_init() -> None:
    async def scenario(node: Node) -> None:
        peer = await _scripted(node)
        # Bit 100 is unassigned: an unknown even (required) feature.
        features = (1 << 100).to_bytes(13, "big")
        await peer.exchange_init(features=features, networks=[REGTEST], timeout_s=TIMEOUT_S)
        await peer.expect_error_or_warning(TIMEOUT_S)
        await peer.expect_disconnect(TIMEOUT_S)
        disconnect = await node.wait_for_disconnect(peer.local_node_id, TIMEOUT_S)
        assert disconnect.cause is DisconnectCause.INIT_REJECTED
        assert "100" in disconnect.detail
        await peer.close()

    _run(scenario)


def test_node_accepts_unknown_odd_feature_in_init() -> None:
    async def scenario(node: Node) -> None:
        peer = await _scripted(node)
        await peer.exchange_init(features=(1 << 101).to_bytes(13, "big"), networks=[REGTEST])
        connected = await node.wait_for_peer(peer.local_node_id, TIMEOUT_S)
        assert connected.remote_init is not None
        await peer.sync(TIMEOUT_S)
        await peer.close()

    _run(scenario)


def test_node_closes_when_networks_have_no_common_chain() -> None:
    async def scenario(node: Node) -> None:
        peer = await _scripted(node)
        await peer.exchange_init(networks=[Network.MAINNET.chain_hash], timeout_s=TIMEOUT_S)
        await peer.expect_error_or_warning(TIMEOUT_S)
        await peer.expect_disconnect(TIMEOUT_S)
        disconnect = await node.wait_for_disconnect(peer.local_node_id, TIMEOUT_S)
        assert disconnect.cause is DisconnectCause.INIT_REJECTED
        await peer.close()

    _run(scenario)


def test_node_keeps_a_peer_without_common_network_when_told_to() -> None:
    async def scenario(node: Node) -> None:
        peer = await _scripted(node)
        await peer.exchange_init(networks=[Network.MAINNET.chain_hash], timeout_s=TIMEOUT_S)
        await node.wait_for_peer(peer.local_node_id, TIMEOUT_S)
        await peer.sync(TIMEOUT_S)
        await peer.close()

    _run(scenario, NodeConfig(network_policy=NetworkPolicy.IGNORE))


def test_node_accepts_init_without_networks() -> None:
    async def scenario(node: Node) -> None:
        peer = await _scripted(node)
        await peer.exchange_init(networks=None, timeout_s=TIMEOUT_S)
        await node.wait_for_peer(peer.local_node_id, TIMEOUT_S)
        await peer.close()

    _run(scenario)


def test_node_closes_when_the_first_message_is_not_init() -> None:
    async def scenario(node: Node) -> None:
        peer = await _scripted(node)
        await peer.send(Ping(num_pong_bytes=1, ignored=b""))
        await peer.expect("init", TIMEOUT_S)
        warning = await peer.expect_error_or_warning(TIMEOUT_S)
        assert b"first message must be init" in warning.data
        await peer.expect_disconnect(TIMEOUT_S)
        await peer.close()

    _run(scenario)


def test_registered_handler_receives_its_messages_and_can_reply() -> None:
    async def scenario(node: Node) -> None:
        received: asyncio.Queue[Message] = asyncio.Queue()

        async def on_peer_storage(peer: Peer, message: Message) -> None:
            await received.put(message)
            await peer.send(build_message("peer_storage_retrieval", {"blob": "c0ffee"}))

        node.register_handler("peer_storage", on_peer_storage)
        peer = await _connected(node)
        await peer.send(build_message("peer_storage", {"blob": "c0ffee"}))
        message = await asyncio.wait_for(received.get(), TIMEOUT_S)
        assert message.NAME == "peer_storage"
        await peer.expect("peer_storage_retrieval", TIMEOUT_S, blob=bytes.fromhex("c0ffee"))
        await peer.close()

    _run(scenario)


def test_handler_failure_costs_only_that_connection() -> None:
    async def scenario(node: Node) -> None:
        async def broken(peer: Peer, message: Message) -> None:
            raise RuntimeError("bug in a handler")

        node.register_handler("peer_storage", broken)
        victim = await _connected(node, b"victim")
        other = await _connected(node, b"other")
        await victim.send(build_message("peer_storage", {"blob": ""}))
        warning = await victim.expect_error_or_warning(TIMEOUT_S)
        assert b"internal error" in warning.data
        await victim.expect_disconnect(TIMEOUT_S)
        await other.sync(TIMEOUT_S)
        await victim.close()
        await other.close()

    _run(scenario)


def test_a_handler_may_send_error_and_close() -> None:
    from reference_node.peer import PeerProtocolViolation

    async def scenario(node: Node) -> None:
        async def strict(peer: Peer, message: Message) -> None:
            raise PeerProtocolViolation("no storage here", send_error=True)

        node.register_handler("peer_storage", strict)
        peer = await _connected(node)
        await peer.send(build_message("peer_storage", {"blob": ""}))
        error = await peer.expect_error_or_warning(TIMEOUT_S)
        assert isinstance(error, ErrorMessage)
        await peer.expect_disconnect(TIMEOUT_S)
        await peer.close()

    _run(scenario)


def test_node_to_node_connect_ping_and_events() -> None:
    async def scenario(node: Node) -> None:
        other = Node(node_key_from_seed(b"other node"), NodeConfig(), Entropy(b"other entropy"))
        await other.start("127.0.0.1", 0)
        try:
            async with node.events() as events:
                host, port = node.address
                peer = await other.connect(host, port, node.node_id)
                pong = await peer.ping(num_pong_bytes=9)
                assert isinstance(pong, Pong)
                assert len(pong.ignored) == 9
                inbound = await node.wait_for_peer(other.node_id, TIMEOUT_S)
                assert inbound.remote_init is not None
                seen: list[PeerEvent] = []
                while not any(isinstance(e, MessageReceived) and isinstance(e.message, Ping) for e in seen):
                    seen.append(await asyncio.wait_for(events.get(), TIMEOUT_S))
                assert any(isinstance(e, PeerConnected) for e in seen)
        finally:
            await other.stop()
        disconnect = await node.wait_for_disconnect(other.node_id, TIMEOUT_S)
        assert disconnect.cause is DisconnectCause.REMOTE_CLOSED

    _run(scenario)


def test_a_second_connection_from_the_same_node_replaces_the_first() -> None:
    async def scenario(node: Node) -> None:
        first = await _connected(node, b"same")
        second = await _connected(node, b"same")
        await first.expect_disconnect(TIMEOUT_S)
        disconnect = await node.wait_for_disconnect(second.local_node_id, TIMEOUT_S)
        assert disconnect.cause is DisconnectCause.REPLACED
        await second.sync(TIMEOUT_S)
        await first.close()
        await second.close()

    _run(scenario)


def test_node_advertises_its_configured_features_and_records_the_peers() -> None:
    from reference_node.wire.features import Feature, Features

    ours = Features.of(required=[Feature.var_onion_optin], optional=[Feature.option_static_remotekey])

    async def scenario(node: Node) -> None:
        peer = await _scripted(node)
        their_init = await peer.exchange_init(
            features=(1 << 101).to_bytes(13, "big"), globalfeatures=b"\x02", networks=[REGTEST]
        )
        assert their_init.features == ours.to_bytes()
        assert their_init.globalfeatures == b""
        connected = await node.wait_for_peer(peer.local_node_id, TIMEOUT_S)
        assert connected.remote_features == Features.from_bits([1, 101])  # the two bitmaps, ORed
        await peer.close()

    _run(scenario, NodeConfig(features=ours))
