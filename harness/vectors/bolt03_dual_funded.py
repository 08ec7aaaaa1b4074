"""BOLT 3 Appendix G: a dual-funded (interactive-tx) funding transaction, fees, ordering and witnesses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.vectors import VectorCase, expect_equal, load_json
from reference_node.bitcoin.address import p2pkh_script, p2wsh_script
from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.bitcoin.encoding import compact_size, var_bytes
from reference_node.bitcoin.tx import OutPoint, Tx
from reference_node.transactions.interactive import (
    InteractiveInput,
    InteractiveOutput,
    build_interactive_tx,
    contribution_fee_sat,
    contribution_weight,
    input_index,
)
from reference_node.transactions.scripts import funding_script
from reference_node.transactions.signing import sign_input, with_sighash

BOLT = 3
DUAL_FUNDED_FILE = "bolt03/dual-funded.json"


def _witness_bytes(items: tuple[bytes, ...]) -> bytes:
    return compact_size(len(items)) + b"".join(var_bytes(item) for item in items)


def _side(data: Any, owner: str, parent: Tx) -> tuple[list[InteractiveInput], list[InteractiveOutput]]:
    inputs = []
    for entry in data["inputs"]:
        if entry["owner"] != owner:
            continue
        spent = parent.outputs[entry["vout"]]
        expect_equal(f"{owner} input scriptPubKey", spent.script_pubkey, bytes.fromhex(entry["scriptPubKey"]))
        inputs.append(
            InteractiveInput(
                entry["serial_id"],
                OutPoint.from_hex(entry["txid"], entry["vout"]),
                spent.amount_sat,
                entry["sequence"],
            )
        )
    outputs = [
        InteractiveOutput(o["serial_id"], o["sats"], bytes.fromhex(o["script"]))
        for o in data["outputs"]
        if o["owner"] == owner
    ]
    return inputs, outputs


def _check_dual_funded() -> str:
    data = load_json(DUAL_FUNDED_FILE)
    parent = Tx.from_hex(data["parent_tx"])
    feerate = data["feerate_per_kw"]
    script = funding_script(bytes.fromhex(data["funding_pubkey1"]), bytes.fromhex(data["funding_pubkey2"]))
    expect_equal("funding witness script", script, bytes.fromhex(data["funding_witness_script"]))
    funding_sat = data["opener_funding_satoshis"] + data["accepter_funding_satoshis"]

    opener_inputs, opener_outputs = _side(data, "opener", parent)
    accepter_inputs, accepter_outputs = _side(data, "accepter", parent)
    funding_outputs = [o for o in opener_outputs if o.script_pubkey == p2wsh_script(script)]
    expect_equal("funding output amount", [o.amount_sat for o in funding_outputs], [funding_sat])

    # The opener's input is a P2WSH hash lock: its witness is known before signing.
    opener_entry = next(e for e in data["inputs"] if e["owner"] == "opener")
    opener_witness = (bytes.fromhex(opener_entry["preimage"]), bytes.fromhex(opener_entry["witness_script"]))
    opener_weight = contribution_weight(
        opener_inputs, opener_outputs, len(_witness_bytes(opener_witness)), True
    )
    expect_equal("initiator_weight", opener_weight, data["initiator_weight"])
    opener_fee = contribution_fee_sat(opener_weight, feerate)
    expect_equal("initiator_fees", opener_fee, data["initiator_fees_sat"])
    opener_change = sum(i.amount_sat for i in opener_inputs) - data["opener_funding_satoshis"] - opener_fee
    expect_equal(
        "opener change", [o.amount_sat for o in opener_outputs if o not in funding_outputs], [opener_change]
    )

    # The accepter's P2WPKH witness is not known yet: it is estimated at the minimum witness weight.
    accepter_weight = contribution_weight(accepter_inputs, accepter_outputs, 0, False)
    expect_equal("contributor_weight", accepter_weight, data["contributor_weight"])
    accepter_fee = contribution_fee_sat(accepter_weight, feerate)
    expect_equal("contributor_fees", accepter_fee, data["contributor_fees_sat"])
    accepter_change = (
        sum(i.amount_sat for i in accepter_inputs) - data["accepter_funding_satoshis"] - accepter_fee
    )
    expect_equal("accepter change", [o.amount_sat for o in accepter_outputs], [accepter_change])

    unsigned = build_interactive_tx(
        opener_inputs + accepter_inputs, opener_outputs + accepter_outputs, data["locktime"]
    )
    expect_equal("unsigned funding tx", unsigned.serialize(), bytes.fromhex(data["unsigned_tx"]))
    expect_equal("txid", unsigned.txid_hex, data["txid"])

    accepter_entry = next(e for e in data["inputs"] if e["owner"] == "accepter")
    privkey = bytes.fromhex(accepter_entry["privkey"])
    pubkey = public_key_of(privkey)
    expect_equal("accepter pubkey", pubkey, bytes.fromhex(accepter_entry["pubkey"]))
    accepter_index = input_index(unsigned, accepter_inputs[0].prevout)
    der = sign_input(unsigned, accepter_index, p2pkh_script(pubkey), accepter_inputs[0].amount_sat, privkey)
    accepter_witness = (with_sighash(der, 1), pubkey)
    expect_equal("opener witness", _witness_bytes(opener_witness), bytes.fromhex(data["opener_witness"]))
    expect_equal(
        "accepter witness", _witness_bytes(accepter_witness), bytes.fromhex(data["accepter_witness"])
    )
    signed = unsigned.with_witness(accepter_index, accepter_witness).with_witness(
        input_index(unsigned, opener_inputs[0].prevout), opener_witness
    )
    expect_equal("signed funding tx", signed.serialize(), bytes.fromhex(data["signed_tx"]))
    return f"funding tx {signed.txid_hex}: fees {opener_fee} + {accepter_fee} sat, witnesses match"


def cases() -> Iterator[VectorCase]:
    yield VectorCase(BOLT, "appendix-g/dual funded transaction", _check_dual_funded)
