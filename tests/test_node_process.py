"""`boltcheck node` as a process: ready line, BOLT 8, init, ping/pong from the scripted peer, clean exit."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from pathlib import Path

import pytest

from reference_node.node import Network
from reference_node.nodekey import NODE_KEY_FILE, Entropy
from reference_node.scripted_peer import ScriptedPeer
from reference_node.wire import Ping

TIMEOUT_S = 20.0
BOLTCHECK = Path(sys.executable).parent / "boltcheck"


async def _start(data_dir: Path, *extra: str) -> tuple[asyncio.subprocess.Process, dict[str, object]]:
    process = await asyncio.create_subprocess_exec(
        str(BOLTCHECK),
        "node",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        str(data_dir),
        "--network",
        "regtest",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), TIMEOUT_S)
    if not line:
        assert process.stderr is not None
        raise AssertionError(f"no ready line; stderr: {(await process.stderr.read()).decode()}")
    return process, json.loads(line)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_node_process_serves_a_peer_and_exits_cleanly_on_signal(tmp_path: Path, signum: int) -> None:
    async def scenario() -> None:
        process, ready = await _start(tmp_path / "node")
        try:
            assert set(ready) == {"id", "address", "network", "pid", "rpc"}
            assert ready["rpc"] is None  # no --chain: no wallet, channels or JSON-RPC
            assert ready["network"] == "regtest"
            assert ready["pid"] == process.pid
            host, port = str(ready["address"]).rsplit(":", 1)
            assert host == "127.0.0.1" and int(port) > 0
            peer = await ScriptedPeer.connect(
                host, int(port), bytes.fromhex(str(ready["id"])), entropy=Entropy(b"process test")
            )
            await peer.exchange_init(networks=[Network.REGTEST.chain_hash], timeout_s=TIMEOUT_S)
            await peer.send(Ping(num_pong_bytes=12, ignored=b""))
            await peer.expect("pong", TIMEOUT_S, ignored=bytes(12))
            await peer.sync(TIMEOUT_S)
            process.send_signal(signum)
            assert await asyncio.wait_for(process.wait(), TIMEOUT_S) == 0
            await peer.expect_disconnect(TIMEOUT_S)
            await peer.close()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        key_file = tmp_path / "node" / NODE_KEY_FILE
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert process.stderr is not None
        log_text = (await process.stderr.read()).decode()
        assert key_file.read_text().strip() not in log_text  # no secret in the logs

    asyncio.run(scenario())


def test_node_process_restarts_with_the_same_id(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        ids = []
        for _ in range(2):
            process, ready = await _start(tmp_path / "node", "--seed", "replay")
            ids.append(str(ready["id"]))
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), TIMEOUT_S) == 0
        return ids

    first, second = asyncio.run(scenario())
    assert first == second


def test_node_process_refuses_a_world_readable_key(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, str]:
        process, _ = await _start(tmp_path / "node")
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), TIMEOUT_S)
        os.chmod(tmp_path / "node" / NODE_KEY_FILE, 0o644)
        refused = await asyncio.create_subprocess_exec(
            str(BOLTCHECK),
            "node",
            "--data-dir",
            str(tmp_path / "node"),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(refused.communicate(), TIMEOUT_S)
        assert stdout == b""
        return await refused.wait(), stderr.decode()

    code, stderr = asyncio.run(scenario())
    assert code == 1
    assert "chmod 600" in stderr
