"""LDK's peer liveness against the reference node: LDK pings on its timer tick and drops a peer that sent
nothing for a whole tick after a ping ("ping/handshake timeout"). The LDK node must tick its PeerManager
from one timer only, so a peer always has a full period to answer, even after the node's event loop was
starved (a loaded machine), and every connection LDK drops reaches the harness with LDK's reason."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.chain.rpc_server import ChainRpcServer
from harness.drivers.ldk import LdkChainRpc, LdkConfig, LdkDriver
from harness.drivers.reference import ReferenceDriver
from harness.drivers.registry import NodeSetup
from reference_node.peer import MessageReceived, PeerDisconnected, PeerEvent
from reference_node.wire.messages_bolt01 import Ping
from tests.test_ldk_support import interop_logs as interop_logs
from tests.test_ldk_support import requires_ldk

pytestmark = [pytest.mark.usefixtures("interop_logs"), requires_ldk, pytest.mark.timeout(300)]

RPC_USER, RPC_PASSWORD = "boltcheck", "ldk-liveness"
#: a short tick, so the test sees several rounds of pings quickly; a pong takes milliseconds here
TICK_MS = 2_000
#: longer than any tick period in the node (ours, and the 10 s timer lightningdevkit-node-net starts on
#: its own): every timer falls due during the stall, and a second tick source would run right after ours
STALL_MS = 10_500
PINGS_AFTER_STALL = 2


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[EmbeddedChain]:
    with EmbeddedChain(tmp_path / "chain") as embedded:
        embedded.mine(1)
        yield embedded


@asynccontextmanager
async def pair(chain: EmbeddedChain, tmp_path: Path) -> AsyncIterator[tuple[LdkDriver, ReferenceDriver]]:
    server = ChainRpcServer(chain, user=RPC_USER, password=RPC_PASSWORD)
    server.start()
    rpc = LdkChainRpc(server.url, RPC_USER, RPC_PASSWORD)
    config = LdkConfig(tmp_path / "ldk", rpc, hashlib.sha256(b"ldk-liveness").digest(), timer_tick_ms=TICK_MS)
    ldk = LdkDriver("ldk", config)
    reference = ReferenceDriver(
        NodeSetup("reference", "reference", hashlib.sha256(b"reference").digest(), tmp_path, chain=chain)
    )
    await ldk.start()
    await reference.start()
    try:
        yield ldk, reference
    finally:
        await reference.stop()
        await ldk.stop()
        server.close()


async def pings_or_disconnect(
    queue: asyncio.Queue[PeerEvent], node_id: bytes, count: int, timeout_s: float
) -> PeerDisconnected | None:
    """Read the reference node's events until `node_id` sent `count` pings (None) or disconnected."""
    pings = 0
    async with asyncio.timeout(timeout_s):
        while pings < count:
            event = await queue.get()
            if event.node_id != node_id:
                continue
            if isinstance(event, PeerDisconnected):
                return event
            if isinstance(event, MessageReceived) and isinstance(event.message, Ping):
                pings += 1
    return None


def test_ldk_keeps_an_answering_peer_after_its_event_loop_was_starved(
    chain: EmbeddedChain, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with pair(chain, tmp_path) as (ldk, reference):
            await ldk.connect(reference.address, 30)
            async with reference.node.events() as queue:
                await ldk.call("dev_block_event_loop", {"ms": STALL_MS})
                timeout_s = (PINGS_AFTER_STALL + 2) * TICK_MS / 1000 + 10
                dropped = await pings_or_disconnect(queue, ldk.node_id, PINGS_AFTER_STALL, timeout_s)
            assert dropped is None, f"LDK dropped the reference node: {ldk.diagnostics()}"
            assert ldk.disconnects() == []
            assert {"node_id": reference.node_id.hex()} in await ldk.call("list_peers")

    asyncio.run(scenario())


def test_a_connection_ldk_drops_is_reported_with_ldks_reason(chain: EmbeddedChain, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with pair(chain, tmp_path) as (ldk, reference):
            await ldk.connect(reference.address, 30)
            await ldk.disconnect(reference.node_id, 30)
            event = await ldk.wait_for_event(
                "LDK's peer_disconnected", lambda e: e.get("event") == "peer_disconnected", 30
            )
            assert event["peer_id"] == reference.node_id.hex()
            assert (event["by"], event["reason"]) == ("ldk", "client request")
        # the node flushes its log when it stops
        assert f"Disconnecting peer with id {reference.node_id.hex()}" in ldk.log_path.read_text()

    asyncio.run(scenario())
