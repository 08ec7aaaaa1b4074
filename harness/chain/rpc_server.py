"""A bitcoind-compatible JSON-RPC server over HTTP on 127.0.0.1, serving an EmbeddedChain.

HTTP behaviour follows bitcoind's (src/httprpc.cpp): POST with HTTP Basic auth (user/password, or the
`__cookie__` user with a random password written to `<data dir>/.cookie`), JSON-RPC 1.0 replies carrying
both "result" and "error" with status 500 on error (400 invalid request, 404 unknown method), JSON-RPC 2.0
replies when the request says "jsonrpc": "2.0", and batches as arrays (always status 200).
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import os
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness.chain.embedded import EmbeddedChain
from harness.chain.errors import (
    RPC_INTERNAL_ERROR,
    RPC_INVALID_REQUEST,
    RPC_METHOD_NOT_FOUND,
    RPC_PARSE_ERROR,
)
from harness.chain.rpc_format import dumps_rpc
from harness.chain.rpc_methods import ChainRpc, RpcMethodError

log = logging.getLogger(__name__)

COOKIE_USER = "__cookie__"
MAX_REQUEST_BYTES = 32 * 1024 * 1024


class ChainRpcServer:
    def __init__(
        self,
        chain: EmbeddedChain,
        *,
        port: int = 0,
        user: str | None = None,
        password: str | None = None,
        cookie_dir: Path | None = None,
    ) -> None:
        if (user is None) != (password is None):
            raise ValueError("give both rpcuser and rpcpassword, or neither (cookie auth)")
        self.cookie_path: Path | None = None
        if user is None or password is None:
            user, password = COOKIE_USER, secrets.token_hex(32)
            self.cookie_path = (cookie_dir or chain.data_dir) / ".cookie"
            _write_private(self.cookie_path, f"{user}:{password}")
        self.user = user
        self._expected_auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.stop_requested = threading.Event()
        self.rpc = ChainRpc(chain, self.stop_requested.set)
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="chain-rpc", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()
        if self.cookie_path is not None:
            self.cookie_path.unlink(missing_ok=True)

    def authorized(self, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(header.encode(), self._expected_auth.encode())

    def handle_body(self, body: bytes) -> tuple[int, Any]:
        """(HTTP status, JSON reply or None for no content) for one request body."""
        try:
            request = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return HTTPStatus.INTERNAL_SERVER_ERROR, _reply_v1(None, None, RPC_PARSE_ERROR, "Parse error")
        if isinstance(request, list):
            replies = [self._handle_one(item)[1] for item in request]
            return HTTPStatus.OK, [r for r in replies if r is not None]
        return self._handle_one(request)

    def _handle_one(self, request: object) -> tuple[int, Any]:
        if not isinstance(request, dict):
            return HTTPStatus.BAD_REQUEST, _reply_v1(
                None, None, RPC_INVALID_REQUEST, "Invalid Request object"
            )
        request_id = request.get("id")
        v2 = request.get("jsonrpc") == "2.0"
        method = request.get("method")
        params = request.get("params", [])
        if params is None:
            params = []
        if not isinstance(method, str) or not isinstance(params, list | dict):
            reason = (
                "Method must be a string"
                if not isinstance(method, str)
                else "Params must be an array or object"
            )
            return self._error(HTTPStatus.BAD_REQUEST, request_id, v2, RPC_INVALID_REQUEST, reason)
        try:
            result = self.rpc.call(method, params)
        except RpcMethodError as exc:
            status = (
                HTTPStatus.NOT_FOUND if exc.code == RPC_METHOD_NOT_FOUND else HTTPStatus.INTERNAL_SERVER_ERROR
            )
            return self._error(status, request_id, v2, exc.code, exc.message)
        except Exception as exc:  # the server answers every request, whatever breaks underneath
            log.exception("RPC %s failed", method)
            return self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                request_id,
                v2,
                RPC_INTERNAL_ERROR,
                f"{type(exc).__name__}: {exc}",
            )
        if v2:
            if "id" not in request:
                return HTTPStatus.NO_CONTENT, None  # a JSON-RPC 2.0 notification gets no reply
            return HTTPStatus.OK, {"jsonrpc": "2.0", "result": result, "id": request_id}
        return HTTPStatus.OK, {"result": result, "error": None, "id": request_id}

    @staticmethod
    def _error(status: int, request_id: object, v2: bool, code: int, message: str) -> tuple[int, Any]:
        if v2:
            # JSON-RPC 2.0 errors travel with HTTP 200 in bitcoind 28+.
            return HTTPStatus.OK, {
                "jsonrpc": "2.0",
                "error": {"code": code, "message": message},
                "id": request_id,
            }
        return status, _reply_v1(None, request_id, code, message)


def _reply_v1(result: object, request_id: object, code: int, message: str) -> dict[str, Any]:
    return {"result": result, "error": {"code": code, "message": message}, "id": request_id}


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # the stdlib's listen backlog of 5 resets connections when many nodes poll at once (a 21-node network
    # long-polling one chain); bitcoind queues far more
    request_queue_size = 128
    allow_reuse_address = True
    owner: ChainRpcServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 60  # seconds an idle keep-alive connection may hold its thread
    server_version = "boltcheck-chain"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("rpc %s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, b"JSONRPC server handles only POST requests", "text/plain")

    def do_POST(self) -> None:
        owner = self.server.owner
        if not owner.authorized(self.headers.get("Authorization")):
            self._send(
                HTTPStatus.UNAUTHORIZED, b"", "text/plain", {"WWW-Authenticate": 'Basic realm="jsonrpc"'}
            )
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_REQUEST_BYTES:
            self._send(HTTPStatus.BAD_REQUEST, b"bad Content-Length", "text/plain")
            return
        status, reply = owner.handle_body(self.rfile.read(length))
        if reply is None:
            self._send(status, b"", "application/json")
            return
        self._send(status, (dumps_rpc(reply) + "\n").encode(), "application/json")

    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
