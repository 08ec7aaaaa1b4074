"""One connected peer: the BOLT 1 `init` exchange, `ping`/`pong`, message dispatch, and the BOLT 1 rules
for what to do with unknown or malformed messages.

A `Peer` runs one reader task. Each decoded message goes to the handler registered for its name (a
dispatch table owned by the node), in arrival order, so a channel state machine sees messages in order.
Whatever a peer sends, the worst outcome is that this one connection is closed.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from reference_node.transport import Connection, ConnectionClosed, TransportError
from reference_node.wire import (
    ErrorMessage,
    Init,
    Message,
    Ping,
    Pong,
    UnknownEvenMessageError,
    UnknownMessage,
    WarningMessage,
    WireError,
    decode_message,
    encode_message,
)
from reference_node.wire.features import Features

log = logging.getLogger(__name__)

# BOLT 1 ping: "if `num_pong_bytes` is less than 65532: MUST respond ... otherwise ... MUST ignore".
PONG_BYTES_LIMIT = 65532
ALL_CHANNELS = bytes(32)  # BOLT 1: a `channel_id` of all zeros refers to all channels
DEFAULT_INIT_TIMEOUT_S = 30.0


class PeerState(enum.Enum):
    AWAITING_INIT = "awaiting init"  # transport up, our init sent, theirs not yet received
    ACTIVE = "active"
    CLOSED = "closed"


class DisconnectCause(enum.Enum):
    LOCAL = "closed locally"
    REMOTE_CLOSED = "closed by the peer"
    TRANSPORT_ERROR = "transport error"  # bad MAC, truncated frame
    PROTOCOL_VIOLATION = "protocol violation"  # we sent warning/error, then closed
    INIT_REJECTED = "init rejected"  # features or networks refused (BOLT 1 init receipt)
    INIT_TIMEOUT = "no init received in time"
    REPLACED = "replaced by a newer connection"  # BOLT 1: a single connection per peer


@dataclass(frozen=True)
class Disconnect:
    cause: DisconnectCause
    detail: str


class PeerProtocolViolation(Exception):
    """Raised by a handler (or the peer itself) to send `warning` (or `error`) and close the connection."""

    def __init__(self, detail: str, *, send_error: bool = False, channel_id: bytes = ALL_CHANNELS) -> None:
        super().__init__(detail)
        self.detail = detail
        self.send_error = send_error
        self.channel_id = channel_id


class InitRejected(PeerProtocolViolation):
    """Their `init` must be refused (unknown even feature, missing dependency, no common network)."""


class PeerNotReady(Exception):
    """A message other than `init` was sent before the peer's `init` arrived (BOLT 1 forbids it)."""


class PeerClosed(Exception):
    """The peer's connection is closed."""


class Direction(enum.Enum):
    OUTBOUND = "outbound"  # we connected (BOLT 8 initiator)
    INBOUND = "inbound"


@dataclass(frozen=True)
class PeerConnected:
    node_id: bytes
    direction: Direction
    remote_init: Init
    timestamp: float


@dataclass(frozen=True)
class PeerDisconnected:
    node_id: bytes
    disconnect: Disconnect
    timestamp: float


@dataclass(frozen=True)
class MessageReceived:
    node_id: bytes
    message: Message | UnknownMessage
    timestamp: float


@dataclass(frozen=True)
class MessageSent:
    node_id: bytes
    message: Message | None  # None when raw bytes were sent (fault injection)
    raw: bytes
    timestamp: float


PeerEvent = PeerConnected | PeerDisconnected | MessageReceived | MessageSent
Handler = Callable[["Peer", Message], Awaitable[None]]


class PeerContext(Protocol):
    """What a peer needs from its node (the node implements it)."""

    def local_init(self, peer: Peer) -> Init: ...

    def check_remote_init(self, peer: Peer, init: Init) -> Features:
        """Their combined features; raise InitRejected when BOLT 1/9 say to close the connection."""

    def handler_for(self, name: str) -> Handler | None: ...

    def emit(self, event: PeerEvent) -> None: ...

    async def peer_active(self, peer: Peer) -> None:
        """Runs once `init` is exchanged, before the first message is dispatched (channel reestablishment
        must start before the peer's `channel_reestablish` is read)."""


def printable(data: bytes) -> str:
    """BOLT 1: `data` that is not printable ASCII "SHOULD NOT" be printed verbatim: show hex instead."""
    if all(32 <= byte <= 126 for byte in data):
        return data.decode("ascii")
    return f"<hex {data.hex()}>"


class Peer:
    """A BOLT 8 connection that has begun (or finished) the BOLT 1 `init` exchange."""

    def __init__(
        self,
        connection: Connection,
        context: PeerContext,
        direction: Direction,
        *,
        init_timeout_s: float = DEFAULT_INIT_TIMEOUT_S,
    ) -> None:
        self.connection = connection
        self.node_id = connection.remote_node_id
        self.direction = direction
        self.state = PeerState.AWAITING_INIT
        self.remote_init: Init | None = None
        self.remote_features: Features | None = None  # globalfeatures | features, checked
        self.disconnect_info: Disconnect | None = None
        self._context = context
        self._init_timeout_s = init_timeout_s
        self._active = asyncio.Event()
        self._closed = asyncio.Event()
        # Pings we sent and still expect a pong for: (num_pong_bytes, future), oldest first.
        self._pending_pings: collections.deque[tuple[int, asyncio.Future[Pong]]] = collections.deque()
        self._local_close_detail: str | None = None

    def __repr__(self) -> str:
        return f"Peer({self.node_id.hex()[:16]}…, {self.direction.value}, {self.state.value})"

    # -- lifecycle ------------------------------------------------------------------------------------

    async def run(self) -> Disconnect:
        """The peer's whole life: exchange `init`, then read and dispatch until the connection ends."""
        disconnect: Disconnect
        try:
            await self._exchange_init()
            await self._context.peer_active(self)
            while True:
                await self._dispatch(await self._receive_message())
        except InitRejected as rejected:
            disconnect = await self._fail(rejected, DisconnectCause.INIT_REJECTED)
        except PeerProtocolViolation as violation:
            disconnect = await self._fail(violation, DisconnectCause.PROTOCOL_VIOLATION)
        except TimeoutError:
            disconnect = Disconnect(DisconnectCause.INIT_TIMEOUT, f"no init within {self._init_timeout_s}s")
        except ConnectionClosed as closed:
            if self._local_close_detail is not None:
                disconnect = Disconnect(DisconnectCause.LOCAL, self._local_close_detail)
            else:
                disconnect = Disconnect(DisconnectCause.REMOTE_CLOSED, str(closed))
        except TransportError as error:
            disconnect = Disconnect(DisconnectCause.TRANSPORT_ERROR, f"{type(error).__name__}: {error}")
        except asyncio.CancelledError:
            self._finish(Disconnect(DisconnectCause.LOCAL, self._local_close_detail or "cancelled"))
            await self.connection.close()
            raise
        await self.connection.close()
        self._finish(disconnect)
        return disconnect

    def _finish(self, disconnect: Disconnect) -> None:
        if self.state is PeerState.CLOSED:
            return
        self.state = PeerState.CLOSED
        self.disconnect_info = disconnect
        for _, future in self._pending_pings:
            if not future.done():
                future.set_exception(PeerClosed(f"peer closed: {disconnect.detail}"))
        self._pending_pings.clear()
        log.info(
            "peer %s disconnected: %s (%s)", self.node_id.hex(), disconnect.cause.value, disconnect.detail
        )
        self._closed.set()
        self._context.emit(PeerDisconnected(self.node_id, disconnect, time.time()))

    async def disconnect(
        self, detail: str = "disconnect requested", *, cause: DisconnectCause | None = None
    ) -> None:
        """Close the connection; `run()` then ends with a LOCAL (or the given) cause."""
        self._local_close_detail = detail
        if cause is not None and self.state is not PeerState.CLOSED:
            self._finish(Disconnect(cause, detail))
        await self.connection.close()

    async def wait_active(self, timeout_s: float) -> None:
        """Wait until `init` has been exchanged; PeerClosed if the connection ends first."""
        async with asyncio.timeout(timeout_s):
            closed = asyncio.ensure_future(self._closed.wait())
            active = asyncio.ensure_future(self._active.wait())
            try:
                await asyncio.wait({closed, active}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                closed.cancel()
                active.cancel()
        if not self._active.is_set() or self.state is PeerState.CLOSED:
            detail = self.disconnect_info.detail if self.disconnect_info else "closed"
            raise PeerClosed(f"peer closed before init completed: {detail}")

    async def wait_closed(self, timeout_s: float) -> Disconnect:
        async with asyncio.timeout(timeout_s):
            await self._closed.wait()
        assert self.disconnect_info is not None
        return self.disconnect_info

    # -- sending --------------------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Send one message. BOLT 1: nothing but `init` before the peer's `init` has arrived."""
        if self.state is PeerState.CLOSED:
            raise PeerClosed(f"cannot send {message.NAME}: peer closed")
        if self.state is PeerState.AWAITING_INIT and not isinstance(message, Init):
            raise PeerNotReady(f"cannot send {message.NAME} before the peer's init")
        await self._send(message)

    async def send_raw(self, payload: bytes) -> None:
        """Send already-encoded message bytes as they are (fault injection: malformed or unknown types)."""
        if self.state is PeerState.CLOSED:
            raise PeerClosed("cannot send: peer closed")
        await self.connection.send(payload)
        self._context.emit(MessageSent(self.node_id, None, payload, time.time()))

    async def _send(self, message: Message) -> None:
        raw = encode_message(message)
        await self.connection.send(raw)
        self._context.emit(MessageSent(self.node_id, message, raw, time.time()))

    async def ping(self, num_pong_bytes: int = 0, *, ignored_len: int = 0, timeout_s: float = 10.0) -> Pong:
        """Send `ping` and wait for its `pong`: a barrier, since the peer answers in order."""
        if num_pong_bytes >= PONG_BYTES_LIMIT:
            raise ValueError(f"num_pong_bytes {num_pong_bytes} >= {PONG_BYTES_LIMIT}: no pong would come")
        future: asyncio.Future[Pong] = asyncio.get_running_loop().create_future()
        entry = (num_pong_bytes, future)
        self._pending_pings.append(entry)
        try:
            # BOLT 1: "SHOULD set `ignored` to 0s".
            await self.send(Ping(num_pong_bytes=num_pong_bytes, ignored=bytes(ignored_len)))
            return await asyncio.wait_for(future, timeout_s)
        finally:
            if entry in self._pending_pings:
                self._pending_pings.remove(entry)

    # -- receiving ------------------------------------------------------------------------------------

    async def _exchange_init(self) -> None:
        # BOLT 1: "MUST send `init` as the first Lightning message for any connection."
        await self._send(self._context.local_init(self))
        async with asyncio.timeout(self._init_timeout_s):
            first = await self._receive_message()
        if isinstance(first, UnknownMessage) or not isinstance(first, Init):
            name = f"type {first.type}" if isinstance(first, UnknownMessage) else first.NAME
            raise PeerProtocolViolation(f"the first message must be init, received {name}")
        self._context.emit(MessageReceived(self.node_id, first, time.time()))
        self.remote_features = self._context.check_remote_init(self, first)
        self.remote_init = first
        self.state = PeerState.ACTIVE
        self._active.set()
        self._context.emit(PeerConnected(self.node_id, self.direction, first, time.time()))

    async def _receive_message(self) -> Message | UnknownMessage:
        data = await self.connection.receive()
        try:
            return decode_message(data)
        except UnknownEvenMessageError as exc:
            # BOLT 1: "upon receiving a message of _even_, unknown type: MUST close the connection."
            raise PeerProtocolViolation(f"unknown even message type {exc.message_type}") from exc
        except WireError as exc:
            # BOLT 1: "upon receiving a known message with insufficient length ...: MUST close the
            # connection."
            type_number = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
            raise PeerProtocolViolation(f"malformed message (type {type_number}): {exc}") from exc

    async def _dispatch(self, message: Message | UnknownMessage) -> None:
        self._context.emit(MessageReceived(self.node_id, message, time.time()))
        if isinstance(message, UnknownMessage):
            # BOLT 1: "upon receiving a message of _odd_, unknown type: MUST ignore the received message."
            log.debug("ignoring unknown odd message type %d from %s", message.type, self.node_id.hex())
            return
        handler = self._context.handler_for(message.NAME)
        if handler is None:
            log.debug("no handler for %s from %s; ignored", message.NAME, self.node_id.hex())
            return
        try:
            await handler(self, message)
        except (PeerProtocolViolation, TransportError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a handler bug must cost this peer its connection, never the node
            log.exception("handler for %s failed", message.NAME)
            raise PeerProtocolViolation(f"internal error handling {message.NAME}") from exc

    def resolve_pong(self, pong: Pong) -> bool:
        """Match a `pong` to the oldest ping that asked for that many bytes; False if none did."""
        for entry in self._pending_pings:
            num_pong_bytes, future = entry
            if num_pong_bytes == len(pong.ignored) and not future.done():
                self._pending_pings.remove(entry)
                future.set_result(pong)
                return True
        return False

    async def _fail(self, violation: PeerProtocolViolation, cause: DisconnectCause) -> Disconnect:
        """Send `warning` (or `error`) with the reason, then close (BOLT 1 error and warning messages)."""
        data = violation.detail.encode("ascii", "replace")[:1000]
        reply: Message = (
            ErrorMessage(channel_id=violation.channel_id, data=data)
            if violation.send_error
            else WarningMessage(channel_id=violation.channel_id, data=data)
        )
        try:
            await self._send(reply)
        except TransportError as exc:
            log.info("could not send %s to %s: %s", reply.NAME, self.node_id.hex(), exc)
        log.info("closing %s: %s", self.node_id.hex(), violation.detail)
        return Disconnect(cause, violation.detail)


async def answer_ping(peer: Peer, message: Message) -> None:
    """BOLT 1: reply `pong` with `byteslen` = `num_pong_bytes`, unless it is 65532 or more (then ignore)."""
    assert isinstance(message, Ping)
    if message.num_pong_bytes < PONG_BYTES_LIMIT:
        await peer.send(Pong(ignored=bytes(message.num_pong_bytes)))


async def receive_pong(peer: Peer, message: Message) -> None:
    """Wake whoever waits on the matching ping. BOLT 1 lets us close on an unmatched pong; we do not."""
    assert isinstance(message, Pong)
    if not peer.resolve_pong(message):
        log.debug("unsolicited pong of %d bytes from %s", len(message.ignored), peer.node_id.hex())


async def log_warning_or_error(peer: Peer, message: Message) -> None:
    """BOLT 1: "upon receiving `warning`: SHOULD log the message"; errors are logged the same way.

    Failing channels on `error` belongs to the channel layer, which registers its own handler.
    """
    assert isinstance(message, WarningMessage | ErrorMessage)
    log.warning(
        "%s from %s (channel %s): %s",
        message.NAME,
        peer.node_id.hex(),
        message.channel_id.hex(),
        printable(message.data),
    )
