"""The BOLT 3 "Fees" / "Trimmed Outputs" arithmetic the channel's checks need, over
reference_node.transactions.fees (the same code that builds the transactions, so `num_htlcs` and every
affordability check agree with the commitment actually signed)."""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.transactions import fees as bolt3_fees
from reference_node.transactions.types import ChannelType as TxChannelType
from reference_node.transactions.types import Htlc, HtlcDirection

ANCHOR_OUTPUT_SAT = bolt3_fees.ANCHOR_OUTPUT_SAT
# BOLT 2 open_channel: "`dust_limit_satoshis` is smaller than `354 satoshis`" fails the channel
MIN_DUST_LIMIT_SATOSHIS = 354
# BOLT 2: "`max_accepted_htlcs` is greater than 483"
MAX_ACCEPTED_HTLCS_LIMIT = 483
# BOLT 2 update_add_htlc: "MUST set `cltv_expiry` less than 500000000"
CLTV_EXPIRY_LIMIT = 500_000_000
# BOLT 2 open_channel: 2^24 satoshi without option_support_large_channel
LARGE_CHANNEL_SATOSHIS = 1 << 24


def tx_channel_type(anchors: bool) -> TxChannelType:
    return TxChannelType.ANCHORS if anchors else TxChannelType.STATIC_REMOTEKEY


@dataclass(frozen=True)
class HtlcAmount:
    amount_msat: int
    offered_by_holder: bool


def is_trimmed(
    amount_msat: int, offered_by_holder: bool, dust_limit_satoshis: int, feerate_per_kw: int, anchors: bool
) -> bool:
    direction = HtlcDirection.OFFERED if offered_by_holder else HtlcDirection.RECEIVED
    htlc = Htlc(0, direction, amount_msat, bytes(32), 0)
    return bolt3_fees.is_trimmed(htlc, feerate_per_kw, dust_limit_satoshis, tx_channel_type(anchors))


def commitment_fee_sat(feerate_per_kw: int, untrimmed_htlcs: int, anchors: bool) -> int:
    return bolt3_fees.commitment_base_fee_sat(feerate_per_kw, untrimmed_htlcs, tx_channel_type(anchors))


def funder_cost_sat(feerate_per_kw: int, untrimmed_htlcs: int, anchors: bool) -> int:
    """What BOLT 3 "Fee Payment" takes from the funder: the base fee plus both anchors."""
    anchors_sat = 2 * ANCHOR_OUTPUT_SAT if anchors else 0
    return commitment_fee_sat(feerate_per_kw, untrimmed_htlcs, anchors) + anchors_sat


def _trim_thresholds_sat(dust_limit_satoshis: int, feerate_per_kw: int, anchors: bool) -> tuple[int, int]:
    """(offered, received): an HTLC whose whole-satoshi amount is below its threshold is trimmed
    (BOLT 3 "Trimmed Outputs": amount minus the HTLC-timeout/-success fee below the dust limit)."""
    channel_type = tx_channel_type(anchors)
    return (
        dust_limit_satoshis + bolt3_fees.htlc_timeout_fee_sat(feerate_per_kw, channel_type),
        dust_limit_satoshis + bolt3_fees.htlc_success_fee_sat(feerate_per_kw, channel_type),
    )


def untrimmed_count(
    htlcs: list[HtlcAmount], dust_limit_satoshis: int, feerate_per_kw: int, anchors: bool
) -> int:
    offered, received = _trim_thresholds_sat(dust_limit_satoshis, feerate_per_kw, anchors)
    return sum(1 for h in htlcs if h.amount_msat // 1000 >= (offered if h.offered_by_holder else received))


def dust_exposure_msat(
    htlcs: list[HtlcAmount], dust_limit_satoshis: int, feerate_per_kw: int, anchors: bool
) -> int:
    """BOLT 2 `max_dust_htlc_exposure_msat`: the total of HTLCs trimmed from one commitment."""
    offered, received = _trim_thresholds_sat(dust_limit_satoshis, feerate_per_kw, anchors)
    return sum(
        h.amount_msat for h in htlcs if h.amount_msat // 1000 < (offered if h.offered_by_holder else received)
    )
