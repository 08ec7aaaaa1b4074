"""Message-level steps: the reference node as a scripted peer talks to a node one message at a time.

Each step uses the scenario's PeerSession for its `peer` node (implementation: scripted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.drivers.peer import Direction, ExpectationFailed
from harness.scenarios.fields import build_complete, mismatches
from harness.scenarios.registry import register_step
from harness.scenarios.step import HexBytes, MessageFields, NodeName, PeerName, Step, StepContext
from reference_node.wire import UnknownMessageNameError, WireError, message_class
from reference_node.wire.message import message_class_by_type

DEFAULT_TIMEOUT_S = 10.0


def _check_message_name(message: str) -> None:
    try:
        message_class(message)
    except UnknownMessageNameError as exc:
        raise ValueError(
            f"unknown message {message!r} (BOLT 1/2/7 names, e.g. init, ping, open_channel)"
        ) from exc


@register_step
@dataclass(frozen=True)
class Connect(Step):
    """`peer` opens a connection to `to`: BOLT 8 handshake and, unless `exchange_init: false`,
    the BOLT 1 `init` exchange. A driven node as `peer` connects through its driver instead."""

    NAME = "connect"
    SUMMARY = "connect a node (usually a scripted peer) to another node"
    USES_CHAIN = False
    peer: NodeName
    to: NodeName
    exchange_init: bool = True
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check_arguments(self) -> None:
        if self.peer == self.to:
            raise ValueError("a node cannot connect to itself")

    async def run(self, ctx: StepContext) -> str | None:
        target = ctx.address(self.to)
        if ctx.is_peer(self.peer):
            await ctx.peer(self.peer).connect(target, self.exchange_init, self.timeout_s)
        else:
            await ctx.driver(self.peer).connect(target, self.timeout_s)
        return f"{self.peer} connected to {self.to}" + (" (init exchanged)" if self.exchange_init else "")


@register_step
@dataclass(frozen=True)
class Disconnect(Step):
    NAME = "disconnect"
    SUMMARY = "the scripted peer closes its connection"
    USES_CHAIN = False
    peer: PeerName

    async def run(self, ctx: StepContext) -> str | None:
        await ctx.peer(self.peer).close()
        return f"{self.peer} closed the connection"


@register_step
@dataclass(frozen=True)
class Send(Step):
    """Send one message: the fields given, every other field a neutral value (zeros, empty)."""

    NAME = "send"
    SUMMARY = "the scripted peer sends one message"
    USES_CHAIN = False
    peer: PeerName
    message: str
    fields: MessageFields = field(default_factory=dict)

    def check_arguments(self) -> None:
        _check_message_name(self.message)
        try:
            build_complete(self.message, self.fields)
        except WireError as exc:
            raise ValueError(f"bad fields for {self.message!r}: {exc}") from exc

    async def run(self, ctx: StepContext) -> str | None:
        await ctx.peer(self.peer).send(self.message, self.fields)
        return f"sent {self.message}"


@register_step
@dataclass(frozen=True)
class SendRaw(Step):
    """Send bytes as one Lightning message (type included), unchecked: malformed input on purpose."""

    NAME = "send_raw"
    SUMMARY = "the scripted peer sends raw message bytes"
    USES_CHAIN = False
    peer: PeerName
    hex: HexBytes

    def check_arguments(self) -> None:
        if len(self.hex) < 2:
            raise ValueError("a Lightning message has at least its 2-byte type")
        if len(self.hex) > 65535:
            raise ValueError("BOLT 8 frames carry at most 65535 bytes")

    async def run(self, ctx: StepContext) -> str | None:
        await ctx.peer(self.peer).send_raw(self.hex)
        return f"sent {len(self.hex)} raw bytes (type {int.from_bytes(self.hex[:2], 'big')})"


@register_step
@dataclass(frozen=True)
class SendUnknown(Step):
    """Send a message of a type the spec does not define (the BOLT 1 "it's ok to be odd" rule)."""

    NAME = "send_unknown"
    SUMMARY = "the scripted peer sends a message of an unassigned type"
    USES_CHAIN = False
    peer: PeerName
    type: int
    payload: HexBytes = b""

    def check_arguments(self) -> None:
        if not 0 <= self.type <= 0xFFFF:
            raise ValueError(f"type must fit 2 bytes, got {self.type}")
        known = message_class_by_type(self.type)
        if known is not None:
            raise ValueError(f"type {self.type} is {known.NAME!r}, not unknown")

    async def run(self, ctx: StepContext) -> str | None:
        await ctx.peer(self.peer).send_raw(self.type.to_bytes(2, "big") + self.payload)
        parity = "odd" if self.type % 2 else "even"
        return f"sent unknown {parity} type {self.type}"


@register_step
@dataclass(frozen=True)
class Expect(Step):
    """The next message from the node must be `message`, and every field given must match (the rest
    may be anything). ping/pong in between are passed over unless `skip_keepalive: false`; BOLT 7 gossip
    traffic (a node that negotiated gossip_queries may send `gossip_timestamp_filter` or queries right
    after `init`) with `skip_gossip: true`."""

    NAME = "expect"
    SUMMARY = "expect a message with matching fields"
    USES_CHAIN = False
    peer: PeerName
    message: str
    fields: MessageFields = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    skip_keepalive: bool = True
    skip_gossip: bool = False

    def check_arguments(self) -> None:
        _check_message_name(self.message)

    async def run(self, ctx: StepContext) -> str | None:
        session = ctx.peer(self.peer)
        if self.skip_gossip:
            received = await session.expect(
                self.message, self.fields, self.timeout_s, self.skip_keepalive, skip_gossip=True
            )
        else:
            received = await session.expect(self.message, self.fields, self.timeout_s, self.skip_keepalive)
        return f"received {received.name}"


@register_step
@dataclass(frozen=True)
class ExpectErrorOrWarning(Step):
    NAME = "expect_error_or_warning"
    SUMMARY = "expect an error or warning message (BOLT 1)"
    USES_CHAIN = False
    peer: PeerName
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        received = await ctx.peer(self.peer).expect_error_or_warning(self.timeout_s)
        return f"received {received.name}"


@register_step
@dataclass(frozen=True)
class ExpectDisconnect(Step):
    """The node closes the connection within the timeout (an error or warning before it is allowed)."""

    NAME = "expect_disconnect"
    SUMMARY = "expect the node to close the connection"
    USES_CHAIN = False
    peer: PeerName
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        await ctx.peer(self.peer).expect_disconnect(self.timeout_s)
        return "the node closed the connection"


@register_step
@dataclass(frozen=True)
class ExpectNoDisconnect(Step):
    """Ping barrier: the node answers a ping, so it processed everything before and kept the link."""

    NAME = "expect_no_disconnect"
    SUMMARY = "expect the connection to stay up (ping/pong barrier)"
    USES_CHAIN = False
    peer: PeerName
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        await ctx.peer(self.peer).expect_no_disconnect(self.timeout_s)
        return "the connection is up (pong received)"


@register_step
@dataclass(frozen=True)
class ExpectNotReceived(Step):
    """No message `message` with matching fields has arrived on this connection so far. Put it after a
    barrier (`expect_no_disconnect`), which proves the node already handled what was sent before."""

    NAME = "expect_not_received"
    SUMMARY = "expect that the node has sent no such message"
    USES_CHAIN = False
    peer: PeerName
    message: str
    fields: MessageFields = field(default_factory=dict)

    def check_arguments(self) -> None:
        _check_message_name(self.message)

    async def run(self, ctx: StepContext) -> str | None:
        for entry in ctx.peer(self.peer).trace():
            matching = entry.direction is Direction.RECEIVED and entry.name == self.message
            if matching and not mismatches(self.fields, entry.fields):
                raise ExpectationFailed(f"received {self.message} at {entry.elapsed_s:.3f}s, expected none")
        return f"no matching {self.message} received"


@register_step
@dataclass(frozen=True)
class ExchangePings(Step):
    """Send `count` pings one after another, each asking for a different pong size, and expect each
    pong in turn. Past 500 round trips both sides have rotated their BOLT 8 keys (every 1000 nonces),
    and every message decrypting shows the node advanced its nonces exactly as the spec says."""

    NAME = "exchange_pings"
    SUMMARY = "many ping/pong round trips (nonces, key rotation)"
    USES_CHAIN = False
    peer: PeerName
    count: int
    timeout_s: float = 60.0

    def check_arguments(self) -> None:
        if not 1 <= self.count <= 10_000:
            raise ValueError(f"count must be 1..10000, got {self.count}")

    async def run(self, ctx: StepContext) -> str | None:
        session = ctx.peer(self.peer)
        per_message_s = max(self.timeout_s / self.count, DEFAULT_TIMEOUT_S)
        for index in range(self.count):
            num_pong_bytes = index % 1000 + 1
            await session.send("ping", {"num_pong_bytes": num_pong_bytes})
            await session.expect(
                "pong", {"ignored": "00" * num_pong_bytes}, per_message_s, skip_keepalive=False
            )
        return f"{self.count} ping/pong round trips"
