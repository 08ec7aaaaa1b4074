"""BOLT 3 "Fees" and "Trimmed Outputs" arithmetic the channel needs for its checks.

The transactions package builds the actual transactions; the channel must agree with it on which HTLCs are
trimmed and what the base fee is, because `num_htlcs` in commitment_signed and every affordability check
(BOLT 2 update_add_htlc / update_fee) depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass

# BOLT 3 "Fee Calculation" expected weights
COMMITMENT_WEIGHT_LEGACY = 724
COMMITMENT_WEIGHT_ANCHORS = 1124
HTLC_OUTPUT_WEIGHT = 172
HTLC_TIMEOUT_WEIGHT_LEGACY = 663
HTLC_SUCCESS_WEIGHT_LEGACY = 703
# BOLT 3 `to_local_anchor` and `to_remote_anchor`: "fixed at 330 sats"
ANCHOR_OUTPUT_SAT = 330
# BOLT 2: "`dust_limit_satoshis` is smaller than `354 satoshis`" fails the channel
MIN_DUST_LIMIT_SATOSHIS = 354
MAX_ACCEPTED_HTLCS_LIMIT = 483
# BOLT 2 update_add_htlc: "MUST set `cltv_expiry` less than 500000000"
CLTV_EXPIRY_LIMIT = 500_000_000
# BOLT 2 open_channel: 2^24 satoshi without option_support_large_channel
LARGE_CHANNEL_SATOSHIS = 1 << 24


def htlc_timeout_fee_sat(feerate_per_kw: int, anchors: bool) -> int:
    # "If `option_anchors` applies: MUST be 0."
    return 0 if anchors else feerate_per_kw * HTLC_TIMEOUT_WEIGHT_LEGACY // 1000


def htlc_success_fee_sat(feerate_per_kw: int, anchors: bool) -> int:
    return 0 if anchors else feerate_per_kw * HTLC_SUCCESS_WEIGHT_LEGACY // 1000


def is_trimmed(
    amount_msat: int, offered_by_holder: bool, dust_limit_satoshis: int, feerate_per_kw: int, anchors: bool
) -> bool:
    """BOLT 3 "Trimmed Outputs": amount minus the second-stage fee below the holder's dust limit."""
    second_stage_fee = (
        htlc_timeout_fee_sat(feerate_per_kw, anchors)
        if offered_by_holder
        else htlc_success_fee_sat(feerate_per_kw, anchors)
    )
    return amount_msat // 1000 < dust_limit_satoshis + second_stage_fee


def commitment_fee_sat(feerate_per_kw: int, untrimmed_htlcs: int, anchors: bool) -> int:
    base = COMMITMENT_WEIGHT_ANCHORS if anchors else COMMITMENT_WEIGHT_LEGACY
    return feerate_per_kw * (base + HTLC_OUTPUT_WEIGHT * untrimmed_htlcs) // 1000


def funder_cost_sat(feerate_per_kw: int, untrimmed_htlcs: int, anchors: bool) -> int:
    """What BOLT 3 "Fee Payment" takes from the funder: the base fee plus both anchors."""
    anchors_sat = 2 * ANCHOR_OUTPUT_SAT if anchors else 0
    return commitment_fee_sat(feerate_per_kw, untrimmed_htlcs, anchors) + anchors_sat


@dataclass(frozen=True)
class HtlcAmount:
    amount_msat: int
    offered_by_holder: bool


def untrimmed_count(
    htlcs: list[HtlcAmount], dust_limit_satoshis: int, feerate_per_kw: int, anchors: bool
) -> int:
    return sum(
        1
        for h in htlcs
        if not is_trimmed(h.amount_msat, h.offered_by_holder, dust_limit_satoshis, feerate_per_kw, anchors)
    )


def dust_exposure_msat(
    htlcs: list[HtlcAmount], dust_limit_satoshis: int, feerate_per_kw: int, anchors: bool
) -> int:
    """BOLT 2 `max_dust_htlc_exposure_msat`: the total of HTLCs trimmed from one commitment."""
    return sum(
        h.amount_msat
        for h in htlcs
        if is_trimmed(h.amount_msat, h.offered_by_holder, dust_limit_satoshis, feerate_per_kw, anchors)
    )
