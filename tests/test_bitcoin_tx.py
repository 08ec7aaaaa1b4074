"""The transaction model: byte-exact parse/serialize, txid/wtxid, weight, and malformed input rejected."""

from __future__ import annotations

import pytest

from harness.vectors import load_json
from reference_node.bitcoin.errors import TxParseError
from reference_node.bitcoin.hashes import sha256d
from reference_node.bitcoin.tx import Tx


def _bolt03_transactions() -> list[str]:
    legacy = load_json("bolt03/commitment-legacy.json")["cases"]
    anchors = load_json("bolt03/commitment-anchors.json")["cases"]
    txs = [
        load_json("bolt03/funding-tx.json")["funding_tx"],
        load_json("bolt03/funding-tx.json")["block1_coinbase_tx"],
    ]
    txs += [c["commit_tx"] for c in legacy] + [h["tx"] for c in legacy for h in c["htlc_txs"]]
    txs += [c["ExpectedCommitmentTxHex"] for c in anchors]
    txs += [d["ResolutionTxHex"] for c in anchors for d in c["HtlcDescs"]]
    return txs


TRANSACTIONS = _bolt03_transactions()


@pytest.mark.parametrize("tx_hex", TRANSACTIONS)
def test_parse_then_serialize_is_byte_exact(tx_hex: str) -> None:
    assert Tx.from_hex(tx_hex).serialize().hex() == tx_hex


@pytest.mark.parametrize("tx_hex", TRANSACTIONS)
def test_wtxid_hashes_the_full_serialization_and_txid_the_stripped_one(tx_hex: str) -> None:
    tx = Tx.from_hex(tx_hex)
    assert tx.wtxid() == sha256d(bytes.fromhex(tx_hex))
    assert tx.txid() == sha256d(tx.serialize_without_witness())
    assert (tx.txid() == tx.wtxid()) == (not tx.has_witness())


@pytest.mark.parametrize("tx_hex", TRANSACTIONS)
def test_weight_is_three_times_base_size_plus_total_size(tx_hex: str) -> None:
    tx = Tx.from_hex(tx_hex)
    base, total = len(tx.serialize_without_witness()), len(bytes.fromhex(tx_hex))
    assert tx.weight == 3 * base + total
    assert tx.vsize == -(-tx.weight // 4)


def test_htlc_tx_spends_the_commitment_txid_in_internal_byte_order() -> None:
    case = load_json("bolt03/commitment-legacy.json")["cases"][1]
    commitment = Tx.from_hex(case["commit_tx"])
    htlc_tx = Tx.from_hex(case["htlc_txs"][0]["tx"])
    assert htlc_tx.inputs[0].prevout.txid == commitment.txid()
    assert htlc_tx.inputs[0].prevout.txid_hex == commitment.txid_hex


@pytest.mark.parametrize("cut", [1, 10, 50])
def test_truncated_transaction_is_rejected(cut: int) -> None:
    with pytest.raises(TxParseError, match="truncated"):
        Tx.from_hex(TRANSACTIONS[2][: -2 * cut])


def test_trailing_bytes_are_rejected() -> None:
    with pytest.raises(TxParseError, match="trailing"):
        Tx.from_hex(TRANSACTIONS[2] + "00")


def test_bad_segwit_flag_is_rejected() -> None:
    tx_hex = TRANSACTIONS[2]
    assert tx_hex[8:12] == "0001"
    with pytest.raises(TxParseError, match="flag"):
        Tx.from_hex(tx_hex[:10] + "02" + tx_hex[12:])


def test_with_witness_returns_a_new_transaction_and_leaves_the_original() -> None:
    tx = Tx.from_hex(TRANSACTIONS[2])
    stripped = tx.with_witness(0, ())
    assert not stripped.has_witness()
    assert stripped.txid() == tx.txid()
    assert tx.has_witness()
