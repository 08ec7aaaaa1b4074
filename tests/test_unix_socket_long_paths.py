"""Unix sockets whose path does not fit sun_path (107 bytes): the node's RPC must still bind and answer."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reference_node.unix_socket import open_unix_connection, short_path, start_unix_server


def _long_dir(tmp_path: Path) -> Path:
    directory = tmp_path / ("d" * 60) / ("e" * 60)
    directory.mkdir(parents=True)
    return directory


def test_plain_bind_fails_on_a_path_this_long(tmp_path: Path) -> None:
    path = _long_dir(tmp_path) / "lightning-rpc"
    assert len(str(path)) > 107

    async def bind_plain() -> None:
        await asyncio.start_unix_server(lambda r, w: asyncio.sleep(0), path=str(path))

    with pytest.raises(OSError, match="too long"):
        asyncio.run(bind_plain())


def test_server_and_client_meet_at_a_path_longer_than_sun_path(tmp_path: Path) -> None:
    path = _long_dir(tmp_path) / "lightning-rpc"

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    async def exchange() -> bytes:
        server = await start_unix_server(echo, path)
        async with server:
            reader, writer = await open_unix_connection(path)
            writer.write(b"hello\n")
            await writer.drain()
            line = await reader.readline()
            writer.close()
            return line

    assert asyncio.run(exchange()) == b"hello\n"
    assert path.is_socket()


def test_short_paths_are_used_as_they_are(tmp_path: Path) -> None:
    path = Path("/tmp/x.sock")
    with short_path(path) as usable:
        assert usable == "/tmp/x.sock"
