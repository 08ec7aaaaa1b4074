"""Closing transactions: BOLT 3 "Legacy Closing Transaction" and "Closing Transaction" requirements."""

from __future__ import annotations

import pytest

from reference_node.bitcoin.address import p2wpkh_script
from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.script import Op
from reference_node.bitcoin.tx import OutPoint
from reference_node.transactions.closing import (
    LEGACY_CLOSING_SEQUENCE,
    SIMPLE_CLOSING_SEQUENCE,
    ClosingTx,
    build_legacy_closing_tx,
    build_simple_closing_tx,
)
from reference_node.transactions.types import TransactionBuildError

FUNDING = OutPoint(sha256(b"funding"), 0)
FUNDING_SAT = 1_000_000
LOCAL_KEY, REMOTE_KEY = public_key_of(sha256(b"l")), public_key_of(sha256(b"r"))
LOCAL_SCRIPT, REMOTE_SCRIPT = (
    p2wpkh_script(public_key_of(sha256(b"ls"))),
    p2wpkh_script(public_key_of(sha256(b"rs"))),
)
OP_RETURN_SCRIPT = bytes((Op.OP_RETURN, 4)) + b"bye!"


def legacy(to_local_msat: int, to_remote_msat: int, fee_sat: int, local_is_opener: bool = True) -> ClosingTx:
    return build_legacy_closing_tx(
        FUNDING, FUNDING_SAT, LOCAL_KEY, REMOTE_KEY, to_local_msat, to_remote_msat,
        LOCAL_SCRIPT, REMOTE_SCRIPT, fee_sat, local_is_opener, dust_limit_sat=546,
    )  # fmt: skip


def amounts_by_script(closing: ClosingTx) -> dict[bytes, int]:
    return {o.script_pubkey: o.amount_sat for o in closing.tx.outputs}


def test_legacy_fee_is_taken_from_the_opener_and_outputs_rounded_down() -> None:
    closing = legacy(600_000_999, 399_999_001, fee_sat=700, local_is_opener=False)
    assert amounts_by_script(closing) == {LOCAL_SCRIPT: 600_000, REMOTE_SCRIPT: 399_999 - 700}


def test_legacy_output_below_dust_limit_is_removed() -> None:
    closing = legacy(999_500_000, 500_000, fee_sat=300)
    assert amounts_by_script(closing) == {LOCAL_SCRIPT: 999_500 - 300}


def test_legacy_closing_has_final_sequence_and_zero_locktime() -> None:
    tx = legacy(500_000_000, 500_000_000, 500).tx
    assert (tx.version, tx.locktime, tx.inputs[0].sequence) == (2, 0, LEGACY_CLOSING_SEQUENCE)
    assert tx.inputs[0].prevout == FUNDING


def test_legacy_outputs_are_in_bip69_order() -> None:
    tx = legacy(300_000_000, 700_000_000, 500).tx
    assert [o.amount_sat for o in tx.outputs] == sorted(o.amount_sat for o in tx.outputs)


def test_legacy_fee_above_the_opener_balance_is_rejected() -> None:
    with pytest.raises(TransactionBuildError, match="opener"):
        legacy(100_000, 999_900_000, fee_sat=200)


def test_simple_close_fee_is_paid_by_the_closer() -> None:
    closing = build_simple_closing_tx(
        FUNDING, FUNDING_SAT, LOCAL_KEY, REMOTE_KEY, 400_000_000, 600_000_000,
        LOCAL_SCRIPT, REMOTE_SCRIPT, fee_sat=1_000, locktime=800_000,
    )  # fmt: skip
    assert amounts_by_script(closing) == {LOCAL_SCRIPT: 399_000, REMOTE_SCRIPT: 600_000}
    assert (closing.tx.locktime, closing.tx.inputs[0].sequence) == (800_000, SIMPLE_CLOSING_SEQUENCE)


def test_simple_close_op_return_output_has_zero_amount() -> None:
    closing = build_simple_closing_tx(
        FUNDING, FUNDING_SAT, LOCAL_KEY, REMOTE_KEY, 1_000_000, 999_000_000,
        OP_RETURN_SCRIPT, REMOTE_SCRIPT, fee_sat=500, locktime=0,
    )  # fmt: skip
    assert amounts_by_script(closing) == {OP_RETURN_SCRIPT: 0, REMOTE_SCRIPT: 999_000}


def test_simple_close_closer_may_omit_its_own_output() -> None:
    closing = build_simple_closing_tx(
        FUNDING, FUNDING_SAT, LOCAL_KEY, REMOTE_KEY, 2_000_000, 998_000_000,
        None, REMOTE_SCRIPT, fee_sat=500, locktime=0,
    )  # fmt: skip
    assert amounts_by_script(closing) == {REMOTE_SCRIPT: 998_000}
