"""The resolution state of a closed channel, recomputed from the relevant chain history.

The state is a pure function of (records, relevant transactions with their heights, tip): a reorg is
handled by dropping the disconnected history and evaluating again (BOLT 5: "MUST be prepared to resolve
outputs multiple times, in case of blockchain reorganizations").

`replay` walks the history: the first funding spend is classified and its outputs become *watched*
outputs, each with the claim BOLT 5 prescribes; later transactions spending watched outputs resolve them
(and may create new watched outputs: our HTLC transactions' outputs, or a cheater's second-stage outputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from reference_node.bitcoin.address import p2wsh_script
from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.tx import OutPoint, Tx
from reference_node.channel.bolt3_signer import Bolt3Signer
from reference_node.channel.signer import HtlcOutput
from reference_node.onchain.classify import Classified, classify, spends_funding
from reference_node.onchain.model import ClaimKind, CloseKind
from reference_node.onchain.records import ChannelRecords
from reference_node.transactions import HtlcTx, OutputKind
from reference_node.transactions.scripts import anchor_script


@dataclass(frozen=True)
class Watched:
    """An output of the close (or of a later transaction) that is ours to resolve, or to keep an eye on."""

    outpoint: OutPoint
    amount_sat: int
    witness_script: bytes | None
    claim: ClaimKind
    created_height: int
    htlc: HtlcOutput | None = None  # as the closed commitment's holder sees it
    offered_by_us: bool = False
    htlc_tx: HtlcTx | None = None  # unsigned second stage (HTLC_TIMEOUT_TX / HTLC_SUCCESS_TX)
    remote_htlc_signature: bytes | None = None
    our_anchor: bool = False


@dataclass(frozen=True)
class Spend:
    txid: bytes
    height: int
    preimage: bytes | None  # a preimage of the watched HTLC found in the spending witness


@dataclass
class Evaluation:
    close: Classified | None = None
    close_height: int = 0
    watched: dict[OutPoint, Watched] = field(default_factory=dict)
    spends: dict[OutPoint, Spend] = field(default_factory=dict)
    learned: dict[bytes, bytes] = field(default_factory=dict)  # payment_hash -> preimage

    def unspent(self) -> list[Watched]:
        return [w for o, w in self.watched.items() if o not in self.spends]


# claims per commitment output, by who holds the commitment (BOLT 5 sections in the comments)
_LOCAL_CLAIMS = {
    # "Unilateral Close Handling: Local Commitment Transaction"
    OutputKind.TO_LOCAL: ClaimKind.TO_LOCAL_DELAYED,
    OutputKind.TO_REMOTE: ClaimKind.NONE,  # "resolved by the commitment transaction itself"
    OutputKind.OFFERED_HTLC: ClaimKind.HTLC_TIMEOUT_TX,
    OutputKind.RECEIVED_HTLC: ClaimKind.HTLC_SUCCESS_TX,
    OutputKind.LOCAL_ANCHOR: ClaimKind.ANCHOR,
    OutputKind.REMOTE_ANCHOR: ClaimKind.ANCHOR,
}
_REMOTE_CLAIMS = {
    # "Unilateral Close Handling: Remote Commitment Transaction"
    OutputKind.TO_LOCAL: ClaimKind.NONE,  # theirs, "resolved by the commitment transaction itself"
    OutputKind.TO_REMOTE: ClaimKind.TO_REMOTE,
    OutputKind.OFFERED_HTLC: ClaimKind.REMOTE_OFFERED_PREIMAGE,
    OutputKind.RECEIVED_HTLC: ClaimKind.REMOTE_RECEIVED_TIMEOUT,
    OutputKind.LOCAL_ANCHOR: ClaimKind.ANCHOR,
    OutputKind.REMOTE_ANCHOR: ClaimKind.ANCHOR,
}
_REVOKED_CLAIMS = {
    # "Revoked Transaction Close Handling"
    OutputKind.TO_LOCAL: ClaimKind.REVOKED_TO_LOCAL,
    OutputKind.TO_REMOTE: ClaimKind.TO_REMOTE,
    OutputKind.OFFERED_HTLC: ClaimKind.REVOKED_HTLC,
    OutputKind.RECEIVED_HTLC: ClaimKind.REVOKED_HTLC,
    OutputKind.LOCAL_ANCHOR: ClaimKind.ANCHOR,
    OutputKind.REMOTE_ANCHOR: ClaimKind.ANCHOR,
}
CLAIMS_BY_CLOSE = {
    CloseKind.LOCAL: _LOCAL_CLAIMS,
    CloseKind.LOCAL_REVOKED: _LOCAL_CLAIMS,
    CloseKind.REMOTE: _REMOTE_CLAIMS,
    CloseKind.REMOTE_NEXT: _REMOTE_CLAIMS,
    CloseKind.REVOKED: _REVOKED_CLAIMS,
}


def _initial_outputs(close: Classified, height: int, records: ChannelRecords) -> list[Watched]:
    built = close.built
    if built is None or records.funding is None:
        return []
    claims = CLAIMS_BY_CLOSE[close.kind]
    our_funding_pubkey = records.funding.local_basepoints.funding_pubkey
    ours_holder = close.kind in (CloseKind.LOCAL, CloseKind.LOCAL_REVOKED)
    remote_sigs: tuple[bytes, ...] = ()
    if ours_holder:
        local = records.local_record(built.view.commitment_number)
        remote_sigs = local.remote_htlc_signatures if local is not None else ()
    htlc_txs = {h.commitment_output_index: (h, i) for i, h in enumerate(built.commitment.htlc_txs)}
    txid = built.commitment.tx.txid()
    watched = []
    for output in built.commitment.outputs:
        htlc = None
        if output.htlc is not None:
            htlc = HtlcOutput(
                output.htlc.id,
                output.kind is OutputKind.OFFERED_HTLC,
                output.htlc.amount_msat,
                output.htlc.payment_hash,
                output.htlc.cltv_expiry,
            )
        # the holder offered it; it is ours if we are the holder and it is offered, or the reverse
        offered_by_us = htlc is not None and htlc.offered == ours_holder
        htlc_tx, signature = None, None
        if output.index in htlc_txs and ours_holder:
            htlc_tx, position = htlc_txs[output.index]
            signature = remote_sigs[position] if position < len(remote_sigs) else None
        watched.append(
            Watched(
                OutPoint(txid, output.index),
                output.amount_sat,
                output.witness_script,
                claims[output.kind],
                height,
                htlc,
                offered_by_us,
                htlc_tx,
                signature,
                output.witness_script == anchor_script(our_funding_pubkey),
            )
        )
    return watched


def _preimage_in(tx: Tx, input_index: int, payment_hash: bytes) -> bytes | None:
    for item in tx.inputs[input_index].witness:
        if len(item) == 32 and sha256(item) == payment_hash:
            return item
    return None


def _second_stage_output(watched: Watched, tx: Tx, height: int, close: Classified) -> Watched | None:
    """The output a second-stage HTLC transaction creates, if `tx` is one: ours (to sweep after the delay)
    or the cheater's (to take with the revocation key)."""
    built = close.built
    if built is None or not built.commitment.htlc_txs:
        return None
    # every HTLC transaction of a commitment pays the same to_local-style script (BOLT 3)
    script = built.commitment.htlc_txs[0].output_witness_script
    claim = {
        ClaimKind.HTLC_TIMEOUT_TX: ClaimKind.HTLC_TX_OUTPUT,
        ClaimKind.HTLC_SUCCESS_TX: ClaimKind.HTLC_TX_OUTPUT,
        ClaimKind.REVOKED_HTLC: ClaimKind.REVOKED_HTLC_TX_OUTPUT,
    }.get(watched.claim)
    if claim is None:
        return None
    for index, output in enumerate(tx.outputs):
        if output.script_pubkey == p2wsh_script(script):
            return Watched(
                OutPoint(tx.txid(), index),
                output.amount_sat,
                script,
                claim,
                height,
                watched.htlc,
                watched.offered_by_us,
            )
    return None


def is_relevant(tx: Tx, evaluation: Evaluation, records: ChannelRecords) -> bool:
    """Does this transaction spend the funding output (before the close) or a watched output?"""
    if evaluation.close is None:
        return records.funding is not None and spends_funding(tx, records.funding)
    return any(i.prevout in evaluation.watched for i in tx.inputs)


def apply_tx(
    evaluation: Evaluation, height: int, tx: Tx, records: ChannelRecords, builder: Bolt3Signer
) -> None:
    """Fold one relevant transaction into the evaluation."""
    if evaluation.close is None:
        close = classify(tx, records, builder)
        evaluation.close = close
        evaluation.close_height = height
        for initial in _initial_outputs(close, height, records):
            evaluation.watched[initial.outpoint] = initial
        return
    for index, txin in enumerate(tx.inputs):
        watched = evaluation.watched.get(txin.prevout)
        if watched is None or txin.prevout in evaluation.spends:
            continue
        preimage = None
        if watched.htlc is not None:
            preimage = _preimage_in(tx, index, watched.htlc.payment_hash)
            if preimage is not None:
                evaluation.learned[watched.htlc.payment_hash] = preimage
        evaluation.spends[txin.prevout] = Spend(tx.txid(), height, preimage)
        follow = _second_stage_output(watched, tx, height, evaluation.close)
        if follow is not None:
            evaluation.watched[follow.outpoint] = follow


def replay(history: list[tuple[int, Tx]], records: ChannelRecords, builder: Bolt3Signer) -> Evaluation:
    evaluation = Evaluation()
    for height, tx in history:
        apply_tx(evaluation, height, tx, records, builder)
    return evaluation
