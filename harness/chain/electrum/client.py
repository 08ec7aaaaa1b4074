"""A small Electrum-protocol client: requests, batches, and a queue of notifications.

Used by the server's tests as an independent check (it shares only the framing constants), and handy for
poking a running `boltcheck electrum-server`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass

from harness.chain.electrum.protocol import MAX_LINE_BYTES, ElectrumRpcError, JsonValue


@dataclass(frozen=True)
class Notification:
    method: str
    params: list[JsonValue]


class ElectrumProtocolViolation(Exception):
    """The server sent something that is not a JSON-RPC 2.0 message we asked for."""


class ElectrumClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[JsonValue]] = {}
        self._batches: dict[frozenset[int], asyncio.Future[list[JsonValue]]] = {}
        self.notifications: asyncio.Queue[Notification] = asyncio.Queue()
        self._unmatched: asyncio.Queue[JsonValue] = asyncio.Queue()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, host: str, port: int) -> ElectrumClient:
        reader, writer = await asyncio.open_connection(host, port, limit=4 * MAX_LINE_BYTES)
        return cls(reader, writer)

    async def close(self) -> None:
        self._writer.close()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await self._task
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()

    async def send_line(self, line: bytes) -> None:
        self._writer.write(line + b"\n")
        await self._writer.drain()

    async def request(self, method: str, *params: JsonValue, timeout_s: float = 10) -> JsonValue:
        request_id = next(self._ids)
        future: asyncio.Future[JsonValue] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}
        await self.send_line(json.dumps(message).encode())
        return await asyncio.wait_for(future, timeout_s)

    async def batch(self, calls: list[tuple[str, list[JsonValue]]], timeout_s: float = 10) -> list[JsonValue]:
        """Send calls as one JSON array; return their results (or ElectrumRpcError values) in order."""
        ids = [next(self._ids) for _ in calls]
        future: asyncio.Future[list[JsonValue]] = asyncio.get_running_loop().create_future()
        self._batches[frozenset(ids)] = future
        messages = [
            {"jsonrpc": "2.0", "id": i, "method": method, "params": params}
            for i, (method, params) in zip(ids, calls, strict=True)
        ]
        await self.send_line(json.dumps(messages).encode())
        by_id = {item["id"]: item for item in await asyncio.wait_for(future, timeout_s)}
        return [_outcome(by_id[i]) for i in ids]

    async def next_notification(self, timeout_s: float = 10) -> Notification:
        return await asyncio.wait_for(self.notifications.get(), timeout_s)

    async def raw_reply(self, timeout_s: float = 10) -> JsonValue:
        """For tests that send malformed lines: the next message answering no request of ours."""
        return await asyncio.wait_for(self._unmatched.get(), timeout_s)

    async def _read(self) -> None:
        while line := await self._reader.readline():
            message = json.loads(line)
            if isinstance(message, list):
                key = frozenset(item.get("id") for item in message)
                batch = self._batches.pop(key, None)
                if batch is None:
                    raise ElectrumProtocolViolation(f"a batch reply nobody asked for: {message}")
                batch.set_result(message)
            elif "method" in message:
                self.notifications.put_nowait(Notification(message["method"], message["params"]))
            elif message.get("id") in self._pending:
                future = self._pending.pop(message["id"])
                outcome = _outcome(message)
                if isinstance(outcome, ElectrumRpcError):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
            else:
                self._unmatched.put_nowait(message)


def _outcome(message: dict[str, JsonValue]) -> JsonValue:
    if message.get("jsonrpc") != "2.0":
        raise ElectrumProtocolViolation(f"not JSON-RPC 2.0: {message}")
    if "error" in message:
        return ElectrumRpcError(message["error"]["code"], message["error"]["message"])
    return message["result"]
