"""The reference node: listens and connects over BOLT 8, runs one `Peer` per remote node, dispatches
messages to handlers registered per message name, and publishes events the harness can wait on.

In-process use (the harness runs it inside its own event loop):

    node = Node(load_or_create_node_key(data_dir), NodeConfig(network=Network.REGTEST))
    await node.start("127.0.0.1", 0)
    peer = await node.connect("127.0.0.1", port, their_node_id)
    await peer.ping()
    await node.stop()

Waiting never sleeps: `wait_for_peer`, `wait_for_disconnect` and `events()` wake on the event itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from reference_node.nodekey import Entropy, NodeKey
from reference_node.peer import (
    DEFAULT_INIT_TIMEOUT_S,
    Direction,
    Disconnect,
    DisconnectCause,
    Handler,
    InitRejected,
    Peer,
    PeerConnected,
    PeerDisconnected,
    PeerEvent,
    PeerState,
    answer_ping,
    log_warning_or_error,
    receive_pong,
)
from reference_node.transport import TransportError, accept, connect
from reference_node.transport.connection import DEFAULT_HANDSHAKE_TIMEOUT_S
from reference_node.wire import FeatureError, Init, InitTlvs, NetworksTlv
from reference_node.wire.features import Features, check_init_features

log = logging.getLogger(__name__)


class Network(enum.Enum):
    MAINNET = "bitcoin"
    TESTNET = "testnet"
    REGTEST = "regtest"

    @property
    def chain_hash(self) -> bytes:
        """BOLT 0 `chain_hash`: the genesis block hash in internal byte order."""
        return _genesis_hashes()[self]


@cache
def _genesis_hashes() -> dict[Network, bytes]:
    # Computed from the genesis blocks python-bitcoinlib carries, not typed in.
    import bitcoin.core as core

    return {
        Network.MAINNET: bytes(core.CoreMainParams.GENESIS_BLOCK.GetHash()),
        Network.TESTNET: bytes(core.CoreTestNetParams.GENESIS_BLOCK.GetHash()),
        Network.REGTEST: bytes(core.CoreRegTestParams.GENESIS_BLOCK.GetHash()),
    }


class NetworkPolicy(enum.Enum):
    """What to do with a peer whose `networks` has no chain in common with ours (BOLT 1: "MAY close")."""

    CLOSE = "close"
    IGNORE = "ignore"


@dataclass(frozen=True)
class NodeConfig:
    network: Network = Network.REGTEST
    features: Features = field(default_factory=Features)  # our `init` features (BOLT 9)
    network_policy: NetworkPolicy = NetworkPolicy.CLOSE
    handshake_timeout_s: float = DEFAULT_HANDSHAKE_TIMEOUT_S
    init_timeout_s: float = DEFAULT_INIT_TIMEOUT_S
    send_networks: bool = True  # BOLT 1: "SHOULD set `networks`"
    extra_handlers: tuple[tuple[str, Handler], ...] = field(default=())


class _ChangeSignal:
    """Wakes every waiter when peer state changes; waiters re-check their own condition (no polling)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                await self._event.wait()


class NodeNotStarted(Exception):
    """An operation needs the listening socket but start() has not run."""


class PeerConnectFailed(Exception):
    """An outbound connection did not reach the active state (handshake or init failed)."""


class Node:
    """A Lightning node's connection layer, usable in-process or under `boltcheck node`."""

    def __init__(
        self, key: NodeKey, config: NodeConfig | None = None, entropy: Entropy | None = None
    ) -> None:
        self.key = key
        self.config = config or NodeConfig()
        self.entropy = entropy or Entropy(None)
        self._handlers: dict[str, Handler] = {
            "ping": answer_ping,
            "pong": receive_pong,
            "warning": log_warning_or_error,
            "error": log_warning_or_error,
        }
        for name, handler in self.config.extra_handlers:
            self._handlers[name] = handler
        self._peers: dict[bytes, Peer] = {}
        self._peer_tasks: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self._subscribers: list[asyncio.Queue[PeerEvent]] = []
        self._changed = _ChangeSignal()
        self._disconnects: dict[bytes, list[Disconnect]] = {}
        self._connection_count = 0

    @property
    def node_id(self) -> bytes:
        return self.key.node_id

    # -- handlers (the dispatch table) ----------------------------------------------------------------

    def register_handler(self, message_name: str, handler: Handler) -> None:
        """Route every received `message_name` to `handler(peer, message)` (replacing any previous one)."""
        self._handlers[message_name] = handler

    def handler_for(self, name: str) -> Handler | None:
        return self._handlers.get(name)

    # -- PeerContext ----------------------------------------------------------------------------------

    def local_init(self, peer: Peer) -> Init:
        tlvs = InitTlvs(networks=NetworksTlv(chains=(self.config.network.chain_hash,)))
        # BOLT 9: every feature goes in `features`; `globalfeatures` stays empty.
        return Init(
            globalfeatures=b"",
            features=self.config.features.to_bytes(),
            tlvs=tlvs if self.config.send_networks else InitTlvs(),
        )

    def check_remote_init(self, peer: Peer, init: Init) -> Features:
        try:
            remote_features = check_init_features(init.globalfeatures, init.features)
        except FeatureError as exc:
            raise InitRejected(f"init features refused: {exc}") from exc
        networks = init.tlvs.networks
        ours = self.config.network.chain_hash
        if networks is not None and ours not in networks.chains:
            detail = f"no common network: ours {ours.hex()}, theirs {[c.hex() for c in networks.chains]}"
            if self.config.network_policy is NetworkPolicy.CLOSE:
                raise InitRejected(detail)
            log.info("peer %s: %s (kept)", peer.node_id.hex(), detail)
        return remote_features

    def emit(self, event: PeerEvent) -> None:
        if isinstance(event, PeerDisconnected):
            self._disconnects.setdefault(event.node_id, []).append(event.disconnect)
        for queue in self._subscribers:
            queue.put_nowait(event)
        if isinstance(event, PeerConnected | PeerDisconnected):
            self._changed.notify()

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on host:port (port 0: any free port). Returns the address actually bound."""
        self._server = await asyncio.start_server(self._on_inbound, host, port)
        return self.address

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise NodeNotStarted("the node is not listening")
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for peer in list(self._peers.values()):
            await peer.disconnect("node stopping")
        tasks = list(self._peer_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Node:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- connections ----------------------------------------------------------------------------------

    async def _on_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        current = asyncio.current_task()
        assert current is not None  # asyncio.start_server runs this callback as a task
        # Tracked from the first byte, so stop() also ends handshakes still in progress.
        self._peer_tasks.add(current)
        try:
            await self._serve_inbound(reader, writer)
        finally:
            self._peer_tasks.discard(current)

    async def _serve_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        try:
            connection = await accept(
                reader,
                writer,
                self.key.private_key,
                ephemeral_key=self.entropy.private_key(f"bolt8-ephemeral/in/{self._next_count()}"),
                timeout_s=self.config.handshake_timeout_s,
            )
        except (TransportError, TimeoutError) as exc:
            # accept() already closed the socket: nothing was established, so nothing else to undo.
            log.info("inbound handshake from %s failed: %s: %s", peername, type(exc).__name__, exc)
            return
        peer = Peer(connection, self, Direction.INBOUND, init_timeout_s=self.config.init_timeout_s)
        await self._run_peer(peer)

    def _next_count(self) -> int:
        self._connection_count += 1
        return self._connection_count

    async def connect(self, host: str, port: int, node_id: bytes, *, timeout_s: float | None = None) -> Peer:
        """Connect as BOLT 8 initiator and wait for the `init` exchange; PeerConnectFailed otherwise."""
        init_wait_s = timeout_s if timeout_s is not None else self.config.init_timeout_s
        try:
            connection = await connect(
                host,
                port,
                node_id,
                self.key.private_key,
                ephemeral_key=self.entropy.private_key(f"bolt8-ephemeral/out/{self._next_count()}"),
                timeout_s=self.config.handshake_timeout_s,
            )
        except (TransportError, TimeoutError, OSError) as exc:
            raise PeerConnectFailed(f"{host}:{port}: {type(exc).__name__}: {exc}") from exc
        peer = Peer(connection, self, Direction.OUTBOUND, init_timeout_s=self.config.init_timeout_s)
        task = asyncio.ensure_future(self._run_peer(peer))
        self._peer_tasks.add(task)
        task.add_done_callback(self._peer_tasks.discard)
        try:
            await peer.wait_active(init_wait_s)
        except Exception as exc:
            await peer.disconnect("connect failed")
            raise PeerConnectFailed(f"{host}:{port}: {exc}") from exc
        return peer

    async def _run_peer(self, peer: Peer) -> Disconnect:
        previous = self._peers.get(peer.node_id)
        self._peers[peer.node_id] = peer
        if previous is not None and previous.state is not PeerState.CLOSED:
            # BOLT 1: "MUST use a single connection per peer": the newer connection wins.
            await previous.disconnect("replaced by a newer connection", cause=DisconnectCause.REPLACED)
        try:
            return await peer.run()
        finally:
            if self._peers.get(peer.node_id) is peer:
                del self._peers[peer.node_id]

    # -- observation ----------------------------------------------------------------------------------

    @property
    def peers(self) -> dict[bytes, Peer]:
        """Active or initialising peers by node id (a copy)."""
        return dict(self._peers)

    def peer(self, node_id: bytes) -> Peer | None:
        return self._peers.get(node_id)

    def disconnects(self, node_id: bytes) -> list[Disconnect]:
        """Every disconnect of that peer so far, oldest first."""
        return list(self._disconnects.get(node_id, []))

    async def wait_for_peer(self, node_id: bytes, timeout_s: float) -> Peer:
        """Wait until `node_id` is connected and has exchanged `init`."""
        await self._changed.wait_for(lambda: self._active_peer(node_id) is not None, timeout_s)
        peer = self._active_peer(node_id)
        assert peer is not None
        return peer

    async def wait_for_disconnect(self, node_id: bytes, timeout_s: float, *, after: int = 0) -> Disconnect:
        """Wait for the peer's disconnect number `after` + 1 (counting from the node's start)."""
        await self._changed.wait_for(lambda: len(self._disconnects.get(node_id, [])) > after, timeout_s)
        return self._disconnects[node_id][after]

    def _active_peer(self, node_id: bytes) -> Peer | None:
        peer = self._peers.get(node_id)
        return peer if peer is not None and peer.state is PeerState.ACTIVE else None

    @contextlib.asynccontextmanager
    async def events(self) -> AsyncIterator[asyncio.Queue[PeerEvent]]:
        """A queue receiving every event from now on, for as long as the context is open."""
        queue: asyncio.Queue[PeerEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        try:
            yield queue
        finally:
            self._subscribers.remove(queue)
