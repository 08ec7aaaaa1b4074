"""The ping barrier (`expect_no_disconnect`) on a connection the node under test has already closed is
a failed expectation (the requirement it evidences fails), never a harness error: an implementation
that drops a peer right after `init` (Electrum 4.3.4 on a peer without option_data_loss_protect) must
show as a failed requirement in the interop matrix."""

from __future__ import annotations

import asyncio

import pytest

from reference_node.node import Network, Node, NodeConfig
from reference_node.nodekey import Entropy, node_key_from_seed
from reference_node.scripted_peer import ScriptedPeer, UnexpectedDisconnect

TIMEOUT_S = 5.0
UNKNOWN_EVEN_TYPE = (32768).to_bytes(2, "big")  # BOLT 1: the receiver MUST close the connection


def test_a_ping_barrier_after_the_node_closed_the_connection_is_an_unexpected_disconnect() -> None:
    async def main() -> None:
        node = Node(node_key_from_seed(b"target"), NodeConfig(), Entropy(b"target"))
        host, port = await node.start("127.0.0.1", 0)
        try:
            peer = await ScriptedPeer.connect(host, port, node.node_id, entropy=Entropy(b"script"))
            await peer.exchange_init(networks=[Network.REGTEST.chain_hash], timeout_s=TIMEOUT_S)
            await peer.send_raw(UNKNOWN_EVEN_TYPE)
            await peer.expect_disconnect(TIMEOUT_S)
            with pytest.raises(UnexpectedDisconnect, match="closed"):
                await peer.sync(TIMEOUT_S)
            await peer.close()
        finally:
            await node.stop()

    asyncio.run(main())
