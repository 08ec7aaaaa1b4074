"""The reference node as a scripted peer, for message-level conformance tests of another node.

It speaks BOLT 8 itself but follows no BOLT 1 policy of its own: the script decides what to send
(including bad `init` features, malformed bytes and unknown types) and states what it expects back.

    peer = await ScriptedPeer.connect("127.0.0.1", port, node_id)
    their_init = await peer.exchange_init(features=b"\x02\x00")
    await peer.send(build_message("ping", {"num_pong_bytes": 4, "ignored": ""}))
    await peer.expect("pong", timeout_s=5, ignored=bytes(4))
    await peer.send_raw(bytes.fromhex("fffe"))  # an unknown even type
    await peer.expect_error_or_warning(timeout_s=5)
    await peer.expect_disconnect(timeout_s=5)

Every message sent and received is in `trace` (direction, name, fields, raw bytes, timestamp).
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from coincurve import PrivateKey

from reference_node.nodekey import Entropy
from reference_node.transport import Connection, ConnectionClosed, TransportError, connect
from reference_node.wire import (
    ErrorMessage,
    Init,
    InitTlvs,
    Message,
    NetworksTlv,
    Ping,
    Pong,
    UnknownMessage,
    WarningMessage,
    WireError,
    decode_message,
    encode_message,
    message_to_fields,
)

DEFAULT_TIMEOUT_S = 10.0
# Message names a plain expect() skips unless asked for: keep-alive traffic is not part of a script.
KEEPALIVE = frozenset({"ping", "pong"})
# BOLT 7 gossip a node may send at any time after `init` (Core Lightning sends `gossip_timestamp_filter`
# right after it, BOLT 7 "Initial Sync"): never the answer to a message of the script.
GOSSIP_TRAFFIC = frozenset(
    {
        "channel_announcement",
        "node_announcement",
        "channel_update",
        "query_short_channel_ids",
        "reply_short_channel_ids_end",
        "query_channel_range",
        "reply_channel_range",
        "gossip_timestamp_filter",
    }
)


class TraceDirection(enum.Enum):
    SENT = "sent"
    RECEIVED = "received"


@dataclass(frozen=True)
class TraceEntry:
    direction: TraceDirection
    name: str  # the spec's message name; "unknown_<type>" or "undecodable_<type>" otherwise
    fields: dict[str, Any] = field(hash=False)  # JSON-friendly (message_to_fields)
    raw: bytes
    timestamp: float

    def to_json(self) -> dict[str, Any]:
        return {
            "direction": self.direction.value,
            "name": self.name,
            "fields": self.fields,
            "raw": self.raw.hex(),
            "timestamp": self.timestamp,
        }


@dataclass(frozen=True)
class Undecodable:
    """Bytes the other node sent that do not decode (kept so that a script can see them)."""

    type: int | None
    raw: bytes
    error: str


@dataclass(frozen=True)
class Disconnected:
    detail: str


Received = Message | UnknownMessage | Undecodable


class ScriptExpectationFailed(AssertionError):
    """What the other node did differs from what the script expected; the message says both."""


class ScriptTimeout(ScriptExpectationFailed):
    """Nothing matching arrived in time."""


class UnexpectedDisconnect(ScriptExpectationFailed):
    """The other node closed the connection while the script expected a message."""


def _name_of(item: Received) -> str:
    if isinstance(item, UnknownMessage):
        return f"unknown_{item.type}"
    if isinstance(item, Undecodable):
        return f"undecodable_{item.type}"
    return item.NAME


def _fields_of(item: Received) -> dict[str, Any]:
    if isinstance(item, UnknownMessage):
        return {"type": item.type, "payload": item.payload.hex()}
    if isinstance(item, Undecodable):
        return {"type": item.type, "error": item.error}
    return message_to_fields(item)


FieldMatcher = Any  # an expected value (compared with ==) or a predicate `value -> bool`


def _mismatches(message: Message, matchers: dict[str, FieldMatcher]) -> list[str]:
    problems = []
    for name, expected in matchers.items():
        if not hasattr(message, name):
            problems.append(f"{message.NAME} has no field {name!r}")
            continue
        actual = getattr(message, name)
        ok = expected(actual) if callable(expected) else actual == expected
        if not ok:
            shown = actual.hex() if isinstance(actual, bytes) else repr(actual)
            problems.append(f"{name} = {shown} does not match {expected!r}")
    return problems


class ScriptedPeer:
    """A BOLT 8 connection driven by a script; see the module docstring."""

    def __init__(self, connection: Connection, *, auto_pong: bool = True) -> None:
        self.connection = connection
        self.remote_node_id = connection.remote_node_id
        self.auto_pong = auto_pong
        self.trace: list[TraceEntry] = []
        self._inbox: asyncio.Queue[Received | Disconnected] = asyncio.Queue()
        self._disconnected: Disconnected | None = None
        self._ping_counter = 0
        self._reader = asyncio.ensure_future(self._read_loop())

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        node_id: bytes,
        *,
        key: PrivateKey | None = None,
        entropy: Entropy | None = None,
        auto_pong: bool = True,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> ScriptedPeer:
        """Connect as BOLT 8 initiator. Keys come from `entropy` when given, so a run replays."""
        entropy = entropy or Entropy(None)
        connection = await connect(
            host,
            port,
            node_id,
            key or entropy.private_key("scripted-peer/static"),
            ephemeral_key=entropy.private_key("scripted-peer/ephemeral"),
            timeout_s=timeout_s,
        )
        return cls(connection, auto_pong=auto_pong)

    @property
    def local_node_id(self) -> bytes:
        return self.connection.local_node_id

    # -- sending --------------------------------------------------------------------------------------

    async def send(self, message: Message) -> None:
        raw = encode_message(message)
        await self.connection.send(raw)
        self._record(TraceDirection.SENT, message, raw)

    async def send_raw(self, payload: bytes) -> None:
        """Send these bytes as one Lightning message (type + payload), encrypted and framed by BOLT 8."""
        await self.connection.send(payload)
        self._record(TraceDirection.SENT, self._classify(payload), payload)

    async def send_unframed(self, data: bytes) -> None:
        """Write bytes to the TCP stream without BOLT 8 framing or encryption (garbage for the other node)."""
        await self.connection.send_unframed(data)
        self.trace.append(
            TraceEntry(TraceDirection.SENT, "unframed", {"bytes": data.hex()}, data, time.time())
        )

    async def send_init(
        self,
        *,
        features: bytes = b"",
        globalfeatures: bytes = b"",
        networks: Iterable[bytes] | None = None,
    ) -> Init:
        tlvs = InitTlvs(networks=NetworksTlv(chains=tuple(networks))) if networks is not None else InitTlvs()
        init = Init(globalfeatures=globalfeatures, features=features, tlvs=tlvs)
        await self.send(init)
        return init

    async def exchange_init(
        self,
        *,
        features: bytes = b"",
        globalfeatures: bytes = b"",
        networks: Iterable[bytes] | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> Init:
        """Send our `init` (features may be deliberately bad) and return theirs."""
        await self.send_init(features=features, globalfeatures=globalfeatures, networks=networks)
        their_init = await self.expect("init", timeout_s)
        assert isinstance(their_init, Init)
        return their_init

    async def sync(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> Pong:
        """Ping/pong barrier: once the pong arrives, the other node has processed all we sent before.

        Messages received meanwhile stay queued for later `expect` calls.
        """
        self._ping_counter += 1
        num_pong_bytes = self._ping_counter % 1000 + 1  # distinct sizes tell our pongs apart
        try:
            await self.send(Ping(num_pong_bytes=num_pong_bytes, ignored=b""))
        except ConnectionClosed as exc:
            # the other node closed the link before the barrier: what the barrier checks, not a script error
            raise UnexpectedDisconnect(f"connection closed before the ping barrier: {exc}") from exc
        skipped: list[Received] = []
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    item = await self._next_item("pong")
                    if isinstance(item, Pong) and len(item.ignored) == num_pong_bytes:
                        return item
                    skipped.append(item)
        except TimeoutError as exc:
            raise ScriptTimeout(f"no pong of {num_pong_bytes} bytes within {timeout_s}s") from exc
        finally:
            self._requeue_front(skipped)

    # -- expecting ------------------------------------------------------------------------------------

    async def expect(
        self,
        name: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        *,
        skip: Iterable[str] = KEEPALIVE,
        **field_matchers: FieldMatcher,
    ) -> Message:
        """The next received message (ignoring names in `skip`) must be `name` with matching fields."""
        skipped_names = set(skip) - {name}
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    item = await self._next_item(name)
                    if _name_of(item) not in skipped_names:
                        break
        except TimeoutError as exc:
            raise ScriptTimeout(f"no {name} within {timeout_s}s") from exc
        if isinstance(item, UnknownMessage | Undecodable) or name != item.NAME:
            raise ScriptExpectationFailed(f"expected {name}, received {_name_of(item)}: {_fields_of(item)}")
        problems = _mismatches(item, field_matchers)
        if problems:
            raise ScriptExpectationFailed(f"{name}: " + "; ".join(problems))
        return item

    async def receive(
        self, timeout_s: float = DEFAULT_TIMEOUT_S, *, skip: Iterable[str] = KEEPALIVE
    ) -> Received:
        """The next received item whatever it is (names in `skip` passed over): for scripts that collect a
        sequence of replies (BOLT 7 query replies) rather than expect one message."""
        skipped_names = set(skip)
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    item = await self._next_item("any message")
                    if _name_of(item) not in skipped_names:
                        return item
        except TimeoutError as exc:
            raise ScriptTimeout(f"no message within {timeout_s}s") from exc

    async def expect_error_or_warning(
        self, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> ErrorMessage | WarningMessage:
        """The next message (skipping keep-alives and gossip) must be `error` or `warning`."""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    item = await self._next_item("error or warning")
                    if _name_of(item) not in KEEPALIVE | GOSSIP_TRAFFIC:
                        break
        except TimeoutError as exc:
            raise ScriptTimeout(f"no error or warning within {timeout_s}s") from exc
        if not isinstance(item, ErrorMessage | WarningMessage):
            raise ScriptExpectationFailed(
                f"expected error or warning, received {_name_of(item)}: {_fields_of(item)}"
            )
        return item

    async def expect_disconnect(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> Disconnected:
        """The other node closes the connection within `timeout_s` (messages before that are in `trace`)."""
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(self._reader)
        except TimeoutError as exc:
            raise ScriptTimeout(f"the connection is still open after {timeout_s}s") from exc
        assert self._disconnected is not None
        return self._disconnected

    @property
    def disconnected(self) -> bool:
        return self._disconnected is not None

    async def close(self) -> None:
        await self.connection.close()
        await asyncio.gather(self._reader, return_exceptions=True)

    # -- internals ------------------------------------------------------------------------------------

    async def _next_item(self, wanted: str) -> Received:
        item = await self._inbox.get()
        if isinstance(item, Disconnected):
            self._inbox.put_nowait(item)  # every later wait sees the disconnect too
            raise UnexpectedDisconnect(f"connection closed while expecting {wanted}: {item.detail}")
        return item

    def _requeue_front(self, items: list[Received]) -> None:
        if not items:
            return
        rest: list[Received | Disconnected] = []
        while not self._inbox.empty():
            rest.append(self._inbox.get_nowait())
        for item in [*items, *rest]:
            self._inbox.put_nowait(item)

    async def _read_loop(self) -> None:
        detail = "closed"
        try:
            while True:
                raw = await self.connection.receive()
                item = self._classify(raw)
                self._record(TraceDirection.RECEIVED, item, raw)
                if self.auto_pong and isinstance(item, Ping) and item.num_pong_bytes < 65532:
                    await self.send(Pong(ignored=bytes(item.num_pong_bytes)))
                    continue
                self._inbox.put_nowait(item)
        except ConnectionClosed as exc:
            detail = str(exc)
        except TransportError as exc:
            detail = f"{type(exc).__name__}: {exc}"
        finally:
            self._disconnected = Disconnected(detail)
            self._inbox.put_nowait(self._disconnected)

    @staticmethod
    def _classify(raw: bytes) -> Received:
        try:
            return decode_message(raw)
        except WireError as exc:
            type_number = int.from_bytes(raw[:2], "big") if len(raw) >= 2 else None
            return Undecodable(type_number, raw, f"{type(exc).__name__}: {exc}")

    def _record(self, direction: TraceDirection, item: Received, raw: bytes) -> None:
        self.trace.append(TraceEntry(direction, _name_of(item), _fields_of(item), raw, time.time()))

    def trace_json(self) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in self.trace]
