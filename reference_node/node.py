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
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from reference_node.bitcoin.address import Network as AddressNetwork
from reference_node.bitcoin.tx import TxOut
from reference_node.chain_source import FEERATE_FLOOR_PER_KW, ChainSource, ChainSourceError
from reference_node.channel import ChannelState, ChannelType
from reference_node.channel.params import Side
from reference_node.channel.states import FUNDED_STATES
from reference_node.faults import Controls, Defect, Faults
from reference_node.invoice import Currency
from reference_node.nodekey import Entropy, NodeKey
from reference_node.onchain.monitor import MonitorConfig
from reference_node.onchain.service import OnchainService
from reference_node.payments.channels import (
    OPENING_STATES,
    ChannelCommandError,
    ChannelConfig,
    ChannelManager,
    ChannelSlot,
)
from reference_node.payments.service import PaymentService
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
from reference_node.store import Store
from reference_node.transport import TransportError, accept, connect
from reference_node.transport.connection import DEFAULT_HANDSHAKE_TIMEOUT_S
from reference_node.wallet import Wallet
from reference_node.wire import FeatureError, Init, InitTlvs, NetworksTlv
from reference_node.wire.features import Feature, Features, check_init_features

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
        self._paused_address: tuple[str, int] | None = None
        self._active_hooks: list[Callable[[Peer], Awaitable[None]]] = []
        self._closed_hooks: list[Callable[[bytes], None]] = []

    @property
    def node_id(self) -> bytes:
        return self.key.node_id

    # -- handlers (the dispatch table) ----------------------------------------------------------------

    def register_handler(self, message_name: str, handler: Handler) -> None:
        """Route every received `message_name` to `handler(peer, message)` (replacing any previous one)."""
        self._handlers[message_name] = handler

    def handler_for(self, name: str) -> Handler | None:
        return self._handlers.get(name)

    def add_lifecycle_hooks(
        self, on_active: Callable[[Peer], Awaitable[None]], on_closed: Callable[[bytes], None]
    ) -> None:
        """`on_active(peer)` runs after `init`, before any message is dispatched; `on_closed(node_id)` when
        an active connection ends (the channel layer uses them for BOLT 2 reestablishment)."""
        self._active_hooks.append(on_active)
        self._closed_hooks.append(on_closed)

    # -- PeerContext ----------------------------------------------------------------------------------

    async def peer_active(self, peer: Peer) -> None:
        for hook in self._active_hooks:
            await hook(peer)

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
            for hook in self._closed_hooks:
                hook(event.node_id)
        for queue in self._subscribers:
            queue.put_nowait(event)
        if isinstance(event, PeerConnected | PeerDisconnected):
            self._changed.notify()

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        """Listen on host:port (port 0: any free port). Returns the address actually bound."""
        self._server = await asyncio.start_server(self._on_inbound, host, port)
        return self.address

    async def pause_listening(self) -> None:
        """Stop accepting connections (the address is kept for `resume_listening`)."""
        if self._server is not None:
            self._paused_address = self.address
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def resume_listening(self) -> None:
        if self._server is None and self._paused_address is not None:
            host, port = self._paused_address
            self._server = await asyncio.start_server(self._on_inbound, host, port)

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None and self._paused_address is not None:
            return self._paused_address
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


# -- the node with channels, payments, wallet, store and chain -----------------------------------------------

WATCH_TIMEOUT_S = 1.0

# What a node with channels and payments announces in `init` (BOLT 9): what the channel, onion and invoice
# code implements.
LIGHTNING_FEATURES = Features.of(
    required=(
        Feature.var_onion_optin,
        Feature.option_static_remotekey,
        Feature.payment_secret,
        Feature.option_channel_type,
    ),
    optional=(Feature.option_data_loss_protect, Feature.option_anchors, Feature.option_shutdown_anysegwit),
)  # long-poll length of one wait for a block (bounds how long stop() waits)


class ChannelOpenFailed(Exception):
    """fundchannel did not reach a broadcast funding transaction."""


@dataclass(frozen=True)
class FundingResult:
    channel_id: bytes
    funding_txid: bytes  # internal byte order
    funding_output_index: int
    funding_tx: bytes


@dataclass(frozen=True)
class CloseResult:
    unilateral: bool
    tx: bytes | None


class LightningNode:
    """The reference node with everything wired: BOLT 8 peers (`node`), channels, payments, the on-chain
    wallet, the SQLite store in `data_dir`, and a chain watcher over a `ChainSource`."""

    def __init__(
        self,
        key: NodeKey,
        chain: ChainSource,
        data_dir: Path,
        config: NodeConfig | None = None,
        entropy: Entropy | None = None,
        faults: Faults | None = None,
        channel_config: ChannelConfig | None = None,
        alias: str = "boltcheck-reference",
    ) -> None:
        self.key = key
        self.chain = chain
        self.data_dir = data_dir
        self.alias = alias
        self.faults = faults or Faults()
        self.faults.check_applicable()
        self.node = Node(key, config or NodeConfig(features=LIGHTNING_FEATURES), entropy)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir / "node.sqlite3")
        node_seed = hmac.new(key.private_key.secret, b"boltcheck/node-seed", hashlib.sha256).digest()
        network = self.node.config.network
        self.wallet = Wallet(
            hmac.new(node_seed, b"wallet", hashlib.sha256).digest(), self.store, _ADDRESS_NETWORK[network]
        )
        self.controls = Controls()
        self.channels = ChannelManager(
            self.node,
            self.store,
            self.wallet,
            self,
            node_seed,
            channel_config or ChannelConfig(),
            self.faults,
            self.controls,
        )
        self.payments = PaymentService(
            self.channels, key, self.node.entropy, _CURRENCY[network], self.faults, self.controls
        )
        # BOLT 5: one on-chain monitor per channel, fed every persisted channel state and every block
        self.onchain = OnchainService(
            self.store,
            self.wallet,
            self,
            self.channels.channel_seed,
            self.channels.force_close,  # type: ignore[arg-type]
            MonitorConfig(
                no_penalty=self.faults.has(Defect.NO_PENALTY),
                no_htlc_timeout=self.faults.has(Defect.NO_HTLC_TIMEOUT),
            ),
            self.controls,
        )
        self.channels.persist_hooks.append(self.onchain.channel_persisted)
        self._height = 0
        self._feerate_per_kw = FEERATE_FLOOR_PER_KW
        self._funding_cache: dict[tuple[bytes, int], tuple[int, int, TxOut]] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._reconnector: asyncio.Task[None] | None = None
        self._block_lock = asyncio.Lock()

    @property
    def node_id(self) -> bytes:
        return self.node.node_id

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        self._height = await asyncio.to_thread(self.chain.height)
        self._feerate_per_kw = await asyncio.to_thread(self.chain.feerate_per_kw, 6)
        if self.store.get_meta("chain/scanned_height") is None:
            # a new node has nothing on chain before now (the hash lets a reorg of this block be noticed)
            self.store.block_scanned(
                self._height, await asyncio.to_thread(self.chain.block_hash, self._height)
            )
        self.channels.load()
        self.onchain.load(list(self.channels.slots.values()))
        await self._catch_up()
        self._watcher = asyncio.ensure_future(self._watch_chain())
        address = await self.node.start(host, port)
        self._reconnector = asyncio.ensure_future(self._reconnect_channel_peers())
        return address

    async def _reconnect_channel_peers(self) -> None:
        """After a restart, connect to every peer we have a live channel with and an address for (as Core
        Lightning does), so the channels reestablish without waiting for the peer."""
        live = {
            s.peer_id
            for s in self.channels.slots.values()
            if s.channel.state in FUNDED_STATES and s.channel.state is not ChannelState.CLOSED
        }
        for peer_id in sorted(live):
            address = self.store.get_meta(f"peer_address/{peer_id.hex()}")
            if address is None or self.node.peer(peer_id) is not None:
                continue
            host, _, port = address.rpartition(":")
            try:
                await self.connect(peer_id, host, int(port))
            except PeerConnectFailed as exc:
                log.info("reconnect to %s failed: %s", peer_id.hex(), exc)

    async def stop(self) -> None:
        for task in (self._watcher, self._reconnector):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._watcher = self._reconnector = None
        await self.node.stop()
        self.store.close()

    # -- ChainAccess (used by the channel layer) -------------------------------------------------------

    def current_height(self) -> int:
        return self._height

    def feerate_per_kw(self) -> int:
        return self._feerate_per_kw

    async def broadcast(self, raw: bytes) -> None:
        try:
            txid = await asyncio.to_thread(self.chain.send_raw, raw)
            log.info("broadcast %s", txid)
        except ChainSourceError as exc:
            # already in the mempool or mined (a rebroadcast after restart) is not an error worth failing on
            log.warning("broadcast refused: %s", exc)

    async def funding_output(self, txid: bytes, vout: int) -> tuple[int, int, TxOut] | None:
        cached = self._funding_cache.get((txid, vout))
        if cached is not None:
            return cached
        location = self.store.tx_location(txid)
        if location is None:
            return None
        height, tx_index = location
        block = await asyncio.to_thread(self.chain.block_at, height)
        tx = block.txs[tx_index]
        if tx.txid() != txid or vout >= len(tx.outputs):
            return None
        found = (height, tx_index, tx.outputs[vout])
        self._funding_cache[(txid, vout)] = found
        return found

    # -- chain watcher ---------------------------------------------------------------------------------

    async def _watch_chain(self) -> None:
        while True:
            try:
                tip = await asyncio.to_thread(self.chain.wait_for_block, self._scanned(), WATCH_TIMEOUT_S)
                # a tip below what we scanned is a reorg too (invalidateblock): catch up notices it
                if tip != self._scanned():
                    await self._catch_up()
            except ChainSourceError as exc:
                log.warning("chain source: %s", exc)
                await asyncio.to_thread(self.chain.wait_for_block, self._scanned(), WATCH_TIMEOUT_S)

    def _scanned(self) -> int:
        return int(self.store.get_meta("chain/scanned_height") or 0)

    async def _catch_up(self) -> None:
        async with self._block_lock:
            tip = await asyncio.to_thread(self.chain.height)
            self._feerate_per_kw = await asyncio.to_thread(self.chain.feerate_per_kw, 6)
            await self._rewind_if_reorganized(tip)
            while self._scanned() < tip:
                height = self._scanned() + 1
                block = await asyncio.to_thread(self.chain.block_at, height)
                watched = self.channels.funding_txids()
                for index, tx in enumerate(block.txs):
                    self.wallet.add_transaction(tx, height)
                    if tx.txid() in watched:
                        self.store.set_tx_location(tx.txid(), height, index)
                self._height = height
                await self.channels.on_block(height, block.txs)
                await self.onchain.on_block(height, block.txs)
                self.store.block_scanned(height, block.block_hash)

    async def _rewind_if_reorganized(self, tip: int) -> None:
        """Walk back from the last scanned block to the last one still in the active chain; what was confirmed
        above it is unconfirmed again and is scanned anew: the store forgets those blocks (the wallet's
        coins they confirmed become unconfirmed, funding locations are dropped so a channel awaiting its
        funding depth counts it again from the new branch), and every BOLT 5 monitor forgets the
        transactions they held. (A reorg that unconfirms a funding transaction after `channel_ready` is
        not handled here: that is policy work.)"""
        height = min(self._scanned(), tip)
        while height > 0:
            known = self.store.scanned_hash(height)
            if known is None or known == await asyncio.to_thread(self.chain.block_hash, height):
                break
            height -= 1
        if height < self._scanned():
            log.warning("chain reorganized: rescanning from height %d", height + 1)
            self.store.rewind_to(height)
            self._funding_cache.clear()
            self._height = height
            self.onchain.blocks_disconnected(height + 1)

    async def sync_chain(self) -> int:
        """Scan up to the chain's current tip now (tests call it instead of waiting for the watcher)."""
        await self._catch_up()
        return self._height

    # -- commands --------------------------------------------------------------------------------------

    async def connect(self, node_id: bytes, host: str, port: int, timeout_s: float = 30.0) -> Peer:
        if self.controls.offline:
            raise PeerConnectFailed("fault: the node is offline")
        peer = await self.node.connect(host, port, node_id, timeout_s=timeout_s)
        self.store.set_meta(f"peer_address/{node_id.hex()}", f"{host}:{port}")
        return peer

    async def fund_channel(
        self,
        peer_id: bytes,
        funding_satoshis: int,
        push_msat: int = 0,
        channel_type: ChannelType | None = None,
        announce: bool = True,
        feerate_per_kw: int | None = None,
        timeout_s: float = 60.0,
    ) -> FundingResult:
        """Open a channel and wait until its funding transaction is signed by both and broadcast."""
        try:
            slot = await self.channels.open_channel(
                peer_id,
                funding_satoshis,
                push_msat,
                channel_type or ChannelType(),
                announce,
                feerate_per_kw,
                self.node.entropy.random_bytes(f"temporary_channel_id/{self.store.next_counter('open')}"),
            )
        except ChannelCommandError as exc:
            raise ChannelOpenFailed(str(exc)) from exc
        data = slot.channel.data

        def settled() -> bool:
            return slot.channel.state not in OPENING_STATES

        await self.channels.changes.wait_for(settled, timeout_s)
        if slot.channel.state is ChannelState.FAILED or data.funding_tx is None or data.channel_id is None:
            raise ChannelOpenFailed(f"channel open failed: {data.failure or slot.channel.state.value}")
        assert data.funding_txid is not None and data.funding_output_index is not None
        return FundingResult(data.channel_id, data.funding_txid, data.funding_output_index, data.funding_tx)

    async def close(self, channel_ref: str, unilateral_timeout_s: float | None, force: bool) -> CloseResult:
        """Mutual close (BOLT 2 `shutdown`); unilateral if `force`, or if the mutual close does not
        complete within `unilateral_timeout_s` (Core Lightning's `close` semantics)."""
        slot = self.channels.find(channel_ref)
        if force:
            await self.channels.force_close(slot, "force close requested")
            return CloseResult(True, slot.closing_tx)
        if slot.channel.state in (ChannelState.NORMAL, ChannelState.AWAITING_CHANNEL_READY):
            await self.channels.command(slot, slot.channel.shutdown)

        def mutual_done() -> bool:
            return slot.channel.state in (
                ChannelState.CLOSING_BROADCAST,
                ChannelState.CLOSED,
                ChannelState.FAILED,
            )

        try:
            await self.channels.changes.wait_for(mutual_done, unilateral_timeout_s or 3600.0)
        except TimeoutError:
            await self.channels.force_close(slot, "mutual close timed out")
            return CloseResult(True, slot.closing_tx)
        return CloseResult(slot.channel.state is ChannelState.FAILED, slot.closing_tx)

    async def wait_for_channel(
        self, channel_ref: str, states: frozenset[ChannelState], timeout_s: float
    ) -> ChannelSlot:
        slot = self.channels.find(channel_ref)
        await self.channels.changes.wait_for(lambda: slot.channel.state in states, timeout_s)
        return slot

    async def flush_channel(self, slot: ChannelSlot, timeout_s: float) -> None:
        """Wait until nothing is in flight on the channel (no update unsigned, no revocation awaited) and
        the peer has read everything we sent on it: once the last batch has sent its messages (it holds
        the channel's lock until then), a BOLT 1 ping/pong barrier (the peer answers in order). Faults
        that cut the connection (`breach`, going offline) use it so the peer keeps every revocation."""

        def quiet() -> bool:
            ledger = slot.channel.data.ledger
            if ledger is None:
                return False
            return not ledger.remote_pending and not ledger.has_changes_for(Side.REMOTE)

        async with asyncio.timeout(timeout_s):
            while True:
                await self.channels.changes.wait_for(quiet, timeout_s)
                async with slot.lock:
                    if quiet():
                        break
            peer = self.node.peer(slot.peer_id)
            if peer is not None and peer.state is PeerState.ACTIVE:
                await peer.ping(timeout_s=timeout_s)

    async def send_raw(self, peer_id: bytes, payload: bytes) -> None:
        """Fault control: send already-encoded message bytes to a peer."""
        peer = self.node.peer(peer_id)
        if peer is None:
            raise PeerConnectFailed(f"not connected to {peer_id.hex()}")
        await peer.send_raw(payload)

    async def go_offline(self, offline: bool) -> None:
        """Fault control: stop listening, disconnect every peer and refuse outbound connections; or come
        back, listening on the same address again."""
        if offline and not self.controls.offline:
            self.controls.offline = True
            await self.node.pause_listening()
            for peer in list(self.node.peers.values()):
                await peer.disconnect("fault: going offline")
        elif not offline and self.controls.offline:
            self.controls.offline = False
            await self.node.resume_listening()


_ADDRESS_NETWORK = {
    Network.MAINNET: AddressNetwork.MAINNET,
    Network.TESTNET: AddressNetwork.TESTNET,
    Network.REGTEST: AddressNetwork.REGTEST,
}
_CURRENCY = {
    Network.MAINNET: Currency.BITCOIN,
    Network.TESTNET: Currency.TESTNET,
    Network.REGTEST: Currency.REGTEST,
}
