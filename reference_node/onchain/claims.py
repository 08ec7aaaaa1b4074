"""Building the transactions that resolve outputs: single sweeps, batched penalties, HTLC second-stage
transactions (with a fee input under option_anchors), anchor sweeps and anchor CPFP.

Every builder is pure: keys and amounts in, a signed `Tx` out. Fees come from `feerate_per_kw` times the
weight of the signed transaction (measured, not estimated: a first signing fixes the size, the second one
pays for it; a DER signature may be one byte shorter, so the fee can only be a little generous).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reference_node.bitcoin.address import p2wpkh_script
from reference_node.bitcoin.ecdsa import compact_to_der, public_key_of
from reference_node.bitcoin.script import Op, build_script
from reference_node.bitcoin.sighash import SighashType
from reference_node.bitcoin.tx import Tx, TxIn, TxOut
from reference_node.onchain.model import FeeInput, FeeInputError
from reference_node.transactions import ChannelType, HtlcTx, HtlcTxKind, finalize_htlc_tx, sign_htlc_tx
from reference_node.transactions.fees import fee_for_weight
from reference_node.transactions.spends import SWEEP_TX_VERSION, SpentOutput, sign_sweep
from reference_node.transactions.types import TransactionBuildError

# Bitcoin Core's default dust threshold for the outputs we create (P2WSH/P2TR are the largest: 330 sat);
# a claim that would pay less is not worth its fee and is left alone.
SWEEP_DUST_SAT = 330
SEQUENCE_RBF = 0xFFFFFFFD
# A provably unspendable output for anchor sweeps whose value all goes to the fee (`OP_RETURN <4 bytes>`:
# the payload keeps the transaction above Core's 65-byte minimum non-witness size).
ANCHOR_SWEEP_SCRIPT = build_script(Op.OP_RETURN, b"\x00\x00\x00\x00")

# A witness maker: (transaction being signed, input index) -> witness stack.
WitnessMaker = Callable[[Tx, int], tuple[bytes, ...]]


@dataclass(frozen=True)
class ClaimInput:
    """One input of a claim: what it spends, its nSequence, and how its witness is made."""

    spent: SpentOutput
    sequence: int
    witness: WitnessMaker


def signed_input(
    spent: SpentOutput,
    sequence: int,
    privkey: bytes,
    stack: Callable[[bytes], tuple[bytes, ...]],
) -> ClaimInput:
    """An input signed SIGHASH_ALL with `privkey`; `stack(signature)` is the full witness."""

    def witness(tx: Tx, index: int) -> tuple[bytes, ...]:
        return stack(sign_sweep(tx, spent, privkey, index))

    return ClaimInput(spent, sequence, witness)


def _sign_all(tx: Tx, inputs: Sequence[ClaimInput]) -> Tx:
    for index, claim_input in enumerate(inputs):
        tx = tx.with_witness(index, claim_input.witness(tx, index))
    return tx


def build_sweep(
    inputs: Sequence[ClaimInput], destination_script: bytes, feerate_per_kw: int, locktime: int = 0
) -> Tx | None:
    """All inputs to one output paying `destination_script`, fee at `feerate_per_kw`. None when what is
    left after the fee would be dust (not worth claiming)."""
    if not inputs:
        raise TransactionBuildError("a sweep needs at least one input")
    total_sat = sum(i.spent.amount_sat for i in inputs)
    tx_inputs = tuple(TxIn(i.spent.outpoint, i.sequence) for i in inputs)

    def make(amount_sat: int) -> Tx:
        tx = Tx(SWEEP_TX_VERSION, tx_inputs, (TxOut(amount_sat, destination_script),), locktime)
        return _sign_all(tx, inputs)

    fee_sat = fee_for_weight(feerate_per_kw, make(total_sat).weight + len(inputs))
    if total_sat - fee_sat < SWEEP_DUST_SAT:
        return None
    return make(total_sat - fee_sat)


def build_anchor_sweep(inputs: Sequence[ClaimInput]) -> Tx:
    """Anchors are worth their 330 sat only as fee: spend them to OP_RETURN (BOLT 3: anyone may sweep an
    anchor 16 blocks after the commitment confirmed, which keeps the UTXO set clean)."""
    tx = Tx(
        SWEEP_TX_VERSION,
        tuple(TxIn(i.spent.outpoint, i.sequence) for i in inputs),
        (TxOut(0, ANCHOR_SWEEP_SCRIPT),),
    )
    return _sign_all(tx, inputs)


def fee_input_claim(fee_input: FeeInput) -> ClaimInput:
    pubkey = public_key_of(fee_input.privkey)
    spent = SpentOutput(fee_input.outpoint, fee_input.amount_sat, None)
    return signed_input(spent, SEQUENCE_RBF, fee_input.privkey, lambda sig: (sig, pubkey))


def fee_input_script(fee_input: FeeInput) -> bytes:
    return p2wpkh_script(public_key_of(fee_input.privkey))


def _with_change(fee_input: FeeInput, fee_sat: int) -> TxOut:
    change_sat = fee_input.amount_sat - fee_sat
    if change_sat < SWEEP_DUST_SAT:
        raise FeeInputError(
            f"fee input of {fee_input.amount_sat} sat cannot pay {fee_sat} sat and keep a change output"
        )
    return TxOut(change_sat, fee_input.change_script)


def build_htlc_second_stage(
    htlc_tx: HtlcTx,
    remote_htlc_signature: bytes,
    local_htlc_privkey: bytes,
    channel_type: ChannelType,
    payment_preimage: bytes | None,
    fee_input: FeeInput | None,
    feerate_per_kw: int,
) -> Tx:
    """Our HTLC-timeout or HTLC-success transaction, with both signatures.

    Without option_anchors its fee is already in it (BOLT 3). With option_anchors it pays no fee: the peer
    signed SIGHASH_SINGLE|SIGHASH_ANYONECANPAY, so we attach `fee_input` as input 1 and its change as
    output 1 and sign our own part SIGHASH_ALL (BOLT 5 "Generation of HTLC Transactions")."""
    remote_der = compact_to_der(remote_htlc_signature)
    preimage = payment_preimage if htlc_tx.kind is HtlcTxKind.SUCCESS else None
    if not channel_type.option_anchors:
        local_der = sign_htlc_tx(htlc_tx, local_htlc_privkey, SighashType.ALL)
        return finalize_htlc_tx(htlc_tx, remote_der, local_der, channel_type, preimage)
    if fee_input is None:
        raise FeeInputError("an option_anchors HTLC transaction needs a fee input")
    claim = fee_input_claim(fee_input)

    def make(fee_sat: int) -> Tx:
        base = htlc_tx.tx
        tx = Tx(
            base.version,
            (*base.inputs, TxIn(fee_input.outpoint, claim.sequence)),
            (*base.outputs, _with_change(fee_input, fee_sat)),
            base.locktime,
        )
        widened = HtlcTx(
            htlc_tx.kind,
            htlc_tx.htlc,
            tx,
            htlc_tx.commitment_output_index,
            htlc_tx.input_amount_sat,
            htlc_tx.input_witness_script,
            htlc_tx.output_witness_script,
        )
        local_der = sign_htlc_tx(widened, local_htlc_privkey, SighashType.ALL)
        signed = finalize_htlc_tx(widened, remote_der, local_der, channel_type, preimage)
        return signed.with_witness(1, claim.witness(signed, 1))

    fee_sat = fee_for_weight(feerate_per_kw, make(0).weight + 2)
    return make(fee_sat)


def build_anchor_cpfp(
    anchor: ClaimInput,
    fee_input: FeeInput,
    parent_weight: int,
    parent_fee_sat: int,
    target_feerate_per_kw: int,
) -> Tx:
    """Spend our anchor with a wallet coin so that the package (commitment + child) reaches
    `target_feerate_per_kw` (BOLT 5: "MUST spend any `to_local_anchor` output, providing sufficient fees as
    incentive to include the commitment transaction in a block")."""
    inputs = (anchor, fee_input_claim(fee_input))
    total_in_sat = anchor.spent.amount_sat

    def make(fee_sat: int) -> Tx:
        tx = Tx(
            SWEEP_TX_VERSION,
            tuple(TxIn(i.spent.outpoint, i.sequence) for i in inputs),
            (_with_change(fee_input, fee_sat - total_in_sat),),
        )
        return _sign_all(tx, inputs)

    child_weight = make(total_in_sat).weight + 2
    package_fee_sat = fee_for_weight(target_feerate_per_kw, parent_weight + child_weight)
    # the child pays at least for itself at the target rate, and whatever the parent lacks
    fee_sat = max(package_fee_sat - parent_fee_sat, fee_for_weight(target_feerate_per_kw, child_weight))
    return make(fee_sat)
