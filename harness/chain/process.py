"""Run `boltcheck chain` as a child process and connect to it (for tests, launchers and scenarios).

The child prints one JSON ready line; this module reads it with a deadline (a reader thread and a queue,
no sleeping) and builds an RpcClient from its cookie or the given user/password.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.chain.errors import ChainError
from harness.chain.rpc_client import RpcClient

READY_TIMEOUT_S = 60.0


class ChainProcessFailed(ChainError):
    """`boltcheck chain` exited or printed no ready line in time."""


@dataclass
class ChainProcess:
    process: subprocess.Popen[str]
    ready: dict[str, Any]
    user: str
    password: str

    @property
    def rpc_url(self) -> str:
        return str(self.ready["rpc_url"])

    @property
    def port(self) -> int:
        return int(self.ready["rpcport"])

    @property
    def auth_url(self) -> str:
        """http://user:password@127.0.0.1:port, the form python-bitcoinlib's proxies take."""
        return f"http://{self.user}:{self.password}@127.0.0.1:{self.port}"

    def client(self, timeout: float = 30.0) -> RpcClient:
        return RpcClient(self.rpc_url, self.user, self.password, timeout)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=timeout)


def launch_chain_process(
    data_dir: Path,
    *,
    rpcuser: str | None = None,
    rpcpassword: str | None = None,
    port: int = 0,
    extra_args: tuple[str, ...] = (),
    ready_timeout: float = READY_TIMEOUT_S,
) -> ChainProcess:
    args = [sys.executable, "-m", "harness.cli", "chain", "--rpcport", str(port), "--data-dir", str(data_dir)]
    if rpcuser is not None and rpcpassword is not None:
        args += ["--rpcuser", rpcuser, "--rpcpassword", rpcpassword]
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "chain.log"  # stderr goes to a file: a pipe nobody drains could block the child
    with log_path.open("w") as log_file:
        process = subprocess.Popen([*args, *extra_args], stdout=subprocess.PIPE, stderr=log_file, text=True)
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    if stdout is None:
        raise ChainProcessFailed("no stdout pipe to the chain process")
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=ready_timeout)
    except queue.Empty:
        process.kill()
        raise ChainProcessFailed(f"boltcheck chain printed no ready line in {ready_timeout}s") from None
    if not line:
        process.wait(timeout=ready_timeout)
        stderr = log_path.read_text(errors="replace")[-2000:]
        raise ChainProcessFailed(f"boltcheck chain exited with {process.returncode}: {stderr}")
    ready = json.loads(line)
    if ready.get("cookie"):
        user, _, password = Path(ready["cookie"]).read_text().partition(":")
    elif rpcuser is not None and rpcpassword is not None:
        user, password = rpcuser, rpcpassword
    else:
        raise ChainProcessFailed(f"ready line names no cookie and no credentials were given: {ready}")
    return ChainProcess(process, ready, user, password)
