"""The process launcher with stand-in executables (small Python scripts), so the launch path runs end to
end here: binary lookup, config files, the child's log, readiness by polling, exit detection, stop.
The stand-in lightningd answers getinfo with CLN's documented example; it is not lightningd (tests with
the real programs are in tests/test_launchers_real_programs.py, markers cln/lnd/bitcoind)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from harness.drivers.base import UnsupportedOperation
from harness.drivers.registry import NodeSetup, create_driver
from harness.drivers.targets import TargetSpec
from harness.launchers.base import NodeExited
from harness.launchers.chain import ChainService
from harness.launchers.options import LaunchOptions
from harness.launchers.ports import PortAllocator
from harness.launchers.process import ProcessHandle, cln_process_driver, find_binary
from harness.launchers.regtest import BitcoindRpc
from harness.launchers.session import close_all_sessions, session_for
from harness.requirements import load_catalog
from harness.scenarios import RunSettings, Status, load_scenario, run_scenario

GETINFO = Path(__file__).parent / "data" / "api_responses" / "cln" / "getinfo.json"

FAKE_LIGHTNINGD = r"""
import asyncio, json, sys
from pathlib import Path

lightning_dir = Path(next(a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--lightning-dir=")))
lines = (lightning_dir / "config").read_text().splitlines()
config = dict(line.split("=", 1) if "=" in line else (line, "") for line in lines)
print("fake lightningd: config read", flush=True)
if "fail-now" in config:
    print("fake lightningd: bad option fail-now", flush=True)
    sys.exit(1)
getinfo = json.loads(Path(sys.argv[1]).read_text())["response"]
host, port = config["bind-addr"].rsplit(":", 1)
getinfo["binding"] = [{"type": "ipv4", "address": host, "port": int(port)}]

async def serve(reader, writer):
    data = b""
    while True:
        data += await reader.read(4096)
        try:
            request = json.loads(data)
            break
        except ValueError:
            continue
    result = getinfo if request["method"] == "getinfo" else {}
    writer.write(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode() + b"\n\n")
    await writer.drain()
    writer.close()
    if request["method"] == "stop":
        asyncio.get_running_loop().stop()

loop = asyncio.new_event_loop()
loop.run_until_complete(asyncio.start_unix_server(serve, config["rpc-file"]))
print("fake lightningd: listening", flush=True)
loop.run_forever()
"""


def executable(path: Path, text: str) -> Path:
    path.write_text(f"#!{sys.executable}\n{text}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


class FakeChainTip:
    """The ChainBackend calls a launcher makes before a node starts (a tip past genesis)."""

    def height(self) -> int:
        return 101

    def mine(self, count: int) -> None:
        raise AssertionError("a chain past genesis gets no block")


def fake_chain_source() -> object:
    async def chain() -> ChainService:
        rpc = BitcoindRpc("127.0.0.1", 18443, "boltcheck", "pw")
        return ChainService(rpc, FakeChainTip(), "fake", lambda: None)  # type: ignore[arg-type]

    return chain


def fake_lightningd(tmp_path: Path) -> Path:
    script = executable(tmp_path / "fake-lightningd.py", FAKE_LIGHTNINGD)
    wrapper = tmp_path / "lightningd"
    argv = f"[{sys.executable!r}, {str(script)!r}, {str(GETINFO)!r}, *sys.argv[1:]]"
    return executable(wrapper, f"import os, sys\nos.execv({sys.executable!r}, {argv})\n")


def test_a_given_binary_that_is_not_executable_is_unsupported(tmp_path: Path) -> None:
    plain = tmp_path / "lightningd"
    plain.write_text("not a program")
    with pytest.raises(UnsupportedOperation, match="--cln-bin"):
        find_binary(plain, ("lightningd",), "cln", "--cln-bin")


def test_a_binary_missing_from_path_is_unsupported_with_the_flag_to_use(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UnsupportedOperation, match="no lightningd on PATH; pass --cln-bin PATH"):
        find_binary(None, ("lightningd",), "cln", "--cln-bin")


def test_a_binary_on_path_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = executable(tmp_path / "lnd", "print('lnd')")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert find_binary(None, ("lnd",), "lnd", "--lnd-bin") == binary


def test_the_launched_node_writes_its_config_and_becomes_ready(tmp_path: Path) -> None:
    driver = cln_process_driver(
        "alice",
        fake_lightningd(tmp_path),
        tmp_path / "alice",
        PortAllocator(11, seed=5),
        fake_chain_source(),  # type: ignore[arg-type]
        Path("/usr/bin/bitcoin-cli"),
    )

    async def scenario() -> bytes:
        await driver.start()
        try:
            return driver.node_id
        finally:
            await driver.stop()

    node_id = asyncio.run(scenario())
    assert node_id.hex() == json.loads(GETINFO.read_text())["response"]["id"]
    config = (tmp_path / "alice" / "lightningd" / "config").read_text().splitlines()
    assert "bitcoin-rpcport=18443" in config and "bitcoin-cli=/usr/bin/bitcoin-cli" in config
    assert driver.address.host == "127.0.0.1" and driver.p2p is not None
    assert f"bind-addr=127.0.0.1:{driver.p2p[1]}" in config
    log = (tmp_path / "alice" / "lightningd.log").read_text()
    assert "fake lightningd: listening" in log
    assert isinstance(driver.handle, ProcessHandle) and driver.handle.process is not None
    assert driver.handle.process.returncode == 0  # stopped through the `stop` RPC, not killed


def test_a_node_that_exits_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    driver = cln_process_driver(
        "alice",
        fake_lightningd(tmp_path),
        tmp_path / "alice",
        PortAllocator(12, seed=5),
        fake_chain_source(),  # type: ignore[arg-type]
        Path("/usr/bin/bitcoin-cli"),
    )
    original = driver.handle.prepare  # type: ignore[attr-defined]

    async def failing_prepare() -> list[str]:
        argv = await original()
        with (tmp_path / "alice" / "lightningd" / "config").open("a") as config:
            config.write("fail-now\n")
        return argv

    driver.handle.prepare = failing_prepare  # type: ignore[attr-defined]
    with pytest.raises(NodeExited, match="bad option fail-now"):
        asyncio.run(driver.start())


def test_a_target_without_its_binary_is_a_skipped_scenario(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no lightningd, no lnd
    LaunchOptions().export()
    scenario = load_scenario(
        Path(__file__).parents[1] / "suites" / "bolt01" / "ping-pong.yaml", load_catalog()
    )
    for implementation, binary in (("cln", "lightningd"), ("lnd", "lnd")):
        settings = RunSettings(target=TargetSpec(implementation), seed=1, workdir=tmp_path)
        result = asyncio.run(run_scenario(scenario, settings))
        assert result.status is Status.SKIP
        assert f"no {binary} on PATH" in result.reason
    close_all_sessions()


def test_nodes_of_one_scenario_share_a_session_and_a_new_scenario_closes_the_old(tmp_path: Path) -> None:
    def setup(scenario: str, node: str) -> NodeSetup:
        return NodeSetup(node, "cln", b"\x01" * 32, tmp_path / scenario / node)

    first = session_for(setup("s1", "a"), LaunchOptions())
    assert session_for(setup("s1", "b")) is first
    second = session_for(setup("s2", "a"), LaunchOptions())
    assert second is not first and first.closed and not second.closed
    close_all_sessions()
    assert second.closed


def test_the_registry_builds_cln_and_lnd_drivers_through_the_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lightningd = fake_lightningd(tmp_path)
    executable(tmp_path / "bitcoin-cli", "print('bitcoin-cli')")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    LaunchOptions(cln_bin=lightningd).export()
    try:
        driver = create_driver(NodeSetup("alice", "cln", b"\x01" * 32, tmp_path / "scenario" / "alice"))
        assert driver.implementation == "cln"
    finally:
        close_all_sessions()
        LaunchOptions().export()


def test_the_scenarios_embedded_chain_is_served_to_launched_nodes_not_duplicated(tmp_path: Path) -> None:
    from harness.chain import EmbeddedChain
    from harness.chain.rpc_client import RpcClient
    from harness.launchers.options import LauncherKind

    chain = EmbeddedChain(tmp_path / "scenario" / "chain", seed=b"\x00" * 8)
    try:
        chain.mine(3)
        session = session_for(
            NodeSetup("a", "cln", b"\x01" * 32, tmp_path / "scenario" / "a"), LaunchOptions()
        )
        session.adopt_chain(chain, LauncherKind.PROCESS)
        session.adopt_chain(chain, LauncherKind.PROCESS)  # the second node of the scenario: same chain
        service = session.chain_service()
        assert service.backend is chain and service.node_rpc.host == "127.0.0.1"
        client = RpcClient(service.node_rpc.url, service.node_rpc.user, service.node_rpc.password)
        assert client.call("getblockcount") == chain.height() == 3
    finally:
        close_all_sessions()
        chain.close()


def test_docker_nodes_cannot_use_the_embedded_chain_and_say_why(tmp_path: Path) -> None:
    from harness.launchers.options import LauncherKind

    session = session_for(NodeSetup("a", "cln", b"\x01" * 32, tmp_path / "s" / "a"), LaunchOptions())
    with pytest.raises(UnsupportedOperation, match="--chain bitcoind"):
        session.adopt_chain(object(), LauncherKind.DOCKER)  # type: ignore[arg-type]
    close_all_sessions()


def test_attached_nodes_need_the_url_of_their_chain_for_chain_steps(tmp_path: Path) -> None:
    from harness.launchers.options import LauncherKind

    options = LaunchOptions(launcher=LauncherKind.ATTACH, cln_rpc=tmp_path / "lightning-rpc")
    session = session_for(NodeSetup("a", "cln", b"\x01" * 32, tmp_path / "s" / "a"), options)
    with pytest.raises(UnsupportedOperation, match="--bitcoind-rpc"):
        session.chain_service()
    close_all_sessions()
