"""The channel's trimming arithmetic agrees with the BOLT 3 transaction builder's, HTLC by HTLC."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import given

from reference_node.channel import fees
from reference_node.transactions import fees as bolt3_fees
from reference_node.transactions.types import Htlc, HtlcDirection


@given(
    amounts_msat=st.lists(st.integers(0, 50_000_000), max_size=30),
    offered=st.lists(st.booleans(), min_size=30, max_size=30),
    dust_limit_satoshis=st.integers(354, 20_000),
    feerate_per_kw=st.integers(253, 50_000),
    anchors=st.booleans(),
)
def test_untrimmed_count_and_dust_exposure_match_bolt3(
    amounts_msat: list[int], offered: list[bool], dust_limit_satoshis: int, feerate_per_kw: int, anchors: bool
) -> None:
    htlcs = [fees.HtlcAmount(a, o) for a, o in zip(amounts_msat, offered, strict=False)]
    channel_type = fees.tx_channel_type(anchors)
    trimmed = [
        bolt3_fees.is_trimmed(
            Htlc(
                0,
                HtlcDirection.OFFERED if h.offered_by_holder else HtlcDirection.RECEIVED,
                h.amount_msat,
                bytes(32),
                0,
            ),
            feerate_per_kw,
            dust_limit_satoshis,
            channel_type,
        )
        for h in htlcs
    ]
    assert fees.untrimmed_count(htlcs, dust_limit_satoshis, feerate_per_kw, anchors) == trimmed.count(False)
    exposure = sum(h.amount_msat for h, t in zip(htlcs, trimmed, strict=True) if t)
    assert fees.dust_exposure_msat(htlcs, dust_limit_satoshis, feerate_per_kw, anchors) == exposure
    for h, t in zip(htlcs, trimmed, strict=True):
        assert (
            fees.is_trimmed(h.amount_msat, h.offered_by_holder, dust_limit_satoshis, feerate_per_kw, anchors)
            == t
        )
