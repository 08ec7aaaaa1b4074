"""Properties of commitment transactions over random channel states (both formats, HTLCs both ways):
value is conserved, exactly the HTLCs BOLT 3 says are trimmed, outputs in BIP69+CLTV order, and the real
weight differs from the BOLT 3 expected weight only by the spec's stated simplifications."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from reference_node.bitcoin.encoding import compact_size
from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.script import push_int
from reference_node.bitcoin.sighash import SighashType
from reference_node.bitcoin.tx import OutPoint
from reference_node.keys.channel_keys import ChannelKeys, CommitmentKeys
from reference_node.transactions.commitment import (
    build_commitment,
    commitment_number_from_tx,
    obscuring_factor,
)
from reference_node.transactions.fees import (
    ANCHOR_OUTPUT_SAT,
    HTLC_SUCCESS_WEIGHT,
    HTLC_SUCCESS_WEIGHT_ANCHORS,
    HTLC_TIMEOUT_WEIGHT,
    HTLC_TIMEOUT_WEIGHT_ANCHORS,
    commitment_expected_weight,
)
from reference_node.transactions.signing import (
    finalize_commitment,
    finalize_htlc_tx,
    remote_htlc_sighash_type,
    sign_commitment,
    sign_htlc_tx,
)
from reference_node.transactions.types import (
    ChannelParams,
    ChannelType,
    CommitmentSpec,
    CommitmentTx,
    Htlc,
    HtlcDirection,
    HtlcTxKind,
    OutputKind,
    TransactionBuildError,
)

ALICE = ChannelKeys.from_seed(sha256(b"alice"))
BOB = ChannelKeys.from_seed(sha256(b"bob"))
POINT = ALICE.per_commitment_point(0)
KEYS = CommitmentKeys.derive(POINT, ALICE.basepoints(), BOB.basepoints())
# BOLT 3 Appendix A sizes (bytes) of the outputs the expected weight always counts.
P2WSH_OUTPUT_BYTES = 43
P2WPKH_OUTPUT_BYTES = 31
EXPECTED_SIGNATURE_BYTES = 73
EXPECTED_OUTPUT_COUNT_BYTES = {ChannelType.STATIC_REMOTEKEY: 1, ChannelType.ANCHORS: 3}


@dataclass(frozen=True)
class State:
    params: ChannelParams
    spec: CommitmentSpec


@st.composite
def states(draw: st.DrawFn) -> State:
    channel_type = draw(st.sampled_from(list(ChannelType)))
    funding_sat = draw(st.integers(min_value=20_000, max_value=100_000_000))
    hashes = [sha256(bytes([i])) for i in range(3)]  # few payment hashes, so equal outputs happen
    htlcs: list[Htlc] = []
    remaining_msat = funding_sat * 1000
    for direction in HtlcDirection:
        for htlc_id in range(draw(st.integers(min_value=0, max_value=12))):
            amount_msat = draw(st.integers(min_value=1, max_value=min(remaining_msat, 20_000_000) or 1))
            if amount_msat > remaining_msat:
                break
            remaining_msat -= amount_msat
            cltv = draw(st.one_of(st.integers(min_value=500, max_value=505), st.integers(1, 499_999_999)))
            htlcs.append(Htlc(htlc_id, direction, amount_msat, draw(st.sampled_from(hashes)), cltv))
    to_local_msat = draw(st.integers(min_value=0, max_value=remaining_msat))
    holder_is_opener = draw(st.booleans())
    anchors_msat = 2 * ANCHOR_OUTPUT_SAT * 1000
    if channel_type is ChannelType.ANCHORS and remaining_msat >= anchors_msat:
        # BOLT 2 keeps the opener able to pay the anchors; rejected states have their own test.
        if holder_is_opener:
            to_local_msat = max(to_local_msat, anchors_msat)
        else:
            to_local_msat = min(to_local_msat, remaining_msat - anchors_msat)
    params = ChannelParams(
        funding_outpoint=OutPoint(sha256(b"funding"), 0),
        funding_amount_sat=funding_sat,
        local_funding_pubkey=ALICE.basepoints().funding_pubkey,
        remote_funding_pubkey=BOB.basepoints().funding_pubkey,
        to_self_delay=draw(st.integers(min_value=1, max_value=2016)),
        dust_limit_sat=draw(st.integers(min_value=354, max_value=5_000)),
        holder_is_opener=holder_is_opener,
        obscuring_factor=obscuring_factor(
            ALICE.basepoints().payment_basepoint, BOB.basepoints().payment_basepoint
        ),
        channel_type=channel_type,
    )
    feerate = draw(st.one_of(st.just(0), st.integers(min_value=253, max_value=20_000)))
    spec = CommitmentSpec(
        commitment_number=draw(st.integers(min_value=0, max_value=(1 << 48) - 1)),
        to_local_msat=to_local_msat,
        to_remote_msat=remaining_msat - to_local_msat,
        feerate_per_kw=feerate,
        htlcs=tuple(htlcs),
    )
    return State(params, spec)


def spec_says_trimmed(htlc: Htlc, state: State) -> bool:
    """BOLT 3 "Trimmed Outputs", written out independently of fees.is_trimmed."""
    if state.params.channel_type is ChannelType.ANCHORS:
        htlc_fee = 0
    else:
        weight = HTLC_TIMEOUT_WEIGHT if htlc.direction is HtlcDirection.OFFERED else HTLC_SUCCESS_WEIGHT
        htlc_fee = state.spec.feerate_per_kw * weight // 1000
    return htlc.amount_msat // 1000 - htlc_fee < state.params.dust_limit_sat


def opener_msat(state: State) -> int:
    return state.spec.to_local_msat if state.params.holder_is_opener else state.spec.to_remote_msat


def build(state: State) -> CommitmentTx:
    # BOLT 2 keeps the opener able to pay the anchors; states where it cannot are rejected (tested below).
    assume(
        state.params.channel_type is ChannelType.STATIC_REMOTEKEY
        or opener_msat(state) >= 2 * ANCHOR_OUTPUT_SAT * 1000
    )
    return build_commitment(state.params, state.spec, KEYS)


@settings(max_examples=50, deadline=None)
@given(states(), st.integers(min_value=0, max_value=2 * ANCHOR_OUTPUT_SAT * 1000 - 1))
def test_anchors_state_where_the_opener_cannot_pay_the_anchors_is_rejected(
    state: State, opener_msat_: int
) -> None:
    balances = state.spec.to_local_msat + state.spec.to_remote_msat
    assume(balances >= opener_msat_)
    opener_is_local = state.params.holder_is_opener
    to_local = opener_msat_ if opener_is_local else balances - opener_msat_
    spec = replace(state.spec, to_local_msat=to_local, to_remote_msat=balances - to_local)
    params = replace(state.params, channel_type=ChannelType.ANCHORS)
    with pytest.raises(TransactionBuildError, match="anchors"):
        build_commitment(params, spec, KEYS)


@settings(max_examples=150, deadline=None)
@given(states())
def test_exactly_the_spec_trimmed_htlcs_are_missing(state: State) -> None:
    commitment = build(state)
    expected_untrimmed = {(h.direction, h.id) for h in state.spec.htlcs if not spec_says_trimmed(h, state)}
    actual = {(o.htlc.direction, o.htlc.id) for o in commitment.outputs if o.htlc is not None}
    assert actual == expected_untrimmed
    assert {(h.direction, h.id) for h in commitment.trimmed_htlcs} == {
        (h.direction, h.id) for h in state.spec.htlcs
    } - expected_untrimmed
    assert len(commitment.htlc_txs) == len(expected_untrimmed)


@settings(max_examples=150, deadline=None)
@given(states())
def test_value_is_conserved(state: State) -> None:
    commitment = build(state)
    outputs_sat = sum(o.amount_sat for o in commitment.outputs)
    assert outputs_sat + commitment.fee_sat == state.params.funding_amount_sat
    # The fee is exactly what the opener paid, plus what was trimmed, rounded away or left as dust.
    anchors = state.params.channel_type is ChannelType.ANCHORS
    paying_msat, other_msat = (
        (state.spec.to_local_msat, state.spec.to_remote_msat)
        if state.params.holder_is_opener
        else (state.spec.to_remote_msat, state.spec.to_local_msat)
    )
    opener_charge_msat = (commitment.base_fee_sat + (2 * ANCHOR_OUTPUT_SAT if anchors else 0)) * 1000
    opener_after_msat = max(0, paying_msat - opener_charge_msat)
    anchor_sat = sum(
        o.amount_sat
        for o in commitment.outputs
        if o.kind in (OutputKind.LOCAL_ANCHOR, OutputKind.REMOTE_ANCHOR)
    )
    htlc_sat = sum(o.amount_sat for o in commitment.outputs if o.htlc is not None)
    balance_sat = outputs_sat - anchor_sat - htlc_sat
    fee_msat = (
        (
            paying_msat - opener_after_msat - anchor_sat * 1000
        )  # what the opener paid beyond the anchors present
        + sum(h.amount_msat for h in state.spec.htlcs)
        - htlc_sat * 1000  # trimmed HTLCs and msat remainders
        + opener_after_msat
        + other_msat
        - balance_sat * 1000  # dust balances and msat remainders
    )
    assert fee_msat == commitment.fee_sat * 1000
    assert commitment.fee_sat >= min(
        commitment.base_fee_sat, paying_msat // 1000 - 2 * ANCHOR_OUTPUT_SAT * anchors
    )


@settings(max_examples=150, deadline=None)
@given(states())
def test_outputs_are_in_bip69_then_cltv_order(state: State) -> None:
    commitment = build(state)
    keys = [(o.amount_sat, o.script_pubkey, o.htlc.cltv_expiry if o.htlc else 0) for o in commitment.outputs]
    assert keys == sorted(keys)
    assert [o.index for o in commitment.outputs] == list(range(len(commitment.outputs)))
    for index, htlc_tx in enumerate(commitment.htlc_txs):
        assert htlc_tx.tx.inputs[0].prevout.index == htlc_tx.commitment_output_index
        if index:
            assert htlc_tx.commitment_output_index > commitment.htlc_txs[index - 1].commitment_output_index


@settings(max_examples=60, deadline=None)
@given(states())
def test_real_weight_matches_the_expected_weight_formula(state: State) -> None:
    commitment = build(state)
    local_sig = sign_commitment(commitment, ALICE.funding_privkey)
    remote_sig = sign_commitment(commitment, BOB.funding_privkey)
    signed = finalize_commitment(
        commitment,
        state.params.local_funding_pubkey,
        local_sig,
        state.params.remote_funding_pubkey,
        remote_sig,
    )
    channel_type = state.params.channel_type
    untrimmed = sum(1 for o in commitment.outputs if o.htlc is not None)
    kinds = {o.kind for o in commitment.outputs}
    # BOLT 3 "Fee Calculation": the expected weight assumes 73-byte signatures, both to_local and to_remote
    # (and, with anchors, both anchors) present, and a fixed-size output count (Appendix A).
    missing_bytes = 0
    if OutputKind.TO_LOCAL not in kinds:
        missing_bytes += P2WSH_OUTPUT_BYTES
    if OutputKind.TO_REMOTE not in kinds:
        missing_bytes += P2WSH_OUTPUT_BYTES if channel_type is ChannelType.ANCHORS else P2WPKH_OUTPUT_BYTES
    if channel_type is ChannelType.ANCHORS:
        missing_bytes += P2WSH_OUTPUT_BYTES * len({OutputKind.LOCAL_ANCHOR, OutputKind.REMOTE_ANCHOR} - kinds)
    count_bytes = EXPECTED_OUTPUT_COUNT_BYTES[channel_type] - len(compact_size(len(commitment.outputs)))
    signature_shortfall = sum(EXPECTED_SIGNATURE_BYTES - (len(sig) + 1) for sig in (local_sig, remote_sig))
    expected = commitment_expected_weight(untrimmed, channel_type)
    assert expected - signed.weight == 4 * (missing_bytes + count_bytes) + signature_shortfall


@settings(max_examples=100, deadline=None)
@given(states())
def test_commitment_number_is_recoverable_from_locktime_and_sequence(state: State) -> None:
    tx = build(state).tx
    assert tx.locktime >> 24 == 0x20
    assert tx.inputs[0].sequence >> 24 == 0x80
    assert commitment_number_from_tx(tx, state.params.obscuring_factor) == state.spec.commitment_number


@settings(max_examples=100, deadline=None)
@given(states())
def test_anchors_exist_exactly_when_their_side_has_an_output_or_any_htlc_is_untrimmed(state: State) -> None:
    commitment = build(state)
    kinds = [o.kind for o in commitment.outputs]
    has_htlcs = any(o.htlc is not None for o in commitment.outputs)
    anchors = state.params.channel_type is ChannelType.ANCHORS
    assert (OutputKind.LOCAL_ANCHOR in kinds) == (anchors and (OutputKind.TO_LOCAL in kinds or has_htlcs))
    assert (OutputKind.REMOTE_ANCHOR in kinds) == (anchors and (OutputKind.TO_REMOTE in kinds or has_htlcs))


@settings(max_examples=100, deadline=None)
@given(states())
def test_htlc_txs_pay_the_htlc_amount_minus_the_spec_fee(state: State) -> None:
    commitment = build(state)
    anchors = state.params.channel_type is ChannelType.ANCHORS
    for htlc_tx in commitment.htlc_txs:
        offered = htlc_tx.htlc.direction is HtlcDirection.OFFERED
        weight = HTLC_TIMEOUT_WEIGHT if offered else HTLC_SUCCESS_WEIGHT
        fee = 0 if anchors else state.spec.feerate_per_kw * weight // 1000
        assert htlc_tx.tx.outputs[0].amount_sat == htlc_tx.htlc.amount_msat // 1000 - fee
        assert htlc_tx.tx.locktime == (htlc_tx.htlc.cltv_expiry if offered else 0)
        assert htlc_tx.tx.inputs[0].sequence == (1 if anchors else 0)


@settings(max_examples=40, deadline=None)
@given(states())
def test_htlc_tx_real_weight_matches_the_expected_weight(state: State) -> None:
    commitment = build(state)
    channel_type = state.params.channel_type
    anchors = channel_type is ChannelType.ANCHORS
    for htlc_tx in commitment.htlc_txs:
        remote_sig = sign_htlc_tx(htlc_tx, BOB.htlc_privkey(POINT), remote_htlc_sighash_type(channel_type))
        local_sig = sign_htlc_tx(htlc_tx, ALICE.htlc_privkey(POINT), SighashType.ALL)
        preimage = bytes(32) if htlc_tx.kind is HtlcTxKind.SUCCESS else None
        signed = finalize_htlc_tx(htlc_tx, remote_sig, local_sig, channel_type, preimage)
        # BOLT 3 Appendix A: 73-byte signatures; HTLC-success is "really 702 (705)" but 703 (706) is used,
        # and its received-HTLC script counts OP_DATA + 4 bytes for the cltv_expiry push.
        shortfall = sum(EXPECTED_SIGNATURE_BYTES - (len(sig) + 1) for sig in (remote_sig, local_sig))
        if htlc_tx.kind is HtlcTxKind.TIMEOUT:
            expected = HTLC_TIMEOUT_WEIGHT_ANCHORS if anchors else HTLC_TIMEOUT_WEIGHT
            assert expected - signed.weight == shortfall
        else:
            expected = HTLC_SUCCESS_WEIGHT_ANCHORS if anchors else HTLC_SUCCESS_WEIGHT
            cltv_push_bytes = len(push_int(htlc_tx.htlc.cltv_expiry))
            assert expected - signed.weight == shortfall + 1 + (1 + 4 - cltv_push_bytes)
