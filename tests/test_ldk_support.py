"""Support for the LDK interop tests (no tests here): a `boltcheck chain` process and LDK nodes on it."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from harness.chain import OutPoint as ChainOutPoint
from harness.chain.embedded import EmbeddedChain
from harness.chain.process import ChainProcess, launch_chain_process
from harness.chain.rpc_client import RpcClient
from harness.drivers.base import OutPoint
from harness.drivers.ldk import LdkChainRpc, LdkConfig, LdkDriver, ldk_missing

FUNDING_BTC = 1.0
MINE_TO = "bcrt1qlmlgsrg4puwe6n50p0ck8e97k499ud7u9f3043"  # any regtest address; coinbase goes there

requires_ldk = pytest.mark.skipif(ldk_missing() is not None, reason=f"LDK node unavailable: {ldk_missing()}")
LOG_TAIL_LINES = 400
#: the implementations' own logs a test leaves under its tmp_path (LdkDriver, ElectrumDriver)
IMPLEMENTATION_LOGS = ("ldk.log", "electrum.log")


@pytest.fixture
def interop_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Both sides' logs on a failure: the reference node's records at DEBUG (pytest's captured log) and
    the tails of LDK's and Electrum's own logs under tmp_path, printed at teardown (pytest shows the
    captured output of failing tests only). Use with `pytest.mark.usefixtures("interop_logs")`."""
    caplog.set_level(logging.DEBUG, logger="reference_node")
    yield
    for name in IMPLEMENTATION_LOGS:
        for path in sorted(tmp_path.rglob(name)):
            lines = path.read_text(errors="replace").splitlines()
            print(f"===== {path} (last {min(len(lines), LOG_TAIL_LINES)} of {len(lines)} lines)")
            print("\n".join(lines[-LOG_TAIL_LINES:]))


def chain_process(tmp_path: Path) -> Iterator[ChainProcess]:
    chain = launch_chain_process(tmp_path / "chain")
    try:
        yield chain
    finally:
        chain.stop()


def rpc_for(chain: ChainProcess) -> LdkChainRpc:
    return LdkChainRpc(chain.rpc_url, chain.user, chain.password)


def mine(client: RpcClient, blocks: int) -> None:
    client.call("generatetoaddress", blocks, MINE_TO)


@asynccontextmanager
async def ldk_node(
    chain: ChainProcess, workdir: Path, name: str, anchors: bool = False
) -> AsyncIterator[LdkDriver]:
    seed = hashlib.sha256(b"test-ldk/" + name.encode()).digest()
    driver = LdkDriver(name, LdkConfig(workdir / name, rpc_for(chain), seed, anchors))
    await driver.start()
    try:
        yield driver
    finally:
        await driver.stop()


async def fund(driver: LdkDriver, client: RpcClient, amount_btc: float = FUNDING_BTC) -> None:
    address = await driver.new_address()
    client.call("boltcheck_fund", address, amount_btc, True)
    await driver.sync()
    await driver.wait_for_balance("funds", lambda sat: sat > 0, 30)


async def wait_for_spend_in_mempool(
    driver: LdkDriver, chain: EmbeddedChain, funding: OutPoint | None
) -> None:
    """Until the funding output is spent (mempool included): mining before the close reached the mempool
    would leave the channel CLOSING forever. Re-checked on each of the LDK node's events."""
    assert funding is not None
    outpoint = ChainOutPoint(funding.txid, funding.vout)

    async def spent() -> bool | None:
        return True if chain.get_utxo(outpoint) is None else None

    await driver.wait_until(f"a spend of {funding.txid}:{funding.vout}", spent, 60)


async def funding_of(driver: LdkDriver, channel_id: bytes) -> OutPoint | None:
    for channel in await driver.list_channels():
        if channel.channel_id == channel_id:
            return channel.funding_outpoint
    return None
