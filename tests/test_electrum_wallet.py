"""Electrum 4.3.4 itself against our Electrum server: it syncs headers (more than one 2016-header chunk),
verifies merkle proofs (SPV), receives coins from the chain's faucet and sends an on-chain transaction.

Skipped when Electrum is not installed (scripts/install-electrum.sh installs it).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.chain import EmbeddedChain
from harness.drivers.electrum import ElectrumConfig, ElectrumDriver, electrum_seed

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("electrum") is None, reason="Electrum is not installed (scripts/install-electrum.sh)"
    ),
]

TIMEOUT_S = 60.0


@pytest.fixture
def chain() -> Iterator[EmbeddedChain]:
    with EmbeddedChain(seed=b"electrum-wallet-tests") as c:
        c.mine(101)
        yield c


def with_electrum(
    chain: EmbeddedChain,
    workdir: Path,
    body: Callable[[ElectrumDriver], Awaitable[None]],
    key: bytes = b"\x11" * 32,
) -> None:
    async def main() -> None:
        driver = ElectrumDriver(ElectrumConfig(workdir, key, name="electrum"), chain)
        await driver.start()
        try:
            await body(driver)
        finally:
            await driver.stop()

    asyncio.run(main())


async def balance_is(driver: ElectrumDriver, amount_sat: int) -> None:
    async def check() -> bool:
        return await driver.onchain_balance_sat() == amount_sat

    await driver.wait_until(check, TIMEOUT_S, f"on-chain balance {amount_sat} sat")


def test_electrum_syncs_headers_past_one_chunk_of_2016(chain: EmbeddedChain, tmp_path: Path) -> None:
    chain.mine(2016 + 100 - chain.height())

    async def body(electrum: ElectrumDriver) -> None:
        info = await electrum.info()
        assert info.block_height == chain.height()
        chain.mine(1)

        async def at_tip() -> bool:
            return (await electrum.info()).block_height == chain.height()

        await electrum.wait_until(at_tip, TIMEOUT_S, "new tip")

    with_electrum(chain, tmp_path, body)


def test_electrum_receives_faucet_coins_and_verifies_their_merkle_proof(
    chain: EmbeddedChain, tmp_path: Path
) -> None:
    async def body(electrum: ElectrumDriver) -> None:
        address = await electrum.new_address()
        outpoint = chain.fund(address, 250_000)
        await balance_is(electrum, 250_000)
        chain.mine(1)

        async def verified() -> dict[str, Any] | None:
            history = await electrum.rpc("onchain_history")
            for tx in history["transactions"]:
                # Electrum reports a height only once the SPV verifier checked the merkle branch.
                if (
                    tx["txid"] == outpoint.txid
                    and tx["height"] == chain.height()
                    and tx["confirmations"] == 1
                ):
                    return dict(tx)
            return None

        tx = await electrum.wait_until(verified, TIMEOUT_S, "SPV-verified confirmation")
        assert tx["bc_value"] == "0.0025"

    with_electrum(chain, tmp_path, body)


def test_electrum_sends_an_onchain_payment_through_the_server(chain: EmbeddedChain, tmp_path: Path) -> None:
    async def body(electrum: ElectrumDriver) -> None:
        chain.fund(await electrum.new_address(), 500_000, confirm=True)
        await balance_is(electrum, 500_000)
        raw = await electrum.rpc("payto", destination=chain.faucet.address, amount="0.001")
        txid = await electrum.rpc("broadcast", tx=raw)
        assert txid in chain.mempool()
        fee_sat = chain.mempool_entry(txid).fee_sat
        chain.mine(1)
        assert chain.get_tx(txid).confirmations == 1
        await balance_is(electrum, 500_000 - 100_000 - fee_sat)

    with_electrum(chain, tmp_path, body)


def test_same_node_key_gives_the_same_seed_and_node_id(chain: EmbeddedChain, tmp_path: Path) -> None:
    node_ids: list[bytes] = []

    async def body(electrum: ElectrumDriver) -> None:
        node_ids.append(electrum.node_id)

    with_electrum(chain, tmp_path / "first", body)
    with_electrum(chain, tmp_path / "second", body)
    assert node_ids[0] == node_ids[1]
    assert electrum_seed(b"\x11" * 32) != electrum_seed(b"\x12" * 32)


def test_restart_keeps_the_wallet_and_resyncs(chain: EmbeddedChain, tmp_path: Path) -> None:
    async def body(electrum: ElectrumDriver) -> None:
        chain.fund(await electrum.new_address(), 120_000, confirm=True)
        await balance_is(electrum, 120_000)
        node_id = electrum.node_id
        await electrum.restart()
        assert electrum.node_id == node_id
        await balance_is(electrum, 120_000)

    with_electrum(chain, tmp_path, body)
