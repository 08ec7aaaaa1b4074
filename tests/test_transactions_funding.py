"""The funding output and the simple funding transaction builder (P2PKH and P2WPKH inputs)."""

from __future__ import annotations

import pytest

from reference_node.bitcoin.address import p2pkh_script, p2wpkh_script, p2wsh_script
from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.tx import OutPoint
from reference_node.transactions.funding import (
    FundingInput,
    InputKind,
    build_funding_tx,
    funding_script_pubkey,
)
from reference_node.transactions.scripts import funding_script
from reference_node.transactions.types import TransactionBuildError
from tests.kernel_check import kernel_accepts

KEY_A, KEY_B = public_key_of(sha256(b"a")), public_key_of(sha256(b"b"))
SECRET = sha256(b"wallet")
PUBKEY = public_key_of(SECRET)


def test_funding_script_sorts_the_keys() -> None:
    assert funding_script(KEY_A, KEY_B) == funding_script(KEY_B, KEY_A)
    assert funding_script_pubkey(KEY_A, KEY_B) == p2wsh_script(funding_script(KEY_A, KEY_B))


@pytest.mark.parametrize("kind", list(InputKind), ids=lambda k: k.value)
def test_funding_tx_inputs_are_valid_for_core(kind: InputKind) -> None:
    spent_script = p2pkh_script(PUBKEY) if kind is InputKind.P2PKH else p2wpkh_script(PUBKEY)
    funding_input = FundingInput(OutPoint(sha256(b"utxo"), 1), 2_000_000, SECRET, kind)
    result = build_funding_tx(
        (funding_input,), 1_000_000, funding_script_pubkey(KEY_A, KEY_B), p2wpkh_script(PUBKEY), 2500, 546
    )
    assert kernel_accepts(spent_script, 2_000_000, result.tx)
    assert result.tx.outputs[result.funding_output_index].amount_sat == 1_000_000
    assert result.fee_sat == 2_000_000 - sum(o.amount_sat for o in result.tx.outputs)


def test_change_below_dust_goes_to_the_fee() -> None:
    funding_input = FundingInput(OutPoint(sha256(b"utxo"), 0), 1_000_600, SECRET, InputKind.P2WPKH)
    result = build_funding_tx(
        (funding_input,), 1_000_000, funding_script_pubkey(KEY_A, KEY_B), p2wpkh_script(PUBKEY), 253, 546
    )
    assert len(result.tx.outputs) == 1
    assert result.fee_sat == 600


def test_inputs_that_cannot_pay_are_rejected() -> None:
    funding_input = FundingInput(OutPoint(sha256(b"utxo"), 0), 1_000_000, SECRET, InputKind.P2WPKH)
    with pytest.raises(TransactionBuildError, match="cannot pay"):
        build_funding_tx((funding_input,), 1_000_000, funding_script_pubkey(KEY_A, KEY_B), b"", 253, 546)


def test_funding_input_repr_hides_the_key() -> None:
    funding_input = FundingInput(OutPoint(sha256(b"utxo"), 0), 1, SECRET, InputKind.P2WPKH)
    assert SECRET.hex() not in repr(funding_input)
