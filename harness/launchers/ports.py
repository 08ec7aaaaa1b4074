"""TCP ports for launched nodes: a per-worker range, so parallel runs (pytest-xdist) never collide.

Like Bitcoin Core's functional test runner: each worker gets its own block of ports, placed by its index
(`PYTEST_XDIST_WORKER=gwN`) and a run seed, and ports are handed out in order from that block, skipping
any that is already bound on 127.0.0.1. Ports for Docker are published on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections.abc import Mapping

PORT_RANGE_START = 20000
PORTS_PER_WORKER = 1000
MAX_WORKERS = 32
_WORKER = re.compile(r"^gw(\d+)$")


class NoFreePort(RuntimeError):
    """Every port of this worker's block is taken."""


def worker_index(environ: Mapping[str, str] | None = None) -> int:
    """The pytest-xdist worker number (gw3 -> 3); 0 outside xdist."""
    name = (os.environ if environ is None else environ).get("PYTEST_XDIST_WORKER", "")
    match = _WORKER.match(name)
    return int(match.group(1)) % MAX_WORKERS if match else 0


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class PortAllocator:
    """Hands out ports from `[start, start + PORTS_PER_WORKER)` for one worker; thread-safe."""

    def __init__(self, worker: int, seed: int = 0) -> None:
        # The seed shifts the block's first port so two runs on one machine (different seeds) rarely overlap.
        self.start = PORT_RANGE_START + (worker % MAX_WORKERS) * PORTS_PER_WORKER
        self._next = self.start + (seed % (PORTS_PER_WORKER // 2))
        self._lock = threading.Lock()
        self.handed_out: list[int] = []

    @classmethod
    def for_this_worker(cls, seed: int = 0) -> PortAllocator:
        return cls(worker_index(), seed)

    @property
    def end(self) -> int:
        return self.start + PORTS_PER_WORKER

    def allocate(self) -> int:
        with self._lock:
            for _ in range(PORTS_PER_WORKER):
                port = self._next
                self._next = self.start + (self._next + 1 - self.start) % PORTS_PER_WORKER
                if port not in self.handed_out and port_is_free(port):
                    self.handed_out.append(port)
                    return port
        raise NoFreePort(f"no free port in {self.start}..{self.end - 1}")
