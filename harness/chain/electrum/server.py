"""The Electrum server: asyncio TCP on 127.0.0.1, newline-delimited JSON-RPC, subscriptions.

Chain events (blocks connected or disconnected, mempool acceptance) arrive on whatever thread changed the
chain; they are handed to the event loop, where the index is brought up to date and every session gets
`blockchain.headers.subscribe` (new tip) and `blockchain.scripthash.subscribe` (new status) notifications.
The index is also brought up to date before each request, so replies and notifications never disagree.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from harness.chain.backend import BlockEvent, MempoolEvent, Subscription
from harness.chain.electrum.index import ScripthashIndex
from harness.chain.electrum.methods import ChainMethods, ServerIdentity, _hash, arity, negotiate_version
from harness.chain.electrum.protocol import (
    BAD_REQUEST,
    INTERNAL_ERROR,
    MAX_LINE_BYTES,
    METHOD_NOT_FOUND,
    SERVER_SOFTWARE,
    ElectrumRpcError,
    Invalid,
    JsonValue,
    Request,
    encode,
    error_message,
    notification_message,
    parse_line,
    result_message,
)
from harness.chain.embedded import EmbeddedChain

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
CLOSE_TIMEOUT_S = 5.0


@dataclass(eq=False)  # sessions are compared and hashed by identity
class _Session:
    peer: str
    writer: asyncio.StreamWriter
    version: str | None = None
    headers: bool = False
    statuses: dict[str, str | None] = field(default_factory=dict)  # subscribed scripthash -> last status sent

    def send(self, message: dict[str, JsonValue] | list[dict[str, JsonValue]]) -> None:
        if not self.writer.is_closing():
            self.writer.write(encode(message))


class ElectrumServer:
    """Serve the Electrum protocol for `chain`; `port=0` picks a free port (see `.port` after start)."""

    def __init__(self, chain: EmbeddedChain, port: int = 0, identity: ServerIdentity | None = None) -> None:
        self.chain = chain
        self.index = ScripthashIndex(chain)
        self.methods = ChainMethods(chain, self.index, identity or ServerIdentity())
        self._table = self.methods.table()
        self._requested_port = port
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sessions: set[_Session] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._chain_subscriptions: list[Subscription] = []
        self._refresh_pending = False
        self.requests_served = 0

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the Electrum server is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def address(self) -> str:
        """Electrum's --server form for a plain TCP server."""
        return f"{HOST}:{self.port}:t"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.index.sync()
        self._chain_subscriptions = [
            self.chain.subscribe_blocks(self._on_block),
            self.chain.subscribe_disconnects(self._on_block),
            self.chain.subscribe_mempool(self._on_mempool),
        ]
        self._server = await asyncio.start_server(
            self._serve, HOST, self._requested_port, limit=MAX_LINE_BYTES
        )
        log.info("%s listening on %s (chain height %d)", SERVER_SOFTWARE, self.address, self.index.height)

    async def close(self) -> None:
        for subscription in self._chain_subscriptions:
            subscription.cancel()
        self._chain_subscriptions = []
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.writer.close()  # the session's reader sees the end of the stream and returns
        if self._tasks:
            _done, stuck = await asyncio.wait(set(self._tasks), timeout=CLOSE_TIMEOUT_S)
            for task in stuck:
                log.warning("electrum session task %r did not end on close; cancelling it", task)
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> ElectrumServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ----- chain events (any thread) -> the loop
    def _on_block(self, _event: BlockEvent) -> None:
        self._wake()

    def _on_mempool(self, _event: MempoolEvent) -> None:
        self._wake()

    def _wake(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not serving: nobody to notify, and start() syncs from scratch
        loop.call_soon_threadsafe(self._schedule_refresh)

    def _schedule_refresh(self) -> None:
        # Several events in a row (a block with many transactions) need one refresh.
        if not self._refresh_pending:
            self._refresh_pending = True
            asyncio.get_running_loop().call_soon(self._refresh_from_event)

    def _refresh_from_event(self) -> None:
        self._refresh_pending = False
        self.refresh()

    def refresh(self) -> None:
        """Bring the index up to date and notify subscribers of what changed."""
        result = self.index.sync()
        if result.tip_changed:
            tip = self.methods.tip_header()
            for session in self._sessions:
                if session.headers:
                    session.send(notification_message("blockchain.headers.subscribe", [tip]))
        if result.changed:
            for session in self._sessions:
                for sh in result.changed & session.statuses.keys():
                    status = self.index.status(sh)
                    if status != session.statuses[sh]:
                        session.statuses[sh] = status
                        session.send(notification_message("blockchain.scripthash.subscribe", [sh, status]))

    # ----- sessions
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = writer.get_extra_info("peername")
        session = _Session(f"{peer[0]}:{peer[1]}" if peer else "?", writer)
        self._sessions.add(session)
        log.debug("electrum session from %s", session.peer)
        try:
            await self._read_requests(session, reader)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            log.debug("electrum session %s ended: %s", session.peer, exc)
        finally:
            self._sessions.discard(session)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _read_requests(self, session: _Session, reader: asyncio.StreamReader) -> None:
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # StreamReader's "line too long"
                session.send(error_message(None, ElectrumRpcError(BAD_REQUEST, "request line too long")))
                return
            if not line:
                return
            if not line.strip():
                continue
            parsed = parse_line(line.rstrip(b"\r\n"))
            self.refresh()
            answers = [a for a in (self._answer(session, item) for item in parsed.items) if a is not None]
            if answers:
                session.send(answers if parsed.batch else answers[0])
                await session.writer.drain()

    def _answer(self, session: _Session, item: Request | Invalid) -> dict[str, JsonValue] | None:
        if isinstance(item, Invalid):
            return error_message(item.request_id, item.error)
        self.requests_served += 1
        try:
            result = self._call(session, item)
        except ElectrumRpcError as exc:
            log.debug("%s %s -> error %s", session.peer, item.method, exc)
            return None if item.is_notification else error_message(item.request_id, exc)
        except Exception as exc:  # a bug here must reach the client as an error, and the log with a traceback
            log.exception("%s: %s failed", session.peer, item.method)
            error = ElectrumRpcError(INTERNAL_ERROR, f"{item.method}: internal error: {exc!r}")
            return None if item.is_notification else error_message(item.request_id, error)
        return None if item.is_notification else result_message(item.request_id, result)

    def _call(self, session: _Session, request: Request) -> JsonValue:
        session_methods: dict[str, Callable[[_Session, tuple[JsonValue, ...]], JsonValue]] = {
            "server.version": self._version,
            "blockchain.headers.subscribe": self._headers_subscribe,
            "blockchain.scripthash.subscribe": self._scripthash_subscribe,
            "blockchain.scripthash.unsubscribe": self._scripthash_unsubscribe,
        }
        if request.method in session_methods:
            return session_methods[request.method](session, request.params)
        handler = self._table.get(request.method)
        if handler is None:
            raise ElectrumRpcError(METHOD_NOT_FOUND, f"unknown method {request.method!r}")
        return handler(request.params)

    def _version(self, session: _Session, params: tuple[JsonValue, ...]) -> JsonValue:
        if session.version is not None:
            # Protocol 1.4: "Only the first server.version() message is accepted."
            raise ElectrumRpcError(BAD_REQUEST, "server.version already sent")
        session.version = negotiate_version(params)
        return [SERVER_SOFTWARE, session.version]

    def _headers_subscribe(self, session: _Session, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.headers.subscribe", params, 0)
        session.headers = True
        return self.methods.tip_header()

    def _scripthash_subscribe(self, session: _Session, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.scripthash.subscribe", params, 1)
        sh = _hash(params[0], "scripthash")
        status = self.index.status(sh)
        session.statuses[sh] = status
        return status

    def _scripthash_unsubscribe(self, session: _Session, params: tuple[JsonValue, ...]) -> JsonValue:
        arity("blockchain.scripthash.unsubscribe", params, 1)
        return session.statuses.pop(_hash(params[0], "scripthash"), False) is not False
