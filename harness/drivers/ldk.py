"""LdkDriver: LDK 0.1 (WebAssembly, run by Node 20) behind the NodeDriver interface.

The node is interop/ldk/node.mjs, a child process speaking JSON lines: requests on stdin, answers and
events on stdout (interop/ldk/README.md). Chain data comes from a bitcoind-compatible RPC (`boltcheck
chain`), given as `LdkChainRpc`. Waits re-query the node whenever it reports an event (blocks, channel
and payment events), bounded by the caller's timeout; nothing sleeps.

Balances: LDK 0.1's ChannelDetails has no balance field (balance_msat was removed), only capacities, and
each stops at 0: outbound_capacity_msat = our balance - pending outbound HTLCs - the reserve we must
keep, inbound_capacity_msat = the peer's balance - pending inbound HTLCs - the reserve it must keep.
`channel_balances_msat` takes the balance of the side that is above its reserve from that side's
capacity, exact to the msat, and the other side as the rest of the capacity (HTLCs in flight belong to
neither side); see its docstring for the case where neither is. For the opener the commitment fee (and
anchors) are not taken from its side: the balances are those the commitments start from (BOLT 2/3).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.chain.address import script_to_address
from harness.chain.embedded import EmbeddedChain
from harness.chain.rpc_server import ChainRpcServer
from harness.drivers.base import (
    ChannelInfo,
    ChannelState,
    DriverError,
    Invoice,
    NodeAddress,
    NodeDriver,
    NodeInfo,
    OpenChannelOptions,
    OutPoint,
    PaymentResult,
    UnsupportedOperation,
    WaitTimeout,
)
from harness.drivers.registry import NodeSetup
from reference_node.transactions.fees import ANCHOR_OUTPUT_SAT  # BOLT 3: each anchor, paid by the opener

LDK_DIR = Path(__file__).resolve().parents[2] / "interop" / "ldk"
NODE_SCRIPT = LDK_DIR / "node.mjs"
READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 60.0
#: a wait re-queries at least this often even if the node reports nothing (changes LDK makes without
#: an event, e.g. a shutdown state); it waits on the event stream, never sleeps
REQUERY_S = 0.5

ANCHORS = "anchors_zero_fee_htlc_tx"
#: OpenChannelOptions.channel_type names this driver accepts for anchors (the reference driver uses "anchors")
ANCHORS_NAMES = (ANCHORS, "anchors")
STATIC_REMOTEKEY = "static_remotekey"
_CLOSING_SHUTDOWN_STATES = {"NegotiatingClosingFee", "ShutdownComplete"}
_SHUTTING_DOWN_STATES = {"ShutdownInitiated", "ResolvingHTLCs"}


class LdkError(DriverError):
    """The LDK node answered a request with an error; carries its code."""

    def __init__(self, node: str, method: str, code: str, message: str) -> None:
        super().__init__(f"ldk ({node}): {method}: {code}: {message}")
        self.method = method
        self.code = code


class LdkBalanceUnknown(DriverError):
    """The LDK node's channel entry gives no way to tell the balances (see channel_balances_msat)."""


class LdkNotInstalled(UnsupportedOperation):
    """node/npm or interop/ldk/node_modules are missing (run scripts/install-ldk.sh)."""


@dataclass(frozen=True)
class LdkChainRpc:
    """Where the node reads the chain: a bitcoind-compatible JSON-RPC on 127.0.0.1."""

    url: str
    user: str
    password: str


@dataclass(frozen=True)
class LdkConfig:
    data_dir: Path
    chain: LdkChainRpc
    seed: bytes  # 32 bytes, for KeysManager; handed over through the environment, never logged
    anchors: bool = False  # default channel type of channels this node opens
    #: LDK's own log (data_dir/ldk.log): Trace, since LDK logs why it drops a peer at that level
    log_level: str = "Trace"
    #: a fixed max_dust_htlc_exposure instead of LDK's feerate multiplier (for peers with high feerates)
    max_dust_htlc_exposure_msat: int | None = None
    #: the period of LDK's timer ticks (pings; a peer silent for a whole period after one is dropped);
    #: None: the node's default, the 10 s LDK recommends
    timer_tick_ms: int | None = None


def ldk_missing() -> str | None:
    """Why the LDK node cannot run here, or None."""
    if shutil.which("node") is None:
        return "node (Node 20+) is not on PATH"
    if not (LDK_DIR / "node_modules" / "lightningdevkit").is_dir():
        return "interop/ldk/node_modules is missing: run scripts/install-ldk.sh"
    return None


def format_short_channel_id(value: int) -> str:
    """BOLT 7: block height (3 bytes), transaction index (3 bytes), output index (2 bytes)."""
    return f"{value >> 40}x{(value >> 16) & 0xFFFFFF}x{value & 0xFFFF}"


def _outpoint(text: str | None) -> OutPoint | None:
    if not text:
        return None
    txid, _, vout = text.partition(":")
    return OutPoint(txid, int(vout))


def channel_state(raw: Mapping[str, Any]) -> ChannelState:
    """Normalize one list_channels entry of the LDK node."""
    if raw.get("closed") is not None:
        return ChannelState.CLOSED if raw.get("funding_spend") else ChannelState.CLOSING
    shutdown = raw.get("shutdown_state")
    if shutdown in _CLOSING_SHUTDOWN_STATES:
        return ChannelState.CLOSING
    if shutdown in _SHUTTING_DOWN_STATES:
        return ChannelState.SHUTTING_DOWN
    if raw.get("is_channel_ready"):
        return ChannelState.NORMAL
    if raw.get("funding_outpoint"):
        return ChannelState.AWAITING_LOCKIN
    return ChannelState.OPENING


@dataclass(frozen=True)
class ChannelBalances:
    local_msat: int
    remote_msat: int


def channel_balances_msat(raw: Mapping[str, Any]) -> ChannelBalances:
    """Both balances of one open list_channels entry of the LDK node.

    A capacity above 0 gives its side's balance exactly: capacity + that side's reserve (BOLT 2:
    channel_reserve_satoshis, the amount each side must keep) + its HTLCs in flight is the balance
    LDK holds (value_to_self_msat or the rest of the channel); the pending HTLCs then leave the
    balance again, since an offered HTLC is neither side's until it is fulfilled or failed. The other
    side is the capacity less that and the HTLCs. A capacity of 0 says only "at or below the
    reserve", which is why this takes the side above its reserve: the old reading (capacity + reserve
    on both sides) reported any balance below the reserve as the reserve.

    Both at 0 (both sides at or below their reserves, e.g. a small channel or many HTLCs in flight):
    LDK 0.1 exposes no msat balance then, and the node adds the ChannelMonitor's
    Balance::ClaimableOnChannelClose (`claimable_on_close`): amount_satoshis (our to_local output,
    whole satoshis, 0 if trimmed as dust) + transaction_fee_satoshis (the commitment fee, when we
    opened) + the two anchors (ANCHOR_OUTPUT_SAT each, BOLT 3, when we opened an anchors channel); whole
    satoshis only, the sub-satoshi part of the balance is lost. Neither available: LdkBalanceUnknown.
    """
    capacity_msat = int(raw["capacity_sat"]) * 1000
    outbound_msat = int(raw["outbound_capacity_msat"])
    inbound_msat = int(raw["inbound_capacity_msat"])
    in_flight_msat = int(raw.get("pending_inbound_htlcs_msat", 0)) + int(
        raw.get("pending_outbound_htlcs_msat", 0)
    )
    if outbound_msat > 0:
        local_msat = outbound_msat + int(raw["our_reserve_sat"]) * 1000
        return ChannelBalances(local_msat, capacity_msat - in_flight_msat - local_msat)
    if inbound_msat > 0:
        remote_msat = inbound_msat + int(raw["their_reserve_sat"]) * 1000
        return ChannelBalances(capacity_msat - in_flight_msat - remote_msat, remote_msat)
    on_close = raw.get("claimable_on_close")
    if on_close is None:
        raise LdkBalanceUnknown(
            f"ldk: channel {raw.get('channel_id')}: both capacities are 0 and the node gave no "
            "ClaimableOnChannelClose balance"
        )
    local_sat = int(on_close["amount_sat"]) + int(on_close["transaction_fee_sat"])
    if raw.get("is_outbound") and raw.get("channel_type") == ANCHORS:
        local_sat += 2 * ANCHOR_OUTPUT_SAT
    local_msat = local_sat * 1000
    return ChannelBalances(local_msat, capacity_msat - in_flight_msat - local_msat)


def channel_info(raw: Mapping[str, Any]) -> ChannelInfo:
    scid = raw.get("short_channel_id")
    closed = raw.get("closed")
    if closed is not None:
        local_msat = int(closed["last_local_balance_msat"])
        remote_msat = 0
    else:
        balances = channel_balances_msat(raw)
        local_msat, remote_msat = balances.local_msat, balances.remote_msat
    return ChannelInfo(
        peer_id=bytes.fromhex(raw["peer_id"]),
        channel_id=bytes.fromhex(raw["channel_id"]),
        state=channel_state(raw),
        funding_outpoint=_outpoint(raw.get("funding_outpoint")),
        short_channel_id=format_short_channel_id(int(scid)) if scid is not None else None,
        capacity_sat=int(raw["capacity_sat"]),
        local_balance_msat=local_msat,
        remote_balance_msat=remote_msat,
    )


class LdkDriver(NodeDriver):
    implementation = "ldk"

    def __init__(self, name: str, config: LdkConfig) -> None:
        self.name = name
        self.config = config
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 1
        self._changed = asyncio.Event()
        self.events: list[dict[str, Any]] = []
        self._ready: dict[str, Any] = {}
        self._stderr_path = config.data_dir / "node.stderr"
        self._serve_chain: EmbeddedChain | None = None  # the scenario's chain, served to the node over RPC
        self._rpc_server: ChainRpcServer | None = None  # open from start() to stop()
        self._own_chain_dir: Path | None = None  # no chain given: a private EmbeddedChain lives here
        self._own_chain: EmbeddedChain | None = None

    @classmethod
    def from_setup(cls, setup: NodeSetup) -> LdkDriver:
        """Chain: node options `rpc_url`, `rpc_user`, `rpc_password`, or the scenario's EmbeddedChain
        (`setup.chain`), which the driver serves over RPC on 127.0.0.1 while the node runs.
        Option `anchors` (bool): the default type of channels this node opens. Option
        `max_dust_htlc_exposure_msat` (int): LdkConfig's fixed dust-exposure limit (the interop matrix
        sets it when the peer is Electrum, see harness/drivers/capabilities.py)."""
        seed = hashlib.sha256(b"boltcheck-ldk-seed/" + setup.private_key).digest()
        anchors = bool(setup.options.get("anchors", False))
        dust = setup.options.get("max_dust_htlc_exposure_msat")
        max_dust_msat = int(dust) if dust is not None else None
        data_dir = setup.workdir / f"ldk-{setup.name}"
        if "rpc_url" in setup.options:
            chain = LdkChainRpc(
                str(setup.options["rpc_url"]),
                str(setup.options.get("rpc_user", "")),
                str(setup.options.get("rpc_password", "")),
            )
            return cls(
                setup.name,
                LdkConfig(data_dir, chain, seed, anchors, max_dust_htlc_exposure_msat=max_dust_msat),
            )
        if isinstance(setup.chain, EmbeddedChain):
            password = hashlib.sha256(b"boltcheck-ldk-rpc/" + setup.private_key).hexdigest()
            # the URL is set when start() opens the RPC server (a new one after each stop())
            rpc = LdkChainRpc("", "ldk", password)
            config = LdkConfig(data_dir, rpc, seed, anchors, max_dust_htlc_exposure_msat=max_dust_msat)
            driver = cls(setup.name, config)
            driver._serve_chain = setup.chain
            return driver
        # Message-level scenarios give no chain; LDK cannot run without one: it gets a private chain.
        password = hashlib.sha256(b"boltcheck-ldk-rpc/" + setup.private_key).hexdigest()
        rpc = LdkChainRpc("", "ldk", password)
        config = LdkConfig(data_dir, rpc, seed, anchors, max_dust_htlc_exposure_msat=max_dust_msat)
        driver = cls(setup.name, config)
        driver._own_chain_dir = setup.workdir / f"ldk-{setup.name}-chain"
        return driver

    # ----- process and command channel
    async def start(self) -> None:
        missing = ldk_missing()
        if missing is not None:
            raise LdkNotInstalled(f"ldk ({self.name})", "start", missing)
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        if self._own_chain_dir is not None and self._own_chain is None:
            self._own_chain = EmbeddedChain(self._own_chain_dir)
            self._own_chain.mine(1)
            self._serve_chain = self._own_chain
        if self._serve_chain is not None and self._rpc_server is None:
            rpc = self.config.chain
            self._rpc_server = ChainRpcServer(self._serve_chain, user=rpc.user, password=rpc.password)
            self._rpc_server.start()
            self.config = replace(self.config, chain=replace(rpc, url=self._rpc_server.url))
        args = [
            "node",
            str(NODE_SCRIPT),
            "--data-dir",
            str(self.config.data_dir),
            "--rpc-url",
            self.config.chain.url,
            "--rpc-user",
            self.config.chain.user,
            "--rpc-password",
            self.config.chain.password,
            "--log-level",
            self.config.log_level,
        ]
        if self.config.anchors:
            args.append("--anchors")
        if self.config.max_dust_htlc_exposure_msat is not None:
            args += ["--max-dust-htlc-exposure-msat", str(self.config.max_dust_htlc_exposure_msat)]
        if self.config.timer_tick_ms is not None:
            args += ["--timer-tick-ms", str(self.config.timer_tick_ms)]
        env = {**os.environ, "BOLTCHECK_LDK_SEED": self.config.seed.hex()}
        with self._stderr_path.open("ab") as stderr:
            self._process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=env,
                limit=16 * 1024 * 1024,
            )
        ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read_lines(ready))
        try:
            self._ready = await asyncio.wait_for(ready, READY_TIMEOUT_S)
        except (TimeoutError, DriverError) as exc:
            await self._kill()
            raise DriverError(f"ldk ({self.name}) did not start: {exc}; {self._stderr_tail()}") from exc

    @property
    def log_path(self) -> Path:
        """LDK's own log records (at `config.log_level`), one file per node."""
        return self.config.data_dir / "ldk.log"

    def disconnects(self) -> list[dict[str, Any]]:
        """Every lost connection since start, as LDK logged it: `peer_disconnected` events with `peer_id`,
        LDK's `reason` and `by` ("ldk": LDK closed it, e.g. "ping/handshake timeout" or "of a protocol
        error"; "socket": the socket closed under LDK, the peer hung up)."""
        return [e for e in self.events if e.get("event") == "peer_disconnected"]

    def diagnostics(self) -> str:
        """What a failure message carries: the connections lost (with LDK's reason) and LDK's log."""
        recent = self.disconnects()[-5:]
        lost = ", ".join(f"{str(e.get('peer_id'))[:16]} by {e.get('by')}: {e.get('reason')}" for e in recent)
        return (f"connections lost ({lost}); " if lost else "") + f"LDK log: {self.log_path}"

    def _stderr_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self._stderr_path.read_text(errors="replace")[-1500:]
        return ""

    async def _read_lines(self, ready: asyncio.Future[dict[str, Any]]) -> None:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        while line := await stdout.readline():
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue  # not part of the channel (the node prints only JSON; be tolerant)
            if "event" in message:
                if message["event"] == "ready" and not ready.done():
                    ready.set_result(message)
                self.events.append(message)
                self._changed.set()
            elif isinstance(message.get("id"), int) and message["id"] in self._pending:
                future = self._pending.pop(message["id"])
                if not future.done():
                    future.set_result(message)
        exit_error = DriverError(f"ldk ({self.name}) exited; {self._stderr_tail()}")
        if not ready.done():
            ready.set_exception(exit_error)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exit_error)
        self._pending.clear()
        self._changed.set()

    async def call(
        self, method: str, params: Mapping[str, Any] | None = None, timeout_s: float = REQUEST_TIMEOUT_S
    ) -> Any:
        if self._process is None or self._process.stdin is None or self._process.returncode is not None:
            raise DriverError(f"ldk ({self.name}) is not running")
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        payload = {"id": request_id, "method": method, "params": dict(params or {})}
        self._process.stdin.write((json.dumps(payload) + "\n").encode())
        await self._process.stdin.drain()
        try:
            answer = await asyncio.wait_for(future, timeout_s)
        except TimeoutError as exc:
            self._pending.pop(request_id, None)
            raise WaitTimeout(
                f"ldk ({self.name}): {method} got no answer in {timeout_s}s; {self.diagnostics()}"
            ) from exc
        if "error" in answer:
            error = answer["error"]
            message = f"{error.get('message')}; {self.diagnostics()}"
            raise LdkError(self.name, method, str(error.get("code")), message)
        return answer["result"]

    async def wait_until(self, what: str, probe: Callable[[], Any], timeout_s: float) -> Any:
        """Re-run the async `probe` after each event from the node until it returns non-None."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            self._changed.clear()
            value = await probe()
            if value is not None:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                reached = f"{what} not reached in {timeout_s}s"
                raise WaitTimeout(f"ldk ({self.name}): {reached}; {self.diagnostics()}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, REQUERY_S))

    async def _kill(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        if self._reader is not None:
            await self._reader

    async def stop(self) -> None:
        await self._stop_process()
        if self._rpc_server is not None:
            self._rpc_server.close()
            self._rpc_server = None
        if self._own_chain is not None:
            self._own_chain.close()
            self._own_chain = None
            self._serve_chain = None

    async def restart(self) -> None:
        """The node process only: the chain RPC (if this driver serves it) keeps its port."""
        await self._stop_process()
        await self.start()

    async def _stop_process(self) -> None:
        if self._process is None:
            return
        if self._process.returncode is None:
            with contextlib.suppress(DriverError):
                await self.call("stop", timeout_s=30)
            try:
                await asyncio.wait_for(self._process.wait(), 30)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        if self._reader is not None:
            await self._reader
        self._process = None

    # ----- NodeDriver
    @property
    def node_id(self) -> bytes:
        if not self._ready:
            raise DriverError(f"ldk ({self.name}): not started")
        return bytes.fromhex(self._ready["node_id"])

    @property
    def address(self) -> NodeAddress:
        return NodeAddress(self.node_id, "127.0.0.1", int(self._ready["port"]))

    async def info(self) -> NodeInfo:
        info = await self.call("getinfo")
        return NodeInfo(
            node_id=bytes.fromhex(info["node_id"]),
            alias=self.name,
            implementation="ldk",
            version=str(info["version"]),
            block_height=int(info["block_height"]),
            features=bytes.fromhex(info["init_features"]),
        )

    async def sync(self) -> int:
        """Make the node read the chain up to the RPC's tip now; returns its height."""
        return int((await self.call("sync"))["height"])

    async def new_address(self) -> str:
        script = bytes.fromhex((await self.call("new_address"))["script_hex"])
        address = script_to_address(script)
        if address is None:
            raise DriverError(f"ldk ({self.name}): wallet script {script.hex()} has no address form")
        return address

    async def onchain_balance_sat(self) -> int:
        await self.sync()  # the chain as it is now, like the other drivers (a step may have just mined)
        balances = await self.call("balances")
        return int(balances["confirmed_sat"]) + int(balances["unconfirmed_sat"])

    async def connect(self, peer: NodeAddress, timeout_s: float) -> None:
        params = {
            "node_id": peer.node_id.hex(),
            "host": peer.host,
            "port": peer.port,
            "timeout_ms": int(timeout_s * 1000),
        }
        await self.call("connect", params, timeout_s=timeout_s + 5)

    async def disconnect(self, peer_id: bytes, timeout_s: float) -> None:
        await self.call(
            "disconnect", {"node_id": peer_id.hex(), "timeout_ms": int(timeout_s * 1000)}, timeout_s + 5
        )

    async def open_channel(
        self, peer_id: bytes, amount_sat: int, push_msat: int, options: OpenChannelOptions
    ) -> ChannelInfo:
        if options.feerate_per_kw is not None:
            raise UnsupportedOperation(
                f"ldk ({self.name})", "open_channel", "LDK chooses the funding feerate"
            )
        params: dict[str, Any] = {
            "node_id": peer_id.hex(),
            "amount_sat": amount_sat,
            "push_msat": push_msat,
            "announce": options.announce,
        }
        if options.channel_type is not None:
            if options.channel_type not in (*ANCHORS_NAMES, STATIC_REMOTEKEY):
                raise UnsupportedOperation(
                    f"ldk ({self.name})", "open_channel", f"channel type {options.channel_type!r}"
                )
            params["anchors"] = options.channel_type in ANCHORS_NAMES
        pending = await self.call("open_channel", params, timeout_s=15)
        channel_id = bytes.fromhex(pending["channel_id"])
        return await self._channel(channel_id)

    async def _channel(self, channel_id: bytes) -> ChannelInfo:
        for channel in await self.list_channels():
            if channel.channel_id == channel_id:
                return channel
        raise DriverError(f"ldk ({self.name}): no channel {channel_id.hex()}")

    async def list_channels_raw(self) -> list[dict[str, Any]]:
        await self.sync()  # states that follow from blocks a step has just mined
        result: list[dict[str, Any]] = await self.call("list_channels")
        return result

    async def list_channels(self) -> list[ChannelInfo]:
        return [channel_info(raw) for raw in await self.list_channels_raw()]

    async def channel_type(self, channel_id: bytes) -> str | None:
        for raw in await self.list_channels_raw():
            if raw["channel_id"] == channel_id.hex():
                return raw.get("channel_type")
        return None

    async def create_invoice(self, amount_msat: int | None, description: str) -> Invoice:
        result = await self.call("create_invoice", {"amount_msat": amount_msat, "description": description})
        return Invoice(result["bolt11"], bytes.fromhex(result["payment_hash"]), amount_msat)

    async def create_hold_invoice(self, amount_msat: int, description: str) -> Invoice:
        """An invoice whose incoming HTLCs LDK keeps unclaimed until `settle_invoice`."""
        params = {"amount_msat": amount_msat, "description": description, "hold": True}
        result = await self.call("create_invoice", params)
        return Invoice(result["bolt11"], bytes.fromhex(result["payment_hash"]), amount_msat)

    async def settle_invoice(self, payment_hash: bytes) -> None:
        await self.call("settle_invoice", {"payment_hash": payment_hash.hex()})

    async def pending_htlcs(self, channel_id: bytes) -> tuple[int, int]:
        """(inbound, outbound) HTLCs on the channel's commitments, as LDK lists them."""
        for raw in await self.list_channels_raw():
            if raw["channel_id"] == channel_id.hex() and raw.get("closed") is None:
                return int(raw["pending_inbound_htlcs"]), int(raw["pending_outbound_htlcs"])
        return (0, 0)

    async def pay(self, bolt11: str, timeout_s: float) -> PaymentResult:
        params = {"bolt11": bolt11, "timeout_ms": int(timeout_s * 1000)}
        result = await self.call("pay_invoice", params, timeout_s=timeout_s + 5)
        preimage = result.get("preimage")
        succeeded = result["status"] == "succeeded"
        failure = result.get("failure")
        return PaymentResult(
            payment_hash=bytes.fromhex(result["payment_hash"]),
            succeeded=succeeded,
            preimage=bytes.fromhex(preimage) if preimage else None,
            failure=None if succeeded else f"{failure}; {self.diagnostics()}",
        )

    async def close(self, channel_id: bytes, force: bool) -> None:
        channel = await self._channel(channel_id)
        params = {"channel_id": channel_id.hex(), "peer_id": channel.peer_id.hex()}
        await self.call("force_close" if force else "close_channel", params)

    async def wait_for_channel_state(
        self, channel_id: bytes, state: ChannelState, timeout_s: float
    ) -> ChannelInfo:
        async def probe() -> ChannelInfo | None:
            for channel in await self.list_channels():
                if channel.channel_id == channel_id and channel.state is state:
                    return channel
            return None

        result: ChannelInfo = await self.wait_until(
            f"channel {channel_id.hex()} {state.value}", probe, timeout_s
        )
        return result

    async def wait_for_event(
        self, what: str, match: Callable[[dict[str, Any]], bool], timeout_s: float, after: int = 0
    ) -> dict[str, Any]:
        """The first event (from index `after` of `events`) that `match` accepts."""

        async def probe() -> dict[str, Any] | None:
            return next((e for e in self.events[after:] if match(e)), None)

        result: dict[str, Any] = await self.wait_until(what, probe, timeout_s)
        return result

    async def wait_for_balance(self, what: str, predicate: Callable[[int], bool], timeout_s: float) -> int:
        async def probe() -> int | None:
            balance = await self.onchain_balance_sat()
            return balance if predicate(balance) else None

        result: int = await self.wait_until(what, probe, timeout_s)
        return result


async def wait_for_broadcast(driver: LdkDriver, after: int, timeout_s: float) -> str:
    """The txid of the first transaction the node got accepted by the chain after `events[after:]`."""
    event = await driver.wait_for_event(
        "an accepted broadcast",
        lambda e: e.get("event") == "broadcast" and e.get("accepted") is True,
        timeout_s,
        after,
    )
    return str(event["txid"])
