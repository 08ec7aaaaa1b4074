"""BOLT 8 over real TCP on 127.0.0.1: the asyncio connect/accept layer and its clean closes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from coincurve import PrivateKey

from reference_node.transport import (
    Connection,
    ConnectionClosed,
    HandshakeBadMac,
    HandshakeBadVersion,
    HandshakeError,
    HandshakeShortRead,
    MessageBadMac,
    accept,
    connect,
)

TIMEOUT_S = 5.0


class _Server:
    """Accepts one BOLT 8 connection; the outcome (Connection or exception) lands in a future."""

    def __init__(self, key: PrivateKey) -> None:
        self.key = key
        self.outcome: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.outcome.set_result(await accept(reader, writer, self.key, timeout_s=TIMEOUT_S))
        except HandshakeError as exc:
            self.outcome.set_exception(exc)

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def _run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT_S * 2))


def test_messages_flow_both_ways_after_the_handshake() -> None:
    async def scenario() -> None:
        server = _Server(PrivateKey())
        await server.start()
        client_key = PrivateKey()
        client = await connect("127.0.0.1", server.port, server.key.public_key.format(), client_key)
        remote = await asyncio.wait_for(server.outcome, TIMEOUT_S)
        assert remote.remote_node_id == client_key.public_key.format()
        assert client.remote_node_id == server.key.public_key.format()
        for index in range(1200):  # crosses two key rotations in each direction
            await client.send(index.to_bytes(2, "big") * 10)
            assert await remote.receive() == index.to_bytes(2, "big") * 10
            await remote.send(b"ack")
            assert await client.receive() == b"ack"
        await client.close()
        await remote.close()
        await server.stop()

    _run(scenario)


def test_receive_after_the_peer_closes_raises_connection_closed() -> None:
    async def scenario() -> None:
        server = _Server(PrivateKey())
        await server.start()
        client = await connect("127.0.0.1", server.port, server.key.public_key.format(), PrivateKey())
        remote = await asyncio.wait_for(server.outcome, TIMEOUT_S)
        await client.close()
        with pytest.raises(ConnectionClosed) as failure:
            await remote.receive()
        assert not failure.value.mid_frame
        assert remote.closed
        await server.stop()

    _run(scenario)


def test_tampered_frame_closes_the_connection_with_message_bad_mac() -> None:
    async def scenario() -> None:
        server = _Server(PrivateKey())
        await server.start()
        client = await connect("127.0.0.1", server.port, server.key.public_key.format(), PrivateKey())
        remote = await asyncio.wait_for(server.outcome, TIMEOUT_S)
        frame = bytearray(client.session.encryptor.encrypt(b"hello"))
        frame[20] ^= 0xFF
        client._writer.write(bytes(frame))  # bypass send() to put a corrupted frame on the wire
        with pytest.raises(MessageBadMac):
            await remote.receive()
        assert remote.closed
        # The server side closed the TCP stream: the client sees EOF.
        with pytest.raises(ConnectionClosed):
            await client.receive()
        await server.stop()

    _run(scenario)


def test_connecting_with_the_wrong_node_id_is_refused_by_the_responder() -> None:
    async def scenario() -> None:
        server = _Server(PrivateKey())
        await server.start()
        with pytest.raises(HandshakeShortRead):  # the responder hangs up instead of sending act two
            await connect("127.0.0.1", server.port, PrivateKey().public_key.format(), PrivateKey())
        with pytest.raises(HandshakeBadMac):
            await asyncio.wait_for(server.outcome, TIMEOUT_S)
        await server.stop()

    _run(scenario)


def test_bad_handshake_version_closes_the_connection() -> None:
    async def scenario() -> None:
        server = _Server(PrivateKey())
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"\x01" + bytes(49))
        await writer.drain()
        with pytest.raises(HandshakeBadVersion) as failure:
            await asyncio.wait_for(server.outcome, TIMEOUT_S)
        assert failure.value.code == "ACT1_BAD_VERSION"
        assert await reader.read() == b""  # closed without any further message
        writer.close()
        await server.stop()

    _run(scenario)


def test_responder_times_out_a_silent_initiator() -> None:
    async def scenario() -> None:
        key = PrivateKey()
        outcome: asyncio.Future[BaseException] = asyncio.get_running_loop().create_future()

        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await accept(reader, writer, key, timeout_s=0.2)
            except TimeoutError as exc:
                outcome.set_result(exc)

        server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert isinstance(await asyncio.wait_for(outcome, TIMEOUT_S), TimeoutError)
        assert await reader.read() == b""
        writer.close()
        server.close()
        await server.wait_closed()

    _run(scenario)
