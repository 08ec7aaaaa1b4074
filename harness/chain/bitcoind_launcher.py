"""Start a local `bitcoind` on regtest (given, $BOLTCHECK_BITCOIND_BIN, $BITCOIND or on PATH) and wrap it
as a BitcoindChain.

Ports are picked free on 127.0.0.1, the data dir is temporary unless given, `-txindex` is on (get_tx needs
it), the relay fee floors are the embedded chain's (`relay_policy_arguments`) and a wallet named "boltcheck"
is the faucet. Readiness is polled over RPC; between polls the launcher
waits on the process itself (so an early exit is seen at once), never a bare sleep.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from harness.chain.acceptance import DEFAULT_INCREMENTAL_RELAY_FEE_SAT_PER_KVB
from harness.chain.bitcoind import COIN, BitcoindChain
from harness.chain.errors import ChainError, RpcError, RpcTransportError
from harness.chain.policy import DEFAULT_MIN_RELAY_TX_FEE_SAT_PER_KVB
from harness.chain.rpc_client import RpcClient

RPC_IN_WARMUP = -28
RPC_WALLET_ALREADY_EXISTS = -4
RPC_WALLET_ALREADY_LOADED = -35
WALLET_NAME = "boltcheck"


class BitcoindUnavailable(ChainError):
    """No bitcoind binary to launch."""


class BitcoindFailed(ChainError):
    """bitcoind exited or did not become ready in time."""


def find_bitcoind(binary: str | None = None) -> str | None:
    """The bitcoind to launch: `binary`, else $BOLTCHECK_BITCOIND_BIN (the variable the launcher tests and
    `boltcheck run` read), else $BITCOIND, else `bitcoind` on PATH; None when that is not an executable."""
    candidate = (
        binary
        or os.environ.get("BOLTCHECK_BITCOIND_BIN")
        or os.environ.get("BITCOIND")
        or shutil.which("bitcoind")
    )
    if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
        return candidate
    return None


def btc_per_kvb(sat_per_kvb: int) -> str:
    """A feerate as bitcoind's fee options take it: BTC per 1000 vbytes, 8 decimals."""
    return f"{Decimal(sat_per_kvb) / COIN:.8f}"


def relay_policy_arguments() -> list[str]:
    """Pin bitcoind's relay fee floors to the embedded chain's (1000 sat/kvB, policy.h before v30).

    Bitcoin Core v30 lowered the defaults of `-minrelaytxfee` and `-incrementalrelayfee` to 100 sat/kvB;
    the pinned Docker image (v26) and the embedded chain use 1000. Pinned, every bitcoind version gives
    the same `getmempoolinfo` floors (which Core Lightning reads) and the same replacement (BIP 125 rule 4)
    and minimum relay decisions, so a scenario passes or fails the same on either chain."""
    return [
        f"-minrelaytxfee={btc_per_kvb(DEFAULT_MIN_RELAY_TX_FEE_SAT_PER_KVB)}",
        f"-incrementalrelayfee={btc_per_kvb(DEFAULT_INCREMENTAL_RELAY_FEE_SAT_PER_KVB)}",
    ]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class BitcoindProcess:
    process: subprocess.Popen[bytes]
    data_dir: Path
    rpc_port: int
    client: RpcClient
    chain: BitcoindChain
    owns_dir: bool
    log_path: Path
    _stopped: bool = field(default=False)

    def stop(self, timeout: float = 30.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.chain.close()
        if self.process.poll() is None:
            try:
                self.client.call("stop")
            except ChainError:
                self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def launch_bitcoind(
    binary: str | None = None, data_dir: Path | None = None, ready_timeout: float = 60.0
) -> BitcoindProcess:
    executable = find_bitcoind(binary)
    if executable is None:
        raise BitcoindUnavailable(
            "no bitcoind binary: put it on PATH, set $BOLTCHECK_BITCOIND_BIN or $BITCOIND, or pass its path"
        )
    owns_dir = data_dir is None
    directory = Path(tempfile.mkdtemp(prefix="boltcheck-bitcoind-")) if data_dir is None else data_dir
    directory.mkdir(parents=True, exist_ok=True)
    rpc_port, p2p_port = free_port(), free_port()
    log_path = directory / "bitcoind.log"
    args = [
        executable,
        f"-datadir={directory}",
        "-regtest",
        "-server",
        "-txindex",
        "-listen=0",
        f"-port={p2p_port}",
        f"-rpcport={rpc_port}",
        "-rpcbind=127.0.0.1",
        "-rpcallowip=127.0.0.1",
        "-fallbackfee=0.0002",
        *relay_policy_arguments(),
        "-printtoconsole",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{rpc_port}/"
    cookie = directory / "regtest" / ".cookie"
    client = _wait_ready(process, url, cookie, ready_timeout, log_path)
    _load_wallet(client)
    chain = BitcoindChain(client, wallet_client=client.for_wallet(WALLET_NAME))
    return BitcoindProcess(process, directory, rpc_port, client, chain, owns_dir, log_path)


def _wait_ready(
    process: subprocess.Popen[bytes], url: str, cookie: Path, timeout: float, log_path: Path
) -> RpcClient:
    deadline = time.monotonic() + timeout
    last_error = "no attempt"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BitcoindFailed(f"bitcoind exited with {process.returncode}: {_tail(log_path)}")
        if cookie.exists():
            try:
                client = RpcClient.from_cookie(url, cookie)
                client.call("getblockchaininfo")
                return client
            except RpcError as exc:
                if exc.rpc_code != RPC_IN_WARMUP:
                    raise
                last_error = exc.message
            except RpcTransportError as exc:
                last_error = str(exc)
        try:
            process.wait(timeout=0.05)  # returns early if bitcoind dies; otherwise the poll interval
        except subprocess.TimeoutExpired:
            continue
    process.terminate()
    raise BitcoindFailed(f"bitcoind not ready after {timeout}s ({last_error}): {_tail(log_path)}")


def _load_wallet(client: RpcClient) -> None:
    try:
        client.call("createwallet", WALLET_NAME)
    except RpcError as exc:
        if exc.rpc_code not in (RPC_WALLET_ALREADY_EXISTS, RPC_WALLET_ALREADY_LOADED):
            raise
        try:
            client.call("loadwallet", WALLET_NAME)
        except RpcError as load_exc:
            if load_exc.rpc_code != RPC_WALLET_ALREADY_LOADED:
                raise


def _tail(path: Path, size: int = 2000) -> str:
    try:
        return path.read_bytes()[-size:].decode(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
