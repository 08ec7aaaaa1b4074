"""Core Lightning (lightningd) as a NodeDriver, over its JSON-RPC.

The JSON-RPC is JSON-RPC 2.0 on lightningd's unix socket (`<lightning-dir>/regtest/lightning-rpc`;
doc/lightningd-rpc.7.md), or on TCP where the elementsproject/lightningd image bridges that socket with
socat (EXPOSE_TCP=true, port 9835). Every call opens its own connection: lightningd answers one response
per request followed by two newlines, and independent connections keep concurrent steps apart.

Normalization (pure functions, unit-tested on the examples of CLN's own schemas, see
tests/data/api_responses/cln/):
- amounts: `*_msat` fields are integers since v23.x; older releases sent strings like "1000msat", also read.
- channel states (`listpeerchannels.state`) map to ChannelState with `CLN_STATES`; a channel that has been
  forgotten after its close appears in `listclosedchannels` and is CLOSED. CLOSED means the funding output is
  spent in a block (ONCHAIN: onchaind may still be sweeping outputs).
- channel_id is taken as CLN reports it: for dual-funded (v2) channels it is not the funding outpoint XOR.
- errors: JSON-RPC errors become `ClnRpcError` (method, code, message); `pay`'s documented failure codes are
  a failed PaymentResult, not an exception.

Optional capabilities (harness/drivers/base.py): ChainFollowing (`sync`: getchaininfo then waitblockheight,
so mining steps let lightningd see each block before the next), ResolutionReporting (a channel is
irrevocably resolved once lightningd forgot it) and PreimageHolding (the harness's plugin,
harness/drivers/cln_hold_plugin.py, when the launcher loaded it: local processes).

Checked against lightningd v25.12 and bitcoind v31.99 (tests/test_launchers_real_programs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from reference_node.unix_socket import open_unix_connection

READY_TIMEOUT_S = 60.0
RPC_TIMEOUT_S = 60.0
CLOSE_TIMEOUT_S = 120.0
STOP_GRACE_S = 10.0
CHANNEL_POLL_INTERVAL_S = 0.2
SYNC_TIMEOUT_S = 60.0
_READ_CHUNK = 65536

#: lightningd's channel states (doc/schemas/listpeerchannels.json, `state` enum) in BOLT 2 terms
CLN_STATES: Mapping[str, ChannelState] = {
    "OPENINGD": ChannelState.OPENING,
    "DUALOPEND_OPEN_INIT": ChannelState.OPENING,
    "DUALOPEND_OPEN_COMMITTED": ChannelState.OPENING,
    "DUALOPEND_OPEN_COMMIT_READY": ChannelState.OPENING,
    "CHANNELD_AWAITING_LOCKIN": ChannelState.AWAITING_LOCKIN,
    "DUALOPEND_AWAITING_LOCKIN": ChannelState.AWAITING_LOCKIN,
    "CHANNELD_NORMAL": ChannelState.NORMAL,
    "CHANNELD_AWAITING_SPLICE": ChannelState.NORMAL,  # still usable while a splice confirms
    "CHANNELD_SHUTTING_DOWN": ChannelState.SHUTTING_DOWN,  # shutdown sent/received, HTLCs draining
    "CLOSINGD_SIGEXCHANGE": ChannelState.SHUTTING_DOWN,  # closing_signed negotiation (BOLT 2)
    "CLOSINGD_COMPLETE": ChannelState.CLOSING,  # mutual close tx broadcast, unconfirmed
    "AWAITING_UNILATERAL": ChannelState.CLOSING,  # our commitment broadcast, unconfirmed
    "FUNDING_SPEND_SEEN": ChannelState.CLOSING,  # a spend of the funding output seen, unconfirmed
    "ONCHAIN": ChannelState.CLOSED,  # funding spend confirmed; onchaind resolves outputs (BOLT 5)
}

_LIVE_STATES = frozenset(
    {ChannelState.OPENING, ChannelState.AWAITING_LOCKIN, ChannelState.NORMAL, ChannelState.SHUTTING_DOWN}
)

#: `pay` error codes that mean "the payment failed" (doc/schemas/pay.json, "errors"); others are RPC errors
PAY_FAILURE_CODES = frozenset({-1, 201, 203, 205, 206, 207, 210})

#: `pay` right after a channel reached CHANNELD_NORMAL can fail before gossipd has our channel_update (the
#: pay plugin routes over its gossmap: plugins/libplugin-pay.c routehint_check_reachable; v25.12 sends
#: this error without its PAY_UNREACHABLE code, so it is recognized by its message)
_NOT_YET_IN_GOSSMAP = "is not reachable directly and all routehints were unusable"
UNREACHABLE_RETRY_S = 10.0

#: channel_type names a scenario may ask for -> BOLT 9 feature bits CLN's `fundchannel channel_type` takes
CHANNEL_TYPE_BITS: Mapping[str, tuple[int, ...]] = {
    "static_remotekey": (12,),
    "anchors": (12, 22),
    "anchors_zero_fee_htlc_tx": (12, 22),
}


class ClnRpcError(DriverError):
    """lightningd answered a call with a JSON-RPC error."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"cln {method}: error {code}: {message}")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


class ClnTransportError(DriverError):
    """The JSON-RPC connection failed or answered something that is not JSON-RPC."""


class ClnResponseError(DriverError):
    """A response the driver cannot normalize (a missing field, an unknown state, a bad amount)."""


@dataclass(frozen=True)
class ClnRpcEndpoint:
    """Where lightningd's JSON-RPC is: a unix socket path, or TCP host and port."""

    unix_path: Path | None = None
    tcp_host: str | None = None
    tcp_port: int | None = None

    def __post_init__(self) -> None:
        if (self.unix_path is None) == (self.tcp_port is None):
            raise ValueError("a CLN RPC endpoint is either a unix socket or a TCP port")

    def __str__(self) -> str:
        return str(self.unix_path) if self.unix_path is not None else f"tcp://{self.tcp_host}:{self.tcp_port}"


class ClnRpc:
    """A small JSON-RPC 2.0 client for lightningd (named params, one connection per call)."""

    def __init__(self, endpoint: ClnRpcEndpoint, timeout_s: float = RPC_TIMEOUT_S) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, timeout_s: float | None = None
    ) -> dict[str, Any]:
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            return await asyncio.wait_for(self._call(method, dict(params or {})), limit)
        except TimeoutError:
            raise ClnTransportError(f"cln {method}: no answer from {self.endpoint} in {limit:g}s") from None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.endpoint.unix_path is not None:
            return await open_unix_connection(self.endpoint.unix_path, limit=2**24)
        return await asyncio.open_connection(self.endpoint.tcp_host, self.endpoint.tcp_port, limit=2**24)

    async def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        # CLN's JSON ids: PREFIX ':' METHOD '#' NUMBER (doc/lightningd-rpc.7.md, "JSON IDS")
        request_id = f"boltcheck:{method}#{next(self._ids)}"
        request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        reader, writer = await self._open()
        try:
            writer.write(json.dumps(request).encode())
            await writer.drain()
            response = await _read_json(reader, method)
        finally:
            writer.close()
            with contextlib.suppress(OSError):  # the peer may close first; the response is read
                await writer.wait_closed()
        return _result_of(method, request_id, response)


async def _read_json(reader: asyncio.StreamReader, method: str) -> dict[str, Any]:
    decoder = json.JSONDecoder()
    buffer = ""
    while True:
        chunk = await reader.read(_READ_CHUNK)
        if not chunk:
            raise ClnTransportError(f"cln {method}: connection closed mid-response ({buffer[:200]!r})")
        buffer += chunk.decode()
        text = buffer.lstrip()
        try:
            value, _end = decoder.raw_decode(text)
        except json.JSONDecodeError:
            continue  # incomplete: read on (lightningd ends each response with "\n\n")
        if not isinstance(value, dict):
            raise ClnTransportError(f"cln {method}: response is not a JSON object: {text[:200]!r}")
        return value


def _result_of(method: str, request_id: str, response: Mapping[str, Any]) -> dict[str, Any]:
    if response.get("id") != request_id:
        raise ClnTransportError(f"cln {method}: response id {response.get('id')!r} is not {request_id!r}")
    error = response.get("error")
    if error is not None:
        if not isinstance(error, Mapping):
            raise ClnTransportError(f"cln {method}: malformed error {error!r}")
        raise ClnRpcError(method, int(error.get("code", 0)), str(error.get("message", "")), error.get("data"))
    result = response.get("result")
    if not isinstance(result, dict):
        raise ClnTransportError(f"cln {method}: response has no result object")
    return result


# ----- normalization (pure)


def parse_msat(value: object, field: str) -> int:
    """An `_msat` field: an integer, or (before v23.x) a string like "1000msat"."""
    if isinstance(value, bool):
        raise ClnResponseError(f"{field}: not an amount: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("msat") and value[:-4].isdigit():
        return int(value[:-4])
    raise ClnResponseError(f"{field}: not an msat amount: {value!r}")


def channel_state(name: str) -> ChannelState:
    try:
        return CLN_STATES[name]
    except KeyError:
        raise ClnResponseError(f"unknown Core Lightning channel state {name!r}") from None


def _field(obj: Mapping[str, Any], name: str, where: str) -> Any:
    try:
        return obj[name]
    except KeyError:
        raise ClnResponseError(f"{where}: no {name!r} field") from None


def _outpoint(obj: Mapping[str, Any]) -> OutPoint | None:
    if "funding_txid" not in obj or "funding_outnum" not in obj:
        return None  # OPENINGD: no funding transaction yet
    return OutPoint(str(obj["funding_txid"]), int(obj["funding_outnum"]))


def channel_from_peerchannel(obj: Mapping[str, Any]) -> ChannelInfo:
    """One entry of `listpeerchannels.channels`."""
    where = "listpeerchannels"
    total_msat = parse_msat(obj.get("total_msat", 0), "total_msat")
    to_us_msat = parse_msat(obj.get("to_us_msat", 0), "to_us_msat")
    return ChannelInfo(
        peer_id=bytes.fromhex(_field(obj, "peer_id", where)),
        channel_id=bytes.fromhex(obj.get("channel_id", "")),
        state=channel_state(_field(obj, "state", where)),
        funding_outpoint=_outpoint(obj),
        short_channel_id=obj.get("short_channel_id"),
        capacity_sat=total_msat // 1000,
        local_balance_msat=to_us_msat,
        remote_balance_msat=total_msat - to_us_msat,
    )


def channel_from_closedchannel(obj: Mapping[str, Any]) -> ChannelInfo:
    """One entry of `listclosedchannels.closedchannels` (a channel lightningd has forgotten)."""
    where = "listclosedchannels"
    total_msat = parse_msat(_field(obj, "total_msat", where), "total_msat")
    final_msat = parse_msat(_field(obj, "final_to_us_msat", where), "final_to_us_msat")
    return ChannelInfo(
        peer_id=bytes.fromhex(obj.get("peer_id", "")),  # absent for channels closed before v23.05
        channel_id=bytes.fromhex(_field(obj, "channel_id", where)),
        state=ChannelState.CLOSED,
        funding_outpoint=_outpoint(obj),
        short_channel_id=obj.get("short_channel_id"),
        capacity_sat=total_msat // 1000,
        local_balance_msat=final_msat,
        remote_balance_msat=total_msat - final_msat,
    )


def channels_from_responses(
    peerchannels: Mapping[str, Any], closedchannels: Mapping[str, Any]
) -> list[ChannelInfo]:
    """Live channels first; a forgotten channel is listed once, from listclosedchannels."""
    live = [channel_from_peerchannel(c) for c in peerchannels.get("channels", [])]
    known = {c.channel_id for c in live}
    closed = [channel_from_closedchannel(c) for c in closedchannels.get("closedchannels", [])]
    return live + [c for c in closed if c.channel_id not in known]


def node_info_from_getinfo(obj: Mapping[str, Any]) -> NodeInfo:
    where = "getinfo"
    features = obj.get("our_features", {}).get("node", "")
    return NodeInfo(
        node_id=bytes.fromhex(_field(obj, "id", where)),
        alias=str(obj.get("alias", "")),
        implementation="cln",
        version=str(obj.get("version", "")),
        block_height=int(_field(obj, "blockheight", where)),
        features=bytes.fromhex(features),
    )


def onchain_balance_from_listfunds(obj: Mapping[str, Any]) -> int:
    """Confirmed, unreserved wallet outputs, in satoshis (reserved ones fund a pending transaction)."""
    total_msat = 0
    for output in obj.get("outputs", []):
        if output.get("status") == "confirmed" and not output.get("reserved", False):
            total_msat += parse_msat(_field(output, "amount_msat", "listfunds.outputs"), "amount_msat")
    return total_msat // 1000


def payment_from_pay(obj: Mapping[str, Any]) -> PaymentResult:
    where = "pay"
    status = _field(obj, "status", where)
    preimage = obj.get("payment_preimage")
    return PaymentResult(
        payment_hash=bytes.fromhex(_field(obj, "payment_hash", where)),
        succeeded=status == "complete",
        preimage=bytes.fromhex(preimage) if preimage else None,
        failure=None if status == "complete" else f"pay status {status}",
    )


def payment_from_pay_error(error: ClnRpcError, payment_hash: bytes) -> PaymentResult:
    """A `pay` error with a documented failure code is a failed payment; any other error propagates."""
    if error.code not in PAY_FAILURE_CODES:
        raise error
    return PaymentResult(payment_hash, False, None, f"{error.code}: {error.message}")


def p2p_from_getinfo(obj: Mapping[str, Any]) -> tuple[str, int]:
    """Where an attached lightningd listens for peers: its first IP binding (or announced address)."""
    for key in ("binding", "address"):
        for entry in obj.get(key, []):
            if entry.get("type") in ("ipv4", "ipv6") and "port" in entry:
                return str(entry["address"]), int(entry["port"])
    raise ClnResponseError("getinfo lists no IP binding: lightningd does not listen for peers")


def getinfo_ready(obj: Mapping[str, Any]) -> bool:
    """lightningd answers getinfo while still catching up: these warnings say it is not synced yet."""
    return "warning_bitcoind_sync" not in obj and "warning_lightningd_sync" not in obj


def channel_type_bits(name: str) -> list[int]:
    try:
        return list(CHANNEL_TYPE_BITS[name])
    except KeyError:
        raise UnsupportedOperation(
            "cln", f"channel_type {name!r}", f"known types: {sorted(CHANNEL_TYPE_BITS)}"
        ) from None


# ----- the driver


class ClnDriver(LaunchedNodeDriver):
    implementation = "cln"

    def __init__(
        self,
        handle: NodeHandle,
        rpc: ClnRpcEndpoint,
        p2p: tuple[str, int] | None,
        *,
        developer: bool,
        route_peer: Callable[[NodeAddress], NodeAddress] | None = None,
        ready_timeout_s: float = READY_TIMEOUT_S,
        hold_plugin: bool = False,
    ) -> None:
        self.handle = handle
        self.rpc = ClnRpc(rpc)
        self.p2p = p2p  # None (attached): learned from getinfo's bindings at start
        self.developer = developer  # dev-fail (force close) needs lightningd --developer
        self.route_peer = route_peer or (lambda address: address)
        self.ready_timeout_s = ready_timeout_s
        self.hold_plugin = hold_plugin  # harness/drivers/cln_hold_plugin.py runs in this lightningd
        self._node_id: bytes | None = None
        self._labels = itertools.count(1)

    async def start(self) -> None:
        await self.handle.start()

        async def synced() -> dict[str, Any] | None:
            info = await self.rpc.call("getinfo")
            return info if getinfo_ready(info) else None

        info = await poll_until(synced, self.handle, self.ready_timeout_s, "getinfo without sync warnings")
        self._node_id = bytes.fromhex(info["id"])
        if self.p2p is None:
            self.p2p = p2p_from_getinfo(info)

    async def stop(self) -> None:
        if not self.handle.owns_node:
            return
        try:
            await self.rpc.call("stop", timeout_s=10.0)
        except (ClnTransportError, ClnRpcError, OSError):
            pass  # already gone or not answering: the handle terminates it
        else:
            await self.handle.wait_exit(STOP_GRACE_S)  # let it shut down cleanly before any signal
        await self.handle.stop()

    async def info(self) -> NodeInfo:
        return node_info_from_getinfo(await self.rpc.call("getinfo"))

    async def new_address(self) -> str:
        # p2tr, not bech32: a v25.12 node whose hsm_secret is a mnemonic (the default for a new node)
        # derives newaddr's p2wpkh key by BIP86 but hsmd signs p2wpkh inputs with the BIP32 key, so coins
        # sent to its bech32 address cannot be spent (bitcoind: "Script failed an OP_EQUALVERIFY
        # operation"; ElementsProject/lightning#8674). Its p2tr addresses are derived and signed alike.
        result = await self.rpc.call("newaddr", {"addresstype": "p2tr"})
        return str(_field(result, "p2tr", "newaddr"))

    async def sync(self, timeout_s: float = SYNC_TIMEOUT_S) -> int:
        """Wait until lightningd has processed every block its bitcoind has now; returns that height.

        lightningd polls its backend (dev-bitcoind-poll seconds): a block mined by a step just before is
        not seen yet. `getchaininfo` is the backend plugin's own command (bcli asks bitcoind, the tip
        now); `waitblockheight` returns once lightningd's topology reached it, and the block's wallet
        outputs are filtered before that (chaintopology.c add_tip, then notify_new_block).
        """
        chain = await self.rpc.call("getchaininfo", {"last_height": 0})
        height = int(_field(chain, "blockcount", "getchaininfo"))
        params = {"blockheight": height, "timeout": max(1, int(timeout_s))}
        await self.rpc.call("waitblockheight", params, timeout_s=timeout_s + 10.0)
        return height

    async def onchain_balance_sat(self) -> int:
        await self.sync()  # the chain as it is now, like the other drivers (a step may have mined)
        return onchain_balance_from_listfunds(await self.rpc.call("listfunds"))

    async def connect(self, peer: NodeAddress, timeout_s: float) -> None:
        routed = self.route_peer(peer)
        params = {"id": routed.node_id.hex(), "host": routed.host, "port": routed.port}
        await self.rpc.call("connect", params, timeout_s=timeout_s)

    async def disconnect(self, peer_id: bytes, timeout_s: float) -> None:
        await self.rpc.call("disconnect", {"id": peer_id.hex(), "force": True}, timeout_s=timeout_s)

    async def open_channel(
        self, peer_id: bytes, amount_sat: int, push_msat: int, options: OpenChannelOptions
    ) -> ChannelInfo:
        params: dict[str, Any] = {"id": peer_id.hex(), "amount": amount_sat, "announce": options.announce}
        if push_msat:
            params["push_msat"] = push_msat
        if options.feerate_per_kw is not None:
            params["feerate"] = f"{options.feerate_per_kw}perkw"
        if options.channel_type is not None:
            params["channel_type"] = channel_type_bits(options.channel_type)
        result = await self.rpc.call("fundchannel", params)
        channel_id = bytes.fromhex(_field(result, "channel_id", "fundchannel"))
        for channel in await self.list_channels():
            if channel.channel_id == channel_id:
                return channel
        raise ClnResponseError(f"fundchannel returned {channel_id.hex()} but listpeerchannels lacks it")

    async def list_channels(self) -> list[ChannelInfo]:
        peerchannels = await self.rpc.call("listpeerchannels")
        closedchannels = await self.rpc.call("listclosedchannels")
        return channels_from_responses(peerchannels, closedchannels)

    async def create_invoice(self, amount_msat: int | None, description: str) -> Invoice:
        label = f"boltcheck-{self.handle.name}-{time.time_ns()}-{next(self._labels)}"
        params = {"amount_msat": "any" if amount_msat is None else amount_msat, "label": label}
        result = await self.rpc.call("invoice", {**params, "description": description})
        return Invoice(
            bolt11=str(_field(result, "bolt11", "invoice")),
            payment_hash=bytes.fromhex(_field(result, "payment_hash", "invoice")),
            amount_msat=amount_msat,
        )

    async def pay(self, bolt11: str, timeout_s: float) -> PaymentResult:
        decoded = await self.rpc.call("decode", {"string": bolt11})
        payment_hash = bytes.fromhex(_field(decoded, "payment_hash", "decode"))
        params = {"bolt11": bolt11, "retry_for": max(1, int(timeout_s))}

        async def paid() -> dict[str, Any] | None:
            try:
                return await self.rpc.call("pay", params, timeout_s=timeout_s + 10.0)
            except ClnRpcError as exc:
                if _NOT_YET_IN_GOSSMAP in exc.message:
                    return None  # a channel just NORMAL: gossipd has not our channel_update yet
                raise

        try:
            result = await poll_until(
                paid, self.handle, UNREACHABLE_RETRY_S, "pay (channel in the gossmap)", retry_on=()
            )
        except ClnRpcError as exc:
            return payment_from_pay_error(exc, payment_hash)
        except WaitTimeout as exc:
            return PaymentResult(payment_hash, False, None, str(exc))
        return payment_from_pay(result)

    async def close(self, channel_id: bytes, force: bool) -> None:
        if not force:
            await self.rpc.call("close", {"id": channel_id.hex()}, timeout_s=CLOSE_TIMEOUT_S)
            return
        channels = await self.list_channels()
        matching = [c for c in channels if c.channel_id == channel_id]
        if not matching:
            raise DriverError(f"{self.handle.name}: no channel {channel_id.hex()}")
        channel = matching[0]
        live_with_peer = [c for c in channels if c.peer_id == channel.peer_id and c.state in _LIVE_STATES]
        if self.developer and len(live_with_peer) == 1:
            # dev-fail (developer mode) broadcasts our latest commitment now; it takes the peer's id and
            # refuses when there is more than one channel with that peer (lightningd/peer_control.c)
            await self.rpc.call("dev-fail", {"id": channel.peer_id.hex()})
            return
        # Without developer mode: a close that may not wait for the peer (unilateraltimeout, seconds) after
        # a disconnect, so the mutual negotiation cannot win the race.
        await self.disconnect(channel.peer_id, RPC_TIMEOUT_S)
        params = {"id": channel_id.hex(), "unilateraltimeout": 1}
        await self.rpc.call("close", params, timeout_s=CLOSE_TIMEOUT_S)

    # ----- withholding preimages (PreimageHolding), through the harness's plugin

    def _hold_control(self) -> None:
        if not self.hold_plugin:
            raise UnsupportedOperation(
                "cln", "hold_preimages", "needs the harness's hold plugin (local-process launcher only)"
            )

    async def hold_preimages(self) -> None:
        self._hold_control()
        await self.rpc.call("boltcheck-hold")

    async def release_held_htlcs(self, channel_id: bytes) -> int:
        """Settle the held HTLCs: off chain, or on chain through onchaind if the channel is closed."""
        self._hold_control()
        return int(_field(await self.rpc.call("boltcheck-release"), "released", "boltcheck-release"))

    async def release_preimages(self, channel_id: bytes) -> int:
        return await self.release_held_htlcs(channel_id)

    async def channel_irrevocably_resolved(self, channel_id: bytes) -> bool:
        """BOLT 5 irrevocably resolved: lightningd forgets a closed channel (it leaves listpeerchannels
        for listclosedchannels) once onchaind has resolved every output and 100 more blocks passed
        (onchaind: "All outputs resolved: waiting 100 more blocks before forgetting channel")."""
        live = await self.rpc.call("listpeerchannels")
        if any(c.get("channel_id") == channel_id.hex() for c in live.get("channels", [])):
            return False
        closed = await self.rpc.call("listclosedchannels")
        return any(c.get("channel_id") == channel_id.hex() for c in closed.get("closedchannels", []))

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
                retry_on=(ClnTransportError, OSError),
            )
        except WaitTimeout as exc:
            current = [c.state.value for c in await self.list_channels() if c.channel_id == channel_id]
            raise WaitTimeout(f"{exc}; current state: {current or 'no such channel'}") from exc
