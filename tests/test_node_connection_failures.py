"""Connection-level failures at the node: bad handshakes and bad frames close that connection only."""

from __future__ import annotations

import asyncio

import pytest
from coincurve import PrivateKey

from reference_node.node import Network, Node, NodeConfig, PeerConnectFailed
from reference_node.nodekey import Entropy, node_key_from_seed
from reference_node.peer import DisconnectCause
from reference_node.scripted_peer import ScriptedPeer

TIMEOUT_S = 5.0
REGTEST = Network.REGTEST.chain_hash


async def _node(seed: bytes) -> Node:
    node = Node(node_key_from_seed(seed), NodeConfig(), Entropy(seed))
    await node.start("127.0.0.1", 0)
    return node


async def _served(node: Node, seed: bytes) -> None:
    host, port = node.address
    peer = await ScriptedPeer.connect(host, port, node.node_id, entropy=Entropy(seed))
    await peer.exchange_init(networks=[REGTEST], timeout_s=TIMEOUT_S)
    await peer.sync(TIMEOUT_S)
    await peer.close()


@pytest.mark.parametrize(
    "act_one",
    [b"\x01" + bytes(49), b"\x00" + bytes(49), b"\x00\x02" + bytes(20)],
    ids=["bad version", "bad pubkey", "short then silent"],
)
def test_bad_handshake_is_dropped_and_the_node_keeps_listening(act_one: bytes) -> None:
    async def scenario() -> None:
        node = await _node(b"listener")
        try:
            reader, writer = await asyncio.open_connection(*node.address)
            writer.write(act_one)
            writer.write_eof()
            assert await asyncio.wait_for(reader.read(), TIMEOUT_S) == b""  # closed, nothing sent back
            writer.close()
            await _served(node, b"after")
        finally:
            await node.stop()

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S * 3))


def test_unencrypted_bytes_after_init_end_the_connection_without_a_reply() -> None:
    async def scenario() -> None:
        node = await _node(b"target")
        try:
            host, port = node.address
            peer = await ScriptedPeer.connect(host, port, node.node_id, entropy=Entropy(b"bad"))
            await peer.exchange_init(networks=[REGTEST], timeout_s=TIMEOUT_S)
            await peer.send_unframed(bytes(40))
            await peer.expect_disconnect(TIMEOUT_S)
            assert [e.name for e in peer.trace if e.direction.value == "received"] == ["init"]
            disconnect = await node.wait_for_disconnect(peer.local_node_id, TIMEOUT_S)
            assert disconnect.cause is DisconnectCause.TRANSPORT_ERROR
            assert "MessageBadMac" in disconnect.detail
            await peer.close()
            await _served(node, b"other")
        finally:
            await node.stop()

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S * 3))


def test_connecting_to_the_wrong_node_id_fails_with_a_clear_error() -> None:
    async def scenario() -> None:
        node = await _node(b"target")
        other = await _node(b"dialer")
        try:
            host, port = node.address
            with pytest.raises(PeerConnectFailed, match="HandshakeShortRead"):
                await other.connect(host, port, PrivateKey().public_key.format())
            await _served(node, b"still fine")
        finally:
            await other.stop()
            await node.stop()

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S * 3))


def test_stop_ends_handshakes_in_progress() -> None:
    async def scenario() -> None:
        node = await _node(b"stopping")
        reader, writer = await asyncio.open_connection(*node.address)
        await node.stop()
        assert await asyncio.wait_for(reader.read(), TIMEOUT_S) == b""
        writer.close()

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S * 3))


def test_connect_to_a_node_on_another_network_fails_after_init() -> None:
    async def scenario() -> None:
        mainnet = Node(node_key_from_seed(b"mainnet"), NodeConfig(network=Network.MAINNET), Entropy(b"m"))
        await mainnet.start("127.0.0.1", 0)
        regtest = await _node(b"regtest")
        try:
            host, port = mainnet.address
            with pytest.raises(PeerConnectFailed, match="no common network"):
                await regtest.connect(host, port, mainnet.node_id)
            disconnect = await regtest.wait_for_disconnect(mainnet.node_id, TIMEOUT_S)
            assert disconnect.cause is DisconnectCause.INIT_REJECTED
        finally:
            await regtest.stop()
            await mainnet.stop()

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S * 3))
