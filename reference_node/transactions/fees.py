"""BOLT 3 "Fees": expected weights, HTLC transaction fees, commitment base fee, trimming."""

from __future__ import annotations

from reference_node.transactions.types import ChannelType, Htlc, HtlcDirection

# BOLT 3 "Fee Calculation" (details in Appendix A: Expected Weights).
COMMITMENT_BASE_WEIGHT = 724
COMMITMENT_BASE_WEIGHT_ANCHORS = 1124
HTLC_OUTPUT_WEIGHT = 172
HTLC_TIMEOUT_WEIGHT = 663
HTLC_TIMEOUT_WEIGHT_ANCHORS = 666
HTLC_SUCCESS_WEIGHT = 703
HTLC_SUCCESS_WEIGHT_ANCHORS = 706
# BOLT 3 "to_local_anchor and to_remote_anchor Output": fixed at 330 sats, the P2WSH dust limit.
ANCHOR_OUTPUT_SAT = 330


def fee_for_weight(feerate_per_kw: int, weight: int) -> int:
    """`feerate_per_kw` times `weight`, divided by 1000, rounding down."""
    return feerate_per_kw * weight // 1000


def htlc_timeout_fee_sat(feerate_per_kw: int, channel_type: ChannelType) -> int:
    """Zero-fee HTLC transactions with option_anchors (the fee comes from attached inputs)."""
    if channel_type.option_anchors:
        return 0
    return fee_for_weight(feerate_per_kw, HTLC_TIMEOUT_WEIGHT)


def htlc_success_fee_sat(feerate_per_kw: int, channel_type: ChannelType) -> int:
    if channel_type.option_anchors:
        return 0
    return fee_for_weight(feerate_per_kw, HTLC_SUCCESS_WEIGHT)


def htlc_tx_fee_sat(direction: HtlcDirection, feerate_per_kw: int, channel_type: ChannelType) -> int:
    """Offered HTLCs (from the holder's view) resolve by HTLC-timeout, received ones by HTLC-success."""
    if direction is HtlcDirection.OFFERED:
        return htlc_timeout_fee_sat(feerate_per_kw, channel_type)
    return htlc_success_fee_sat(feerate_per_kw, channel_type)


def is_trimmed(htlc: Htlc, feerate_per_kw: int, dust_limit_sat: int, channel_type: ChannelType) -> bool:
    """BOLT 3 "Trimmed Outputs": trimmed if the amount (whole satoshis) minus the second-stage fee is
    below the holder's dust_limit_satoshis."""
    fee = htlc_tx_fee_sat(htlc.direction, feerate_per_kw, channel_type)
    return htlc.amount_msat // 1000 - fee < dust_limit_sat


def commitment_expected_weight(num_untrimmed_htlcs: int, channel_type: ChannelType) -> int:
    base = COMMITMENT_BASE_WEIGHT_ANCHORS if channel_type.option_anchors else COMMITMENT_BASE_WEIGHT
    return base + HTLC_OUTPUT_WEIGHT * num_untrimmed_htlcs


def commitment_base_fee_sat(feerate_per_kw: int, num_untrimmed_htlcs: int, channel_type: ChannelType) -> int:
    """BOLT 3 "The base fee for a commitment transaction"."""
    return fee_for_weight(feerate_per_kw, commitment_expected_weight(num_untrimmed_htlcs, channel_type))
