"""Local processes: bitcoind (or `boltcheck chain`), lightningd and lnd from binaries given with
`--bitcoind-bin`, `--cln-bin`, `--lnd-bin` or found on PATH, each in a temp dir, on ports from the worker's
block (ports.py), bound to 127.0.0.1, with their output in a log file next to their data.

A missing binary is a LaunchUnavailable (an UnsupportedOperation): the scenario is reported as skipped
with the reason.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from harness.chain.bitcoind import BitcoindChain
from harness.chain.process import launch_chain_process
from harness.chain.rpc_client import RpcClient
from harness.drivers.cln import ClnDriver, ClnRpcEndpoint
from harness.drivers.cln_hold_plugin import plugin_script
from harness.drivers.lnd import LndCredentials, LndDriver
from harness.launchers.base import LaunchUnavailable
from harness.launchers.chain import (
    RPC_USER,
    ChainService,
    ensure_tip_after_genesis,
    new_rpc_password,
    prepare_faucet,
    wait_bitcoind_ready,
)
from harness.launchers.feeservice import FeeService
from harness.launchers.ports import PortAllocator
from harness.launchers.regtest import (
    CLN_HSM_SECRET_PATH,
    BitcoindRpc,
    ClnSettings,
    LndSettings,
    bitcoind_arguments,
    cln_arguments,
    cln_config,
    lnd_arguments,
    lnd_config,
    lnd_credential_paths,
    new_cln_hsm_secret,
    rpcauth_line,
)

STOP_TIMEOUT_S = 15.0
BITCOIND_READY_TIMEOUT_S = 60.0
LOCALHOST = "127.0.0.1"


def find_binary(given: Path | None, names: Sequence[str], what: str, flag: str) -> Path:
    """The binary given with `flag`, or the first of `names` on PATH; else LaunchUnavailable."""
    if given is not None:
        if given.is_file() and os.access(given, os.X_OK):
            return given
        raise LaunchUnavailable(what, f"{flag} {given} is not an executable file")
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise LaunchUnavailable(what, f"no {names[0]} on PATH; pass {flag} PATH")


def find_bitcoin_cli(bitcoind: Path | None) -> Path:
    """Core Lightning's bcli plugin runs bitcoin-cli: next to the given bitcoind, or on PATH."""
    if bitcoind is not None:
        sibling = bitcoind.with_name("bitcoin-cli")
        if sibling.is_file():
            return sibling
    found = shutil.which("bitcoin-cli")
    if found is None:
        raise LaunchUnavailable("cln", "lightningd needs bitcoin-cli (next to bitcoind or on PATH)")
    return Path(found)


class ProcessHandle:
    """A child process (NodeHandle). `prepare` runs at each start: it writes config files and returns
    the command line; the process gets its own session so the terminal's Ctrl-C reaches only the
    harness, which then stops it in order."""

    owns_node = True

    def __init__(self, name: str, prepare: Callable[[], Awaitable[list[str]]], log_path: Path) -> None:
        self.name = name
        self.prepare = prepare
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        argv = await self.prepare()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = _spawn(argv, log)
        _LIVE.add(self)

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_now)

    def stop_now(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout_s)
        _LIVE.discard(self)

    async def wait_exit(self, timeout_s: float) -> bool:
        process = self.process
        if process is None:
            return False
        return await asyncio.to_thread(_waited, process, timeout_s)

    def log_tail(self, max_bytes: int = 4000) -> str:
        try:
            return self.log_path.read_bytes()[-max_bytes:].decode(errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"


def _spawn(argv: list[str], log: BinaryIO) -> subprocess.Popen[bytes]:
    # its own session: the terminal's Ctrl-C reaches only the harness, which stops children in order
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _waited(process: subprocess.Popen[bytes], timeout_s: float) -> bool:
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False
    return True


#: every child still running, stopped by `stop_all_processes` (atexit, Ctrl-C)
_LIVE: set[ProcessHandle] = set()


def stop_all_processes() -> None:
    for handle in list(_LIVE):
        handle.stop_now(timeout_s=5.0)


def start_bitcoind(binary: Path, data_dir: Path, ports: PortAllocator) -> ChainService:
    """A bitcoind on regtest with -rpcauth (a fresh password per run), faucet wallet with mature coins."""
    data_dir.mkdir(parents=True, exist_ok=True)
    password = new_rpc_password()
    rpc_port, p2p_port = ports.allocate(), ports.allocate()
    salt = new_rpc_password()
    argv = [
        str(binary),
        *bitcoind_arguments(
            data_dir=str(data_dir),
            rpc_port=rpc_port,
            p2p_port=p2p_port,
            rpcauth=rpcauth_line(RPC_USER, password, salt),
        ),
    ]
    log_path = data_dir / "bitcoind.log"

    async def prepare() -> list[str]:
        return argv

    handle = ProcessHandle("bitcoind", prepare, log_path)
    with log_path.open("ab") as log:
        handle.process = _spawn(argv, log)
    _LIVE.add(handle)
    process = handle.process
    client = RpcClient(f"http://{LOCALHOST}:{rpc_port}/", RPC_USER, password)
    try:
        wait_bitcoind_ready(client, lambda t: _waited(process, t), BITCOIND_READY_TIMEOUT_S, handle.log_tail)
        chain = prepare_faucet(client)
    except BaseException:
        handle.stop_now()
        raise

    def stop() -> None:
        chain.close()
        handle.stop_now()

    rpc = BitcoindRpc(LOCALHOST, rpc_port, RPC_USER, password)
    return ChainService(rpc, chain, f"bitcoind {binary} on 127.0.0.1:{rpc_port}", stop)


def start_embedded_chain(data_dir: Path) -> ChainService:
    """`boltcheck chain` (the embedded chain's bitcoind-compatible RPC) for out-of-process nodes, with a
    recent tip (lnd's synced_to_chain needs one)."""
    password = new_rpc_password()
    chain_process = launch_chain_process(data_dir, rpcuser=RPC_USER, rpcpassword=password)
    client = chain_process.client()
    chain = BitcoindChain(client)
    ensure_tip_after_genesis(chain)

    def stop() -> None:
        chain.close()
        chain_process.stop()

    rpc = BitcoindRpc(LOCALHOST, chain_process.port, RPC_USER, password)
    return ChainService(rpc, chain, f"boltcheck chain on 127.0.0.1:{chain_process.port}", stop)


def short_socket_dir() -> Path:
    """A short directory for unix sockets (sun_path holds ~108 bytes; scenario dirs can be longer)."""
    return Path(tempfile.mkdtemp(prefix="bc-", dir="/tmp"))


def _write_hsm_secret_once(path: Path) -> None:
    """A plain hsm_secret before the first start (regtest.new_cln_hsm_secret says why); a restart keeps
    the node's own."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
    with os.fdopen(descriptor, "wb") as secret_file:
        secret_file.write(new_cln_hsm_secret())


def cln_process_driver(
    name: str,
    binary: Path,
    workdir: Path,
    ports: PortAllocator,
    chain: Callable[[], Awaitable[ChainService]],
    bitcoin_cli: Path,
) -> ClnDriver:
    lightning_dir = workdir / "lightningd"
    rpc_file = short_socket_dir() / "lightning-rpc"
    p2p_port = ports.allocate()
    hold_plugin = workdir / "boltcheck-hold-plugin"

    async def prepare() -> list[str]:
        service = await chain()
        # lightningd v25.12 aborts accepting a channel while its chain is at genesis (first_blocknum 0:
        # wallet/wallet.c wallet_channel_save asserts it); a fresh embedded chain starts there
        await asyncio.to_thread(ensure_tip_after_genesis, service.backend)
        settings = ClnSettings(
            lightning_dir=str(lightning_dir),
            alias=name,
            bind_host=LOCALHOST,
            bind_port=p2p_port,
            bitcoind=service.node_rpc,
            bitcoin_cli=str(bitcoin_cli),
            rpc_file=str(rpc_file),
            plugins=(str(hold_plugin),),
        )
        hold_plugin.parent.mkdir(parents=True, exist_ok=True)
        hold_plugin.write_text(plugin_script(sys.executable))
        hold_plugin.chmod(0o755)
        lightning_dir.mkdir(parents=True, exist_ok=True)
        (lightning_dir / "config").write_text(cln_config(settings))
        _write_hsm_secret_once(lightning_dir / CLN_HSM_SECRET_PATH)
        return [str(binary), *cln_arguments(settings)]

    handle = ProcessHandle(name, prepare, workdir / "lightningd.log")
    endpoint = ClnRpcEndpoint(unix_path=rpc_file)
    return ClnDriver(handle, endpoint, (LOCALHOST, p2p_port), developer=True, hold_plugin=True)


def lnd_process_driver(
    name: str,
    binary: Path,
    workdir: Path,
    ports: PortAllocator,
    chain: Callable[[], Awaitable[ChainService]],
    fees: FeeService,
) -> LndDriver:
    lnd_dir = workdir / "lnd"
    p2p_port, rest_port, grpc_port = ports.allocate(), ports.allocate(), ports.allocate()
    cert_path, macaroon_path = lnd_credential_paths(str(lnd_dir))

    async def prepare() -> list[str]:
        service = await chain()
        await asyncio.to_thread(ensure_tip_after_genesis, service.backend)
        settings = LndSettings(
            lnd_dir=str(lnd_dir),
            alias=name,
            listen_host=LOCALHOST,
            p2p_port=p2p_port,
            rest_port=rest_port,
            grpc_port=grpc_port,
            bitcoind=service.node_rpc,
            fee_url=await fees.url(),
        )
        lnd_dir.mkdir(parents=True, exist_ok=True)
        (lnd_dir / "lnd.conf").write_text(lnd_config(settings))
        return [str(binary), *lnd_arguments(settings)]

    async def credentials() -> LndCredentials:
        return LndCredentials.from_files(Path(cert_path), Path(macaroon_path))

    handle = ProcessHandle(name, prepare, workdir / "lnd.log")
    rest_url = f"https://{LOCALHOST}:{rest_port}"
    return LndDriver(handle, rest_url, credentials, (LOCALHOST, p2p_port))
