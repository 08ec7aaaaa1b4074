"""The reference node in-process: `ReferenceDriver` (a NodeDriver) and `ScriptedPeerSession` (a
PeerSession over reference_node.scripted_peer.ScriptedPeer).

Channel, invoice and on-chain operations raise UnsupportedOperation until the reference node's channel
state machine and wallet are wired in; scenarios needing them are reported as skipped with that reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Mapping
from typing import Any, NoReturn

from coincurve import PrivateKey

from harness.chain.embedded import EmbeddedChain
from harness.chain.errors import ChainError, ChainTimeout
from harness.drivers.base import (
    ChannelInfo,
    ChannelState,
    DriverError,
    Invoice,
    NodeAddress,
    NodeDriver,
    NodeInfo,
    OpenChannelOptions,
    PaymentResult,
    UnsupportedOperation,
)
from harness.drivers.peer import Direction, ExpectationFailed, PeerSession, ReceivedMessage, TraceEntry
from harness.drivers.registry import NodeSetup
from harness.scenarios.fields import build_complete, mismatches
from reference_node.chain_source import FEERATE_FLOOR_PER_KW, ChainBlock, TxBroadcastRejected, parse_block
from reference_node.node import Network, Node, NodeConfig, NodeNotStarted, PeerConnectFailed
from reference_node.nodekey import Entropy, NodeKey
from reference_node.scripted_peer import KEEPALIVE, ScriptedPeer, ScriptExpectationFailed
from reference_node.scripted_peer import TraceDirection as PeerTraceDirection
from reference_node.wire import message_to_fields
from reference_node.wire.features import Features

_CHANNELS_MISSING = "the reference node's channel state machine is not wired into the driver yet"
_WALLET_MISSING = "the reference node has no on-chain wallet wired into the driver yet"


class EmbeddedChainSource:
    """The harness's EmbeddedChain seen through the reference node's `ChainSource` protocol."""

    def __init__(self, chain: EmbeddedChain) -> None:
        self.chain = chain

    def height(self) -> int:
        return self.chain.height()

    def block_at(self, height: int) -> ChainBlock:
        return parse_block(self.chain.block(self.chain.block_hash(height)).raw, height)

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


class ReferenceDriver(NodeDriver):
    implementation = "reference"

    def __init__(self, setup: NodeSetup) -> None:
        self.setup = setup
        features = Features.from_bytes(_option_hex(setup.options, "features"))
        config = NodeConfig(network=Network.REGTEST, features=features)
        self.node = Node(
            NodeKey.from_secret(setup.private_key), config, _entropy_for(setup.private_key, "node")
        )
        self._started = False

    @classmethod
    def from_setup(cls, setup: NodeSetup) -> ReferenceDriver:
        return cls(setup)

    def _unsupported(self, operation: str, missing: str) -> NoReturn:
        raise UnsupportedOperation(f"reference ({self.setup.name})", operation, missing)

    async def start(self) -> None:
        if self.setup.defect is not None:
            self._unsupported(
                f"defect {self.setup.defect!r}", "the reference node has no defect switches yet"
            )
        await self.node.start("127.0.0.1", 0)
        self._started = True

    async def stop(self) -> None:
        if self._started:
            await self.node.stop()
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
        self._unsupported("info", "no chain backend is wired to the reference node yet (block height)")

    async def new_address(self) -> str:
        self._unsupported("new_address", _WALLET_MISSING)

    async def onchain_balance_sat(self) -> int:
        self._unsupported("onchain_balance", _WALLET_MISSING)

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
        self._unsupported("open_channel", _CHANNELS_MISSING)

    async def list_channels(self) -> list[ChannelInfo]:
        self._unsupported("list_channels", _CHANNELS_MISSING)

    async def create_invoice(self, amount_msat: int | None, description: str) -> Invoice:
        self._unsupported("create_invoice", _CHANNELS_MISSING)

    async def pay(self, bolt11: str, timeout_s: float) -> PaymentResult:
        self._unsupported("pay", _CHANNELS_MISSING)

    async def close(self, channel_id: bytes, force: bool) -> None:
        self._unsupported("close", _CHANNELS_MISSING)

    async def wait_for_channel_state(
        self, channel_id: bytes, state: ChannelState, timeout_s: float
    ) -> ChannelInfo:
        self._unsupported("wait_for_channel_state", _CHANNELS_MISSING)


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
        self, message: str, fields: Mapping[str, Any], timeout_s: float, skip_keepalive: bool = True
    ) -> ReceivedMessage:
        skip = KEEPALIVE if skip_keepalive else frozenset()
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
