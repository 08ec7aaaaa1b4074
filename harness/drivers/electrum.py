"""ElectrumDriver: Electrum 4.3.4 (Debian's `electrum` package) as a NodeDriver.

Electrum runs on the system Python (/usr/bin/python3), never on the project's interpreter, so it is driven
as a separate process: `electrum --regtest -D <workdir> -v daemon` in the foreground (the driver owns the
process), its JSON-RPC on 127.0.0.1 (port chosen by Electrum, read from its "now running" log line), one
wallet restored from a seed derived from the scenario's node key (so node ids and addresses repeat), and
one Electrum server: ours (harness.chain.electrum) on the scenario's EmbeddedChain, or one given by address.

Waits never sleep: every wait re-checks its condition when the daemon writes a log line (at -v Electrum
logs each server reply, each Lightning message and each state change), with a deadline.

Electrum's own rules that shape what a scenario can do (4.3.4): it opens static_remotekey channels only;
it opens to a non-trampoline node only with `use_gossip` (set here); it accepts channels only with
`lightning_listen` (set here); it requires gossip_queries and data_loss_protect from its peer; its CLI
reports channel balances in whole satoshis, and its invoices take whole satoshis; it opens unannounced
channels whatever `OpenChannelOptions.announce` says.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import shutil
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from bitcoin.core import CTransaction

from harness.chain.electrum import ElectrumServer
from harness.chain.embedded import EmbeddedChain
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

log = logging.getLogger(__name__)

ELECTRUM_EXECUTABLE = "electrum"
ELECTRUM_WORDLIST = Path("/usr/lib/python3/dist-packages/electrum/wordlist/english.txt")
SEGWIT_SEED_PREFIX = "100"  # Electrum's version.SEED_PREFIX_SW: a segwit (bech32) wallet, with Lightning
SAT_PER_BTC = 100_000_000
DEFAULT_START_TIMEOUT_S = 60.0
DEFAULT_RPC_TIMEOUT_S = 120.0
SYNC_TIMEOUT_S = 60.0
ELECTRUM_TO_SELF_DELAY = 144
_LISTENING = re.compile(r"now running and listening\. socktype=tcp, addr=\('([0-9.]+)', (\d+)\)")

# Electrum's lnchannel.ChannelState names, normalized (harness.drivers.base.ChannelState).
_STATES: dict[str, ChannelState] = {
    "PREOPENING": ChannelState.OPENING,  # negotiating; not reestablished after a restart
    "OPENING": ChannelState.AWAITING_LOCKIN,  # funding_signed exchanged, funding tx not deep yet
    "FUNDED": ChannelState.AWAITING_LOCKIN,  # funding tx deep, channel_ready not exchanged both ways
    "OPEN": ChannelState.NORMAL,
    "SHUTDOWN": ChannelState.SHUTTING_DOWN,
    "CLOSING": ChannelState.CLOSING,
    "FORCE_CLOSING": ChannelState.CLOSING,
    "REQUESTED_FCLOSE": ChannelState.CLOSING,
    "WE_ARE_TOXIC": ChannelState.CLOSING,
    "CLOSED": ChannelState.CLOSED,
    "REDEEMED": ChannelState.CLOSED,
}

T = TypeVar("T")


class ElectrumRpcFailed(DriverError):
    """The Electrum daemon answered a command with an error (message as Electrum gave it)."""

    def __init__(self, method: str, message: str) -> None:
        super().__init__(f"electrum {method}: {message}")
        self.method = method
        self.message = message


def electrum_seed(private_key: bytes) -> str:
    """A deterministic Electrum segwit seed (12 words) for this node key.

    Electrum's seed version is the prefix of HMAC-SHA512("Seed version", normalized words): "100" for a
    segwit wallet. Words come from a hash chain over the key until one such phrase is found (1 in 4096).
    """
    wordlist = ELECTRUM_WORDLIST.read_text(encoding="utf-8").split()
    for counter in itertools.count():
        entropy = hashlib.sha256(
            b"boltcheck-electrum-seed/" + private_key + counter.to_bytes(4, "big")
        ).digest()
        number = int.from_bytes(entropy, "big")
        words = []
        for _ in range(12):
            number, index = divmod(number, len(wordlist))
            words.append(wordlist[index])
        phrase = " ".join(words)
        version = hmac.new(b"Seed version", phrase.encode("utf-8"), hashlib.sha512).hexdigest()
        if version.startswith(SEGWIT_SEED_PREFIX):
            return phrase
    raise AssertionError("unreachable: itertools.count() does not end")


def _free_port() -> int:
    # Electrum needs a concrete lightning_listen port; the OS picks one (a race only with other binds).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _btc(amount_sat: int) -> str:
    return str(Decimal(amount_sat) / SAT_PER_BTC)


def _sat(amount_btc: object) -> int:
    value = Decimal(str(amount_btc)) * SAT_PER_BTC
    if value != value.to_integral_value():
        raise DriverError(f"electrum amount {amount_btc!r} is not a whole number of satoshis")
    return int(value)


class _LogSignal:
    """Set on every daemon log line; waiters re-check their condition (no polling on a timer)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.lines = 0

    def notify(self) -> None:
        self.lines += 1
        self._event.set()
        self._event = asyncio.Event()

    async def next(self) -> None:
        await self._event.wait()


@dataclass(frozen=True)
class ElectrumConfig:
    """Where and how to run one Electrum daemon."""

    workdir: Path
    private_key: bytes  # the node's seed material; never logged
    name: str = "electrum"
    executable: str = ELECTRUM_EXECUTABLE
    electrum_server: str | None = None  # "host:port:t"; None: serve the chain given to the driver
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S


class ElectrumDriver(NodeDriver):
    implementation = "electrum"

    def __init__(self, config: ElectrumConfig, chain: EmbeddedChain | None = None) -> None:
        self.config = config
        self.chain = chain
        # Electrum needs an Electrum server even for message-level scenarios that use no chain: then the
        # driver runs its own EmbeddedChain, private to this node (closed on stop).
        self._own_chain = config.electrum_server is None and chain is None
        self.data_dir = config.workdir / "electrum"
        self.log_path = config.workdir / "electrum.log"
        self.lightning_port = 0
        self._server: ElectrumServer | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._log_task: asyncio.Task[None] | None = None
        self._signal = _LogSignal()
        self._rpc_url = ""
        self._rpc_auth = ""
        self._rpc_ids = itertools.count(1)
        self._node_id: bytes | None = None
        self._peer_addresses: dict[bytes, NodeAddress] = {}
        self._capacity_sat: dict[str, int] = {}
        self.version = ""

    # ----- process lifetime
    @property
    def electrum_server(self) -> str:
        if self.config.electrum_server is not None:
            return self.config.electrum_server
        if self._server is None:
            raise DriverError(f"{self.config.name}: not started")
        return self._server.address

    def _write_config(self) -> None:
        regtest_dir = self.data_dir / "regtest"
        regtest_dir.mkdir(parents=True, exist_ok=True)
        config_path = regtest_dir / "config"
        existing: dict[str, Any] = {}
        if config_path.exists():
            existing = json.loads(config_path.read_text(encoding="utf-8"))
        if not self.lightning_port:
            listen = existing.get("lightning_listen", "")
            self.lightning_port = int(listen.rsplit(":", 1)[1]) if listen else _free_port()
        password = existing.get("rpcpassword") or secrets.token_urlsafe(16)
        existing.update(
            {
                "config_version": 3,
                "auto_connect": False,
                "oneserver": True,
                "server": self.electrum_server,
                "rpcsock": "tcp",
                "rpchost": "127.0.0.1",
                "rpcport": 0,  # Electrum binds a free port and logs it
                "rpcuser": "boltcheck",
                "rpcpassword": password,
                "use_gossip": True,  # needed to open a channel to a non-trampoline node
                "lightning_listen": f"127.0.0.1:{self.lightning_port}",  # needed to accept channels
                # Electrum's default asks 1008 blocks of the peer; a day of blocks keeps on-chain
                # scenarios' block budgets (a few hundred blocks) in reach. An Electrum setting.
                "lightning_to_self_delay": ELECTRUM_TO_SELF_DELAY,
                "dont_show_testnet_warning": True,
            }
        )
        config_path.write_text(json.dumps(existing, indent=2), encoding="utf-8")
        config_path.chmod(0o600)
        self._rpc_auth = "Basic " + base64.b64encode(f"boltcheck:{password}".encode()).decode()

    async def start(self) -> None:
        if shutil.which(self.config.executable) is None:
            raise UnsupportedOperation(
                f"electrum ({self.config.name})",
                "start",
                f"{self.config.executable!r} is not installed (scripts/install-electrum.sh)",
            )
        if self.config.electrum_server is None and self._server is None:
            if self.chain is None:
                self.chain = EmbeddedChain(
                    self.config.workdir / "private-chain", seed=self.config.private_key
                )
            if self.chain.height() == 0:
                # Electrum 4.3.4 never finishes syncing a server whose tip is the genesis block (its
                # interface stays at height -1): give it one block, as the lnd launcher does.
                await asyncio.to_thread(self.chain.mine, 1)
            self._server = ElectrumServer(self.chain)
            await self._server.start()
        self._write_config()
        self._signal = _LogSignal()
        listening: asyncio.Future[tuple[str, int]] = asyncio.get_running_loop().create_future()
        self._process = await asyncio.create_subprocess_exec(
            self.config.executable,
            "--regtest",
            "-D",
            str(self.data_dir),
            "-v",
            "daemon",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._log_task = asyncio.create_task(self._read_log(self._process, listening))
        try:
            async with asyncio.timeout(self.config.start_timeout_s):
                host, port = await asyncio.shield(listening)
                self._rpc_url = f"http://{host}:{port}/"
                await self._open_wallet()
                await self.wait_until(self._synchronized, self.config.start_timeout_s, "wallet synchronized")
        except TimeoutError as exc:
            await self.stop()
            raise WaitTimeout(
                f"{self.config.name}: Electrum not ready in {self.config.start_timeout_s}s"
            ) from exc

    async def _read_log(
        self, process: asyncio.subprocess.Process, listening: asyncio.Future[tuple[str, int]]
    ) -> None:
        assert process.stdout is not None
        with self.log_path.open("ab") as sink:
            while line := await process.stdout.readline():
                sink.write(line)
                sink.flush()
                if not listening.done():
                    match = _LISTENING.search(line.decode("utf-8", "replace"))
                    if match:
                        listening.set_result((match.group(1), int(match.group(2))))
                self._signal.notify()
        if not listening.done():
            listening.set_exception(DriverError(f"{self.config.name}: Electrum exited; see {self.log_path}"))
        self._signal.notify()

    async def _open_wallet(self) -> None:
        wallet = self.data_dir / "regtest" / "wallets" / "default_wallet"
        if not wallet.exists():
            await self.rpc("restore", text=electrum_seed(self.config.private_key))
        if not await self.rpc("load_wallet"):
            raise DriverError(f"{self.config.name}: Electrum could not load {wallet}")
        node_id = str(await self.rpc("nodeid")).split("@")[0]
        self._node_id = bytes.fromhex(node_id)
        self.version = str(await self.rpc("version"))

    async def _synchronized(self) -> bool:
        info = await self.rpc("getinfo")
        # With the chain at hand, "synchronized" means at its tip, not only at the last tip Electrum heard of.
        tip = self.chain.height() if self.chain is not None else info.get("server_height")
        if not info.get("connected") or info.get("blockchain_height") != tip:
            return False
        return bool(await self.rpc("is_synchronized"))

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            if self._rpc_url:
                with contextlib.suppress(DriverError, OSError):  # it may be dying already; killed below
                    await self.rpc("stop", timeout_s=10)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                log.warning(
                    "%s: Electrum did not stop in 20 s; killing pid %d", self.config.name, process.pid
                )
                process.kill()
                await process.wait()
        if self._log_task is not None:
            await self._log_task
            self._log_task = None
        self._rpc_url = ""
        if self._server is not None:
            await self._server.close()
            self._server = None
        if self._own_chain and self.chain is not None:
            self.chain.close()
            self.chain = None

    async def kill(self) -> None:
        """SIGKILL the daemon (no clean shutdown); `start` or `restart` brings it back from its wallet file.
        Our Electrum server stays up, so the wallet finds it at the same address."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        if self._log_task is not None:
            await self._log_task
            self._log_task = None
        self._rpc_url = ""

    async def restart(self) -> None:
        # Keep our Electrum server (and its port, which the wallet's config names) across the restart.
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(DriverError, OSError):  # the daemon may close before it answers
                await self.rpc("stop", timeout_s=10)
            await asyncio.wait_for(process.wait(), 20)
        if self._log_task is not None:
            await self._log_task
        await self.start()

    # ----- JSON-RPC to the daemon
    async def rpc(self, method: str, *, timeout_s: float = DEFAULT_RPC_TIMEOUT_S, **params: Any) -> Any:
        if not self._rpc_url:
            raise DriverError(f"{self.config.name}: Electrum daemon is not running")
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._rpc_ids), "method": method, "params": params})
        request = urllib.request.Request(
            self._rpc_url,
            body.encode(),
            {"Authorization": self._rpc_auth, "Content-Type": "application/json"},
        )

        def post() -> Any:
            try:
                with urllib.request.urlopen(request, timeout=timeout_s) as response:
                    return json.load(response)
            except urllib.error.HTTPError as exc:
                raise ElectrumRpcFailed(method, f"HTTP {exc.code}: {exc.read()[:200]!r}") from exc
            except (urllib.error.URLError, OSError) as exc:
                raise DriverError(f"{self.config.name}: electrum {method}: {exc}") from exc

        reply = await asyncio.to_thread(post)
        if reply.get("error"):
            raise ElectrumRpcFailed(method, str(reply["error"].get("message")))
        return reply.get("result")

    async def wait_until(self, check: Callable[[], Awaitable[T | None]], timeout_s: float, what: str) -> T:
        """Re-run `check` after each daemon log line until it returns something truthy."""
        deadline = time.monotonic() + timeout_s
        while True:
            lines_before = self._signal.lines
            result = await check()
            if result:  # None or False: not yet
                return result
            if self._process is None or self._process.returncode is not None:
                raise DriverError(f"{self.config.name}: Electrum exited while waiting for {what}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeout(f"{self.config.name}: {what} not reached in {timeout_s}s")
            if self._signal.lines == lines_before:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._signal.next(), remaining)

    # ----- NodeDriver
    @property
    def node_id(self) -> bytes:
        if self._node_id is None:
            raise DriverError(f"{self.config.name}: not started")
        return self._node_id

    @property
    def address(self) -> NodeAddress:
        return NodeAddress(self.node_id, "127.0.0.1", self.lightning_port)

    async def info(self) -> NodeInfo:
        info = await self.rpc("getinfo")
        return NodeInfo(
            self.node_id, self.config.name, self.implementation, self.version, info["blockchain_height"]
        )

    async def new_address(self) -> str:
        return str(await self.rpc("createnewaddress"))

    async def onchain_balance_sat(self) -> int:
        """What the chain gives Electrum's addresses: the server's confirmed + mempool balance of every wallet
        address, once Electrum has caught up with the chain it serves (callers such as the `fund` step read
        the balance right after mining, as they would from a synchronous node).

        Not `getbalance`: Electrum 4.3.4 (address_synchronizer.get_balance) counts the outputs of the
        wallet's own transactions that no server has: `TX_HEIGHT_LOCAL` (kept but not broadcast) and
        `TX_HEIGHT_FUTURE` (its lnsweep transactions waiting on a CSV/CLTV lock, e.g. the to_local sweep
        after a force close) as confirmed or unconfirmed, and drops a coin such a transaction spends."""
        await self.wait_synchronized(SYNC_TIMEOUT_S)
        addresses = await self.rpc("listaddresses")
        balances = await asyncio.gather(*(self.rpc("getaddressbalance", address=a) for a in addresses))
        return sum(_sat(b["confirmed"]) + _sat(b["unconfirmed"]) for b in balances)

    async def connect(self, peer: NodeAddress, timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            await self.rpc("add_peer", connection_string=str(peer), timeout=int(timeout_s) or 1)
        self._peer_addresses[peer.node_id] = peer

        async def initialized() -> bool:
            listed = [p for p in await self.list_peers() if p["node_id"] == peer.node_id.hex()]
            if not listed:
                # add_peer registers the peer before it returns: gone means Electrum dropped the connection.
                raise DriverError(
                    f"{self.config.name}: Electrum dropped {peer} before init; see {self.log_path}"
                )
            return bool(listed[0]["initialized"])

        await self.wait_until(initialized, timeout_s, f"init exchanged with {peer.node_id.hex()}")

    async def list_peers(self) -> list[dict[str, Any]]:
        peers: list[dict[str, Any]] = await self.rpc("list_peers")
        return peers

    async def disconnect(self, peer_id: bytes, timeout_s: float) -> None:
        raise UnsupportedOperation(
            f"electrum ({self.config.name})", "disconnect", "Electrum 4.3.4 has no command to drop one peer"
        )

    async def open_channel(
        self, peer_id: bytes, amount_sat: int, push_msat: int, options: OpenChannelOptions
    ) -> ChannelInfo:
        if push_msat % 1000:
            raise UnsupportedOperation(
                f"electrum ({self.config.name})", "open_channel", "Electrum pushes whole satoshis only"
            )
        if options.channel_type not in (None, "static_remotekey"):
            raise UnsupportedOperation(
                f"electrum ({self.config.name})",
                "open_channel",
                f"Electrum 4.3.4 opens static_remotekey channels only, not {options.channel_type}",
            )
        known = self._peer_addresses.get(peer_id)
        connection_string = str(known) if known is not None else peer_id.hex()
        channel_point = await self.rpc(
            "open_channel",
            connection_string=connection_string,
            amount=_btc(amount_sat),
            push_amount=_btc(push_msat // 1000),
        )
        for channel in await self.list_channels():
            point = channel.funding_outpoint
            if point is not None and f"{point.txid}:{point.vout}" == channel_point:
                return channel
        raise DriverError(f"{self.config.name}: opened {channel_point} but list_channels does not show it")

    async def _capacity(self, channel_point: str) -> int:
        if channel_point not in self._capacity_sat:
            txid, vout = channel_point.split(":")
            raw = await self.rpc("gettransaction", txid=txid)
            tx = CTransaction.deserialize(bytes.fromhex(raw))
            self._capacity_sat[channel_point] = tx.vout[int(vout)].nValue
        return self._capacity_sat[channel_point]

    async def list_channels(self) -> list[ChannelInfo]:
        channels: list[ChannelInfo] = []
        for item in await self.rpc("list_channels"):
            if item.get("type") != "CHANNEL":
                continue  # imported channel backups are not channels of this node
            txid, vout = item["channel_point"].split(":")
            state = _STATES.get(item["state"])
            if state is None:
                raise DriverError(f"{self.config.name}: unknown Electrum channel state {item['state']!r}")
            channels.append(
                ChannelInfo(
                    peer_id=bytes.fromhex(item["remote_pubkey"]),
                    channel_id=bytes.fromhex(item["channel_id"]),
                    state=state,
                    funding_outpoint=OutPoint(txid, int(vout)),
                    short_channel_id=item["short_channel_id"],
                    capacity_sat=await self._capacity(item["channel_point"]),
                    # Electrum's CLI rounds balances down to whole satoshis.
                    local_balance_msat=int(item["local_balance"]) * 1000,
                    remote_balance_msat=int(item["remote_balance"]) * 1000,
                )
            )
        return channels

    async def create_invoice(self, amount_msat: int | None, description: str) -> Invoice:
        if amount_msat is not None and amount_msat % 1000:
            raise UnsupportedOperation(
                f"electrum ({self.config.name})", "create_invoice", "Electrum invoices are in whole satoshis"
            )
        amount = _btc(amount_msat // 1000) if amount_msat else "0"
        request = await self.rpc("add_request", amount=amount, memo=description, force=True)
        if not request.get("lightning_invoice"):
            raise DriverError(f"{self.config.name}: Electrum made no Lightning invoice: {request}")
        return Invoice(request["lightning_invoice"], bytes.fromhex(request["rhash"]), amount_msat)

    async def _connected_channels_reestablished(self) -> bool:
        # Electrum reestablishes a channel a moment after the peer connects; until then lnpay finds no
        # usable channel and fails at once. Channels whose peer is not connected are not waited for.
        connected = {p["node_id"] for p in await self.list_peers() if p["initialized"]}
        return all(
            item["peer_state"] == "GOOD"
            for item in await self.rpc("list_channels")
            if item.get("type") == "CHANNEL"
            and item["state"] == "OPEN"
            and item["remote_pubkey"] in connected
        )

    async def pay(self, bolt11: str, timeout_s: float) -> PaymentResult:
        await self.wait_until(self._connected_channels_reestablished, timeout_s, "channels reestablished")
        result = await self.rpc("lnpay", invoice=bolt11, timeout=int(timeout_s), timeout_s=timeout_s + 10)
        succeeded = bool(result["success"])
        failure = None if succeeded else json.dumps(result.get("log", []))[:2000]
        preimage = bytes.fromhex(result["preimage"]) if result.get("preimage") else None
        return PaymentResult(bytes.fromhex(result["payment_hash"]), succeeded, preimage, failure)

    async def _channel_point(self, channel_id: bytes) -> str:
        for item in await self.rpc("list_channels"):
            if item["channel_id"] == channel_id.hex():
                return str(item["channel_point"])
        raise DriverError(f"{self.config.name}: no channel {channel_id.hex()}")

    async def close(self, channel_id: bytes, force: bool) -> None:
        await self.rpc("close_channel", channel_point=await self._channel_point(channel_id), force=force)

    async def wait_for_channel_state(
        self, channel_id: bytes, state: ChannelState, timeout_s: float
    ) -> ChannelInfo:
        async def reached() -> ChannelInfo | None:
            for channel in await self.list_channels():
                if channel.channel_id == channel_id and channel.state is state:
                    return channel
            return None

        return await self.wait_until(reached, timeout_s, f"channel {channel_id.hex()} {state.value}")

    async def wait_synchronized(self, timeout_s: float) -> None:
        """Until Electrum has the server's tip and every wallet address is up to date."""
        await self.wait_until(self._synchronized, timeout_s, "wallet synchronized")


def from_setup(setup: Any) -> ElectrumDriver:
    """The registry's factory (setup: harness.drivers.registry.NodeSetup).

    Node options read: `electrum_server` ("host:port:t", an Electrum server already serving the scenario's
    chain). Without it the driver serves the scenario's EmbeddedChain (NodeSetup.chain), or a private
    chain of its own when the scenario uses none.
    """
    server = setup.options.get("electrum_server")
    if server is not None and not isinstance(server, str):
        raise DriverError(f"{setup.name}: option electrum_server must be 'host:port:t', got {server!r}")
    chain = getattr(setup, "chain", None)
    return ElectrumDriver(
        ElectrumConfig(setup.workdir, setup.private_key, name=setup.name, electrum_server=server),
        chain if isinstance(chain, EmbeddedChain) else None,
    )
