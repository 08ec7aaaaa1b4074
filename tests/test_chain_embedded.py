"""EmbeddedChain in-process: mining, the mempool's acceptance policy, faucet, reorgs, notifications, waits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from bitcoin.core import CBlock, CTransaction
from bitcoin.core.script import OP_CHECKLOCKTIMEVERIFY, OP_CHECKSEQUENCEVERIFY, OP_DROP, OP_TRUE, CScript

from harness.chain import (
    BlockEvent,
    BlockRejected,
    ChainBackend,
    ChainTimeout,
    EmbeddedChain,
    MempoolConsensusMismatch,
    MempoolEvent,
    OutPoint,
    TxRejected,
)
from harness.chain.acceptance import AcceptanceRules
from harness.chain.blocks import block_subsidy_sat
from harness.chain.policy import SEQUENCE_LOCKTIME_TYPE_FLAG
from harness.chain.testkit import SpendOutput, TestKey, p2wsh_script_pubkey, spend_p2wsh

FEE_SAT = 1_000


@pytest.fixture
def chain() -> Iterator[EmbeddedChain]:
    with EmbeddedChain(seed=b"tests") as c:
        yield c


@pytest.fixture
def key() -> TestKey:
    return TestKey(b"test-key")


@pytest.fixture
def coin(chain: EmbeddedChain, key: TestKey) -> tuple[OutPoint, int]:
    """A confirmed 1_000_000 sat P2WPKH output of `key`."""
    outpoint = chain.fund(key.address, 1_000_000, confirm=True)
    return outpoint, 1_000_000


def pay_to(key: TestKey, value_sat: int) -> list[SpendOutput]:
    return [SpendOutput(key.script_pubkey, value_sat)]


def assert_mempool_and_kernel_refuse(chain: EmbeddedChain, raw: bytes, reason: str) -> None:
    """The mempool rejects raw for `reason`, and the kernel refuses a block that includes it anyway."""
    with pytest.raises(TxRejected) as info:
        chain.send_raw(raw)
    assert info.value.reason == reason
    tip = chain.tip()
    with pytest.raises(BlockRejected):
        chain.generate_block(chain.faucet.address, [raw])
    assert chain.tip() == tip


def assert_mempool_accepts_and_kernel_mines(chain: EmbeddedChain, raw: bytes) -> None:
    txid = chain.send_raw(raw)
    chain.mine(1)
    assert chain.get_tx(txid).confirmations == 1


def test_embedded_chain_implements_the_chain_backend_interface(chain: EmbeddedChain) -> None:
    assert isinstance(chain, ChainBackend)


def test_mining_extends_the_tip_and_pays_the_coinbase(chain: EmbeddedChain, key: TestKey) -> None:
    hashes = chain.mine(3, key.address)
    assert chain.height() == 3
    assert chain.tip() == hashes[-1]
    coinbase_txid = chain.block(hashes[0]).txids[0]
    utxo = chain.get_utxo(OutPoint(coinbase_txid, 0))
    assert utxo is not None
    assert (utxo.value_sat, utxo.script_pubkey, utxo.is_coinbase) == (
        block_subsidy_sat(1),
        key.script_pubkey,
        True,
    )
    assert utxo.confirmations == 3


def test_mining_to_a_raw_script_pays_that_script(chain: EmbeddedChain) -> None:
    script = bytes(CScript([OP_TRUE]))
    block_hash = chain.mine(1, script)[0]
    coinbase = chain.block(block_hash).txs[0]
    assert bytes(coinbase.vout[0].scriptPubKey) == script


def test_blocks_carry_a_witness_commitment_and_bip34_height(chain: EmbeddedChain) -> None:
    block = CBlock.deserialize(chain.block(chain.mine(20)[-1]).raw)
    assert block.get_witness_commitment_index() == 1
    assert bytes(block.vtx[0].vin[0].scriptSig)[:2] == bytes([1, 20])


def test_block_timestamps_rise_above_median_time_past(chain: EmbeddedChain) -> None:
    chain.mine(15)
    for height in range(1, 16):
        assert chain.block(chain.block_hash(height)).time > chain.median_time_past(height - 1)


def test_fund_pays_the_exact_amount_into_the_mempool(chain: EmbeddedChain, key: TestKey) -> None:
    outpoint = chain.fund(key.address, 123_456)
    assert chain.mempool() == [outpoint.txid]
    utxo = chain.get_utxo(outpoint)
    assert utxo is not None
    assert (utxo.value_sat, utxo.script_pubkey, utxo.height) == (123_456, key.script_pubkey, None)


def test_confirmations_count_blocks_on_top(chain: EmbeddedChain, key: TestKey) -> None:
    outpoint = chain.fund(key.address, 50_000)
    assert chain.get_tx(outpoint.txid).confirmations == 0
    chain.mine(1)
    assert chain.get_tx(outpoint.txid).confirmations == 1
    chain.mine(5)
    info = chain.get_tx(outpoint.txid)
    assert (info.confirmations, info.block_height) == (6, chain.height() - 5)


def test_valid_spend_is_accepted_and_mined(
    chain: EmbeddedChain, key: TestKey, coin: tuple[OutPoint, int]
) -> None:
    raw = key.spend([coin], pay_to(key, coin[1] - FEE_SAT))
    txid = chain.send_raw(raw)
    assert txid in chain.mempool()
    chain.mine(1)
    assert chain.mempool() == []
    assert chain.get_tx(txid).confirmations == 1
    assert chain.get_utxo(coin[0]) is None


def test_bad_signature_is_rejected(chain: EmbeddedChain, key: TestKey, coin: tuple[OutPoint, int]) -> None:
    raw = key.spend([(coin[0], coin[1] + 1)], pay_to(key, coin[1] - FEE_SAT))  # signs the wrong amount
    with pytest.raises(TxRejected) as info:
        chain.send_raw(raw)
    assert info.value.reason.startswith("mandatory-script-verify-flag-failed")


def test_double_spend_of_a_confirmed_spend_is_rejected(
    chain: EmbeddedChain, key: TestKey, coin: tuple[OutPoint, int]
) -> None:
    chain.send_raw(key.spend([coin], pay_to(key, coin[1] - FEE_SAT)))
    chain.mine(1)
    with pytest.raises(TxRejected) as info:
        chain.send_raw(key.spend([coin], pay_to(key, coin[1] - 2 * FEE_SAT)))
    assert (info.value.reason, info.value.rpc_code) == ("bad-txns-inputs-missingorspent", -25)


def test_mempool_conflict_without_a_higher_fee_is_rejected(
    chain: EmbeddedChain, key: TestKey, coin: tuple[OutPoint, int]
) -> None:
    chain.send_raw(key.spend([coin], pay_to(key, coin[1] - FEE_SAT)))
    with pytest.raises(TxRejected) as info:
        chain.send_raw(key.spend([coin], pay_to(key, coin[1] - FEE_SAT + 1)))
    assert info.value.reason.startswith("insufficient fee")


def test_replacement_paying_more_evicts_the_original(
    chain: EmbeddedChain, key: TestKey, coin: tuple[OutPoint, int]
) -> None:
    original = chain.send_raw(key.spend([coin], pay_to(key, coin[1] - FEE_SAT)))
    replacement = chain.send_raw(key.spend([coin], pay_to(key, coin[1] - 3 * FEE_SAT)))
    assert chain.mempool() == [replacement]
    assert original not in chain.mempool()


def test_spend_below_min_relay_fee_is_rejected(
    chain: EmbeddedChain, key: TestKey, coin: tuple[OutPoint, int]
) -> None:
    with pytest.raises(TxRejected) as info:
        chain.send_raw(key.spend([coin], pay_to(key, coin[1] - 10)))
    assert info.value.reason.startswith("min relay fee not met")


def test_dust_output_is_rejected(chain: EmbeddedChain, key: TestKey, coin: tuple[OutPoint, int]) -> None:
    outputs = [SpendOutput(key.script_pubkey, 293), SpendOutput(key.script_pubkey, coin[1] - 293 - FEE_SAT)]
    with pytest.raises(TxRejected) as info:
        chain.send_raw(key.spend([coin], outputs))
    assert info.value.reason == "dust"


def test_immature_coinbase_spend_is_rejected(chain: EmbeddedChain, key: TestKey) -> None:
    block_hash = chain.mine(1, key.address)[0]
    coinbase = OutPoint(chain.block(block_hash).txids[0], 0)
    raw = key.spend([(coinbase, block_subsidy_sat(1))], pay_to(key, block_subsidy_sat(1) - FEE_SAT))
    chain.mine(98)  # the next block is 100 blocks after the coinbase's: one too early
    assert_mempool_and_kernel_refuse(chain, raw, "bad-txns-premature-spend-of-coinbase")
    chain.mine(1)
    assert_mempool_accepts_and_kernel_mines(chain, raw)


def _fund_script(chain: EmbeddedChain, witness_script: bytes, value_sat: int) -> OutPoint:
    return chain.fund(p2wsh_script_pubkey(witness_script), value_sat, confirm=True)


def test_cltv_spend_before_its_height_is_rejected(chain: EmbeddedChain, key: TestKey) -> None:
    lock_height = chain.height() + 120
    script = bytes(CScript([lock_height, OP_CHECKLOCKTIMEVERIFY, OP_DROP, OP_TRUE]))
    outpoint = _fund_script(chain, script, 100_000)
    raw = spend_p2wsh(outpoint, script, pay_to(key, 99_000), sequence=0xFFFFFFFE, locktime=lock_height)
    with pytest.raises(TxRejected) as info:
        chain.send_raw(raw)
    assert info.value.reason == "non-final"
    chain.mine(lock_height - chain.height() - 1)  # the next block would be at lock_height: still not final
    assert_mempool_and_kernel_refuse(chain, raw, "non-final")
    chain.mine(1)
    assert_mempool_accepts_and_kernel_mines(chain, raw)


def test_cltv_script_rejects_a_locktime_below_its_argument(chain: EmbeddedChain, key: TestKey) -> None:
    lock_height = chain.height() + 50
    script = bytes(CScript([lock_height, OP_CHECKLOCKTIMEVERIFY, OP_DROP, OP_TRUE]))
    outpoint = _fund_script(chain, script, 100_000)
    chain.mine(60)
    raw = spend_p2wsh(outpoint, script, pay_to(key, 99_000), sequence=0xFFFFFFFE, locktime=lock_height - 1)
    with pytest.raises(TxRejected) as info:
        chain.send_raw(raw)
    assert info.value.reason.startswith("mandatory-script-verify-flag-failed")


def test_csv_spend_before_its_relative_delay_is_rejected(chain: EmbeddedChain, key: TestKey) -> None:
    delay = 10
    script = bytes(CScript([delay, OP_CHECKSEQUENCEVERIFY, OP_DROP, OP_TRUE]))
    outpoint = _fund_script(chain, script, 100_000)  # confirmed at the current tip
    raw = spend_p2wsh(outpoint, script, pay_to(key, 99_000), sequence=delay)
    chain.mine(delay - 2)  # next block = funding height + delay - 1
    assert_mempool_and_kernel_refuse(chain, raw, "non-BIP68-final")
    chain.mine(1)
    assert_mempool_accepts_and_kernel_mines(chain, raw)


def test_time_based_csv_waits_for_median_time_past(chain: EmbeddedChain, key: TestKey) -> None:
    units = 1  # BIP 68 time locks count 512-second units
    sequence = SEQUENCE_LOCKTIME_TYPE_FLAG | units
    script = bytes(CScript([sequence, OP_CHECKSEQUENCEVERIFY, OP_DROP, OP_TRUE]))
    outpoint = _fund_script(chain, script, 100_000)
    raw = spend_p2wsh(outpoint, script, pay_to(key, 99_000), sequence=sequence)
    assert_mempool_and_kernel_refuse(chain, raw, "non-BIP68-final")
    chain.advance_clock(600)  # block times jump; the median of the last 11 follows after 6 blocks
    chain.mine(6)
    assert_mempool_accepts_and_kernel_mines(chain, raw)


def test_csv_script_rejects_a_sequence_below_its_argument(chain: EmbeddedChain, key: TestKey) -> None:
    script = bytes(CScript([10, OP_CHECKSEQUENCEVERIFY, OP_DROP, OP_TRUE]))
    outpoint = _fund_script(chain, script, 100_000)
    chain.mine(20)
    with pytest.raises(TxRejected) as info:
        chain.send_raw(spend_p2wsh(outpoint, script, pay_to(key, 99_000), sequence=9))
    assert info.value.reason.startswith("mandatory-script-verify-flag-failed")


def test_unconfirmed_chains_are_mined_parents_first(chain: EmbeddedChain, key: TestKey) -> None:
    parent = chain.fund(key.address, 100_000)
    child = chain.send_raw(key.spend([(parent, 100_000)], pay_to(key, 99_000)))
    grandchild = chain.send_raw(key.spend([(OutPoint(child, 0), 99_000)], pay_to(key, 98_000)))
    block = chain.block(chain.mine(1)[0])
    assert block.txids.index(parent.txid) < block.txids.index(child) < block.txids.index(grandchild)


def test_test_accept_does_not_change_the_mempool(
    chain: EmbeddedChain, key: TestKey, coin: tuple[OutPoint, int]
) -> None:
    result = chain.test_accept(key.spend([coin], pay_to(key, coin[1] - FEE_SAT)))
    assert (result.allowed, result.fee_sat) == (True, FEE_SAT)
    assert chain.mempool() == []


def test_mempool_accepting_what_the_kernel_rejects_fails_loudly(key: TestKey) -> None:
    # With script checks switched off the mempool admits a bad signature; the kernel must refuse the block.
    with EmbeddedChain(rules=AcceptanceRules(script_flags=0)) as lax:
        coin = lax.fund(key.address, 100_000, confirm=True)
        lax.send_raw(key.spend([(coin, 100_001)], pay_to(key, 99_000)))
        tip = lax.tip()
        with pytest.raises(MempoolConsensusMismatch):
            lax.mine(1)
        assert lax.tip() == tip


def test_reorg_returns_disconnected_transactions_to_the_mempool(chain: EmbeddedChain, key: TestKey) -> None:
    outpoint = chain.fund(key.address, 70_000)
    chain.mine(1)
    disconnected: list[BlockEvent] = []
    chain.subscribe_disconnects(disconnected.append)
    old_tip = chain.tip()
    height = chain.height()
    chain.invalidate_block(old_tip)
    assert chain.height() == height - 1
    assert [e.block_hash for e in disconnected] == [old_tip]
    assert outpoint.txid in chain.mempool()
    assert chain.block_confirmations(old_tip) == -1


def test_reorg_replaces_blocks_with_a_longer_branch(chain: EmbeddedChain, key: TestKey) -> None:
    chain.mine(5)
    old = [chain.block_hash(h) for h in range(chain.height() - 1, chain.height() + 1)]
    new = chain.reorg(2)
    assert len(new) == 3
    assert chain.height() == 6
    assert all(chain.block_confirmations(h) == -1 for h in old)
    assert chain.block_hash(6) == new[-1]


def test_block_subscribers_see_each_block_with_its_transactions(chain: EmbeddedChain, key: TestKey) -> None:
    seen: list[BlockEvent] = []
    chain.subscribe_blocks(seen.append)
    outpoint = chain.fund(key.address, 80_000)  # mines 101 faucet blocks first, then pays
    block_hash = chain.mine(1)[0]
    assert [e.height for e in seen] == list(range(1, chain.height() + 1))
    assert seen[-1].block_hash == block_hash
    assert outpoint.txid in seen[-1].txids
    assert CTransaction.deserialize(seen[-1].txs[0]).is_coinbase()


def test_mempool_subscribers_see_accepted_transactions(chain: EmbeddedChain, key: TestKey) -> None:
    seen: list[MempoolEvent] = []
    subscription = chain.subscribe_mempool(seen.append)
    first = chain.fund(key.address, 10_000)
    subscription.cancel()
    chain.fund(key.address, 10_000)
    assert [e.txid for e in seen] == [first.txid]


def test_wait_for_height_wakes_when_another_thread_mines(chain: EmbeddedChain) -> None:
    miner = threading.Thread(target=chain.mine, args=(3,))
    miner.start()
    chain.wait_for_height(3, timeout=30)
    miner.join()
    assert chain.height() == 3


def test_wait_for_height_times_out(chain: EmbeddedChain) -> None:
    with pytest.raises(ChainTimeout):
        chain.wait_for_height(1, timeout=0.05)


def test_async_wait_for_height_wakes_on_a_block(chain: EmbeddedChain) -> None:
    async def scenario() -> int:
        waiter = asyncio.create_task(chain.wait_for_height_async(2, timeout=30))
        await asyncio.to_thread(chain.mine, 2)
        await waiter
        return chain.height()

    assert asyncio.run(scenario()) == 2


def test_concurrent_users_share_one_consistent_chain(chain: EmbeddedChain, key: TestKey) -> None:
    chain.mine(101)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                chain.fund(key.address, 20_000)
                chain.mine(1)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert chain.height() == 101 + 20
    assert chain.mempool() == []


def test_fee_estimates_are_deterministic(chain: EmbeddedChain) -> None:
    estimates = [chain.estimate_fee(target) for target in (1, 2, 6, 12, 144, 1008)]
    again = [chain.estimate_fee(target) for target in (1, 2, 6, 12, 144, 1008)]
    assert estimates == again
    rates = [e.feerate_sat_per_kvb for e in estimates]
    assert rates == sorted(rates, reverse=True)
    assert min(rates) >= chain.rules.min_relay_fee_sat_per_kvb
