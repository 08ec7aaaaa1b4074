"""BOLT 3 "Commitment Transaction Construction", for both formats (static_remotekey and option_anchors)."""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.bitcoin.address import p2wpkh_script, p2wsh_script
from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.tx import Tx, TxIn, TxOut
from reference_node.keys.channel_keys import CommitmentKeys
from reference_node.transactions.fees import ANCHOR_OUTPUT_SAT, commitment_base_fee_sat, is_trimmed
from reference_node.transactions.htlc_tx import build_htlc_tx
from reference_node.transactions.scripts import (
    anchor_script,
    funding_script,
    offered_htlc_script,
    received_htlc_script,
    to_local_script,
    to_remote_anchors_script,
)
from reference_node.transactions.types import (
    ChannelParams,
    CommitmentOutput,
    CommitmentSpec,
    CommitmentTx,
    Htlc,
    HtlcDirection,
    OutputKind,
    TransactionBuildError,
)

COMMITMENT_TX_VERSION = 2
COMMITMENT_NUMBER_BITS = 48
_LOWER_24_BITS = 0xFFFFFF


def obscuring_factor(opener_payment_basepoint: bytes, accepter_payment_basepoint: bytes) -> int:
    """BOLT 3 "Commitment Transaction": the lower 48 bits of
    SHA256(payment_basepoint from open_channel || payment_basepoint from accept_channel)."""
    digest = sha256(opener_payment_basepoint + accepter_payment_basepoint)
    return int.from_bytes(digest[-6:], "big")


def obscured_commitment_number(commitment_number: int, obscuring_factor_: int) -> int:
    if not 0 <= commitment_number < 1 << COMMITMENT_NUMBER_BITS:
        raise TransactionBuildError(f"commitment number {commitment_number} does not fit in 48 bits")
    return commitment_number ^ obscuring_factor_


def commitment_locktime(obscured: int) -> int:
    """Upper 8 bits 0x20, lower 24 bits the lower 24 bits of the obscured commitment number."""
    return (0x20 << 24) | (obscured & _LOWER_24_BITS)


def commitment_sequence(obscured: int) -> int:
    """Upper 8 bits 0x80, lower 24 bits the upper 24 bits of the obscured commitment number."""
    return (0x80 << 24) | ((obscured >> 24) & _LOWER_24_BITS)


def commitment_number_from_tx(tx: Tx, obscuring_factor_: int) -> int:
    """Recover the commitment number from a commitment transaction's locktime and sequence (BOLT 5)."""
    obscured = ((tx.inputs[0].sequence & _LOWER_24_BITS) << 24) | (tx.locktime & _LOWER_24_BITS)
    return obscured ^ obscuring_factor_


@dataclass(frozen=True)
class _Pending:
    """An output before sorting; `cltv_expiry` is the BOLT 3 tie-break for HTLC outputs."""

    kind: OutputKind
    amount_sat: int
    script_pubkey: bytes
    witness_script: bytes | None
    htlc: Htlc | None

    def sort_key(self) -> tuple[int, bytes, int]:
        # BOLT 3 "Transaction Output Ordering": value, then scriptpubkey (memcmp, shorter first, which is
        # Python's bytes order), then cltv_expiry for HTLC outputs.
        return (self.amount_sat, self.script_pubkey, self.htlc.cltv_expiry if self.htlc else 0)


def build_commitment(params: ChannelParams, spec: CommitmentSpec, keys: CommitmentKeys) -> CommitmentTx:
    """The holder's unsigned commitment transaction, its output map and its unsigned HTLC transactions."""
    channel_type = params.channel_type
    anchors = channel_type.option_anchors
    if spec.to_local_msat < 0 or spec.to_remote_msat < 0:
        raise TransactionBuildError(f"negative balance in {spec}")
    htlc_total_msat = sum(h.amount_msat for h in spec.htlcs)
    total_msat = spec.to_local_msat + spec.to_remote_msat + htlc_total_msat
    if total_msat > params.funding_amount_sat * 1000:
        raise TransactionBuildError(
            f"balances and HTLCs ({total_msat} msat) exceed the funding amount "
            f"({params.funding_amount_sat} sat)"
        )

    # Steps 1-2: trimming and the base fee.
    untrimmed: list[Htlc] = []
    trimmed: list[Htlc] = []
    for htlc in spec.htlcs:
        dust = is_trimmed(htlc, spec.feerate_per_kw, params.dust_limit_sat, channel_type)
        (trimmed if dust else untrimmed).append(htlc)
    base_fee_sat = commitment_base_fee_sat(spec.feerate_per_kw, len(untrimmed), channel_type)

    # Step 3: the opener pays the base fee and both anchors. A base fee above its balance takes all of
    # it (Appendix C "fee greater than funder amount"); the anchors cannot be paid out of nothing, and
    # BOLT 2 never lets the opener's balance fall that low, so such a state is rejected.
    anchors_msat = 2 * ANCHOR_OUTPUT_SAT * 1000 if anchors else 0
    opener_msat = spec.to_local_msat if params.holder_is_opener else spec.to_remote_msat
    if opener_msat < anchors_msat:
        raise TransactionBuildError(
            f"the opener's balance ({opener_msat} msat) cannot pay the two anchors ({anchors_msat} msat)"
        )
    opener_charge_msat = base_fee_sat * 1000 + anchors_msat
    to_local_msat, to_remote_msat = spec.to_local_msat, spec.to_remote_msat
    if params.holder_is_opener:
        to_local_msat = max(0, to_local_msat - opener_charge_msat)
    else:
        to_remote_msat = max(0, to_remote_msat - opener_charge_msat)
    to_local_sat, to_remote_sat = to_local_msat // 1000, to_remote_msat // 1000

    pending: list[_Pending] = []
    # Steps 4-5: HTLC outputs.
    for htlc in untrimmed:
        if htlc.direction is HtlcDirection.OFFERED:
            kind = OutputKind.OFFERED_HTLC
            script = offered_htlc_script(
                keys.revocation_pubkey,
                keys.local_htlcpubkey,
                keys.remote_htlcpubkey,
                htlc.payment_hash,
                anchors,
            )
        else:
            kind = OutputKind.RECEIVED_HTLC
            script = received_htlc_script(
                keys.revocation_pubkey,
                keys.local_htlcpubkey,
                keys.remote_htlcpubkey,
                htlc.payment_hash,
                htlc.cltv_expiry,
                anchors,
            )
        pending.append(_Pending(kind, htlc.amount_sat, p2wsh_script(script), script, htlc))
    # Steps 6-7: to_local and to_remote, if at or above the holder's dust limit.
    has_to_local = to_local_sat >= params.dust_limit_sat
    has_to_remote = to_remote_sat >= params.dust_limit_sat
    # The to_local script is also the output script of every HTLC transaction.
    delayed_script = to_local_script(keys.revocation_pubkey, params.to_self_delay, keys.local_delayedpubkey)
    if has_to_local:
        pending.append(
            _Pending(OutputKind.TO_LOCAL, to_local_sat, p2wsh_script(delayed_script), delayed_script, None)
        )
    if has_to_remote:
        if anchors:
            script = to_remote_anchors_script(keys.remotepubkey)
            pending.append(_Pending(OutputKind.TO_REMOTE, to_remote_sat, p2wsh_script(script), script, None))
        else:
            pending.append(
                _Pending(OutputKind.TO_REMOTE, to_remote_sat, p2wpkh_script(keys.remotepubkey), None, None)
            )
    # Step 8: anchors, each only if its side has an output or any HTLC is untrimmed.
    if anchors:
        if has_to_local or untrimmed:
            script = anchor_script(params.local_funding_pubkey)
            pending.append(
                _Pending(OutputKind.LOCAL_ANCHOR, ANCHOR_OUTPUT_SAT, p2wsh_script(script), script, None)
            )
        if has_to_remote or untrimmed:
            script = anchor_script(params.remote_funding_pubkey)
            pending.append(
                _Pending(OutputKind.REMOTE_ANCHOR, ANCHOR_OUTPUT_SAT, p2wsh_script(script), script, None)
            )
    # Step 9: BIP69 + CLTV order.
    pending.sort(key=_Pending.sort_key)

    obscured = obscured_commitment_number(spec.commitment_number, params.obscuring_factor)
    tx = Tx(
        version=COMMITMENT_TX_VERSION,
        inputs=(TxIn(params.funding_outpoint, commitment_sequence(obscured)),),
        outputs=tuple(TxOut(p.amount_sat, p.script_pubkey) for p in pending),
        locktime=commitment_locktime(obscured),
    )
    outputs = tuple(
        CommitmentOutput(i, p.kind, p.amount_sat, p.script_pubkey, p.witness_script, p.htlc)
        for i, p in enumerate(pending)
    )
    txid = tx.txid()
    htlc_txs = tuple(
        build_htlc_tx(txid, output, params, spec.feerate_per_kw, keys, delayed_script)
        for output in outputs
        if output.htlc is not None
    )
    fee_sat = params.funding_amount_sat - sum(o.amount_sat for o in outputs)
    return CommitmentTx(
        tx=tx,
        outputs=outputs,
        htlc_txs=htlc_txs,
        trimmed_htlcs=tuple(trimmed),
        base_fee_sat=base_fee_sat,
        fee_sat=fee_sat,
        funding_witness_script=funding_script(params.local_funding_pubkey, params.remote_funding_pubkey),
        funding_amount_sat=params.funding_amount_sat,
    )
