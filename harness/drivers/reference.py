"""The reference node in-process: `ReferenceDriver` (a NodeDriver) and `ScriptedPeerSession` (a
PeerSession over reference_node.scripted_peer.ScriptedPeer), plus `EmbeddedChainSource`, the adapter that
lets the node (which never imports the harness) use the harness's EmbeddedChain.

Channel, invoice and on-chain operations need the scenario's EmbeddedChain (`setup.chain`); without it they
raise UnsupportedOperation and the scenario is reported as skipped with that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from coincurve import PrivateKey

from harness.chain.bitcoind import BitcoindChain
from harness.chain.embedded import EmbeddedChain
from harness.chain.errors import ChainError, ChainTimeout
from harness.chain.rpc_server import ChainRpcServer
from harness.drivers.base import (
    ChannelInfo,
    ChannelState,
    DriverError,
    Invoice,
    NodeAddress,
    NodeDriver,
    NodeInfo,
    OpenChannelOptions,
    OutPoint,
    PaymentResult,
    UnsupportedOperation,
    WaitTimeout,
)
from harness.drivers.bitcoind_source import BitcoindBackendSource
from harness.drivers.peer import Direction, ExpectationFailed, PeerSession, ReceivedMessage, TraceEntry
from harness.drivers.registry import NodeSetup
from harness.scenarios.fields import build_complete, mismatches
from reference_node.chain_source import FEERATE_FLOOR_PER_KW, ChainBlock, TxBroadcastRejected, parse_block
from reference_node.channel import ChannelState as RefChannelState
from reference_node.channel import ChannelType
from reference_node.faults import Faults, UnknownDefect, UnsupportedDefect
from reference_node.gossip_sync import GossipConfig
from reference_node.node import (
    LIGHTNING_FEATURES,
    ChannelOpenFailed,
    LightningNode,
    Network,
    Node,
    NodeConfig,
    NodeNotStarted,
    PeerConnectFailed,
)
from reference_node.nodekey import NODE_KEY_FILE, Entropy, NodeKey
from reference_node.pay import Multihop, MultihopConfig, enable_multihop
from reference_node.payments.channels import ChannelCommandError, ChannelSlot, scid_text
from reference_node.payments.service import PaymentError
from reference_node.rpc import CLN_STATE
from reference_node.scripted_peer import GOSSIP_TRAFFIC, KEEPALIVE, ScriptedPeer, ScriptExpectationFailed
from reference_node.scripted_peer import TraceDirection as PeerTraceDirection
from reference_node.store import PaymentStatus
from reference_node.unix_socket import open_unix_connection
from reference_node.wire import message_to_fields
from reference_node.wire.features import Feature, Features

PROCESS_READY_TIMEOUT_S = 60.0
_GOSSIP_FLUSH_S = 0.05
_CHANNELS_MISSING = "the scenario gave the reference node no EmbeddedChain (setup.chain)"


class EmbeddedChainSource:
    """The harness's EmbeddedChain seen through the reference node's `ChainSource` protocol."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self.chain = chain

    def height(self) -> int:
        return self.chain.height()

    def block_at(self, height: int) -> ChainBlock:
        return parse_block(self.chain.block(self.chain.block_hash(height)).raw, height)

    def block_hash(self, height: int) -> str:
        return self.chain.block_hash(height)

    def send_raw(self, raw: bytes) -> str:
        try:
            return self.chain.send_raw(raw)
        except ChainError as exc:
            raise TxBroadcastRejected(str(exc)) from exc

    def feerate_per_kw(self, target_blocks: int) -> int:
        sat_per_kvb = self.chain.estimate_fee(target_blocks).feerate_sat_per_kvb
        return max(FEERATE_FLOOR_PER_KW, sat_per_kvb // 4)  # 1 vbyte = 4 weight units

    def wait_for_block(self, known_height: int, timeout_s: float) -> int:
        with contextlib.suppress(ChainTimeout):
            self.chain.wait_for_height(known_height + 1, timeout_s)
        return self.chain.height()

    def close(self) -> None:
        """The chain belongs to the harness; it closes it."""


def _chain_source(chain: EmbeddedChain | BitcoindChain) -> EmbeddedChainSource | BitcoindBackendSource:
    """The node's view of the scenario's chain: in-process calls, or bitcoind RPC for `--chain bitcoind`."""
    if isinstance(chain, BitcoindChain):
        return BitcoindBackendSource(chain)
    return EmbeddedChainSource(chain)


def _entropy_for(private_key: bytes, label: str) -> Entropy:
    return Entropy(hashlib.sha256(b"boltcheck-entropy/" + label.encode() + private_key).digest())


def _option_hex(options: Mapping[str, Any], key: str) -> bytes:
    value = options.get(key, "")
    if not isinstance(value, str):
        raise DriverError(f"node option {key!r} must be a hex string, got {value!r}")
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise DriverError(f"node option {key!r}: not hex: {exc}") from exc


_NORMALIZED: dict[RefChannelState, ChannelState] = {
    RefChannelState.OPENER_INIT: ChannelState.OPENING,
    RefChannelState.OPEN_CHANNEL_SENT: ChannelState.OPENING,
    RefChannelState.AWAITING_FUNDING_TX: ChannelState.OPENING,
    RefChannelState.FUNDING_CREATED_SENT: ChannelState.OPENING,
    RefChannelState.ACCEPTER_INIT: ChannelState.OPENING,
    RefChannelState.ACCEPT_CHANNEL_SENT: ChannelState.OPENING,
    RefChannelState.AWAITING_CHANNEL_READY: ChannelState.AWAITING_LOCKIN,
    RefChannelState.NORMAL: ChannelState.NORMAL,
    RefChannelState.SHUTTING_DOWN: ChannelState.SHUTTING_DOWN,
    RefChannelState.NEGOTIATING_CLOSING: ChannelState.CLOSING,
    RefChannelState.CLOSING_BROADCAST: ChannelState.CLOSING,
    RefChannelState.FAILED: ChannelState.CLOSING,
    RefChannelState.CLOSED: ChannelState.CLOSED,
}


class ReferenceDriver(NodeDriver):
    """The reference node in-process. With an EmbeddedChain in `setup.chain` it is the complete node
    (wallet, channels, payments, defects); without one, a connection-level node (channel operations are
    UnsupportedOperation). Node option `gossip: true` (with a chain) also runs BOLT 7 gossip: the graph,
    relay, `gossip_queries` offered and queries answered (what other implementations always do)."""

    implementation = "reference"

    def __init__(self, setup: NodeSetup) -> None:
        self.setup = setup
        features = Features.from_bytes(_option_hex(setup.options, "features"))
        chain = getattr(setup, "chain", None)
        # --chain bitcoind gives a BitcoindChain (a bitcoind, or `boltcheck chain`, over RPC)
        self.chain = chain if isinstance(chain, EmbeddedChain | BitcoindChain) else None
        if self.chain is not None and not features.set_bits():
            features = LIGHTNING_FEATURES
        gossip = setup.options.get("gossip", False)
        if not isinstance(gossip, bool):
            raise DriverError(f"node option 'gossip' must be true or false, got {gossip!r}")
        self.gossip_enabled = gossip
        if gossip:
            features = features.set(Feature.gossip_queries)
        self.config = NodeConfig(network=Network.REGTEST, features=features)
        self.multihop: Multihop | None = None
        self.key = NodeKey.from_secret(setup.private_key)
        self.lightning: LightningNode | None = None
        self.node = Node(self.key, self.config, _entropy_for(setup.private_key, "node"))
        self._started = False

    @classmethod
    def from_setup(cls, setup: NodeSetup) -> ReferenceDriver:
        return cls(setup)

    def _unsupported(self, operation: str, missing: str) -> NoReturn:
        raise UnsupportedOperation(f"reference ({self.setup.name})", operation, missing)

    def _ln(self, operation: str) -> LightningNode:
        if self.lightning is None:
            self._unsupported(operation, _CHANNELS_MISSING)
        return self.lightning

    async def start(self) -> None:
        if self.chain is None:
            if self.setup.defect is not None:
                self._unsupported(f"defect {self.setup.defect!r}", "defects need the node with a chain")
            await self.node.start("127.0.0.1", 0)
        else:
            try:
                faults = Faults.parse([self.setup.defect] if self.setup.defect else [])
                self.lightning = LightningNode(
                    self.key,
                    _chain_source(self.chain),
                    self.setup.workdir / self.setup.name,
                    self.config,
                    _entropy_for(self.setup.private_key, "node"),
                    faults,
                )
            except UnsupportedDefect as exc:
                self._unsupported(f"defect {self.setup.defect!r}", str(exc))
            except UnknownDefect as exc:
                raise DriverError(f"{self.setup.name}: {exc}") from exc
            self.node = self.lightning.node
            if self.gossip_enabled:
                # BOLT 7 "SHOULD flush outgoing gossip messages once every 60 seconds": a scenario flushes
                # at once, so what a step checks does not wait a minute
                gossip = GossipConfig(broadcast_interval_s=_GOSSIP_FLUSH_S)
                self.multihop = enable_multihop(self.lightning, MultihopConfig(gossip=gossip))
            await self.lightning.start("127.0.0.1", 0)
            if self.multihop is not None:
                self.multihop.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            if self.multihop is not None:
                await self.multihop.stop()
                self.multihop = None
            if self.lightning is not None:
                await self.lightning.stop()
                self.lightning = None
            else:
                await self.node.stop()
            self._started = False

    async def kill(self) -> None:
        """In-process stand-in for SIGKILL: the chain watcher and every peer task are cancelled and the
        listener closed, with no disconnect announced and nothing saved beyond what the store already
        committed; `start` then restores the node from its data directory."""
        ln = self._ln("kill")
        if self.multihop is not None:
            await self.multihop.stop()
            self.multihop = None
        tasks = [t for t in (ln._watcher, *ln.node._peer_tasks) if t is not None]
        if ln.node._server is not None:
            ln.node._server.close()
            ln.node._server = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        ln.store.close()
        self.lightning = None
        self._started = False

    @property
    def node_id(self) -> bytes:
        return self.node.node_id

    @property
    def address(self) -> NodeAddress:
        try:
            host, port = self.node.address
        except NodeNotStarted as exc:
            raise DriverError(f"{self.setup.name}: not started") from exc
        return NodeAddress(self.node.node_id, host, port)

    async def info(self) -> NodeInfo:
        ln = self._ln("info")
        height = await ln.sync_chain()
        return NodeInfo(
            self.node_id, ln.alias, self.implementation, "0.1", height, self.config.features.to_bytes()
        )

    async def new_address(self) -> str:
        return self._ln("new_address").wallet.new_address()

    async def onchain_balance_sat(self) -> int:
        ln = self._ln("onchain_balance")
        await ln.sync_chain()
        return ln.wallet.balance_sat()

    async def connect(self, peer: NodeAddress, timeout_s: float) -> None:
        try:
            await self.node.connect(peer.host, peer.port, peer.node_id, timeout_s=timeout_s)
        except PeerConnectFailed as exc:
            raise DriverError(f"{self.setup.name}: connect to {peer}: {exc}") from exc

    async def disconnect(self, peer_id: bytes, timeout_s: float) -> None:
        peer = self.node.peer(peer_id)
        if peer is None:
            raise DriverError(f"{self.setup.name}: not connected to {peer_id.hex()}")
        before = len(self.node.disconnects(peer_id))
        await peer.disconnect("disconnect requested by the scenario")
        await self.node.wait_for_disconnect(peer_id, timeout_s, after=before)

    async def open_channel(
        self, peer_id: bytes, amount_sat: int, push_msat: int, options: OpenChannelOptions
    ) -> ChannelInfo:
        ln = self._ln("open_channel")
        channel_type = ChannelType(anchors=options.channel_type == "anchors")
        try:
            result = await ln.fund_channel(
                peer_id, amount_sat, push_msat, channel_type, options.announce, options.feerate_per_kw
            )
        except ChannelOpenFailed as exc:
            raise DriverError(f"{self.setup.name}: open_channel: {exc}") from exc
        return self._info(ln.channels.find(result.channel_id.hex()))

    def _info(self, slot: ChannelSlot) -> ChannelInfo:
        data = slot.channel.data
        ours_msat, theirs_msat = (0, 0) if data.ledger is None else slot.channel.balances_msat()
        outpoint = None
        if data.funding_txid is not None and data.funding_output_index is not None:
            outpoint = OutPoint(data.funding_txid[::-1].hex(), data.funding_output_index)
        return ChannelInfo(
            peer_id=slot.peer_id,
            channel_id=data.channel_id or data.temporary_channel_id,
            state=_NORMALIZED[slot.channel.state],
            funding_outpoint=outpoint,
            short_channel_id=None if data.short_channel_id is None else scid_text(data.short_channel_id),
            capacity_sat=data.funding_satoshis,
            local_balance_msat=ours_msat,
            remote_balance_msat=theirs_msat,
        )

    async def list_channels(self) -> list[ChannelInfo]:
        ln = self._ln("list_channels")
        return [self._info(s) for s in ln.channels.slots.values()]

    async def create_invoice(self, amount_msat: int | None, description: str) -> Invoice:
        ln = self._ln("create_invoice")
        label = f"driver-{ln.store.next_counter('driver-invoice')}"
        row = ln.payments.create_invoice(amount_msat, label, description)
        return Invoice(row.bolt11, row.payment_hash, row.amount_msat)

    async def pay(self, bolt11: str, timeout_s: float) -> PaymentResult:
        ln = self._ln("pay")
        # The payer sets the final cltv_expiry from its own block height plus one block of margin; a payee
        # whose watcher saw the last blocks first would refuse it as too near (BOLT 4 final node:
        # incorrect_or_unknown_payment_details). Over bitcoind RPC the watchers lag unequally, so the
        # payer scans to the tip first: the scenario's payments do not depend on which watcher woke first.
        await ln.sync_chain()
        try:
            row = await ln.payments.pay(bolt11, None, timeout_s)
        except PaymentError as exc:
            raise DriverError(f"{self.setup.name}: pay: {exc}") from exc
        return PaymentResult(
            row.payment_hash, row.status is PaymentStatus.COMPLETE, row.preimage, row.failure
        )

    async def close(self, channel_id: bytes, force: bool) -> None:
        ln = self._ln("close")
        try:
            await ln.close(channel_id.hex(), 60.0, force)
        except ChannelCommandError as exc:
            raise DriverError(f"{self.setup.name}: close: {exc}") from exc

    async def wait_for_channel_state(
        self, channel_id: bytes, state: ChannelState, timeout_s: float
    ) -> ChannelInfo:
        ln = self._ln("wait_for_channel_state")
        wanted = frozenset(s for s, n in _NORMALIZED.items() if n is state)
        try:
            slot = await ln.wait_for_channel(channel_id.hex(), wanted, timeout_s)
        except TimeoutError as exc:
            raise WaitTimeout(
                f"{self.setup.name}: channel {channel_id.hex()} not {state.value} in {timeout_s}s"
            ) from exc
        return self._info(slot)


class ScriptedPeerSession(PeerSession):
    """Node options read: `features`, `globalfeatures` (hex, for the `init` it sends when connect
    exchanges init), `networks` (list of chain hashes in hex; default: regtest's)."""

    def __init__(self, setup: NodeSetup) -> None:
        self.setup = setup
        self.key = PrivateKey(setup.private_key)
        self.entropy = _entropy_for(setup.private_key, "scripted-peer")
        self.features = _option_hex(setup.options, "features")
        self.globalfeatures = _option_hex(setup.options, "globalfeatures")
        networks = setup.options.get("networks")
        if networks is None:
            self.networks: list[bytes] = [Network.REGTEST.chain_hash]
        elif isinstance(networks, list) and all(isinstance(n, str) for n in networks):
            self.networks = [bytes.fromhex(n) for n in networks]
        else:
            raise DriverError(f"{setup.name}: option networks must be a list of hex chain hashes")
        self.started_at = time.time()
        self.peer: ScriptedPeer | None = None
        self.events: list[TraceEntry] = []
        self.previous_traces: list[TraceEntry] = []

    @classmethod
    def from_setup(cls, setup: NodeSetup) -> ScriptedPeerSession:
        return cls(setup)

    def _event(self, name: str, **fields: Any) -> None:
        self.events.append(TraceEntry(Direction.EVENT, name, time.time() - self.started_at, fields))

    def _connected(self) -> ScriptedPeer:
        if self.peer is None:
            raise DriverError(f"{self.setup.name} is not connected: add a connect step first")
        return self.peer

    async def connect(self, target: NodeAddress, exchange_init: bool, timeout_s: float) -> None:
        if self.peer is not None:
            self.previous_traces.extend(self._peer_trace())
            await self.peer.close()
        self._event("connect", to=str(target))
        self.peer = await ScriptedPeer.connect(
            target.host, target.port, target.node_id, key=self.key, entropy=self.entropy, timeout_s=timeout_s
        )
        if exchange_init:
            try:
                await self.peer.exchange_init(
                    features=self.features,
                    globalfeatures=self.globalfeatures,
                    networks=self.networks,
                    timeout_s=timeout_s,
                )
            except ScriptExpectationFailed as exc:
                raise ExpectationFailed(f"init exchange: {exc}") from exc

    async def send(self, message: str, fields: Mapping[str, Any]) -> None:
        await self._connected().send(build_complete(message, fields))

    async def send_raw(self, data: bytes) -> None:
        await self._connected().send_raw(data)

    async def expect(
        self,
        message: str,
        fields: Mapping[str, Any],
        timeout_s: float,
        skip_keepalive: bool = True,
        *,
        skip_gossip: bool = False,
    ) -> ReceivedMessage:
        skip = (KEEPALIVE if skip_keepalive else frozenset()) | (
            GOSSIP_TRAFFIC if skip_gossip else frozenset()
        )
        try:
            received = await self._connected().expect(message, timeout_s, skip=skip)
        except ScriptExpectationFailed as exc:
            raise ExpectationFailed(str(exc)) from exc
        actual = message_to_fields(received)
        problems = mismatches(fields, actual)
        if problems:
            raise ExpectationFailed(f"{message}: " + "; ".join(problems))
        return ReceivedMessage(received.NAME, actual)

    async def expect_error_or_warning(self, timeout_s: float) -> ReceivedMessage:
        try:
            received = await self._connected().expect_error_or_warning(timeout_s)
        except ScriptExpectationFailed as exc:
            raise ExpectationFailed(str(exc)) from exc
        return ReceivedMessage(received.NAME, message_to_fields(received))

    async def expect_disconnect(self, timeout_s: float) -> None:
        try:
            disconnected = await self._connected().expect_disconnect(timeout_s)
        except ScriptExpectationFailed as exc:
            raise ExpectationFailed(str(exc)) from exc
        self._event("disconnected", detail=disconnected.detail)

    async def expect_no_disconnect(self, timeout_s: float) -> None:
        try:
            await self._connected().sync(timeout_s)
        except ScriptExpectationFailed as exc:
            raise ExpectationFailed(f"ping barrier: {exc}") from exc

    def _peer_trace(self) -> list[TraceEntry]:
        if self.peer is None:
            return []
        return [
            TraceEntry(
                Direction.SENT if entry.direction is PeerTraceDirection.SENT else Direction.RECEIVED,
                entry.name,
                entry.timestamp - self.started_at,
                entry.fields,
                entry.raw.hex(),
            )
            for entry in self.peer.trace
        ]

    def trace(self) -> list[TraceEntry]:
        return sorted([*self.previous_traces, *self._peer_trace(), *self.events], key=lambda e: e.elapsed_s)

    async def close(self) -> None:
        if self.peer is not None and not self.peer.disconnected:
            self._event("close")
            await self.peer.close()


class RpcUnixClient:
    """A minimal client of the node's Core Lightning-style JSON-RPC on a unix socket (one request per
    connection, a reply ends with a blank line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._next_id = 0

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, timeout_s: float = 120.0
    ) -> Any:
        self._next_id += 1
        request: dict[str, Any] = {
            "jsonrpc": "2.0",
            "id": f"boltcheck:{method}#{self._next_id}",
            "method": method,
            "params": dict(params or {}),
        }
        async with asyncio.timeout(timeout_s):
            reader, writer = await open_unix_connection(self.path)
            try:
                writer.write(json.dumps(request).encode())
                await writer.drain()
                raw = await reader.readuntil(b"\n\n")
            finally:
                writer.close()
        reply = json.loads(raw)
        if "error" in reply:
            error = reply["error"]
            raise DriverError(f"{method}: {error.get('message')} (code {error.get('code')})")
        return reply["result"]


class ReferenceProcessDriver(NodeDriver):
    """The reference node as a `boltcheck node` process, on the scenario's EmbeddedChain (served to it over
    a bitcoind-compatible RPC on 127.0.0.1), driven over its JSON-RPC. The node key is the scenario's."""

    implementation = "reference"

    def __init__(self, setup: NodeSetup) -> None:
        chain = getattr(setup, "chain", None)
        if not isinstance(chain, EmbeddedChain):
            raise UnsupportedOperation(f"reference-process ({setup.name})", "start", _CHANNELS_MISSING)
        self.setup = setup
        self.chain = chain
        self.data_dir = setup.workdir / setup.name
        self._server: ChainRpcServer | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._ready: dict[str, Any] = {}
        self._key = NodeKey.from_secret(setup.private_key)
        self._labels = 0

    @classmethod
    def from_setup(cls, setup: NodeSetup) -> ReferenceProcessDriver:
        return cls(setup)

    @property
    def rpc(self) -> RpcUnixClient:
        if not self._ready.get("rpc"):
            raise DriverError(f"{self.setup.name}: not started")
        return RpcUnixClient(Path(self._ready["rpc"]))

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key_file = self.data_dir / NODE_KEY_FILE
        if not key_file.exists():
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(self.setup.private_key.hex() + "\n")
        password = secrets.token_hex(16)
        self._server = ChainRpcServer(self.chain, port=0, user="boltcheck", password=password)
        self._server.start()
        args = [
            sys.executable,
            "-m",
            "harness.cli",
            "node",
            "--data-dir",
            str(self.data_dir),
            "--listen",
            "127.0.0.1:0",
            "--chain",
            f"http://boltcheck:{password}@127.0.0.1:{self._server.port}",
        ]
        if self.setup.defect:
            args += ["--defect", self.setup.defect]
        log_file = (self.data_dir / "node.log").open("a")
        self._process = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=log_file
        )
        log_file.close()
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), PROCESS_READY_TIMEOUT_S)
        if not line:
            await self._process.wait()
            tail = (self.data_dir / "node.log").read_text(errors="replace")[-2000:]
            raise DriverError(f"{self.setup.name}: boltcheck node exited: {tail}")
        self._ready = json.loads(line)

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(DriverError, OSError):
                await self.rpc.call("stop")
            try:
                await asyncio.wait_for(self._process.wait(), PROCESS_READY_TIMEOUT_S)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        self._process = None
        self._ready = {}
        if self._server is not None:
            self._server.close()
            self._server = None

    @property
    def node_id(self) -> bytes:
        return self._key.node_id

    @property
    def address(self) -> NodeAddress:
        if not self._ready:
            raise DriverError(f"{self.setup.name}: not started")
        host, port = str(self._ready["address"]).rsplit(":", 1)
        return NodeAddress(self.node_id, host, int(port))

    async def info(self) -> NodeInfo:
        await self.rpc.call("dev-sync")
        info = await self.rpc.call("getinfo")
        features = bytes.fromhex(info["our_features"]["init"])
        return NodeInfo(
            self.node_id, info["alias"], self.implementation, info["version"], info["blockheight"], features
        )

    async def new_address(self) -> str:
        return str((await self.rpc.call("newaddr"))["bech32"])

    async def onchain_balance_sat(self) -> int:
        await self.rpc.call("dev-sync")
        funds = await self.rpc.call("listfunds")
        return sum(int(o["amount_msat"]) for o in funds["outputs"]) // 1000

    async def connect(self, peer: NodeAddress, timeout_s: float) -> None:
        params = {"id": peer.node_id.hex(), "host": peer.host, "port": peer.port}
        await self.rpc.call("connect", params, timeout_s)

    async def disconnect(self, peer_id: bytes, timeout_s: float) -> None:
        await self.rpc.call("disconnect", {"id": peer_id.hex()}, timeout_s)

    async def open_channel(
        self, peer_id: bytes, amount_sat: int, push_msat: int, options: OpenChannelOptions
    ) -> ChannelInfo:
        params: dict[str, Any] = {
            "id": peer_id.hex(),
            "amount": amount_sat,
            "push_msat": push_msat,
            "announce": options.announce,
            "channel_type": [12, 22] if options.channel_type == "anchors" else [12],
        }
        if options.feerate_per_kw is not None:
            params["feerate"] = f"{options.feerate_per_kw}perkw"
        result = await self.rpc.call("fundchannel", params)
        return await self._channel(bytes.fromhex(result["channel_id"]))

    async def _channel(self, channel_id: bytes) -> ChannelInfo:
        for channel in await self.list_channels():
            if channel.channel_id == channel_id:
                return channel
        raise DriverError(f"{self.setup.name}: no channel {channel_id.hex()}")

    async def list_channels(self) -> list[ChannelInfo]:
        channels = (await self.rpc.call("listpeerchannels"))["channels"]
        return [_channel_info(c) for c in channels if "channel_id" in c]

    async def create_invoice(self, amount_msat: int | None, description: str) -> Invoice:
        self._labels += 1
        label = f"driver-{secrets.token_hex(4)}-{self._labels}"
        params = {"amount_msat": "any" if amount_msat is None else amount_msat, "label": label}
        result = await self.rpc.call("invoice", {**params, "description": description})
        return Invoice(result["bolt11"], bytes.fromhex(result["payment_hash"]), amount_msat)

    async def pay(self, bolt11: str, timeout_s: float) -> PaymentResult:
        try:
            result = await self.rpc.call(
                "pay", {"bolt11": bolt11, "retry_for": int(timeout_s)}, timeout_s + 30
            )
        except DriverError as exc:
            decoded = await self.rpc.call("decodepay", {"bolt11": bolt11})
            return PaymentResult(bytes.fromhex(decoded["payment_hash"]), False, None, str(exc))
        preimage = result.get("payment_preimage")
        return PaymentResult(
            bytes.fromhex(result["payment_hash"]),
            result["status"] == "complete",
            None if preimage is None else bytes.fromhex(preimage),
            None if result["status"] == "complete" else result["status"],
        )

    async def close(self, channel_id: bytes, force: bool) -> None:
        if force:
            await self.rpc.call("dev-fail", {"id": channel_id.hex()})
        else:
            await self.rpc.call("close", {"id": channel_id.hex(), "unilateraltimeout": 60})

    async def wait_for_channel_state(
        self, channel_id: bytes, state: ChannelState, timeout_s: float
    ) -> ChannelInfo:
        names = sorted({name for ref, name in CLN_STATE.items() if _NORMALIZED[ref] is state})
        try:
            await self.rpc.call(
                "dev-wait-state",
                {"id": channel_id.hex(), "states": names, "timeout": timeout_s},
                timeout_s + 30,
            )
        except DriverError as exc:
            raise WaitTimeout(f"{self.setup.name}: {exc}") from exc
        return await self._channel(channel_id)


_CLN_NORMALIZED = {name: _NORMALIZED[state] for state, name in CLN_STATE.items()}


def _channel_info(channel: Mapping[str, Any]) -> ChannelInfo:
    outpoint = None
    if "funding_txid" in channel:
        outpoint = OutPoint(str(channel["funding_txid"]), int(channel["funding_outnum"]))
    to_us_msat = int(channel["to_us_msat"])
    return ChannelInfo(
        peer_id=bytes.fromhex(channel["peer_id"]),
        channel_id=bytes.fromhex(channel["channel_id"]),
        state=_CLN_NORMALIZED[str(channel["state"])],
        funding_outpoint=outpoint,
        short_channel_id=channel.get("short_channel_id"),
        capacity_sat=int(channel["total_msat"]) // 1000,
        local_balance_msat=to_us_msat,
        remote_balance_msat=int(channel["total_msat"]) - to_us_msat,
    )
