"""Interactive (v2) funding transactions: serial_id order, fee responsibility, and Appendix G's signed
transaction accepted by Bitcoin Core's interpreter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.vectors import load_json
from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.tx import OutPoint, Tx
from reference_node.transactions.interactive import (
    COMMON_FIELDS_WEIGHT,
    MIN_INPUT_WITNESS_WEIGHT,
    InteractiveInput,
    InteractiveOutput,
    build_interactive_tx,
    contribution_fee_sat,
    contribution_weight,
)
from reference_node.transactions.types import TransactionBuildError
from tests.kernel_check import kernel_accepts


def test_appendix_g_signed_funding_tx_is_valid_for_core() -> None:
    data = load_json("bolt03/dual-funded.json")
    parent, signed = Tx.from_hex(data["parent_tx"]), Tx.from_hex(data["signed_tx"])
    for index, txin in enumerate(signed.inputs):
        spent = parent.outputs[txin.prevout.index]
        assert kernel_accepts(spent.script_pubkey, spent.amount_sat, signed, index)


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=20, unique=True))
def test_inputs_and_outputs_are_sorted_by_serial_id(serial_ids: list[int]) -> None:
    inputs = [
        InteractiveInput(s * 2, OutPoint(sha256(bytes(str(s), "ascii")), 0), 1000, 0xFFFFFFFD)
        for s in serial_ids
    ]
    outputs = [InteractiveOutput(s * 2 + 1, s, b"\x00\x14" + bytes(20)) for s in serial_ids]
    tx = build_interactive_tx(inputs, outputs, 0)
    assert [o.amount_sat for o in tx.outputs] == sorted(serial_ids)
    assert [txin.prevout for txin in tx.inputs] == [
        i.prevout for i in sorted(inputs, key=lambda i: i.serial_id)
    ]


def test_duplicate_serial_id_is_rejected() -> None:
    inputs = [InteractiveInput(2, OutPoint(sha256(b"a"), 0), 1000, 0)]
    with pytest.raises(TransactionBuildError, match="duplicate"):
        build_interactive_tx(inputs, [InteractiveOutput(2, 500, b"\x00\x14" + bytes(20))], 0)


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=253, max_value=10**5))
def test_contribution_fee_never_pays_below_the_feerate(weight: int, feerate_per_kw: int) -> None:
    fee = contribution_fee_sat(weight, feerate_per_kw)
    assert fee * 1000 >= weight * feerate_per_kw > (fee - 1) * 1000


def test_only_the_initiator_pays_for_the_common_fields() -> None:
    inputs = [InteractiveInput(0, OutPoint(sha256(b"a"), 0), 1000, 0)]
    initiator = contribution_weight(inputs, [], 0, is_initiator=True)
    contributor = contribution_weight(inputs, [], 0, is_initiator=False)
    assert initiator - contributor == COMMON_FIELDS_WEIGHT


def test_each_input_pays_at_least_the_minimum_witness_weight() -> None:
    inputs = [InteractiveInput(i, OutPoint(sha256(bytes([i])), 0), 1000, 0) for i in range(3)]
    assert contribution_weight(inputs, [], 10, False) == contribution_weight(inputs, [], 0, False)
    assert contribution_weight(inputs, [], 3 * MIN_INPUT_WITNESS_WEIGHT + 5, False) == (
        contribution_weight(inputs, [], 0, False) + 5
    )
