"""A small bitcoind JSON-RPC client over urllib (one HTTP request per call, so it is safe across threads).

Numbers with a fraction are parsed as Decimal so BTC amounts convert to satoshis exactly.
"""

from __future__ import annotations

import base64
import itertools
import json
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.chain.errors import RpcError, RpcTransportError


class RpcClient:
    def __init__(self, url: str, user: str, password: str, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self._auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self._ids = itertools.count(1)

    @classmethod
    def from_cookie(cls, url: str, cookie_path: Path, timeout: float = 30.0) -> RpcClient:
        user, _, password = cookie_path.read_text().strip().partition(":")
        return cls(url, user, password, timeout)

    def for_wallet(self, wallet: str) -> RpcClient:
        """The same server, addressing bitcoind's /wallet/<name> endpoint."""
        clone = RpcClient.__new__(RpcClient)
        clone.url = self.url.rstrip("/") + f"/wallet/{wallet}"
        clone.timeout = self.timeout
        clone._auth = self._auth
        clone._ids = self._ids
        return clone

    def call(self, method: str, *params: Any, timeout: float | None = None) -> Any:
        request_id = next(self._ids)
        reply = self._post(
            {"jsonrpc": "1.0", "id": request_id, "method": method, "params": list(params)}, timeout
        )
        if not isinstance(reply, dict):
            raise RpcTransportError(f"{method}: reply is not a JSON object: {reply!r}")
        error = reply.get("error")
        if error:
            raise RpcError(int(error.get("code", -1)), str(error.get("message", "")), method)
        return reply.get("result")

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one request; results in order; the first error is raised."""
        first = next(self._ids)
        body = [
            {"jsonrpc": "1.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)
        ]
        for _ in calls[1:]:
            next(self._ids)
        replies = self._post(body, None)
        if not isinstance(replies, list):
            raise RpcTransportError(f"batch reply is not a JSON array: {replies!r}")
        by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
        results = []
        for i, (method, _params) in enumerate(calls):
            reply = by_id.get(first + i)
            if reply is None:
                raise RpcTransportError(f"batch reply has no answer for {method}")
            if reply.get("error"):
                raise RpcError(
                    int(reply["error"].get("code", -1)), str(reply["error"].get("message")), method
                )
            results.append(reply.get("result"))
        return results

    def _post(self, payload: object, timeout: float | None) -> Any:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload).encode(),
            headers={"Authorization": self._auth, "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            # bitcoind sends JSON-RPC errors with HTTP 404/500: the body still carries the error object.
            body = exc.read()
            if exc.code == 401:
                raise RpcTransportError(f"{self.url}: authorization failed (HTTP 401)") from exc
            if not body:
                raise RpcTransportError(f"{self.url}: HTTP {exc.code} without a body") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise RpcTransportError(f"{self.url}: {exc}") from exc
        try:
            return json.loads(body, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise RpcTransportError(f"{self.url}: reply is not JSON: {body[:200]!r}") from exc
