"""ElectrumDriver.onchain_balance_sat reports what the chain gives Electrum's addresses, not Electrum's own
`getbalance`: Electrum 4.3.4 counts the outputs of transactions only its wallet holds (local, unbroadcast;
future, CSV/CLTV-locked sweeps after a force close) and drops the coins they spend. Checked against the
embedded chain's UTXO set for every address of the wallet.

Skipped when Electrum is not installed (scripts/install-electrum.sh installs it).
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from bitcoin.core import b2lx

from harness.chain import EmbeddedChain
from harness.chain.address import address_to_script, encode_segwit
from harness.chain.backend import OutPoint
from harness.drivers.electrum import ElectrumConfig, ElectrumDriver, _btc, _sat

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("electrum") is None, reason="Electrum is not installed (scripts/install-electrum.sh)"
    ),
]

TIMEOUT_S = 60.0
FUNDINGS_SAT = (400_000, 250_000)
LOCAL_PAYMENT_SAT = 26_563  # the size of the discrepancy the interop matrix saw; any amount does
ELSEWHERE = encode_segwit(0, hashlib.sha256(b"not electrum's").digest()[:20])


@pytest.fixture
def chain() -> Iterator[EmbeddedChain]:
    with EmbeddedChain(seed=b"electrum-balance-tests") as c:
        c.mine(101)
        yield c


def chain_utxo_sum_sat(chain: EmbeddedChain, addresses: list[str]) -> int:
    """The chain's own answer: every confirmed output to one of `addresses` that is still unspent."""
    scripts = {address_to_script(a) for a in addresses}
    total_sat = 0
    for height in range(chain.height() + 1):
        for tx in chain.block(chain.block_hash(height)).block.vtx:
            txid = b2lx(tx.GetTxid())
            for vout, output in enumerate(tx.vout):
                if bytes(output.scriptPubKey) not in scripts:
                    continue
                if chain.get_utxo(OutPoint(txid, vout), include_mempool=False) is not None:
                    total_sat += output.nValue
    return total_sat


async def synced_to(driver: ElectrumDriver, amount_sat: int) -> None:
    async def check() -> bool:
        return await driver.onchain_balance_sat() == amount_sat

    await driver.wait_until(check, TIMEOUT_S, f"on-chain balance {amount_sat} sat")


def test_a_wallet_local_transaction_does_not_change_the_reported_balance(
    chain: EmbeddedChain, tmp_path: Path
) -> None:
    async def main() -> None:
        driver = ElectrumDriver(ElectrumConfig(tmp_path, b"\x12" * 32, name="electrum"), chain)
        await driver.start()
        try:
            for amount_sat in FUNDINGS_SAT:
                chain.fund(await driver.new_address(), amount_sat, confirm=True)
            await synced_to(driver, sum(FUNDINGS_SAT))
            # a transaction Electrum signs and keeps (addtransaction) but nobody broadcasts: TX_HEIGHT_LOCAL
            await driver.rpc(
                "payto", destination=ELSEWHERE, amount=_btc(LOCAL_PAYMENT_SAT), addtransaction=True
            )
            own = await driver.rpc("getbalance")
            own_sat = _sat(own.get("confirmed", "0")) + _sat(own.get("unconfirmed", "0"))
            assert chain.mempool() == []
            on_chain_sat = chain_utxo_sum_sat(chain, await driver.rpc("listaddresses"))
            # Electrum's own figure has moved (the local payment and its fee are gone), the chain's has not
            assert own_sat < on_chain_sat
            assert await driver.onchain_balance_sat() == on_chain_sat
        finally:
            await driver.stop()

    asyncio.run(main())


def test_a_payment_in_the_mempool_counts_and_matches_the_chain_once_mined(
    chain: EmbeddedChain, tmp_path: Path
) -> None:
    async def main() -> None:
        driver = ElectrumDriver(ElectrumConfig(tmp_path, b"\x13" * 32, name="electrum"), chain)
        await driver.start()
        try:
            chain.fund(await driver.new_address(), FUNDINGS_SAT[0], confirm=True)
            chain.fund(await driver.new_address(), FUNDINGS_SAT[1], confirm=False)
            await synced_to(driver, sum(FUNDINGS_SAT))
            chain.mine(1)
            assert chain.mempool() == []
            on_chain_sat = chain_utxo_sum_sat(chain, await driver.rpc("listaddresses"))
            assert await driver.onchain_balance_sat() == on_chain_sat
        finally:
            await driver.stop()

    asyncio.run(main())
