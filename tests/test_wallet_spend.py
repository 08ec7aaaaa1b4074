"""The on-chain wallet against the EmbeddedChain (Bitcoin Core's consensus code checks every signature):
UTXOs learnt from blocks, funding transactions with change, sweeps, reservations, insufficient funds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from reference_node.bitcoin.address import Network
from reference_node.bitcoin.tx import Tx, TxOut
from reference_node.chain_source import parse_block
from reference_node.store import Store
from reference_node.wallet import InsufficientFunds, Wallet, WalletError

FEERATE_PER_KW = 1_000


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[EmbeddedChain]:
    with EmbeddedChain(tmp_path / "chain") as chain:
        chain.mine(101)
        yield chain


@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[Wallet]:
    store = Store(tmp_path / "wallet.sqlite3")
    yield Wallet(b"wallet test seed", store, Network.REGTEST)
    store.close()


def _scan_tip(chain: EmbeddedChain, wallet: Wallet) -> None:
    height = chain.height()
    for tx in parse_block(chain.block(chain.block_hash(height)).raw, height).txs:
        wallet.add_transaction(tx, height)


def _fund(chain: EmbeddedChain, wallet: Wallet, *amounts_sat: int) -> None:
    for amount_sat in amounts_sat:
        chain.fund(wallet.new_address(), amount_sat)
    chain.mine(1)
    _scan_tip(chain, wallet)


def test_payments_to_issued_addresses_become_confirmed_utxos(chain: EmbeddedChain, wallet: Wallet) -> None:
    _fund(chain, wallet, 100_000, 250_000)
    assert wallet.balance_sat(confirmed_only=True) == 350_000
    assert {u.height for u in wallet.utxos()} == {chain.height()}


def test_funding_transaction_with_change_is_accepted_and_pays_the_fee_asked(
    chain: EmbeddedChain, wallet: Wallet
) -> None:
    _fund(chain, wallet, 300_000)
    destination = TxOut(120_000, bytes.fromhex("0020") + bytes(range(32)))
    built = wallet.build([destination], FEERATE_PER_KW)
    assert built.change_vout == 1
    chain.send_raw(built.tx.serialize())
    assert built.tx.outputs[0] == destination
    change_sat = built.tx.outputs[1].amount_sat
    assert change_sat + 120_000 + built.fee_sat == 300_000
    # the estimate assumes 72-byte signatures: the fee is at least the feerate times the real weight
    assert built.fee_sat * 1000 >= FEERATE_PER_KW * built.tx.weight
    wallet.add_transaction(built.tx, None)
    assert wallet.balance_sat() == change_sat
    chain.mine(1)
    _scan_tip(chain, wallet)
    assert wallet.balance_sat(confirmed_only=True) == change_sat


def test_sweep_spends_every_coin_to_one_output(chain: EmbeddedChain, wallet: Wallet) -> None:
    _fund(chain, wallet, 50_000, 60_000, 70_000)
    target = bytes.fromhex("0014") + bytes(20)
    built = wallet.build([TxOut(0, target)], FEERATE_PER_KW, sweep=True)
    assert len(built.tx.inputs) == 3 and len(built.tx.outputs) == 1
    assert built.tx.outputs[0].amount_sat == 180_000 - built.fee_sat
    chain.send_raw(built.tx.serialize())


def test_reserved_coins_are_not_selected_twice(chain: EmbeddedChain, wallet: Wallet) -> None:
    _fund(chain, wallet, 100_000)
    wallet.build([TxOut(50_000, bytes.fromhex("0014") + bytes(20))], FEERATE_PER_KW)
    with pytest.raises(InsufficientFunds):
        wallet.build([TxOut(50_000, bytes.fromhex("0014") + bytes(20))], FEERATE_PER_KW)


def test_released_coins_can_be_spent_again(chain: EmbeddedChain, wallet: Wallet) -> None:
    _fund(chain, wallet, 100_000)
    first = wallet.build([TxOut(50_000, bytes.fromhex("0014") + bytes(20))], FEERATE_PER_KW)
    wallet.release(first)
    second = wallet.build([TxOut(50_000, bytes.fromhex("0014") + bytes(20))], FEERATE_PER_KW)
    assert second.tx.inputs[0].prevout == first.tx.inputs[0].prevout


def test_insufficient_funds_says_how_much_is_missing(chain: EmbeddedChain, wallet: Wallet) -> None:
    _fund(chain, wallet, 10_000)
    with pytest.raises(InsufficientFunds) as raised:
        wallet.build([TxOut(20_000, bytes.fromhex("0014") + bytes(20))], FEERATE_PER_KW)
    assert raised.value.available_sat == 10_000 and raised.value.needed_sat > 20_000


def test_a_payment_to_a_lookahead_key_is_found(chain: EmbeddedChain, wallet: Wallet, tmp_path: Path) -> None:
    # another wallet from the same seed hands out addresses this one never recorded (a crash after issuing)
    other_store = Store(tmp_path / "other.sqlite3")
    other = Wallet(b"wallet test seed", other_store, Network.REGTEST)
    addresses = [other.new_address() for _ in range(5)]
    chain.fund(addresses[-1], 40_000)
    chain.mine(1)
    _scan_tip(chain, wallet)
    assert wallet.balance_sat() == 40_000
    assert wallet.new_address() not in addresses  # issuing continues after the used key
    other_store.close()


def test_foreign_addresses_are_refused(wallet: Wallet) -> None:
    with pytest.raises(WalletError):
        wallet.script_for("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")


def test_wallet_state_survives_a_restart(chain: EmbeddedChain, tmp_path: Path) -> None:
    store = Store(tmp_path / "restart.sqlite3")
    wallet = Wallet(b"restart", store, Network.REGTEST)
    _fund(chain, wallet, 77_000)
    issued = wallet.new_address()
    store.close()
    reopened = Store(tmp_path / "restart.sqlite3")
    again = Wallet(b"restart", reopened, Network.REGTEST)
    assert again.balance_sat() == 77_000
    assert again.new_address() != issued
    reopened.close()


def test_parse_block_reads_every_transaction(chain: EmbeddedChain) -> None:
    chain.fund(chain.faucet.address, 30_000)
    chain.mine(1)
    height = chain.height()
    block = parse_block(chain.block(chain.block_hash(height)).raw, height)
    assert block.block_hash == chain.block_hash(height)
    assert tuple(tx.txid_hex for tx in block.txs) == chain.block(block.block_hash).txids
    assert all(isinstance(tx, Tx) for tx in block.txs)
