"""Unix-domain socket paths of any length (Linux).

`sun_path` holds at most 107 bytes, and data dirs under pytest's or the harness's temp folders are often
longer. A path that does not fit is reached through the directory's file descriptor:
`/proc/self/fd/N/<name>` resolves to the same file and always fits. Core Lightning's clients do the same.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: sun_path is 108 bytes on Linux, including the terminating NUL
_SUN_PATH_MAX = 107


@contextmanager
def short_path(path: Path) -> Iterator[str]:
    """A path to `path` that fits in sun_path, valid inside the `with` block."""
    if len(os.fsencode(str(path))) <= _SUN_PATH_MAX:
        yield str(path)
        return
    directory_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{directory_fd}/{path.name}"
    finally:
        os.close(directory_fd)


async def start_unix_server(
    client_connected: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]], path: Path
) -> asyncio.Server:
    with short_path(path) as bind_path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(bind_path)
        except OSError:
            sock.close()
            raise
    return await asyncio.start_unix_server(client_connected, sock=sock)


async def open_unix_connection(
    path: Path, limit: int = 2**16
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        with short_path(path) as connect_path:
            await asyncio.get_running_loop().sock_connect(sock, connect_path)
    except OSError:
        sock.close()
        raise
    return await asyncio.open_unix_connection(sock=sock, limit=limit)
