"""The launchers and drivers against the real programs: bitcoind, lightningd, lnd, a Docker engine.

Each test needs what its markers say and skips with the reason when it is absent (binaries from
BOLTCHECK_BITCOIND_BIN / BOLTCHECK_CLN_BIN / BOLTCHECK_LND_BIN or PATH). These are the interop tests; the
unit tests of our mapping and calls are in test_drivers_* and test_launchers_*.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from harness.drivers.base import ChannelState, OpenChannelOptions
from harness.drivers.cln import ClnDriver
from harness.drivers.lnd import LndDriver
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


async def _when_balance_at_least(driver: ClnDriver | LndDriver, amount_sat: int) -> int:
    """Poll the wallet (waiting on the node's process between polls) until it sees a confirmed coin."""

    async def enough() -> int | None:
        balance = await driver.onchain_balance_sat()
        return balance if balance >= amount_sat else None

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
