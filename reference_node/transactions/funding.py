"""The funding output (BOLT 3 "Funding Transaction Output") and a simple funding transaction builder.

`build_funding_tx` covers what BOLT 3 Appendix B needs (P2PKH and P2WPKH inputs, one funding output, one
change output, BIP69 order, fee = feerate_per_kw x actual weight / 1000); a full wallet lives elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from reference_node.bitcoin.address import p2pkh_script, p2wsh_script
from reference_node.bitcoin.ecdsa import public_key_of, sign_digest
from reference_node.bitcoin.script import build_script
from reference_node.bitcoin.sighash import SighashType, bip143_sighash, legacy_sighash
from reference_node.bitcoin.tx import OutPoint, Tx, TxIn, TxOut
from reference_node.transactions.fees import fee_for_weight
from reference_node.transactions.scripts import funding_script
from reference_node.transactions.types import TransactionBuildError

FUNDING_TX_VERSION = 2
_ESTIMATED_SIGNATURE_LEN = 72  # 71-byte DER (low-S, high-R) + sighash byte


def funding_script_pubkey(funding_pubkey_a: bytes, funding_pubkey_b: bytes) -> bytes:
    """P2WSH of the 2-of-2 funding script (keys sorted)."""
    return p2wsh_script(funding_script(funding_pubkey_a, funding_pubkey_b))


class InputKind(Enum):
    P2PKH = "p2pkh"
    P2WPKH = "p2wpkh"


@dataclass(frozen=True)
class FundingInput:
    outpoint: OutPoint
    amount_sat: int
    privkey: bytes
    kind: InputKind

    def __repr__(self) -> str:
        where = f"{self.outpoint.txid_hex}:{self.outpoint.index}"
        return f"FundingInput({where}, {self.amount_sat} sat, {self.kind.value}, <key hidden>)"


@dataclass(frozen=True)
class FundingTx:
    tx: Tx
    funding_output_index: int
    fee_sat: int


def _sign_inputs(tx: Tx, inputs: tuple[FundingInput, ...]) -> Tx:
    for index, funding_input in enumerate(inputs):
        pubkey = public_key_of(funding_input.privkey)
        script_code = p2pkh_script(pubkey)
        if funding_input.kind is InputKind.P2PKH:
            digest = legacy_sighash(tx, index, script_code, SighashType.ALL)
            signature = sign_digest(funding_input.privkey, digest) + bytes((SighashType.ALL,))
            tx = tx.with_script_sig(index, build_script(signature, pubkey))
        else:
            digest = bip143_sighash(tx, index, script_code, funding_input.amount_sat, SighashType.ALL)
            signature = sign_digest(funding_input.privkey, digest) + bytes((SighashType.ALL,))
            tx = tx.with_witness(index, (signature, pubkey))
    return tx


def build_funding_tx(
    inputs: tuple[FundingInput, ...],
    funding_amount_sat: int,
    funding_script_pubkey_: bytes,
    change_script_pubkey: bytes,
    feerate_per_kw: int,
    dust_limit_sat: int,
) -> FundingTx:
    """Signed funding transaction; the change pays feerate_per_kw x estimated weight / 1000.

    The weight is estimated with 72-byte signatures (71-byte DER + sighash byte) for every input, so the
    fee does not depend on the signature actually produced; BOLT 3 Appendix B's fee (13920 sat at 15000
    sat/kw for 928 weight units) follows this rule.
    """
    total_sat = sum(i.amount_sat for i in inputs)
    unsigned_inputs = tuple(TxIn(i.outpoint) for i in inputs)
    with_change = _funding_outputs(funding_amount_sat, funding_script_pubkey_, change_script_pubkey, 0)
    estimate = _with_placeholder_signatures(Tx(FUNDING_TX_VERSION, unsigned_inputs, with_change), inputs)
    fee_sat = fee_for_weight(feerate_per_kw, estimate.weight)
    change_sat = total_sat - funding_amount_sat - fee_sat
    if change_sat < 0:
        raise TransactionBuildError(
            f"inputs ({total_sat} sat) cannot pay {funding_amount_sat} sat + fee {fee_sat}"
        )
    outputs = _funding_outputs(
        funding_amount_sat,
        funding_script_pubkey_,
        change_script_pubkey,
        change_sat if change_sat >= dust_limit_sat else None,
    )
    signed = _sign_inputs(Tx(FUNDING_TX_VERSION, unsigned_inputs, outputs), inputs)
    index = next(i for i, o in enumerate(signed.outputs) if o.script_pubkey == funding_script_pubkey_)
    return FundingTx(signed, index, total_sat - sum(o.amount_sat for o in signed.outputs))


def _funding_outputs(
    funding_amount_sat: int, funding_spk: bytes, change_spk: bytes, change_sat: int | None
) -> tuple[TxOut, ...]:
    outputs = [TxOut(funding_amount_sat, funding_spk)]
    if change_sat is not None:
        outputs.append(TxOut(change_sat, change_spk))
    return tuple(sorted(outputs, key=lambda o: (o.amount_sat, o.script_pubkey)))  # BIP69


def _with_placeholder_signatures(tx: Tx, inputs: tuple[FundingInput, ...]) -> Tx:
    signature = bytes(_ESTIMATED_SIGNATURE_LEN)
    pubkey = bytes(33)
    for index, funding_input in enumerate(inputs):
        if funding_input.kind is InputKind.P2PKH:
            tx = tx.with_script_sig(index, build_script(signature, pubkey))
        else:
            tx = tx.with_witness(index, (signature, pubkey))
    return tx
