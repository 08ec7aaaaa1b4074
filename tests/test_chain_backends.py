"""The ChainBackend contract, run against every backend: EmbeddedChain in-process, BitcoindChain over
`boltcheck chain`'s RPC (a separate process), and BitcoindChain over a real bitcoind (marker `bitcoind`,
skipped when no bitcoind binary is found: BOLTCHECK_BITCOIND_BIN, $BITCOIND or PATH)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.chain import BlockEvent, ChainBackend, ChainTimeout, EmbeddedChain, MempoolEvent, TxRejected
from harness.chain.bitcoind import BitcoindChain
from harness.chain.bitcoind_launcher import find_bitcoind, launch_bitcoind
from harness.chain.process import launch_chain_process
from harness.chain.testkit import SpendOutput, TestKey

FEE_SAT = 1_000
EVENT_TIMEOUT_S = 30


@pytest.fixture(
    params=[
        "embedded",
        "boltcheck-rpc",
        pytest.param("bitcoind", marks=pytest.mark.bitcoind),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ChainBackend]:
    if request.param == "embedded":
        with EmbeddedChain() as chain:
            yield chain
        return
    if request.param == "boltcheck-rpc":
        process = launch_chain_process(tmp_path)
        chain = BitcoindChain(process.client(), poll_interval=0.2)
        try:
            yield chain
        finally:
            chain.close()
            process.stop()
        return
    if find_bitcoind() is None:
        pytest.skip("needs bitcoind (BOLTCHECK_BITCOIND_BIN, $BITCOIND or PATH)")
    launched = launch_bitcoind(data_dir=tmp_path / "bitcoind")
    launched.chain.poll_interval = 0.2
    launched.chain.mine(101)  # mature a coinbase for the wallet faucet
    try:
        yield launched.chain
    finally:
        launched.stop()


@pytest.fixture
def key() -> TestKey:
    return TestKey(b"backend-test-key")


def _event_collector() -> tuple[list[object], threading.Event, Callable[[object], None]]:
    seen: list[object] = []
    arrived = threading.Event()

    def collect(item: object) -> None:
        seen.append(item)
        arrived.set()

    return seen, arrived, collect


def test_mine_extends_the_tip(backend: ChainBackend, key: TestKey) -> None:
    height = backend.height()
    hashes = backend.mine(2, key.address)
    assert backend.height() == height + 2
    assert backend.tip() == hashes[-1]


def test_fund_then_confirm(backend: ChainBackend, key: TestKey) -> None:
    outpoint = backend.fund(key.address, 250_000)
    utxo = backend.get_utxo(outpoint)
    assert utxo is not None and utxo.value_sat == 250_000 and utxo.confirmations == 0
    assert outpoint.txid in backend.mempool()
    backend.mine(1)
    info = backend.get_tx(outpoint.txid)
    assert (info.confirmations, info.block_height) == (1, backend.height())


def test_send_raw_then_double_spend(backend: ChainBackend, key: TestKey) -> None:
    outpoint = backend.fund(key.address, 250_000)
    backend.mine(1)
    spend = key.spend([(outpoint, 250_000)], [SpendOutput(key.script_pubkey, 250_000 - FEE_SAT)])
    txid = backend.send_raw(spend)
    assert txid in backend.mempool()
    backend.mine(1)
    assert backend.get_utxo(outpoint) is None
    again = key.spend([(outpoint, 250_000)], [SpendOutput(key.script_pubkey, 250_000 - 2 * FEE_SAT)])
    with pytest.raises(TxRejected):
        backend.send_raw(again)


def test_wait_for_height_is_woken_by_a_block(backend: ChainBackend, key: TestKey) -> None:
    target = backend.height() + 1
    miner = threading.Timer(0.0, backend.mine, args=(1, key.address))
    miner.start()
    backend.wait_for_height(target, timeout=EVENT_TIMEOUT_S)
    miner.join()
    with pytest.raises(ChainTimeout):
        backend.wait_for_height(backend.height() + 5, timeout=0.2)


def test_async_wait_for_height(backend: ChainBackend, key: TestKey) -> None:
    target = backend.height() + 1

    async def scenario() -> None:
        waiter = asyncio.create_task(backend.wait_for_height_async(target, timeout=EVENT_TIMEOUT_S))
        await asyncio.to_thread(backend.mine, 1, key.address)
        await waiter

    asyncio.run(scenario())
    assert backend.height() >= target


def test_block_and_mempool_subscriptions(backend: ChainBackend, key: TestKey) -> None:
    blocks, block_arrived, on_block = _event_collector()
    txs, tx_arrived, on_tx = _event_collector()
    backend.subscribe_blocks(on_block)
    backend.subscribe_mempool(on_tx)
    outpoint = backend.fund(key.address, 30_000)
    assert tx_arrived.wait(EVENT_TIMEOUT_S)
    assert any(isinstance(e, MempoolEvent) and e.txid == outpoint.txid for e in txs)
    block_hash = backend.mine(1)[0]
    deadline_ok = block_arrived.wait(EVENT_TIMEOUT_S)
    assert deadline_ok
    while not any(isinstance(e, BlockEvent) and e.block_hash == block_hash for e in blocks):
        block_arrived.clear()
        assert block_arrived.wait(EVENT_TIMEOUT_S)
    event = next(e for e in blocks if isinstance(e, BlockEvent) and e.block_hash == block_hash)
    assert outpoint.txid in event.txids


def test_disconnect_subscription_sees_an_invalidated_tip(backend: ChainBackend, key: TestKey) -> None:
    backend.mine(1, key.address)
    gone, arrived, on_disconnect = _event_collector()
    backend.subscribe_disconnects(on_disconnect)
    tip = backend.tip()
    backend.invalidate_block(tip)
    assert arrived.wait(EVENT_TIMEOUT_S)
    assert [e.block_hash for e in gone if isinstance(e, BlockEvent)] == [tip]


def test_fee_estimates_are_deterministic(backend: ChainBackend) -> None:
    assert backend.estimate_fee(6) == backend.estimate_fee(6)
    assert backend.estimate_fee(2).feerate_sat_per_kvb >= backend.estimate_fee(100).feerate_sat_per_kvb
