"""`--chain bitcoind`: the same scenario files run on a chain reached over bitcoind's RPC.

Here the bitcoind is `boltcheck chain` in its own process, reached only over RPC (`--bitcoind-rpc URL`): that
is the RPC path end to end (executor -> launch session -> BitcoindChain for the steps, and the in-process
reference node's chain source over the same RPC). It is not a real bitcoind: a real one runs in the test
marked `bitcoind` when a `bitcoind` binary is given (BOLTCHECK_BITCOIND_BIN, $BITCOIND or PATH), and that
test is skipped with the reason otherwise.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.chain.bitcoind import BitcoindChain
from harness.chain.errors import TxRejected
from harness.chain.process import ChainProcess, launch_chain_process
from harness.chain.rpc_client import RpcClient
from harness.drivers.bitcoind_source import BitcoindBackendSource
from harness.drivers.targets import TargetSpec
from harness.launchers.session import close_all_sessions
from harness.paths import suites_dir
from harness.requirements import load_catalog
from harness.scenarios.executor import RunSettings, run_scenario
from harness.scenarios.loader import load_scenario
from harness.scenarios.results import ScenarioResult, Status
from harness.scenarios.steps.network_chain import SharedBitcoindSource
from reference_node.chain_source import FEERATE_FLOOR_PER_KW, TxBroadcastRejected

SEED = 7
LAUNCH_VARIABLES = (
    "BOLTCHECK_LAUNCHER",
    "BOLTCHECK_CHAIN",
    "BOLTCHECK_BITCOIND_BIN",
    "BOLTCHECK_BITCOIND_RPC",
    "BOLTCHECK_CLN_RPC",
    "BOLTCHECK_LND_REST",
)
# payments both ways then a mutual close; an anchors channel opened by the node under test, then paid
SCENARIOS = ["bolt02_close_mutual_target", "bolt02_open_target_opener_anchors"]


@pytest.fixture
def launch_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for variable in LAUNCH_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    yield monkeypatch
    close_all_sessions()


@pytest.fixture
def rpc_chain(tmp_path: Path) -> Iterator[ChainProcess]:
    chain = launch_chain_process(tmp_path / "boltcheck-chain", rpcuser="u", rpcpassword="stand-in-bitcoind")
    yield chain
    chain.stop()


def run(name: str, workdir: Path) -> ScenarioResult:
    scenario = load_scenario(suites_dir() / f"{name}.yaml", load_catalog())
    settings = RunSettings(target=TargetSpec("reference"), seed=SEED, workdir=workdir, chain="bitcoind")
    return asyncio.run(run_scenario(scenario, settings))


def run_over_rpc(
    name: str, launch_env: pytest.MonkeyPatch, rpc_chain: ChainProcess, tmp_path: Path
) -> ScenarioResult:
    """Run `name` with the chain behind `rpc_chain`'s bitcoind-compatible RPC; it must pass."""
    launch_env.setenv("BOLTCHECK_CHAIN", "bitcoind")
    launch_env.setenv("BOLTCHECK_BITCOIND_RPC", rpc_chain.auth_url)
    result = run(name, tmp_path / "run")
    assert result.status is Status.PASS, result.reason
    return result


def assert_confirmed_behind_rpc(result: ScenarioResult, rpc_chain: ChainProcess) -> None:
    """Every transaction the scenario recorded is on the chain behind the RPC, confirmed."""
    assert result.txids
    client = rpc_chain.client()
    for txid in result.txids:
        assert client.call("getrawtransaction", txid, True)["confirmations"] >= 1


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_a_scenario_runs_unchanged_on_a_chain_reached_over_bitcoind_rpc(
    name: str, launch_env: pytest.MonkeyPatch, rpc_chain: ChainProcess, tmp_path: Path
) -> None:
    assert_confirmed_behind_rpc(run_over_rpc(name, launch_env, rpc_chain, tmp_path), rpc_chain)


# BOLT 5: a force close resolved on chain, balances to the satoshi (the close tree read block by block over
# RPC); BOLT 4: an in-process network on the chain behind the RPC, failures attributed to the right hop
ONCHAIN_SCENARIOS = ["bolt05_force_close_opener", "bolt05_breach_htlcs_both_ways"]
NETWORK_SCENARIOS = ["bolt04_forwarding_failures", "bolt04_multipart_payment"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ONCHAIN_SCENARIOS)
def test_a_bolt05_scenario_resolves_the_close_on_a_chain_reached_over_bitcoind_rpc(
    name: str, launch_env: pytest.MonkeyPatch, rpc_chain: ChainProcess, tmp_path: Path
) -> None:
    # the close tree expect_onchain_outcome read over RPC is on the chain behind it, confirmed
    assert_confirmed_behind_rpc(run_over_rpc(name, launch_env, rpc_chain, tmp_path), rpc_chain)


@pytest.mark.slow
@pytest.mark.parametrize("name", NETWORK_SCENARIOS)
def test_a_bolt04_network_scenario_runs_on_a_chain_reached_over_bitcoind_rpc(
    name: str, launch_env: pytest.MonkeyPatch, rpc_chain: ChainProcess, tmp_path: Path
) -> None:
    height_before = int(rpc_chain.client().call("getblockcount"))
    run_over_rpc(name, launch_env, rpc_chain, tmp_path)
    # the network's channels were funded and announced on the chain behind the RPC (BOLT 7: 6 blocks)
    assert int(rpc_chain.client().call("getblockcount")) >= height_before + 7


def test_without_a_bitcoind_the_scenario_is_skipped_saying_so(
    launch_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    launch_env.setenv("BOLTCHECK_CHAIN", "bitcoind")
    launch_env.setenv("PATH", str(tmp_path / "empty-path"))
    result = run("bolt02_close_mutual_target", tmp_path / "run")
    assert result.status is Status.SKIP
    assert "no bitcoind on PATH" in result.reason and "--bitcoind-bin" in result.reason


def test_with_docker_and_no_engine_the_scenario_is_skipped_saying_so(
    launch_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    launch_env.setenv("BOLTCHECK_CHAIN", "bitcoind")
    launch_env.setenv("BOLTCHECK_LAUNCHER", "docker")
    launch_env.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-docker.sock'}")
    result = run("bolt02_close_mutual_target", tmp_path / "run")
    assert result.status is Status.SKIP
    assert "no Docker engine" in result.reason


def test_an_unknown_chain_kind_is_a_skip_with_the_known_kinds(
    launch_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scenario = load_scenario(suites_dir() / "bolt02_close_mutual_target.yaml", load_catalog())
    settings = RunSettings(target=TargetSpec("reference"), seed=SEED, workdir=tmp_path, chain="electrum")
    result = asyncio.run(run_scenario(scenario, settings))
    assert result.status is Status.SKIP
    assert "embedded or bitcoind" in result.reason


# ----- the reference node's chain source over bitcoind RPC


@pytest.fixture
def backend(rpc_chain: ChainProcess) -> Iterator[BitcoindChain]:
    chain = BitcoindChain(rpc_chain.client())
    yield chain
    chain.close()


def test_the_node_reads_blocks_as_bitcoind_serves_them(backend: BitcoindChain) -> None:
    backend.mine(2)
    source = BitcoindBackendSource(backend)
    height = source.height()
    block = source.block_at(height)
    assert block.height == height
    assert block.block_hash == backend.tip() == source.block_hash(height)
    assert len(block.txs) >= 1  # the coinbase


def test_a_refused_broadcast_is_the_nodes_broadcast_rejection(backend: BitcoindChain) -> None:
    source = BitcoindBackendSource(backend)
    # a coinbase transaction cannot enter a mempool
    coinbase = backend.client.call("getblock", backend.tip(), 2)["tx"][0]["hex"]
    with pytest.raises(TxBroadcastRejected):
        source.send_raw(bytes.fromhex(coinbase))
    with pytest.raises(TxRejected):
        backend.send_raw(coinbase)


def test_the_nodes_feerate_is_the_backends_estimate_in_sat_per_kw(backend: BitcoindChain) -> None:
    estimate = backend.estimate_fee(6)
    source = BitcoindBackendSource(backend)
    assert source.feerate_per_kw(6) == max(FEERATE_FLOOR_PER_KW, estimate.feerate_sat_per_kvb // 4)


def test_waiting_for_a_block_returns_the_height_after_the_timeout(backend: BitcoindChain) -> None:
    source = BitcoindBackendSource(backend)
    height = source.height()
    assert source.wait_for_block(height, 0.2) == height


def test_the_network_source_wakes_every_node_waiting_on_one_new_block(backend: BitcoindChain) -> None:
    source = SharedBitcoindSource(backend)
    try:
        height = source.height()
        with ThreadPoolExecutor(max_workers=8) as pool:
            waits = [pool.submit(source.wait_for_block, height, 30.0) for _ in range(8)]
            backend.mine(1)
            assert [w.result(timeout=60) for w in waits] == [height + 1] * 8
    finally:
        source.detach()


def test_the_network_source_serves_each_block_as_bitcoind_serves_it(backend: BitcoindChain) -> None:
    backend.mine(1)
    source = SharedBitcoindSource(backend)
    try:
        height = source.height()
        block = source.block_at(height)
        direct = BitcoindBackendSource(backend).block_at(height)
        assert block.block_hash == direct.block_hash == backend.tip()
        assert [tx.txid_hex for tx in block.txs] == [tx.txid_hex for tx in direct.txs]
        assert source.block_at(height) is block  # fetched once, shared by every node
    finally:
        source.detach()


# ----- a real bitcoind


def _real_bitcoind() -> Path | None:
    found = os.environ.get("BOLTCHECK_BITCOIND_BIN") or os.environ.get("BITCOIND") or shutil.which("bitcoind")
    return Path(found) if found else None


@pytest.mark.bitcoind
@pytest.mark.slow
@pytest.mark.skipif(
    _real_bitcoind() is None, reason="needs bitcoind (BOLTCHECK_BITCOIND_BIN, $BITCOIND or PATH)"
)
def test_a_scenario_runs_unchanged_on_a_real_bitcoind(launch_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = _real_bitcoind()
    assert binary is not None
    launch_env.setenv("BOLTCHECK_CHAIN", "bitcoind")
    launch_env.setenv("BOLTCHECK_BITCOIND_BIN", str(binary))
    result = run("bolt02_close_mutual_target", tmp_path / "run")
    assert result.status is Status.PASS, result.reason


def test_rpc_client_reaches_the_stand_in_as_a_bitcoind(rpc_chain: ChainProcess) -> None:
    """The stand-in is found by the same probe launchers use: it says it is `boltcheck chain`."""
    from harness.launchers.chain import is_boltcheck_chain

    assert is_boltcheck_chain(RpcClient(rpc_chain.rpc_url, "u", "stand-in-bitcoind"))
