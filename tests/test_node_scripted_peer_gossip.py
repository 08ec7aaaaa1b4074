"""The scripted peer's `expect_error_or_warning` passes over BOLT 7 gossip: a node may send
`gossip_timestamp_filter` right after `init` (Core Lightning does), and that is not its answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from reference_node.node import Network, Node, NodeConfig
from reference_node.nodekey import Entropy, node_key_from_seed
from reference_node.peer import Peer
from reference_node.scripted_peer import ScriptedPeer, UnexpectedDisconnect
from reference_node.wire import WarningMessage
from reference_node.wire.messages_bolt07 import GossipTimestampFilter

TIMEOUT_S = 5.0
REGTEST = Network.REGTEST.chain_hash


async def _with_node_peer(node: Node) -> tuple[ScriptedPeer, Peer]:
    host, port = node.address
    scripted = await ScriptedPeer.connect(host, port, node.node_id, entropy=Entropy(b"gossip first"))
    await scripted.exchange_init(networks=[REGTEST], timeout_s=TIMEOUT_S)
    await node.wait_for_peer(scripted.local_node_id, TIMEOUT_S)
    node_side = node.peer(scripted.local_node_id)
    assert node_side is not None
    return scripted, node_side


def _run(check: Callable[[Node], Awaitable[None]]) -> None:
    async def main() -> None:
        node = Node(node_key_from_seed(b"gossiping node"), NodeConfig(), Entropy(b"node entropy"))
        await node.start("127.0.0.1", 0)
        try:
            await asyncio.wait_for(check(node), TIMEOUT_S * 3)
        finally:
            await node.stop()

    asyncio.run(main())


def test_gossip_before_the_warning_is_passed_over() -> None:
    async def check(node: Node) -> None:
        scripted, node_side = await _with_node_peer(node)
        await node_side.send(GossipTimestampFilter(REGTEST, 0, 0xFFFFFFFF))
        await node_side.send(WarningMessage(bytes(32), b"bad open_channel"))
        received = await scripted.expect_error_or_warning(TIMEOUT_S)
        assert isinstance(received, WarningMessage) and received.data == b"bad open_channel"
        await scripted.close()

    _run(check)


def test_gossip_then_a_closed_connection_is_still_no_warning() -> None:
    async def check(node: Node) -> None:
        scripted, node_side = await _with_node_peer(node)
        await node_side.send(GossipTimestampFilter(REGTEST, 0, 0xFFFFFFFF))
        await node_side.disconnect()
        try:
            await scripted.expect_error_or_warning(TIMEOUT_S)
        except UnexpectedDisconnect:
            pass
        else:
            raise AssertionError("a closed connection passed for an error or warning")
        await scripted.close()

    _run(check)
