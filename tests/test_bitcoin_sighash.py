"""Signature hashes: every BIP143 sighash type accepted by Bitcoin Core's interpreter; legacy sighash
for P2PKH (BOLT 3 Appendix B)."""

from __future__ import annotations

import pytest

from reference_node.bitcoin.address import p2pkh_script, p2wpkh_script, p2wsh_script
from reference_node.bitcoin.ecdsa import public_key_of, sign_digest
from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.script import Op, build_script
from reference_node.bitcoin.sighash import SighashType, bip143_sighash, legacy_sighash
from reference_node.bitcoin.tx import OutPoint, Tx, TxIn, TxOut
from tests.kernel_check import kernel_accepts

SECRET = sha256(b"sighash test key")
PUBKEY = public_key_of(SECRET)
AMOUNTS = (70_000, 80_000)


def two_input_tx() -> Tx:
    return Tx(
        version=2,
        inputs=(TxIn(OutPoint(sha256(b"a"), 0), 0xFFFFFFFE), TxIn(OutPoint(sha256(b"b"), 3), 5)),
        outputs=(TxOut(60_000, p2wpkh_script(PUBKEY)), TxOut(80_000, p2wpkh_script(PUBKEY))),
        locktime=100,
    )


@pytest.mark.parametrize("sighash_type", list(SighashType), ids=lambda t: t.name)
@pytest.mark.parametrize("input_index", [0, 1])
def test_p2wpkh_signature_with_each_sighash_type_is_accepted(
    sighash_type: SighashType, input_index: int
) -> None:
    tx = two_input_tx()
    digest = bip143_sighash(tx, input_index, p2pkh_script(PUBKEY), AMOUNTS[input_index], sighash_type)
    signature = sign_digest(SECRET, digest) + bytes((sighash_type,))
    signed = tx.with_witness(input_index, (signature, PUBKEY))
    assert kernel_accepts(p2wpkh_script(PUBKEY), AMOUNTS[input_index], signed, input_index)


@pytest.mark.parametrize("sighash_type", list(SighashType), ids=lambda t: t.name)
def test_p2wsh_signature_commits_to_the_amount(sighash_type: SighashType) -> None:
    script = build_script(PUBKEY, Op.OP_CHECKSIG)
    tx = two_input_tx()
    digest = bip143_sighash(tx, 0, script, AMOUNTS[0], sighash_type)
    signed = tx.with_witness(0, (sign_digest(SECRET, digest) + bytes((sighash_type,)), script))
    assert kernel_accepts(p2wsh_script(script), AMOUNTS[0], signed)
    assert not kernel_accepts(p2wsh_script(script), AMOUNTS[0] + 1, signed)


def test_single_anyonecanpay_signature_survives_added_inputs_and_outputs() -> None:
    # BOLT 5: this is what lets the holder attach fee inputs to an anchors HTLC transaction.
    script = build_script(PUBKEY, Op.OP_CHECKSIG)
    tx = Tx(2, (TxIn(OutPoint(sha256(b"c"), 1), 1),), (TxOut(50_000, p2wpkh_script(PUBKEY)),), 0)
    digest = bip143_sighash(tx, 0, script, AMOUNTS[0], SighashType.SINGLE_ANYONECANPAY)
    signature = sign_digest(SECRET, digest) + bytes((SighashType.SINGLE_ANYONECANPAY,))
    extended = Tx(
        2,
        (TxIn(OutPoint(sha256(b"c"), 1), 1, witness=(signature, script)), TxIn(OutPoint(sha256(b"fee"), 0))),
        (*tx.outputs, TxOut(9_000, p2wpkh_script(PUBKEY))),
        0,
    )
    assert kernel_accepts(p2wsh_script(script), AMOUNTS[0], extended)


@pytest.mark.parametrize("sighash_type", [SighashType.ALL, SighashType.NONE, SighashType.SINGLE_ANYONECANPAY])
def test_legacy_p2pkh_signature_is_accepted(sighash_type: SighashType) -> None:
    tx = two_input_tx()
    digest = legacy_sighash(tx, 1, p2pkh_script(PUBKEY), sighash_type)
    signature = sign_digest(SECRET, digest) + bytes((sighash_type,))
    signed = tx.with_script_sig(1, build_script(signature, PUBKEY))
    assert kernel_accepts(p2pkh_script(PUBKEY), AMOUNTS[1], signed, 1)


def test_legacy_sighash_single_without_matching_output_is_the_one_hash() -> None:
    tx = Tx(1, two_input_tx().inputs, two_input_tx().outputs[:1], 0)
    assert legacy_sighash(tx, 1, p2pkh_script(PUBKEY), SighashType.SINGLE) == (1).to_bytes(32, "little")


def test_legacy_sighash_ignores_codeseparators_outside_pushes() -> None:
    tx = two_input_tx()
    plain = build_script(PUBKEY, Op.OP_CHECKSIG)
    with_separator = build_script(PUBKEY, Op.OP_CODESEPARATOR, Op.OP_CHECKSIG)
    assert legacy_sighash(tx, 0, with_separator, SighashType.ALL) == legacy_sighash(
        tx, 0, plain, SighashType.ALL
    )
