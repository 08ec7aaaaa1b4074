"""BOLT 8 over asyncio streams: `connect()` as initiator, `accept()` as responder, then send/receive/close.

This is the thin I/O layer around the sans-I/O handshake and cipher objects. Any handshake failure or bad
message MAC closes the TCP connection before the specific exception is raised (BOLT 8: "terminate the
connection without any further messages").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from coincurve import PrivateKey

from reference_node.transport.cipher import LENGTH_PREFIX_SIZE, TransportSession
from reference_node.transport.errors import ConnectionClosed, HandshakeShortRead, TransportError
from reference_node.transport.handshake import (
    ACT_ONE_SIZE,
    ACT_THREE_SIZE,
    ACT_TWO_SIZE,
    HandshakeResult,
    InitiatorHandshake,
    ResponderHandshake,
)
from reference_node.transport.primitives import MAC_LEN

log = logging.getLogger(__name__)

DEFAULT_HANDSHAKE_TIMEOUT_S = 10.0


class Connection:
    """An established, encrypted BOLT 8 connection to one peer."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        result: HandshakeResult,
        *,
        initiator: bool,
        local_node_id: bytes,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._session = TransportSession.from_handshake(result)
        self.initiator = initiator
        self.local_node_id = local_node_id
        self.remote_node_id = result.remote_static_key
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed or self._writer.is_closing()

    @property
    def peername(self) -> str:
        info = self._writer.get_extra_info("peername")
        return f"{info[0]}:{info[1]}" if isinstance(info, tuple) else str(info)

    @property
    def session(self) -> TransportSession:
        return self._session

    async def send(self, message: bytes) -> None:
        """Encrypt and write one Lightning message (at most 65535 bytes)."""
        if self.closed:
            raise ConnectionClosed("send on a closed connection")
        # Encrypting and writing happen with no await in between, so concurrent senders never
        # interleave nonces.
        frame = self._session.encryptor.encrypt(message)
        self._writer.write(frame)
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            await self.close()
            raise ConnectionClosed(f"send failed: {exc}") from exc

    async def send_unframed(self, data: bytes) -> None:
        """Write bytes straight to the TCP stream, bypassing encryption (fault injection only)."""
        if self.closed:
            raise ConnectionClosed("send on a closed connection")
        self._writer.write(data)
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            await self.close()
            raise ConnectionClosed(f"send failed: {exc}") from exc

    async def receive(self) -> bytes:
        """The next decrypted Lightning message; ConnectionClosed at EOF, MessageBadMac on tampering."""
        decryptor = self._session.decryptor
        try:
            lc = await self._read_exactly(LENGTH_PREFIX_SIZE, "length prefix")
            length = decryptor.decrypt_length(lc)
            body = await self._read_exactly(length + MAC_LEN, "message body", mid_frame=True)
            return decryptor.decrypt_body(body, length)
        except TransportError:
            await self.close()
            raise

    async def _read_exactly(self, size: int, what: str, *, mid_frame: bool = False) -> bytes:
        try:
            return await self._reader.readexactly(size)
        except asyncio.IncompleteReadError as exc:
            partial = len(exc.partial)
            raise ConnectionClosed(
                f"peer closed the connection reading the {what} ({partial} of {size} bytes)",
                mid_frame=mid_frame or partial > 0,
            ) from exc
        except (ConnectionError, OSError) as exc:
            raise ConnectionClosed(f"connection lost reading the {what}: {exc}", mid_frame=mid_frame) from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await _close_writer(self._writer)


async def _close_writer(writer: asyncio.StreamWriter) -> None:
    writer.close()
    # The peer may already be gone; a reset while closing changes nothing for us.
    with contextlib.suppress(ConnectionError, OSError):
        await writer.wait_closed()


async def _read_act(reader: asyncio.StreamReader, act: int, size: int) -> bytes:
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        raise HandshakeShortRead(act, size, len(exc.partial)) from exc
    except (ConnectionError, OSError) as exc:
        raise HandshakeShortRead(act, size, 0) from exc


async def initiate(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    local_key: PrivateKey,
    remote_node_id: bytes,
    *,
    ephemeral_key: PrivateKey | None = None,
    timeout_s: float = DEFAULT_HANDSHAKE_TIMEOUT_S,
) -> Connection:
    """Run the initiator's handshake over already-open streams."""
    handshake = InitiatorHandshake(local_key, remote_node_id, ephemeral_key or PrivateKey())
    try:
        async with asyncio.timeout(timeout_s):
            writer.write(handshake.act_one())
            await writer.drain()
            act_two = await _read_act(reader, 2, ACT_TWO_SIZE)
            writer.write(handshake.respond(act_two))
            await writer.drain()
    except BaseException:
        await _close_writer(writer)
        raise
    assert handshake.result is not None
    return Connection(
        reader, writer, handshake.result, initiator=True, local_node_id=local_key.public_key.format()
    )


async def connect(
    host: str,
    port: int,
    remote_node_id: bytes,
    local_key: PrivateKey,
    *,
    ephemeral_key: PrivateKey | None = None,
    timeout_s: float = DEFAULT_HANDSHAKE_TIMEOUT_S,
) -> Connection:
    """Open a TCP connection to host:port and run the handshake as initiator, knowing the remote node id."""
    async with asyncio.timeout(timeout_s):
        reader, writer = await asyncio.open_connection(host, port)
    return await initiate(
        reader, writer, local_key, remote_node_id, ephemeral_key=ephemeral_key, timeout_s=timeout_s
    )


async def accept(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    local_key: PrivateKey,
    *,
    ephemeral_key: PrivateKey | None = None,
    timeout_s: float = DEFAULT_HANDSHAKE_TIMEOUT_S,
) -> Connection:
    """Run the responder's handshake on an accepted TCP connection."""
    handshake = ResponderHandshake(local_key, ephemeral_key or PrivateKey())
    try:
        async with asyncio.timeout(timeout_s):
            act_one = await _read_act(reader, 1, ACT_ONE_SIZE)
            writer.write(handshake.respond(act_one))
            await writer.drain()
            act_three = await _read_act(reader, 3, ACT_THREE_SIZE)
            result = handshake.read_act_three(act_three)
    except BaseException:
        await _close_writer(writer)
        raise
    return Connection(reader, writer, result, initiator=False, local_node_id=local_key.public_key.format())
