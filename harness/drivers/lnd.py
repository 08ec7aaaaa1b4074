"""lnd as a NodeDriver, over its REST API (grpc-gateway).

Authentication: the admin macaroon, hex-encoded, in the `Grpc-Metadata-macaroon` header, over TLS with
lnd's self-signed `tls.cert` as the only trusted certificate (hostname checks stay on: the launchers add
`tlsextradomain=localhost` / `tlsextraip=127.0.0.1`). Readiness: `/v1/getinfo` answers and says
`synced_to_chain`.

REST JSON follows the proto3 JSON mapping: 64-bit integers (amounts in sat, `chan_id`) are strings, bytes
fields (`r_hash`, `funding_txid_bytes`, `node_pubkey`) are base64. Server streams (`/v2/router/send`,
`DELETE /v1/channels/...`) send one JSON object per line, `{"result": ...}` or `{"error": ...}`.

Normalization (pure functions, unit-tested on responses transcribed from lnd's API reference, see
tests/data/api_responses/lnd/):
- channel_id is BOLT 2's: the funding txid (internal byte order) XOR the output index in its last 2 bytes;
  short_channel_id from `chan_id` (block << 40 | tx << 16 | output, BOLT 7).
- states: `/v1/channels/pending` pending_open -> AWAITING_LOCKIN; an open channel is NORMAL, or
  SHUTTING_DOWN once a close is initiated (chan_status_flags), CLOSING once the coop close is broadcast;
  waiting_close (closing tx unconfirmed) -> CLOSING; pending_force_closing (commitment confirmed, outputs
  maturing) and `/v1/channels/closed` -> CLOSED.
- balances: lnd reports whole satoshis (`local_balance`, after the commitment fee and anchors the opener
  pays), so `_msat` values are multiples of 1000 and can differ from CLN's `to_us_msat` by the fee.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import ssl
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.drivers.base import (
    ChannelInfo,
    ChannelState,
    DriverError,
    Invoice,
    NodeAddress,
    NodeInfo,
    OpenChannelOptions,
    OutPoint,
    PaymentResult,
    UnsupportedOperation,
    WaitTimeout,
)
from harness.drivers.launched import LaunchedNodeDriver
from harness.launchers.base import NodeHandle, poll_until

READY_TIMEOUT_S = 90.0
REST_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0
CHANNEL_POLL_INTERVAL_S = 0.2
PAYMENT_FEE_LIMIT_SAT = 100_000  # SendPaymentV2: a zero limit would allow zero-fee routes only

#: channel_type names a scenario may ask for -> lnd's `commitment_type` (lightning.proto CommitmentType)
COMMITMENT_TYPES: Mapping[str, str] = {
    "static_remotekey": "STATIC_REMOTE_KEY",
    "anchors": "ANCHORS",
    "anchors_zero_fee_htlc_tx": "ANCHORS",
    "simple_taproot": "SIMPLE_TAPROOT",
}


class LndApiError(DriverError):
    """lnd answered with an error (HTTP status and grpc-gateway's code and message)."""

    def __init__(self, request: str, http_status: int, grpc_code: int | None, message: str) -> None:
        super().__init__(f"lnd {request}: HTTP {http_status}, code {grpc_code}: {message}")
        self.request = request
        self.http_status = http_status
        self.grpc_code = grpc_code
        self.message = message


class LndTransportError(DriverError):
    """No HTTP answer (connection refused, TLS failure, timeout) or one that is not JSON."""


class LndResponseError(DriverError):
    """A response the driver cannot normalize."""


class LndCredentialsNotReady(DriverError):
    """tls.cert or admin.macaroon does not exist yet (lnd creates them while starting)."""


@dataclass(frozen=True)
class LndCredentials:
    cert_pem: bytes
    macaroon_hex: str = field(repr=False)

    @classmethod
    def from_files(cls, cert_path: Path, macaroon_path: Path) -> LndCredentials:
        try:
            return cls(cert_path.read_bytes(), macaroon_path.read_bytes().hex())
        except FileNotFoundError as exc:
            raise LndCredentialsNotReady(f"{exc.filename} does not exist yet") from exc


def tls_context(cert_pem: bytes) -> ssl.SSLContext:
    """Trust exactly lnd's self-signed certificate; hostname checking stays on."""
    context = ssl.create_default_context(cadata=cert_pem.decode("ascii"))
    # lnd's self-signed certificate is its own root; OpenSSL's strict mode (a default from Python 3.13)
    # also demands extensions some lnd releases do not set, so only that flag is relaxed.
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    return context


class LndRest:
    """Blocking http.client calls run in a thread; one connection per request."""

    def __init__(self, url: str, credentials: LndCredentials, timeout_s: float = REST_TIMEOUT_S) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme != "https" or parsed.hostname is None:
            raise ValueError(f"lnd REST URL must be https://host:port, not {url!r}")
        self.host = parsed.hostname
        self.port = parsed.port or 8080
        self.timeout_s = timeout_s
        self.headers = {"Grpc-Metadata-macaroon": credentials.macaroon_hex, "Accept": "application/json"}
        self.context = tls_context(credentials.cert_pem)

    async def get(self, path: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        return await asyncio.to_thread(self._request, "GET", _with_query(path, query), None, None, None)

    async def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self._request, "POST", path, body, None, None)

    async def delete(self, path: str, query: Mapping[str, str] | None = None) -> dict[str, Any]:
        return await asyncio.to_thread(self._request, "DELETE", _with_query(path, query), None, None, None)

    async def stream(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        until: Callable[[Mapping[str, Any]], bool],
        timeout_s: float,
    ) -> dict[str, Any]:
        """Read a server stream until a `result` satisfies `until`; return that result."""
        return await asyncio.to_thread(self._request, method, path, body, until, timeout_s)

    def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None,
        until: Callable[[Mapping[str, Any]], bool] | None,
        timeout_s: float | None,
    ) -> dict[str, Any]:
        name = f"{method} {path.split('?')[0]}"
        timeout = self.timeout_s if timeout_s is None else timeout_s
        connection = http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.context)
        try:
            payload = None if body is None else json.dumps(body).encode()
            headers = dict(self.headers)
            if payload is not None:
                headers["Content-Type"] = "application/json"
            connection.request(method, path, body=payload, headers=headers)
            response = connection.getresponse()
            if until is None or response.status != 200:
                return _decode_response(name, response.status, response.read())
            return _read_stream(name, response, until, time.monotonic() + timeout)
        except (OSError, http.client.HTTPException) as exc:  # ssl.SSLError is an OSError
            where = f"{self.host}:{self.port}"
            raise LndTransportError(f"lnd {name} at {where}: {type(exc).__name__}: {exc}") from exc
        finally:
            connection.close()


def _with_query(path: str, query: Mapping[str, str] | None) -> str:
    return path if not query else f"{path}?{urllib.parse.urlencode(query)}"


def _error_of(name: str, status: int, obj: Mapping[str, Any]) -> LndApiError:
    # grpc-gateway: {"code": N, "message": "...", "details": []}; in streams wrapped as {"error": {...}}
    error = obj.get("error", obj)
    if not isinstance(error, Mapping):
        return LndApiError(name, status, None, str(error))
    code = error.get("code")
    return LndApiError(name, status, int(code) if code is not None else None, str(error.get("message", "")))


def _decode_response(name: str, status: int, raw: bytes) -> dict[str, Any]:
    try:
        obj = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise LndTransportError(f"lnd {name}: HTTP {status}, not JSON: {raw[:200]!r}") from exc
    if not isinstance(obj, dict):
        raise LndTransportError(f"lnd {name}: HTTP {status}, not a JSON object")
    if status != 200:
        raise _error_of(name, status, obj)
    return obj


def _read_stream(
    name: str, response: http.client.HTTPResponse, until: Callable[[Mapping[str, Any]], bool], deadline: float
) -> dict[str, Any]:
    while time.monotonic() < deadline:
        line = response.readline()
        if not line:
            raise LndTransportError(f"lnd {name}: stream ended before the awaited update")
        if not line.strip():
            continue
        message = _decode_response(name, 200, line)
        if "error" in message:
            raise _error_of(name, 200, message)
        result = message.get("result")
        if isinstance(result, dict) and until(result):
            return result
    raise LndTransportError(f"lnd {name}: no final update before the deadline")


# ----- normalization (pure)


def parse_sat(value: object, field_name: str) -> int:
    """An int64 amount: a JSON string (proto3 mapping) or, leniently, a number."""
    if isinstance(value, bool):
        raise LndResponseError(f"{field_name}: not an amount: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise LndResponseError(f"{field_name}: not an amount: {value!r}")


def parse_channel_point(text: str) -> OutPoint:
    txid, sep, index = text.partition(":")
    if not sep or len(txid) != 64 or not index.isdigit():
        raise LndResponseError(f"not a channel point (txid:index): {text!r}")
    return OutPoint(txid, int(index))


def channel_id_from_outpoint(outpoint: OutPoint) -> bytes:
    """BOLT 2: channel_id = funding_txid XOR funding_output_index (big-endian, altering the last 2 bytes),
    funding_txid in the byte order of funding_created (reversed from the RPC display order)."""
    txid = bytearray(bytes.fromhex(outpoint.txid)[::-1])
    txid[30] ^= (outpoint.vout >> 8) & 0xFF
    txid[31] ^= outpoint.vout & 0xFF
    return bytes(txid)


def outpoint_from_channel_point(obj: Mapping[str, Any]) -> OutPoint:
    """A ChannelPoint message (OpenChannelSync's answer): `funding_txid_bytes` is base64, internal order."""
    if "funding_txid_str" in obj:
        txid = str(obj["funding_txid_str"])
    else:
        txid = base64.b64decode(obj["funding_txid_bytes"])[::-1].hex()
    return OutPoint(txid, int(obj.get("output_index", 0)))


def short_channel_id(chan_id: object) -> str | None:
    """BOLT 7 short_channel_id from lnd's uint64 `chan_id` (0 or absent: not confirmed yet)."""
    value = parse_sat(chan_id, "chan_id") if chan_id is not None else 0
    if value == 0:
        return None
    return f"{value >> 40}x{(value >> 16) & 0xFFFFFF}x{value & 0xFFFF}"


def features_bitfield(features: Mapping[str, Any]) -> bytes:
    """getinfo's `features` map (bit number -> description) as a BOLT 9 feature bitfield."""
    bits = [int(bit) for bit in features]
    if not bits:
        return b""
    value = 0
    for bit in bits:
        value |= 1 << bit
    return value.to_bytes(max(bits) // 8 + 1, "big")


def node_info_from_getinfo(obj: Mapping[str, Any]) -> NodeInfo:
    try:
        return NodeInfo(
            node_id=bytes.fromhex(obj["identity_pubkey"]),
            alias=str(obj.get("alias", "")),
            implementation="lnd",
            version=str(obj.get("version", "")),
            block_height=int(obj.get("block_height", 0)),
            features=features_bitfield(obj.get("features", {})),
        )
    except KeyError as exc:
        raise LndResponseError(f"getinfo: no {exc.args[0]!r} field") from None


def p2p_from_getinfo(obj: Mapping[str, Any], rest_host: str) -> tuple[str, int]:
    """Where an attached lnd listens for peers: its first URI (pubkey@host:port), else lnd's default
    port 9735 on the REST host (lnd lists URIs only for external IPs)."""
    for uri in obj.get("uris", []):
        _pubkey, _, hostport = str(uri).partition("@")
        host, _, port = hostport.rpartition(":")
        if host and port.isdigit():
            return host.strip("[]"), int(port)
    return rest_host, 9735


def getinfo_ready(obj: Mapping[str, Any]) -> bool:
    return bool(obj.get("synced_to_chain", False))


def _open_state(obj: Mapping[str, Any]) -> ChannelState:
    flags = str(obj.get("chan_status_flags", ""))
    if "ChanStatusCoopBroadcasted" in flags or "ChanStatusCommitBroadcasted" in flags:
        return ChannelState.CLOSING
    if "CloseInitiator" in flags:  # ChanStatusLocalCloseInitiator / ChanStatusRemoteCloseInitiator
        return ChannelState.SHUTTING_DOWN
    return ChannelState.NORMAL


def _channel(
    obj: Mapping[str, Any],
    state: ChannelState,
    peer_key: str,
    chan_id: object,
    local_sat: int,
    remote_sat: int,
) -> ChannelInfo:
    outpoint = parse_channel_point(str(obj.get("channel_point", "")))
    return ChannelInfo(
        peer_id=bytes.fromhex(str(obj.get(peer_key, ""))),
        channel_id=channel_id_from_outpoint(outpoint),
        state=state,
        funding_outpoint=outpoint,
        short_channel_id=short_channel_id(chan_id),
        capacity_sat=parse_sat(obj.get("capacity", "0"), "capacity"),
        local_balance_msat=local_sat * 1000,
        remote_balance_msat=remote_sat * 1000,
    )


def channel_from_open(obj: Mapping[str, Any]) -> ChannelInfo:
    """One entry of `GET /v1/channels` (lnrpc.Channel)."""
    local = parse_sat(obj.get("local_balance", "0"), "local_balance")
    remote = parse_sat(obj.get("remote_balance", "0"), "remote_balance")
    return _channel(obj, _open_state(obj), "remote_pubkey", obj.get("chan_id"), local, remote)


#: lists of `GET /v1/channels/pending` and what being in each means
PENDING_LISTS: Mapping[str, ChannelState] = {
    "pending_open_channels": ChannelState.AWAITING_LOCKIN,
    "waiting_close_channels": ChannelState.CLOSING,
    "pending_closing_channels": ChannelState.CLOSED,  # deprecated list: coop close with one confirmation
    "pending_force_closing_channels": ChannelState.CLOSED,
}


def channels_from_pending(obj: Mapping[str, Any]) -> list[ChannelInfo]:
    channels = []
    for list_name, state in PENDING_LISTS.items():
        for entry in obj.get(list_name, []):
            inner = entry.get("channel", {})
            local = parse_sat(inner.get("local_balance", "0"), "local_balance")
            remote = parse_sat(inner.get("remote_balance", "0"), "remote_balance")
            channels.append(_channel(inner, state, "remote_node_pub", None, local, remote))
    return channels


def channel_from_closed(obj: Mapping[str, Any]) -> ChannelInfo:
    """One entry of `GET /v1/channels/closed` (ChannelCloseSummary). lnd reports only our settled
    balance; the remote figure is the rest of the capacity, closing fee included."""
    capacity = parse_sat(obj.get("capacity", "0"), "capacity")
    settled = parse_sat(obj.get("settled_balance", "0"), "settled_balance")
    chan_id = obj.get("chan_id")
    return _channel(obj, ChannelState.CLOSED, "remote_pubkey", chan_id, settled, capacity - settled)


def channels_from_responses(
    open_channels: Mapping[str, Any], pending: Mapping[str, Any], closed: Mapping[str, Any]
) -> list[ChannelInfo]:
    """Every channel once, in its most advanced state (closed > pending > open)."""
    by_id: dict[bytes, ChannelInfo] = {}
    for channel in (
        *[channel_from_open(c) for c in open_channels.get("channels", [])],
        *channels_from_pending(pending),
        *[channel_from_closed(c) for c in closed.get("channels", [])],
    ):
        by_id[channel.channel_id] = channel
    return list(by_id.values())


def payment_from_router(obj: Mapping[str, Any]) -> PaymentResult:
    """A final lnrpc.Payment from `/v2/router/send`."""
    status = obj.get("status")
    preimage = str(obj.get("payment_preimage", ""))
    succeeded = status == "SUCCEEDED"
    return PaymentResult(
        payment_hash=bytes.fromhex(str(obj.get("payment_hash", ""))),
        succeeded=succeeded,
        preimage=bytes.fromhex(preimage) if succeeded and preimage.strip("0") else None,
        failure=None if succeeded else str(obj.get("failure_reason", status)),
    )


def payment_is_final(obj: Mapping[str, Any]) -> bool:
    return obj.get("status") in ("SUCCEEDED", "FAILED")


def invoice_from_add(obj: Mapping[str, Any], amount_msat: int | None) -> Invoice:
    try:
        return Invoice(str(obj["payment_request"]), base64.b64decode(obj["r_hash"]), amount_msat)
    except KeyError as exc:
        raise LndResponseError(f"AddInvoice: no {exc.args[0]!r} field") from None


def close_is_pending(obj: Mapping[str, Any]) -> bool:
    """CloseStatusUpdate: the close transaction is broadcast (or the close is already done)."""
    return any(key in obj for key in ("close_pending", "chan_close", "close_instant"))


# ----- the driver

CredentialsSource = Callable[[], Awaitable[LndCredentials]]


class LndDriver(LaunchedNodeDriver):
    implementation = "lnd"

    def __init__(
        self,
        handle: NodeHandle,
        rest_url: str,
        credentials: CredentialsSource,
        p2p: tuple[str, int] | None,
        *,
        route_peer: Callable[[NodeAddress], NodeAddress] | None = None,
        ready_timeout_s: float = READY_TIMEOUT_S,
    ) -> None:
        self.handle = handle
        self.rest_url = rest_url
        self.credentials = credentials
        self.p2p = p2p  # None (attached): learned from getinfo's uris at start
        self.route_peer = route_peer or (lambda address: address)
        self.ready_timeout_s = ready_timeout_s
        self._rest: LndRest | None = None
        self._node_id: bytes | None = None

    @property
    def rest(self) -> LndRest:
        if self._rest is None:
            raise DriverError(f"{self.handle.name}: not started")
        return self._rest

    async def start(self) -> None:
        await self.handle.start()

        async def synced() -> dict[str, Any] | None:
            rest = LndRest(self.rest_url, await self.credentials())  # cert and macaroon appear during start
            info = await rest.get("/v1/getinfo")
            self._rest = rest
            return info if getinfo_ready(info) else None

        info = await poll_until(synced, self.handle, self.ready_timeout_s, "getinfo synced_to_chain")
        self._node_id = bytes.fromhex(info["identity_pubkey"])
        if self.p2p is None:
            self.p2p = p2p_from_getinfo(info, self.rest.host)

    async def stop(self) -> None:
        if not self.handle.owns_node:
            return
        if self._rest is not None:
            try:
                await self._rest.post("/v1/stop", {})
            except (LndApiError, LndTransportError):
                pass  # not answering: the handle terminates it
            else:
                await self.handle.wait_exit(STOP_GRACE_S)  # let it shut down cleanly before any signal
        await self.handle.stop()
        self._rest = None

    async def info(self) -> NodeInfo:
        return node_info_from_getinfo(await self.rest.get("/v1/getinfo"))

    async def new_address(self) -> str:
        result = await self.rest.get("/v1/newaddress", {"type": "WITNESS_PUBKEY_HASH"})
        return str(result["address"])

    async def onchain_balance_sat(self) -> int:
        result = await self.rest.get("/v1/balance/blockchain")
        return parse_sat(result.get("confirmed_balance", "0"), "confirmed_balance")

    async def connect(self, peer: NodeAddress, timeout_s: float) -> None:
        routed = self.route_peer(peer)
        body = {
            "addr": {"pubkey": routed.node_id.hex(), "host": f"{routed.host}:{routed.port}"},
            "perm": False,
            "timeout": str(max(1, int(timeout_s))),
        }
        try:
            await asyncio.wait_for(self.rest.post("/v1/peers", body), timeout_s)
        except LndApiError as exc:
            if "already connected" not in exc.message:
                raise

    async def disconnect(self, peer_id: bytes, timeout_s: float) -> None:
        await asyncio.wait_for(self.rest.delete(f"/v1/peers/{peer_id.hex()}"), timeout_s)

    async def open_channel(
        self, peer_id: bytes, amount_sat: int, push_msat: int, options: OpenChannelOptions
    ) -> ChannelInfo:
        if push_msat % 1000:
            raise UnsupportedOperation("lnd", "open_channel", "lnd pushes whole satoshis (push_sat)")
        if options.feerate_per_kw is not None:
            raise UnsupportedOperation("lnd", "open_channel feerate_per_kw", "lnd sets the commit feerate")
        body: dict[str, Any] = {
            "node_pubkey": base64.b64encode(peer_id).decode(),
            "local_funding_amount": str(amount_sat),
            "push_sat": str(push_msat // 1000),
            "private": not options.announce,
        }
        if options.channel_type is not None:
            if options.channel_type not in COMMITMENT_TYPES:
                raise UnsupportedOperation(
                    "lnd", f"channel_type {options.channel_type!r}", f"known: {sorted(COMMITMENT_TYPES)}"
                )
            body["commitment_type"] = COMMITMENT_TYPES[options.channel_type]
        outpoint = outpoint_from_channel_point(await self.rest.post("/v1/channels", body))
        channel_id = channel_id_from_outpoint(outpoint)
        for channel in await self.list_channels():
            if channel.channel_id == channel_id:
                return channel
        raise LndResponseError(f"OpenChannelSync returned {outpoint} but no channel list has it")

    async def list_channels(self) -> list[ChannelInfo]:
        open_channels = await self.rest.get("/v1/channels")
        pending = await self.rest.get("/v1/channels/pending")
        closed = await self.rest.get("/v1/channels/closed")
        return channels_from_responses(open_channels, pending, closed)

    async def create_invoice(self, amount_msat: int | None, description: str) -> Invoice:
        body = {"value_msat": str(amount_msat or 0), "memo": description}  # 0: any amount
        return invoice_from_add(await self.rest.post("/v1/invoices", body), amount_msat)

    async def pay(self, bolt11: str, timeout_s: float) -> PaymentResult:
        body = {
            "payment_request": bolt11,
            "timeout_seconds": max(1, int(timeout_s)),
            "fee_limit_sat": str(PAYMENT_FEE_LIMIT_SAT),
            "no_inflight_updates": True,
        }
        final = await self.rest.stream("POST", "/v2/router/send", body, payment_is_final, timeout_s + 10.0)
        return payment_from_router(final)

    async def close(self, channel_id: bytes, force: bool) -> None:
        for channel in await self.list_channels():
            if channel.channel_id == channel_id and channel.funding_outpoint is not None:
                outpoint = channel.funding_outpoint
                break
        else:
            raise DriverError(f"{self.handle.name}: no channel {channel_id.hex()}")
        path = f"/v1/channels/{outpoint.txid}/{outpoint.vout}?force={'true' if force else 'false'}"
        await self.rest.stream("DELETE", path, None, close_is_pending, REST_TIMEOUT_S * 2)

    async def wait_for_channel_state(
        self, channel_id: bytes, state: ChannelState, timeout_s: float
    ) -> ChannelInfo:
        async def reached() -> ChannelInfo | None:
            for channel in await self.list_channels():
                if channel.channel_id == channel_id and channel.state is state:
                    return channel
            return None

        try:
            return await poll_until(
                reached,
                self.handle,
                timeout_s,
                f"channel {channel_id.hex()} {state.value}",
                interval_s=CHANNEL_POLL_INTERVAL_S,
                retry_on=(LndTransportError,),
            )
        except WaitTimeout as exc:
            current = [c.state.value for c in await self.list_channels() if c.channel_id == channel_id]
            raise WaitTimeout(f"{exc}; current state: {current or 'no such channel'}") from exc
