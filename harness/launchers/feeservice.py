"""A fixed fee-estimate source for lnd (`fee.url`), so lnd and CLN use one feerate on regtest.

lnd's SparseConfFeeSource fetches `{"fee_by_block_target": {...}, "min_relay_feerate": N}` (sat/kvB) over
HTTP; this serves `regtest.fee_estimates_json()` from a thread on 127.0.0.1 (port 0: the OS picks).
In Docker the same document is served by a small container on the run's network (docker.py).
"""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from harness.launchers.regtest import fee_estimates_json

FEES_PATH = "/fees.json"


class FeeService(Protocol):
    async def url(self) -> str:
        """The URL lnd's `fee.url` points at (starting the service on first use)."""
        ...

    def close(self) -> None: ...


class _FeesHandler(BaseHTTPRequestHandler):
    body = fee_estimates_json()

    def do_GET(self) -> None:
        if self.path.split("?")[0] != FEES_PATH:
            self.send_error(404, f"only {FEES_PATH} is served")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        return None  # lnd polls it; the harness log stays quiet


class LocalFeeServer:
    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> str:
        with self._lock:
            if self._server is None:
                self._server = ThreadingHTTPServer(("127.0.0.1", 0), _FeesHandler)
                self._thread = threading.Thread(
                    target=self._server.serve_forever, name="boltcheck-fees", daemon=True
                )
                self._thread.start()
            host, port = self._server.server_address[:2]
            return f"http://{host!s}:{port}{FEES_PATH}"

    async def url(self) -> str:
        return await asyncio.to_thread(self.start)

    def close(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
                self._server = None
