"""Reference nodes as processes on a `boltcheck chain` process, driven over their JSON-RPC with pyln-client
(an independent client from PyPI). No tests here: the fixtures of the process and crash tests."""

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

from pyln.client import LightningRpc

from harness.chain.process import ChainProcess

READY_TIMEOUT_S = 60.0


@dataclass
class NodeProcess:
    process: subprocess.Popen[str]
    ready: dict[str, Any]
    data_dir: Path

    @property
    def rpc(self) -> LightningRpc:
        return LightningRpc(str(self.ready["rpc"]))

    @property
    def node_id(self) -> str:
        return str(self.ready["id"])

    @property
    def host_port(self) -> tuple[str, int]:
        host, port = str(self.ready["address"]).rsplit(":", 1)
        return host, int(port)

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as in a crash."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def start_node(data_dir: Path, chain: ChainProcess, seed: str, *extra: str) -> NodeProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    args = [
        sys.executable,
        "-m",
        "harness.cli",
        "node",
        "--data-dir",
        str(data_dir),
        "--seed",
        seed,
        "--chain",
        f"http://{chain.user}:{chain.password}@127.0.0.1:{chain.port}",
        "--log-level",
        "INFO",
        *extra,
    ]
    log_file = (data_dir / "node.log").open("a")
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log_file, text=True)
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    assert stdout is not None
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    line = lines.get(timeout=READY_TIMEOUT_S)
    if not line:
        process.wait(timeout=30)
        raise AssertionError(f"node exited: {(data_dir / 'node.log').read_text()[-3000:]}")
    return NodeProcess(process, json.loads(line), data_dir)


def fund(chain: ChainProcess, node: NodeProcess, amount_btc: float) -> None:
    address = node.rpc.newaddr()["bech32"]
    client = chain.client()
    client.call("sendtoaddress", address, amount_btc)
    mine(chain, 1, node)


def mine(chain: ChainProcess, blocks: int, *nodes: NodeProcess) -> None:
    client = chain.client()
    client.call("generatetoaddress", blocks, chain.ready["faucet_address"])
    for node in nodes:
        node.rpc.call("dev-sync")
