"""NodeDriver: the one small interface every implementation under test is driven through.

Drivers normalize names and units (amounts in `_sat` / `_msat`, channel states as `ChannelState`), so
a scenario never sees implementation-specific fields. Every wait takes a timeout and polls or awaits an
event; none sleeps. An operation a driver cannot do yet raises `UnsupportedOperation` naming what is
missing: the executor reports the scenario as skipped with that reason.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, runtime_checkable


class DriverError(RuntimeError):
    """The node under test (or its driver) failed an operation; carries what and on which node."""


class UnsupportedOperation(DriverError):
    """The driver cannot do this yet; the message says what is missing (a skip, not a failure)."""

    def __init__(self, driver: str, operation: str, missing: str) -> None:
        super().__init__(f"{driver}: {operation} is not supported yet ({missing})")
        self.driver = driver
        self.operation = operation
        self.missing = missing


class WaitTimeout(DriverError):
    """A wait for a state did not complete within its timeout."""


@dataclass(frozen=True)
class NodeAddress:
    """Where to reach a node over BOLT 8: its node_id (33-byte compressed pubkey) and TCP endpoint."""

    node_id: bytes
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.node_id.hex()}@{self.host}:{self.port}"


@dataclass(frozen=True)
class NodeInfo:
    node_id: bytes
    alias: str
    implementation: str
    version: str
    block_height: int
    features: bytes = b""


class ChannelState(Enum):
    """Normalized channel lifecycle (BOLT 2), the same for every implementation."""

    OPENING = "opening"  # open_channel .. funding_signed
    AWAITING_LOCKIN = "awaiting_lockin"  # funding broadcast, waiting for channel_ready
    NORMAL = "normal"
    SHUTTING_DOWN = "shutting_down"
    CLOSING = "closing"  # closing tx negotiated or commitment broadcast, not yet deep
    CLOSED = "closed"


@dataclass(frozen=True)
class OutPoint:
    txid: str  # hex, RPC byte order
    vout: int


@dataclass(frozen=True)
class ChannelInfo:
    peer_id: bytes
    channel_id: bytes
    state: ChannelState
    funding_outpoint: OutPoint | None
    short_channel_id: str | None  # "BLOCKxTXxOUT" (BOLT 7)
    capacity_sat: int
    local_balance_msat: int
    remote_balance_msat: int


@dataclass(frozen=True)
class OpenChannelOptions:
    announce: bool = True
    feerate_per_kw: int | None = None
    channel_type: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Invoice:
    bolt11: str
    payment_hash: bytes
    amount_msat: int | None


@dataclass(frozen=True)
class PaymentResult:
    payment_hash: bytes
    succeeded: bool
    preimage: bytes | None  # recorded only in memory; reports show the hash, never the preimage
    failure: str | None = None


@runtime_checkable
class ChainFollowing(Protocol):
    """Optional capability: a node out of the harness's process that reads the chain on its own schedule
    (Core Lightning polls bitcoind every second, LDK when asked). `sync` returns once the node has
    processed every block its chain has now, so mining steps can let it react between blocks (BOLT 5
    deadlines count blocks: a node that has not seen them cannot act in time)."""

    async def sync(self) -> int: ...


@runtime_checkable
class PreimageHolding(Protocol):
    """Optional capability (DESIGN.md "Faults": withhold a preimage) of a node of another implementation:
    HTLCs paid to it stay pending until released; released after a force close, the node claims them
    on chain with the preimage (BOLT 5: a preimage learned late)."""

    async def hold_preimages(self) -> None: ...

    async def release_held_htlcs(self, channel_id: bytes) -> int: ...

    async def release_preimages(self, channel_id: bytes) -> int: ...


@runtime_checkable
class ResolutionReporting(Protocol):
    """Optional capability: the node says when a closed channel is *irrevocably resolved* (BOLT 5: every
    output spent by a transaction at least 100 blocks deep), so mining steps wait for it too."""

    async def channel_irrevocably_resolved(self, channel_id: bytes) -> bool: ...


class NodeDriver(abc.ABC):
    """Drive one Lightning node. Implementations: ReferenceDriver (in-process), later Cln/Lnd drivers."""

    #: the implementation name reports show ("reference", "cln", "lnd")
    implementation: str = "unknown"

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    @abc.abstractmethod
    def node_id(self) -> bytes: ...

    @property
    @abc.abstractmethod
    def address(self) -> NodeAddress: ...

    @abc.abstractmethod
    async def info(self) -> NodeInfo: ...

    @abc.abstractmethod
    async def new_address(self) -> str: ...

    @abc.abstractmethod
    async def onchain_balance_sat(self) -> int: ...

    @abc.abstractmethod
    async def connect(self, peer: NodeAddress, timeout_s: float) -> None: ...

    @abc.abstractmethod
    async def disconnect(self, peer_id: bytes, timeout_s: float) -> None: ...

    @abc.abstractmethod
    async def open_channel(
        self, peer_id: bytes, amount_sat: int, push_msat: int, options: OpenChannelOptions
    ) -> ChannelInfo: ...

    @abc.abstractmethod
    async def list_channels(self) -> list[ChannelInfo]: ...

    @abc.abstractmethod
    async def create_invoice(self, amount_msat: int | None, description: str) -> Invoice: ...

    @abc.abstractmethod
    async def pay(self, bolt11: str, timeout_s: float) -> PaymentResult: ...

    @abc.abstractmethod
    async def close(self, channel_id: bytes, force: bool) -> None: ...

    @abc.abstractmethod
    async def wait_for_channel_state(
        self, channel_id: bytes, state: ChannelState, timeout_s: float
    ) -> ChannelInfo: ...
