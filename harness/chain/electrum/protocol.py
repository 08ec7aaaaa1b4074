"""Electrum protocol framing: JSON-RPC 2.0 messages, one per line, over TCP (batches allowed).

Pure functions from bytes to requests and from results to bytes; the server does the I/O.
Error codes: JSON-RPC 2.0's own, plus ElectrumX's BAD_REQUEST (1) and DAEMON_ERROR (2) that clients
(Electrum's aiorpcx) know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PROTOCOL_VERSION = "1.4"
SERVER_SOFTWARE = "boltcheck-electrum 0.1"
MAX_LINE_BYTES = 1_000_000  # ElectrumX's default max_recv; a 2016-header chunk reply is ~325 kB

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
BAD_REQUEST = 1
DAEMON_ERROR = 2

JsonValue = Any  # what json.loads returns; checked where it is read
RequestId = int | str | None


class ElectrumRpcError(Exception):
    """An error the server answers a request with (code and message travel to the client)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Request:
    """One JSON-RPC call; `is_notification` when it has no id (nothing is answered)."""

    method: str
    params: tuple[JsonValue, ...]
    request_id: RequestId
    is_notification: bool


@dataclass(frozen=True)
class Invalid:
    """A message that is not a valid request; answered with `error` (id null when unknown)."""

    request_id: RequestId
    error: ElectrumRpcError


@dataclass(frozen=True)
class ParsedLine:
    items: tuple[Request | Invalid, ...]
    batch: bool


def _request(obj: JsonValue) -> Request | Invalid:
    if not isinstance(obj, dict):
        return Invalid(None, ElectrumRpcError(INVALID_REQUEST, "request must be a JSON object"))
    has_id = "id" in obj
    request_id = obj.get("id")
    if (has_id and not (request_id is None or isinstance(request_id, int | str))) or isinstance(
        request_id, bool
    ):
        return Invalid(None, ElectrumRpcError(INVALID_REQUEST, f"bad request id {request_id!r}"))
    method = obj.get("method")
    if not isinstance(method, str):
        return Invalid(request_id, ElectrumRpcError(INVALID_REQUEST, "method must be a string"))
    params = obj.get("params", [])
    if isinstance(params, dict):
        # Named params are legal JSON-RPC 2.0, but Electrum methods are positional; ElectrumX refuses them.
        return Invalid(request_id, ElectrumRpcError(INVALID_PARAMS, f"{method}: params must be a list"))
    if not isinstance(params, list):
        return Invalid(request_id, ElectrumRpcError(INVALID_REQUEST, "params must be a list"))
    return Request(method, tuple(params), request_id, not has_id)


def parse_line(line: bytes) -> ParsedLine:
    """Decode one line (without its newline) into requests; a batch is a JSON array of them."""
    try:
        decoded = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return ParsedLine((Invalid(None, ElectrumRpcError(PARSE_ERROR, f"invalid JSON: {exc}")),), False)
    if isinstance(decoded, list):
        if not decoded:
            return ParsedLine((Invalid(None, ElectrumRpcError(INVALID_REQUEST, "empty batch")),), False)
        return ParsedLine(tuple(_request(item) for item in decoded), True)
    return ParsedLine((_request(decoded),), False)


def result_message(request_id: RequestId, result: JsonValue) -> dict[str, JsonValue]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_message(request_id: RequestId, error: ElectrumRpcError) -> dict[str, JsonValue]:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": error.code, "message": error.message}}


def notification_message(method: str, params: list[JsonValue]) -> dict[str, JsonValue]:
    return {"jsonrpc": "2.0", "method": method, "params": params}


def encode(message: dict[str, JsonValue] | list[dict[str, JsonValue]]) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"
