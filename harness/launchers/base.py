"""What a driver needs from whoever runs its node: `NodeHandle` (start, stop, wait for exit, logs) and
`poll_until`, the readiness loop every launcher and driver uses.

Readiness is polled, never slept: between two polls the loop waits on the node's own exit (a process
wait, a container wait, or an event that never fires for an attached node) with the poll interval as its
timeout, so a node that dies is reported at once with the tail of its log.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from harness.drivers.base import DriverError, UnsupportedOperation, WaitTimeout

T = TypeVar("T")
DEFAULT_POLL_INTERVAL_S = 0.1


class LaunchUnavailable(UnsupportedOperation):
    """What a launch needs is absent here (a binary, bitcoin-cli, a Docker engine): the scenario is
    skipped, and the reason says what to install or pass; it is not a feature the harness lacks."""

    def __init__(self, program: str, missing: str) -> None:
        DriverError.__init__(self, f"{program}: cannot launch here: {missing}")
        self.driver = program
        self.operation = "launch"
        self.missing = missing


class NodeExited(DriverError):
    """The node's process or container exited while the harness waited on it."""


class NodeHandle(Protocol):
    """A cln or lnd node as its launcher runs it (process, container) or finds it (attached)."""

    name: str
    #: False for attached nodes: the harness neither starts nor stops them
    owns_node: bool

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def wait_exit(self, timeout_s: float) -> bool:
        """Wait up to timeout_s for the node to exit; True if it has exited."""
        ...

    def log_tail(self, max_bytes: int = 4000) -> str: ...


class _Unready(Exception):
    """Internal: a poll saw the node not ready yet (carries why, for the timeout message)."""


async def poll_until(
    check: Callable[[], Awaitable[T | None]],
    handle: NodeHandle,
    timeout_s: float,
    what: str,
    interval_s: float = DEFAULT_POLL_INTERVAL_S,
    retry_on: tuple[type[BaseException], ...] = (DriverError, OSError),
) -> T:
    """Call `check` until it returns a value (not None). Errors of `retry_on` count as "not yet"."""
    deadline = time.monotonic() + timeout_s
    last = "no attempt yet"
    while True:
        try:
            result = await check()
        except retry_on as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if result is not None:
                return result
            last = "not ready"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(f"{handle.name}: {what} not reached in {timeout_s:g}s ({last})")
        if await handle.wait_exit(min(interval_s, remaining)):
            raise NodeExited(f"{handle.name} exited while waiting for {what}: {handle.log_tail()}")


class AttachedHandle:
    """A node the harness did not start: start/stop do nothing, and it never 'exits' under us."""

    owns_node = False

    def __init__(self, name: str) -> None:
        self.name = name

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def wait_exit(self, timeout_s: float) -> bool:
        never = asyncio.Event()  # per call: each scenario runs in its own event loop
        try:
            await asyncio.wait_for(never.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    def log_tail(self, max_bytes: int = 4000) -> str:
        return "(attached node: its logs are wherever it was started)"
