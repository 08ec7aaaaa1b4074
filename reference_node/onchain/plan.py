"""From an `Evaluation` at a given tip: the transactions to broadcast now, and what has become final.

Each claim names the BOLT 5 requirement ids it carries out (suites/requirements/bolt05.yaml), so a scenario
that sees the transaction on chain can cite them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from reference_node.channel.params import Side
from reference_node.keys.channel_keys import ChannelKeys
from reference_node.onchain.claims import (
    SEQUENCE_RBF,
    ClaimInput,
    build_anchor_sweep,
    build_htlc_second_stage,
    build_sweep,
    signed_input,
)
from reference_node.onchain.model import ClaimKind, CloseKind, FeeInput, FeeInputError, HtlcResolvedOnchain
from reference_node.onchain.records import ChannelRecords
from reference_node.onchain.resolve import Evaluation, Watched
from reference_node.transactions import ChannelType
from reference_node.transactions.scripts import ANCHOR_ANYONE_CSV
from reference_node.transactions.spends import (
    ANCHORS_CSV,
    SpentOutput,
    witness_anchor_anyone,
    witness_anchor_owner,
    witness_htlc_revoked,
    witness_offered_htlc_preimage,
    witness_received_htlc_timeout,
    witness_revoked_to_local,
    witness_to_local_delayed,
    witness_to_remote_anchors,
    witness_to_remote_p2wpkh,
)

R = "bolt05-"
REQ_TO_LOCAL = (R + "unilateral_close_handling_local_commitment-node-should-01",)
REQ_HTLC_TIMEOUT = (
    R + "unilateral_close_handling_local_commitment-node-must-02",
    R + "htlc_output_handling_local_commitment-node-must-02",
)
REQ_HTLC_SUCCESS = (
    R + "unilateral_close_handling_local_commitment-node-must-03",
    R + "htlc_output_handling_local_commitment-local-must-01",
)
REQ_HTLC_TX_OUTPUT = (
    R + "htlc_output_handling_local_commitment-node-must-04",
    R + "htlc_output_handling_local_commitment-node-must-05",
    R + "htlc_output_handling_local_commitment-local-must-02",
    R + "htlc_output_handling_local_commitment-local-must-03",
)
REQ_ANCHORS_FEE = (
    R + "generation_htlc_transactions-node-must-01",
    R + "generation_htlc_transactions-node-must-02",
    R + "generation_htlc_transactions-signer-must-02",
)
REQ_TO_REMOTE = (R + "unilateral_close_handling_remote_commitment-local-must-01",)
# "HTLC Output Handling: Remote Commitment, Remote Offers" (claim with the preimage) is must-05;
# "..., Local Offers" (take back a timed-out HTLC we offered) is must-02
REQ_REMOTE_PREIMAGE = (
    R + "unilateral_close_handling_remote_commitment-local-must-03",
    R + "htlc_output_handling_remote_commitment-local-must-05",
)
REQ_REMOTE_TIMEOUT = (
    R + "unilateral_close_handling_remote_commitment-local-must-02",
    R + "htlc_output_handling_remote_commitment-local-must-02",
)
REQ_PENALTY_TO_LOCAL = (R + "revoked_transaction_close_handling-local-must-01",)
REQ_PENALTY_HTLC = (
    R + "revoked_transaction_close_handling-local-must-02",
    R + "revoked_transaction_close_handling-local-must-05",
)
REQ_PENALTY_SECOND_STAGE = (
    R + "revoked_transaction_close_handling-local-must-04",
    R + "revoked_transaction_close_handling-local-must-07",
    R + "revoked_transaction_close_handling-local-must-08",
    R + "revoked_transaction_close_handling-local-must-09",
    R + "revoked_transaction_close_handling-local-must-10",
)
REQ_PENALTY_BATCH = (R + "revoked_transaction_close_handling-local-may-02",)
REQ_ANCHOR_SWEEP = (R + "general_nomenclature-node-must-02",)

PENALTY_CLAIMS = frozenset(
    {ClaimKind.REVOKED_TO_LOCAL, ClaimKind.REVOKED_HTLC, ClaimKind.REVOKED_HTLC_TX_OUTPUT}
)


@dataclass(frozen=True)
class PlanContext:
    records: ChannelRecords
    keys: ChannelKeys
    sweep_script: bytes
    channel_type: ChannelType
    tip: int
    feerate_per_kw: int
    no_penalty: bool = False
    withhold_preimages: bool = False
    no_htlc_timeout: bool = False


@dataclass(frozen=True)
class PlannedTx:
    tx_bytes: bytes
    description: str
    requirements: tuple[str, ...]


@dataclass
class Plan:
    txs: list[PlannedTx] = field(default_factory=list)
    fee_inputs_needed: list[str] = field(default_factory=list)
    uneconomical: set[str] = field(default_factory=set)  # "txid:index" of outputs not worth a fee


def _age_ok(watched: Watched, tip: int, blocks: int) -> bool:
    """BIP68: the spending block (tip + 1) is at least `blocks` after the output's block."""
    return tip + 1 - watched.created_height >= blocks


def _locktime_ok(tip: int, locktime: int) -> bool:
    """nLockTime below the next block's height (Core's IsFinalTx)."""
    return locktime < tip + 1


def _spent(watched: Watched) -> SpentOutput:
    return SpentOutput(watched.outpoint, watched.amount_sat, watched.witness_script)


def _script(watched: Watched) -> bytes:
    assert watched.witness_script is not None, watched.claim
    return watched.witness_script


def _holder_point(ctx: PlanContext, evaluation: Evaluation) -> bytes:
    close = evaluation.close
    assert close is not None and close.built is not None
    return close.built.view.per_commitment_point


def _to_remote_input(ctx: PlanContext, watched: Watched) -> ClaimInput:
    privkey = ctx.keys.payment_basepoint_secret  # option_static_remotekey: remotepubkey is the basepoint
    if ctx.channel_type.option_anchors:
        script = _script(watched)
        return signed_input(
            _spent(watched), ANCHORS_CSV, privkey, lambda s: witness_to_remote_anchors(s, script)
        )
    pubkey = ctx.records.funding.local_basepoints.payment_basepoint if ctx.records.funding else b""
    return signed_input(_spent(watched), SEQUENCE_RBF, privkey, lambda s: witness_to_remote_p2wpkh(s, pubkey))


def _penalty_input(ctx: PlanContext, evaluation: Evaluation, watched: Watched) -> ClaimInput:
    close = evaluation.close
    assert close is not None and close.revocation_secret is not None and close.built is not None
    privkey = ctx.keys.revocation_privkey(close.revocation_secret)
    script = _script(watched)
    if watched.claim is ClaimKind.REVOKED_HTLC:
        revocation_pubkey = close.built.keys.revocation_pubkey
        return signed_input(
            _spent(watched),
            SEQUENCE_RBF,
            privkey,
            lambda s: witness_htlc_revoked(s, revocation_pubkey, script),
        )
    return signed_input(_spent(watched), SEQUENCE_RBF, privkey, lambda s: witness_revoked_to_local(s, script))


def _sweep(
    plan: Plan,
    ctx: PlanContext,
    inputs: list[ClaimInput],
    description: str,
    reqs: tuple[str, ...],
    locktime: int = 0,
) -> None:
    tx = build_sweep(inputs, ctx.sweep_script, ctx.feerate_per_kw, locktime)
    if tx is None:
        plan.uneconomical.update(f"{i.spent.outpoint.txid_hex}:{i.spent.outpoint.index}" for i in inputs)
        return
    plan.txs.append(PlannedTx(tx.serialize(), description, reqs))


FeeInputFor = Callable[[str], FeeInput | None]


def plan_claims(ctx: PlanContext, evaluation: Evaluation, fee_input_for: FeeInputFor) -> Plan:
    """The claims that can be broadcast now: every unspent watched output whose timelock has passed."""
    plan = Plan()
    close = evaluation.close
    if close is None or close.built is None:
        return plan
    penalty: list[ClaimInput] = []
    tip = ctx.tip
    for watched in evaluation.unspent():
        claim = watched.claim
        label = f"{watched.outpoint.txid_hex}:{watched.outpoint.index}"
        if claim is ClaimKind.NONE:
            continue
        if claim in PENALTY_CLAIMS:
            if not ctx.no_penalty:
                penalty.append(_penalty_input(ctx, evaluation, watched))
            continue
        if claim is ClaimKind.TO_REMOTE:
            if ctx.channel_type.option_anchors and not _age_ok(watched, tip, ANCHORS_CSV):
                continue
            claim_input = _to_remote_input(ctx, watched)
            if close.kind is CloseKind.REVOKED and not ctx.no_penalty:
                penalty.append(claim_input)  # batched with the penalty: same signer, no timelock
            else:
                _sweep(plan, ctx, [claim_input], "to_remote sweep", REQ_TO_REMOTE)
            continue
        if claim is ClaimKind.ANCHOR:
            script = _script(watched)
            if watched.our_anchor:
                # ours: worth only its 330 sat as fee; spend it at once to keep the UTXO set clean
                anchor = signed_input(
                    _spent(watched),
                    SEQUENCE_RBF,
                    ctx.keys.funding_privkey,
                    lambda s, script=script: witness_anchor_owner(s, script),  # type: ignore[misc]
                )
                plan.txs.append(
                    PlannedTx(build_anchor_sweep([anchor]).serialize(), "anchor sweep", REQ_ANCHOR_SWEEP)
                )
            elif _age_ok(watched, tip, ANCHOR_ANYONE_CSV):
                # theirs, left unspent: BOLT 3 lets anyone sweep it 16 blocks after the commitment
                anchor = ClaimInput(
                    _spent(watched),
                    ANCHOR_ANYONE_CSV,
                    lambda tx, i, script=script: witness_anchor_anyone(script),  # type: ignore[misc]
                )
                plan.txs.append(
                    PlannedTx(
                        build_anchor_sweep([anchor]).serialize(), "anchor sweep by anyone", REQ_ANCHOR_SWEEP
                    )
                )
            continue
        _plan_single(plan, ctx, evaluation, watched, label, fee_input_for)
    if penalty:
        _sweep(plan, ctx, penalty, "penalty (revoked commitment)", _penalty_requirements(evaluation))
    return plan


def _penalty_requirements(evaluation: Evaluation) -> tuple[str, ...]:
    kinds = {w.claim for w in evaluation.unspent()}
    reqs: list[str] = []
    if ClaimKind.REVOKED_TO_LOCAL in kinds:
        reqs += REQ_PENALTY_TO_LOCAL
    if ClaimKind.REVOKED_HTLC in kinds:
        reqs += REQ_PENALTY_HTLC
    if ClaimKind.REVOKED_HTLC_TX_OUTPUT in kinds:
        reqs += REQ_PENALTY_SECOND_STAGE
    return (*reqs, *REQ_PENALTY_BATCH)


def _plan_single(
    plan: Plan,
    ctx: PlanContext,
    evaluation: Evaluation,
    watched: Watched,
    label: str,
    fee_input_for: FeeInputFor,
) -> None:
    tip = ctx.tip
    claim = watched.claim
    point = _holder_point(ctx, evaluation)
    close = evaluation.close
    assert close is not None and close.built is not None
    funding = ctx.records.funding
    assert funding is not None
    # the delay on our own outputs is the one the peer imposed on us
    to_self_delay = funding.remote_params.to_self_delay
    if claim in (ClaimKind.TO_LOCAL_DELAYED, ClaimKind.HTLC_TX_OUTPUT):
        if not _age_ok(watched, tip, to_self_delay):
            return
        privkey = ctx.keys.delayed_privkey(point)
        script = _script(watched)
        claim_input = signed_input(
            _spent(watched), to_self_delay, privkey, lambda s: witness_to_local_delayed(s, script)
        )
        if claim is ClaimKind.TO_LOCAL_DELAYED:
            _sweep(plan, ctx, [claim_input], "to_local sweep", REQ_TO_LOCAL)
        else:
            _sweep(plan, ctx, [claim_input], "HTLC transaction output sweep", REQ_HTLC_TX_OUTPUT)
        return
    htlc = watched.htlc
    assert htlc is not None
    preimage = None if ctx.withhold_preimages else ctx.records.preimage_for(htlc.payment_hash)
    anchors = ctx.channel_type.option_anchors
    if claim in (ClaimKind.HTLC_TIMEOUT_TX, ClaimKind.HTLC_SUCCESS_TX):
        timeout = claim is ClaimKind.HTLC_TIMEOUT_TX
        if timeout and (ctx.no_htlc_timeout or not _locktime_ok(tip, htlc.cltv_expiry)):
            return
        if not timeout and preimage is None:
            return  # "MUST NOT *resolve* the output by spending it" without the preimage
        if anchors and not _age_ok(watched, tip, ANCHORS_CSV):
            return
        if watched.htlc_tx is None or watched.remote_htlc_signature is None:
            return
        fee_input = fee_input_for(label) if anchors else None
        if anchors and fee_input is None:
            plan.fee_inputs_needed.append(label)
            return
        try:
            tx = build_htlc_second_stage(
                watched.htlc_tx,
                watched.remote_htlc_signature,
                ctx.keys.htlc_privkey(point),
                ctx.channel_type,
                preimage,
                fee_input,
                ctx.feerate_per_kw,
            )
        except FeeInputError:
            plan.fee_inputs_needed.append(label)
            return
        reqs = REQ_HTLC_TIMEOUT if timeout else REQ_HTLC_SUCCESS
        plan.txs.append(
            PlannedTx(
                tx.serialize(),
                "HTLC-timeout" if timeout else "HTLC-success",
                reqs + (REQ_ANCHORS_FEE if anchors else ()),
            )
        )
        return
    # their commitment: spend HTLC outputs directly with our HTLC key
    sequence = ANCHORS_CSV if anchors else SEQUENCE_RBF
    if anchors and not _age_ok(watched, tip, ANCHORS_CSV):
        return
    privkey = ctx.keys.htlc_privkey(point)
    script = _script(watched)
    if claim is ClaimKind.REMOTE_OFFERED_PREIMAGE:
        if preimage is None:
            return
        known = preimage
        claim_input = signed_input(
            _spent(watched), sequence, privkey, lambda s: witness_offered_htlc_preimage(s, known, script)
        )
        _sweep(plan, ctx, [claim_input], "HTLC claim with preimage", REQ_REMOTE_PREIMAGE)
    elif claim is ClaimKind.REMOTE_RECEIVED_TIMEOUT:
        if ctx.no_htlc_timeout or not _locktime_ok(tip, htlc.cltv_expiry):
            return
        claim_input = signed_input(
            _spent(watched), sequence, privkey, lambda s: witness_received_htlc_timeout(s, script)
        )
        _sweep(plan, ctx, [claim_input], "HTLC claim after timeout", REQ_REMOTE_TIMEOUT, htlc.cltv_expiry)


def htlc_resolutions(
    evaluation: Evaluation, records: ChannelRecords, tip: int, reasonable_depth: int
) -> list[HtlcResolvedOnchain]:
    """HTLCs of the channel whose on-chain fate is settled (BOLT 5 "fulfill/fail the corresponding
    incoming HTLC"): a preimage seen pays it at once; a timeout or an absent output fails it once the
    resolving transaction is `reasonable_depth` deep."""
    close = evaluation.close
    if close is None or close.built is None:
        return []
    out: list[HtlcResolvedOnchain] = []
    on_chain: set[tuple[bool, int]] = set()
    for outpoint, watched in evaluation.watched.items():
        htlc = watched.htlc
        if htlc is None or watched.claim in (ClaimKind.HTLC_TX_OUTPUT, ClaimKind.REVOKED_HTLC_TX_OUTPUT):
            continue
        on_chain.add((watched.offered_by_us, htlc.htlc_id))
        spend = evaluation.spends.get(outpoint)
        if spend is None or close.kind is CloseKind.REVOKED:
            continue
        if spend.preimage is not None:
            out.append(HtlcResolvedOnchain(htlc.htlc_id, watched.offered_by_us, htlc.payment_hash, True))
        elif tip - spend.height + 1 >= reasonable_depth:
            out.append(HtlcResolvedOnchain(htlc.htlc_id, watched.offered_by_us, htlc.payment_hash, False))
    if tip - evaluation.close_height + 1 < reasonable_depth:
        return out
    # "for any committed HTLC that does not have an output in this commitment transaction": fail ours
    committed = _committed_offered_htlcs(records)
    for htlc_id, payment_hash in committed.items():
        if (True, htlc_id) in on_chain and close.kind is not CloseKind.REVOKED:
            continue
        # a preimage we already hold (the peer fulfilled it off chain) settles it, output or not
        fulfilled = payment_hash in evaluation.learned or records.preimage_for(payment_hash) is not None
        out.append(HtlcResolvedOnchain(htlc_id, True, payment_hash, fulfilled))
    return out


def _committed_offered_htlcs(records: ChannelRecords) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    local = records.local_record(records.local_current_number)
    views = [local.view] if local is not None else []
    for number in (records.remote_current_number, records.remote_next_number):
        if number is not None and (view := records.remote_view(number)) is not None:
            views.append(view)
    for view in views:
        for htlc in view.htlcs:
            if htlc.offered == (view.holder is Side.LOCAL):
                found[htlc.htlc_id] = htlc.payment_hash
    return found
