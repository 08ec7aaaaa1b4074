"""BOLT 3 "Fees / Fee Calculation / Example": HTLC fees, trimming, base and actual commitment fee."""

from __future__ import annotations

from collections.abc import Iterator

from harness.vectors import VectorCase, expect_equal, load_json
from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.tx import OutPoint
from reference_node.keys.channel_keys import ChannelKeys, CommitmentKeys
from reference_node.transactions.commitment import build_commitment, obscuring_factor
from reference_node.transactions.fees import (
    HTLC_SUCCESS_WEIGHT,
    HTLC_TIMEOUT_WEIGHT,
    commitment_expected_weight,
    htlc_success_fee_sat,
    htlc_timeout_fee_sat,
)
from reference_node.transactions.types import (
    ChannelParams,
    ChannelType,
    CommitmentSpec,
    Htlc,
    HtlcDirection,
)

BOLT = 3
# The example gives no channel: any funding with whole-satoshi balances well above dust shows its fees.
_FUNDING_SAT = 1_000_000


def _check_fee_example() -> str:
    data = load_json("bolt03/fee-example.json")
    feerate = data["feerate_per_kw"]
    legacy = ChannelType.STATIC_REMOTEKEY
    expect_equal("HTLC-timeout weight", HTLC_TIMEOUT_WEIGHT, data["htlc_timeout_weight"])
    expect_equal("HTLC-success weight", HTLC_SUCCESS_WEIGHT, data["htlc_success_weight"])
    expect_equal("HTLC-timeout fee", htlc_timeout_fee_sat(feerate, legacy), data["htlc_timeout_fee_sat"])
    expect_equal("HTLC-success fee", htlc_success_fee_sat(feerate, legacy), data["htlc_success_fee_sat"])
    expect_equal("start weight", commitment_expected_weight(0, legacy), data["commitment_start_weight"])
    htlcs = tuple(
        Htlc(i, direction, amount_msat, sha256(bytes([i, int(direction is HtlcDirection.OFFERED)])), 500)
        for direction, amounts in (
            (HtlcDirection.OFFERED, data["offered_htlcs_msat"]),
            (HtlcDirection.RECEIVED, data["received_htlcs_msat"]),
        )
        for i, amount_msat in enumerate(amounts)
    )
    local, remote = ChannelKeys.from_seed(sha256(b"local")), ChannelKeys.from_seed(sha256(b"remote"))
    point = local.per_commitment_point(0)
    params = ChannelParams(
        funding_outpoint=OutPoint(sha256(b"funding"), 0),
        funding_amount_sat=_FUNDING_SAT,
        local_funding_pubkey=local.basepoints().funding_pubkey,
        remote_funding_pubkey=remote.basepoints().funding_pubkey,
        to_self_delay=144,
        dust_limit_sat=data["dust_limit_satoshis"],
        holder_is_opener=True,
        obscuring_factor=obscuring_factor(
            local.basepoints().payment_basepoint, remote.basepoints().payment_basepoint
        ),
        channel_type=legacy,
    )
    to_remote_msat = _FUNDING_SAT * 1000 // 2
    spec = CommitmentSpec(
        0,
        _FUNDING_SAT * 1000 - to_remote_msat - sum(h.amount_msat for h in htlcs),
        to_remote_msat,
        feerate,
        htlcs,
    )
    commitment = build_commitment(
        params, spec, CommitmentKeys.derive(point, local.basepoints(), remote.basepoints())
    )
    untrimmed = sum(1 for o in commitment.outputs if o.htlc is not None)
    expect_equal(
        "commitment weight", commitment_expected_weight(untrimmed, legacy), data["commitment_weight"]
    )
    trimmed = sorted((h.direction.value, h.amount_sat) for h in commitment.trimmed_htlcs)
    expected_trimmed = sorted((t["direction"], t["amount_sat"]) for t in data["trimmed_htlcs_sat"])
    expect_equal("trimmed HTLCs", trimmed, expected_trimmed)
    expect_equal("base fee", commitment.base_fee_sat, data["base_fee_sat"])
    expect_equal("actual fee", commitment.fee_sat, data["actual_fee_sat"])
    return f"base fee {commitment.base_fee_sat} sat, actual fee {commitment.fee_sat} sat"


def cases() -> Iterator[VectorCase]:
    yield VectorCase(BOLT, "fees/fee calculation example", _check_fee_example)
