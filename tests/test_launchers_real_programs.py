"""The launchers and drivers against the real programs: bitcoind, lightningd, lnd, a Docker engine.

Each test needs what its markers say and skips with the reason when it is absent (binaries from
BOLTCHECK_BITCOIND_BIN / BOLTCHECK_CLN_BIN / BOLTCHECK_LND_BIN or PATH). These are the interop tests; the
unit tests of our mapping and calls are in test_drivers_* and test_launchers_*.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from harness.chain.backend import OutPoint as ChainOutPoint
from harness.drivers.base import ChannelState, NodeDriver, OpenChannelOptions, WaitTimeout
from harness.drivers.cln import ClnDriver
from harness.drivers.lnd import LndDriver
from harness.drivers.targets import TargetSpec
from harness.launchers.base import poll_until
from harness.launchers.chain import ChainService
from harness.launchers.feeservice import LocalFeeServer
from harness.launchers.ports import PortAllocator
from harness.launchers.process import (
    cln_process_driver,
    find_bitcoin_cli,
    lnd_process_driver,
    start_bitcoind,
)
from harness.launchers.session import close_all_sessions
from harness.paths import suites_dir
from harness.requirements import load_catalog
from harness.scenarios.executor import RunSettings, run_scenario
from harness.scenarios.loader import load_scenario
from harness.scenarios.results import Status


def _binary(variable: str, name: str) -> Path | None:
    given = os.environ.get(variable)
    if given:
        return Path(given)
    found = shutil.which(name)
    return Path(found) if found else None


BITCOIND = _binary("BOLTCHECK_BITCOIND_BIN", "bitcoind")
LIGHTNINGD = _binary("BOLTCHECK_CLN_BIN", "lightningd")
LND = _binary("BOLTCHECK_LND_BIN", "lnd")

needs_bitcoind = pytest.mark.skipif(
    BITCOIND is None, reason="needs bitcoind (PATH or BOLTCHECK_BITCOIND_BIN)"
)
needs_cln = pytest.mark.skipif(LIGHTNINGD is None, reason="needs lightningd (PATH or BOLTCHECK_CLN_BIN)")
needs_lnd = pytest.mark.skipif(LND is None, reason="needs lnd (PATH or BOLTCHECK_LND_BIN)")


def _docker_reachable() -> str | None:
    from docker.errors import DockerException

    try:
        import docker

        docker.from_env().ping()
    except DockerException as exc:
        return f"needs a Docker engine ({exc})"
    return None


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainService]:
    assert BITCOIND is not None
    service = start_bitcoind(BITCOIND, tmp_path / "bitcoind", PortAllocator.for_this_worker(seed=os.getpid()))
    yield service
    service.stop()


def _chain_source(service: ChainService) -> Callable[[], Awaitable[ChainService]]:
    async def source() -> ChainService:
        return service

    return source


def _cln(name: str, tmp_path: Path, service: ChainService, ports: PortAllocator) -> ClnDriver:
    assert LIGHTNINGD is not None
    return cln_process_driver(
        name, LIGHTNINGD, tmp_path / name, ports, _chain_source(service), find_bitcoin_cli(BITCOIND)
    )


def _lnd(
    name: str, tmp_path: Path, service: ChainService, ports: PortAllocator, fees: LocalFeeServer
) -> LndDriver:
    assert LND is not None
    return lnd_process_driver(name, LND, tmp_path / name, ports, _chain_source(service), fees)


async def _when_balance_at_least(driver: NodeDriver, amount_sat: int) -> int:
    """Poll the wallet (waiting on the node's process between polls) until it sees a confirmed coin."""

    async def enough() -> int | None:
        balance = await driver.onchain_balance_sat()
        return balance if balance >= amount_sat else None

    assert isinstance(driver, ClnDriver | LndDriver)
    return await poll_until(
        enough, driver.handle, 60.0, f"on-chain balance >= {amount_sat} sat", interval_s=0.5
    )


@pytest.mark.bitcoind
@needs_bitcoind
def test_a_local_bitcoind_starts_with_a_funded_faucet(chain: ChainService) -> None:
    assert chain.backend.height() > 100
    outpoint = chain.backend.fund("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", 100_000)
    assert outpoint.txid in chain.backend.mempool()


@pytest.mark.bitcoind
@pytest.mark.cln
@needs_bitcoind
@needs_cln
def test_lightningd_starts_on_regtest_and_reports_its_height(tmp_path: Path, chain: ChainService) -> None:
    driver = _cln("alice", tmp_path, chain, PortAllocator.for_this_worker(seed=1))

    async def scenario() -> int:
        await driver.start()
        try:
            return (await driver.info()).block_height
        finally:
            await driver.stop()

    assert asyncio.run(scenario()) == chain.backend.height()


@pytest.mark.bitcoind
@pytest.mark.lnd
@needs_bitcoind
@needs_lnd
def test_lnd_starts_on_regtest_and_syncs(tmp_path: Path, chain: ChainService) -> None:
    fees = LocalFeeServer()
    driver = _lnd("bob", tmp_path, chain, PortAllocator.for_this_worker(seed=2), fees)

    async def scenario() -> int:
        await driver.start()
        try:
            return (await driver.info()).block_height
        finally:
            await driver.stop()

    try:
        assert asyncio.run(scenario()) == chain.backend.height()
    finally:
        fees.close()


@pytest.mark.bitcoind
@pytest.mark.cln
@pytest.mark.lnd
@needs_bitcoind
@needs_cln
@needs_lnd
def test_cln_opens_pays_and_closes_a_channel_with_lnd(tmp_path: Path, chain: ChainService) -> None:
    fees = LocalFeeServer()
    ports = PortAllocator.for_this_worker(seed=3)
    alice, bob = _cln("alice", tmp_path, chain, ports), _lnd("bob", tmp_path, chain, ports, fees)

    async def scenario() -> None:
        await alice.start()
        await bob.start()
        try:
            address = await alice.new_address()
            chain.backend.fund(address, 2_000_000)
            chain.backend.mine(1)
            await alice.connect(bob.address, 30)
            await _when_balance_at_least(alice, 1_500_000)
            opened = await alice.open_channel(bob.node_id, 1_000_000, 0, OpenChannelOptions())
            chain.backend.mine(6)
            await alice.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
            await bob.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
            invoice = await bob.create_invoice(50_000_000, "boltcheck interop")
            paid = await alice.pay(invoice.bolt11, 60)
            assert paid.succeeded
            await alice.close(opened.channel_id, force=False)
            chain.backend.mine(6)
            await bob.wait_for_channel_state(opened.channel_id, ChannelState.CLOSED, 60)
        finally:
            await alice.stop()
            await bob.stop()

    try:
        asyncio.run(scenario())
    finally:
        fees.close()


@pytest.mark.docker
def test_docker_runs_bitcoind_and_lightningd_on_a_private_network(tmp_path: Path) -> None:
    reason = _docker_reachable()
    if reason is not None:
        pytest.skip(reason)
    from harness.launchers.docker import DockerRun, cln_docker_driver, docker_client

    run_id = f"boltcheck-test-{os.getpid()}"
    run = DockerRun(docker_client(), run_id, tmp_path, PortAllocator.for_this_worker(seed=4))
    try:
        service = run.start_bitcoind()
        driver = cln_docker_driver("alice", run, lambda: service)

        async def scenario() -> int:
            await driver.start()
            try:
                return (await driver.info()).block_height
            finally:
                await driver.stop()

        assert asyncio.run(scenario()) == service.backend.height()
    finally:
        run.close()
    assert (tmp_path / f"{run_id}-alice.log").exists()


async def _open_between_two_lightningd(
    chain: ChainService, alice: ClnDriver, bob: ClnDriver, amount_sat: int
) -> bytes:
    """alice funded, connected to bob, a channel of `amount_sat` open and NORMAL on both sides."""
    chain.backend.fund(await alice.new_address(), 2 * amount_sat)
    chain.backend.mine(1)
    await _when_balance_at_least(alice, 2 * amount_sat)
    await alice.connect(bob.address, 30)
    opened = await alice.open_channel(bob.node_id, amount_sat, 0, OpenChannelOptions())
    chain.backend.mine(6)
    await alice.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
    await bob.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
    return opened.channel_id


async def _paid(payer: NodeDriver, payee: NodeDriver, amount_msat: int) -> None:
    invoice = await payee.create_invoice(amount_msat, "boltcheck real programs")
    result = await payer.pay(invoice.bolt11, 60)
    assert result.succeeded, result.failure
    assert result.payment_hash == invoice.payment_hash


async def _settled_balance(driver: ClnDriver, channel_id: bytes, expected_msat: int) -> int:
    """The node's channel balance once it is `expected_msat`: `pay` returns when the payer has the
    preimage, before the payee's commitment no longer carries the HTLC. Returns the last balance seen
    (the caller's assertion shows it) after the wait."""

    async def settled() -> int | None:
        (channel,) = [c for c in await driver.list_channels() if c.channel_id == channel_id]
        return channel.local_balance_msat if channel.local_balance_msat == expected_msat else None

    with contextlib.suppress(WaitTimeout):
        return await poll_until(settled, driver.handle, 30.0, f"balance {expected_msat} msat", interval_s=0.2)
    (channel,) = [c for c in await driver.list_channels() if c.channel_id == channel_id]
    return channel.local_balance_msat


@pytest.mark.bitcoind
@pytest.mark.cln
@needs_bitcoind
@needs_cln
def test_two_lightningd_open_pay_both_ways_and_close_mutually(tmp_path: Path, chain: ChainService) -> None:
    ports = PortAllocator.for_this_worker(seed=5)
    alice, bob = _cln("alice", tmp_path, chain, ports), _cln("bob", tmp_path, chain, ports)

    async def scenario() -> tuple[int, int, int]:
        await alice.start()
        await bob.start()
        try:
            channel_id = await _open_between_two_lightningd(chain, alice, bob, 1_000_000)
            await _paid(alice, bob, 50_000_000)
            await _paid(bob, alice, 20_000_000)
            bob_msat = await _settled_balance(bob, channel_id, 30_000_000)
            before_sat = await bob.onchain_balance_sat()
            await alice.close(channel_id, force=False)
            chain.backend.mine(1)
            await alice.wait_for_channel_state(channel_id, ChannelState.CLOSED, 60)
            await bob.wait_for_channel_state(channel_id, ChannelState.CLOSED, 60)
            return bob_msat, before_sat, await bob.onchain_balance_sat()
        finally:
            await alice.stop()
            await bob.stop()

    bob_msat, before_sat, after_sat = asyncio.run(scenario())
    assert bob_msat == 30_000_000  # 50 000 sat received, 20 000 sat sent
    # BOLT 3: the closing transaction pays the non-funder its balance; the funder pays the fee
    assert after_sat - before_sat == bob_msat // 1000


@pytest.mark.bitcoind
@pytest.mark.cln
@needs_bitcoind
@needs_cln
def test_a_lightningd_force_close_pays_the_peer_its_balance_on_chain(
    tmp_path: Path, chain: ChainService
) -> None:
    ports = PortAllocator.for_this_worker(seed=6)
    alice, bob = _cln("alice", tmp_path, chain, ports), _cln("bob", tmp_path, chain, ports)

    async def scenario() -> tuple[int, int, int, bool]:
        await alice.start()
        await bob.start()
        try:
            channel_id = await _open_between_two_lightningd(chain, alice, bob, 1_000_000)
            (funding,) = [c.funding_outpoint for c in await alice.list_channels()]
            assert funding is not None
            await _paid(alice, bob, 40_000_000)
            bob_msat = await _settled_balance(bob, channel_id, 40_000_000)
            before_sat = await bob.onchain_balance_sat()
            await alice.close(channel_id, force=True)  # dev-fail: alice's commitment transaction
            for _ in range(3):  # to_remote is spendable by bob after one confirmation (anchors)
                chain.backend.mine(1)
                await alice.sync()
                await bob.sync()
            await bob.wait_for_channel_state(channel_id, ChannelState.CLOSED, 60)
            await alice.wait_for_channel_state(channel_id, ChannelState.CLOSED, 60)
            spent = chain.backend.get_utxo(ChainOutPoint(funding.txid, funding.vout)) is None
            return bob_msat, before_sat, await bob.onchain_balance_sat(), spent
        finally:
            await alice.stop()
            await bob.stop()

    bob_msat, before_sat, after_sat, funding_spent = asyncio.run(scenario())
    assert funding_spent
    # BOLT 3 to_remote: the peer's balance exactly, the broadcaster paid the commitment's fee
    assert after_sat - before_sat == bob_msat // 1000 == 40_000


#: a target-opened static_remotekey channel with payments both ways; payments both ways and a mutual
#: close by the target (the reference node checks every message it receives against BOLT 2)
INTEROP_SCENARIOS = ["bolt02_open_target_opener_static_remotekey", "bolt02_close_mutual_target"]
LAUNCH_VARIABLES = ("BOLTCHECK_LAUNCHER", "BOLTCHECK_CHAIN", "BOLTCHECK_BITCOIND_RPC", "BOLTCHECK_CLN_RPC")


@pytest.fixture
def launch_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for variable in LAUNCH_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    assert LIGHTNINGD is not None and BITCOIND is not None
    monkeypatch.setenv("BOLTCHECK_CLN_BIN", str(LIGHTNINGD))
    monkeypatch.setenv("BOLTCHECK_BITCOIND_BIN", str(BITCOIND))
    yield monkeypatch
    close_all_sessions()


def _run_against_cln(name: str, workdir: Path, chain: str) -> tuple[Status, str]:
    scenario = load_scenario(suites_dir() / f"{name}.yaml", load_catalog())
    settings = RunSettings(target=TargetSpec("cln"), seed=11, workdir=workdir, chain=chain)
    result = asyncio.run(run_scenario(scenario, settings))
    return result.status, result.reason


@pytest.mark.bitcoind
@pytest.mark.cln
@needs_bitcoind
@needs_cln
@pytest.mark.parametrize("name", INTEROP_SCENARIOS)
def test_the_reference_node_and_lightningd_interoperate_on_bitcoind(
    name: str, launch_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    launch_env.setenv("BOLTCHECK_CHAIN", "bitcoind")
    status, reason = _run_against_cln(name, tmp_path, "bitcoind")
    assert status is Status.PASS, reason


@pytest.mark.cln
@needs_bitcoind
@needs_cln
def test_lightningd_runs_on_the_embedded_chain_through_bitcoin_cli(
    launch_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # bcli runs bitcoin-cli (next to the bitcoind binary) against `boltcheck chain`'s RPC: no bitcoind
    status, reason = _run_against_cln(INTEROP_SCENARIOS[0], tmp_path, "embedded")
    assert status is Status.PASS, reason
