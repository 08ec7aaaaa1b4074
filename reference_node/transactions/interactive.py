"""Collaborative (v2, interactive-tx) funding transactions: BOLT 3 Appendix A "Expected Weight of the
Funding Transaction (v2 Channel Establishment)", "Calculating Fees for Collaborative Transactions", and
BOLT 2's fee responsibility (the initiator also pays for the common fields) and serial_id ordering.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reference_node.bitcoin.tx import OutPoint, Tx, TxIn, TxOut
from reference_node.transactions.types import TransactionBuildError

INTERACTIVE_TX_VERSION = 2
# BOLT 3 Appendix A: version, input count, output count and locktime (10 bytes) at 4 wu, plus marker and flag.
COMMON_FIELDS_WEIGHT = 4 * (4 + 1 + 1 + 4) + 2
# BOLT 3 Appendix A "inputs: 41 bytes" (outpoint, empty script_sig, sequence), witness counted separately.
INPUT_WEIGHT = 4 * 41
# BOLT 3 Appendix G: each input's witness is counted as at least this "minimum witness weight" (a P2WPKH
# witness with a 71-byte signature: 1 + 1 + 71 + 1 + 33).
MIN_INPUT_WITNESS_WEIGHT = 107
# BOLT 2: "there are more than 252 inputs/outputs" fails the negotiation (1-byte counts in the weight).
MAX_INPUTS = MAX_OUTPUTS = 252


@dataclass(frozen=True)
class InteractiveInput:
    serial_id: int
    prevout: OutPoint
    amount_sat: int
    sequence: int


@dataclass(frozen=True)
class InteractiveOutput:
    serial_id: int
    amount_sat: int
    script_pubkey: bytes


def output_weight(script_pubkey: bytes) -> int:
    """`9 bytes + scriptlen` (value and a one-byte var_int) at 4 wu per byte."""
    return 4 * (9 + len(script_pubkey))


def contribution_weight(
    inputs: Sequence[InteractiveInput],
    outputs: Sequence[InteractiveOutput],
    witness_weight: int,
    is_initiator: bool,
) -> int:
    """The weight one peer pays for: its inputs, its outputs and its witnesses (at least the minimum witness
    weight per input), plus the common fields for the initiator. `witness_weight` is the caller's estimate
    (or the actual size) of its inputs' witnesses."""
    return (
        (COMMON_FIELDS_WEIGHT if is_initiator else 0)
        + INPUT_WEIGHT * len(inputs)
        + sum(output_weight(o.script_pubkey) for o in outputs)
        + max(len(inputs) * MIN_INPUT_WITNESS_WEIGHT, witness_weight)
    )


def contribution_fee_sat(weight: int, feerate_per_kw: int) -> int:
    """weight x feerate / 1000, rounded UP so the contribution never pays below the agreed feerate.

    BOLT 3 Appendix G's fees (155 sat for 609 wu, 100 sat for 395 wu, at 253 sat/kw) are rounded up.
    """
    return -(-weight * feerate_per_kw // 1000)


def build_interactive_tx(
    inputs: Sequence[InteractiveInput], outputs: Sequence[InteractiveOutput], locktime: int
) -> Tx:
    """The unsigned transaction: inputs and outputs sorted by `serial_id` (BOLT 2)."""
    if len(inputs) > MAX_INPUTS or len(outputs) > MAX_OUTPUTS:
        raise TransactionBuildError(f"{len(inputs)} inputs / {len(outputs)} outputs exceed {MAX_INPUTS}")
    serial_ids = [i.serial_id for i in inputs] + [o.serial_id for o in outputs]
    if len(set(serial_ids)) != len(serial_ids):
        raise TransactionBuildError(f"duplicate serial_id in {sorted(serial_ids)}")
    ordered_inputs = sorted(inputs, key=lambda i: i.serial_id)
    ordered_outputs = sorted(outputs, key=lambda o: o.serial_id)
    return Tx(
        INTERACTIVE_TX_VERSION,
        tuple(TxIn(i.prevout, i.sequence) for i in ordered_inputs),
        tuple(TxOut(o.amount_sat, o.script_pubkey) for o in ordered_outputs),
        locktime,
    )


def input_index(tx: Tx, prevout: OutPoint) -> int:
    for index, txin in enumerate(tx.inputs):
        if txin.prevout == prevout:
            return index
    raise TransactionBuildError(f"{prevout.txid_hex}:{prevout.index} is not an input of {tx.txid_hex}")
