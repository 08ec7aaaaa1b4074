"""BOLT 3 Appendix B: the funding transaction, byte for byte."""

from __future__ import annotations

from collections.abc import Iterator

from harness.vectors import VectorCase, expect_equal, load_json
from reference_node.bitcoin.address import p2pkh_script, p2wpkh_script
from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.bitcoin.tx import OutPoint, Tx
from reference_node.transactions.funding import (
    FundingInput,
    InputKind,
    build_funding_tx,
    funding_script_pubkey,
)
from reference_node.transactions.scripts import funding_script

BOLT = 3
FUNDING_FILE = "bolt03/funding-tx.json"
# BOLT 3 "Dust Limits": 546 sat is the P2PKH dust threshold the change output is checked against.
_CHANGE_DUST_LIMIT_SAT = 546


def _check_funding_tx() -> str:
    data = load_json(FUNDING_FILE)
    local = bytes.fromhex(data["local_funding_pubkey"])
    remote = bytes.fromhex(data["remote_funding_pubkey"])
    expect_equal(
        "funding witness script", funding_script(local, remote), bytes.fromhex(data["funding_witness_script"])
    )
    privkey = bytes.fromhex(data["block1_coinbase_privkey"])
    coinbase = Tx.from_hex(data["block1_coinbase_tx"])
    expect_equal("input txid", coinbase.txid_hex, data["input_txid"])
    spent = coinbase.outputs[data["input_index"]]
    pubkey = public_key_of(privkey)
    expect_equal("coinbase output script", spent.script_pubkey, p2pkh_script(pubkey))
    expect_equal("input satoshis", spent.amount_sat, data["input_satoshis"])
    result = build_funding_tx(
        inputs=(
            FundingInput(
                OutPoint.from_hex(data["input_txid"], data["input_index"]),
                spent.amount_sat,
                privkey,
                InputKind.P2PKH,
            ),
        ),
        funding_amount_sat=data["funding_satoshis"],
        funding_script_pubkey_=funding_script_pubkey(local, remote),
        change_script_pubkey=p2wpkh_script(pubkey),
        feerate_per_kw=data["feerate_per_kw"],
        dust_limit_sat=_CHANGE_DUST_LIMIT_SAT,
    )
    expect_equal("funding output", result.funding_output_index, data["funding_output"])
    change = [o for i, o in enumerate(result.tx.outputs) if i != result.funding_output_index]
    expect_equal("change satoshis", change[0].amount_sat, data["change_satoshis"])
    expect_equal("funding tx", result.tx.serialize(), bytes.fromhex(data["funding_tx"]))
    expect_equal("txid", result.tx.txid_hex, data["funding_txid"])
    return f"funding tx {result.tx.txid_hex} matches (fee {result.fee_sat} sat)"


def cases() -> Iterator[VectorCase]:
    yield VectorCase(BOLT, "appendix-b/funding transaction", _check_funding_tx)
