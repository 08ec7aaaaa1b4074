"""What we refuse to send (BOLT 2 sender requirements) and the events the payment layer receives."""

from __future__ import annotations

import dataclasses

import pytest

from reference_node.channel import ChannelFailed, HtlcFailed, HtlcReceived, HtlcResolved
from reference_node.channel import errors as e
from reference_node.channel.params import Policy
from tests.test_channel_support import (
    ONION,
    REGTEST_CHAIN_HASH,
    ChannelPair,
    default_params,
    hash_of,
    preimage_of,
)


def add(pair: ChannelPair, amount_msat: int, cltv_expiry: int = 600, from_b: bool = False) -> None:
    side = pair.b if from_b else pair.a
    side.channel.add_htlc(amount_msat, hash_of(preimage_of(1)), cltv_expiry, ONION)


def test_zero_amount_is_refused() -> None:
    with pytest.raises(e.CommandRejected):
        add(ChannelPair(), 0)


def test_amount_below_the_peers_htlc_minimum_is_refused() -> None:
    pair = ChannelPair(accepter_params=dataclasses.replace(default_params(), htlc_minimum_msat=10_000))
    with pytest.raises(e.CommandRejected):
        add(pair, 9_999)


def test_cltv_expiry_in_seconds_is_refused() -> None:
    with pytest.raises(e.CommandRejected):
        add(ChannelPair(), 1_000_000, cltv_expiry=500_000_000)


def test_more_htlcs_than_the_peer_accepts_are_refused() -> None:
    pair = ChannelPair(accepter_params=dataclasses.replace(default_params(), max_accepted_htlcs=3))
    for _ in range(3):
        add(pair, 1_000_000)
    with pytest.raises(e.CommandRejected):
        add(pair, 1_000_000)


def test_value_in_flight_above_the_peers_maximum_is_refused() -> None:
    limits = dataclasses.replace(default_params(), max_htlc_value_in_flight_msat=5_000_000)
    pair = ChannelPair(accepter_params=limits)
    add(pair, 3_000_000)
    with pytest.raises(e.CommandRejected):
        add(pair, 2_000_001)


def test_non_funder_cannot_spend_into_its_reserve() -> None:
    pair = ChannelPair(push_msat=15_000_000)  # B must keep A's 10_000 sat reserve
    add(pair, 5_000_000, from_b=True)
    with pytest.raises(e.CommandRejected):
        add(pair, 1, from_b=True)


@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
def test_funder_keeps_fee_anchors_reserve_and_fee_spike_buffer(anchors: bool) -> None:
    pair = ChannelPair(anchors=anchors, push_msat=900_000_000, feerate_per_kw=2500)
    # A keeps 100_000 sat: reserve 10_000, the commitment fee with one more HTLC at 2x the feerate,
    # and (anchors) 660 sat of anchors
    untrimmed_after = 2  # the new HTLC, plus one more for the fee spike buffer
    weight = (1124 if anchors else 724) + 172 * untrimmed_after
    cost_sat = 2 * 2500 * weight // 1000 + (660 if anchors else 0)
    room_msat = (100_000 - 10_000 - cost_sat) * 1000
    with pytest.raises(e.CommandRejected):
        add(pair, room_msat + 1_000)
    add(pair, room_msat)


def test_update_fee_the_funder_cannot_pay_is_refused() -> None:
    policy = Policy(chain_hashes=frozenset({REGTEST_CHAIN_HASH}), max_feerate_per_kw=10_000_000)
    pair = ChannelPair(push_msat=995_000_000, policy=policy)
    with pytest.raises(e.CommandRejected):
        pair.a.channel.update_fee(1_000_000)


def test_dust_htlcs_beyond_the_exposure_limit_are_refused() -> None:
    policy = Policy(chain_hashes=frozenset({REGTEST_CHAIN_HASH}), max_dust_htlc_exposure_msat=1_000_000)
    pair = ChannelPair(policy=policy)
    add(pair, 400_000)  # 400 sat: trimmed against a 546 sat dust limit
    add(pair, 400_000)
    with pytest.raises(e.CommandRejected):
        add(pair, 400_000)
    add(pair, 5_000_000)  # not dust: no exposure


def test_received_dust_htlc_beyond_exposure_is_flagged_for_failure() -> None:
    generous = Policy(chain_hashes=frozenset({REGTEST_CHAIN_HASH}))
    pair = ChannelPair(policy=generous)
    pair.b.channel.policy = dataclasses.replace(generous, max_dust_htlc_exposure_msat=500_000)
    for n in range(2):
        pair.add(pair.a, 400_000, n)
    pair.commit(pair.a)
    pair.pump()
    received = pair.events_of(pair.b, HtlcReceived)
    assert [r.exceeds_dust_exposure for r in received] == [True, True]


def test_failed_htlc_is_reported_once_irrevocably_removed() -> None:
    pair = ChannelPair()
    htlc_id = pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    pair.pump()
    pair.apply(pair.b, pair.b.channel.fail_htlc(htlc_id, b"onion error"))
    pair.deliver(pair.a)
    assert pair.events_of(pair.a, HtlcFailed) == []  # not yet committed
    pair.commit(pair.b)
    pair.pump()
    failed = pair.events_of(pair.a, HtlcFailed)
    assert [(f.htlc_id, f.reason) for f in failed] == [(htlc_id, b"onion error")]
    resolved = pair.events_of(pair.a, HtlcResolved)
    assert [(r.htlc_id, r.offered_by_us, r.fulfilled) for r in resolved] == [(htlc_id, True, False)]
    assert pair.a.channel.balances_msat() == (1_000_000_000, 0)


def test_adversarial_switch_sends_what_the_peer_must_refuse() -> None:
    """With `enforce_sender_limits` off (harness fault), A offers an HTLC breaking B's reserve rule and
    B, an honest receiver, fails the channel."""
    pair = ChannelPair(push_msat=15_000_000)
    pair.b.channel.policy = dataclasses.replace(pair.b.channel.policy, enforce_sender_limits=False)
    pair.add(pair.b, 9_000_000, 1)
    pair.pump()
    failed = [a for a in pair.a.events if isinstance(a, ChannelFailed)]
    assert type(failed[0].error) is e.HtlcSenderCannotAfford


def test_update_fee_that_trims_htlcs_beyond_the_dust_exposure_is_refused() -> None:
    policy = Policy(chain_hashes=frozenset({REGTEST_CHAIN_HASH}), max_dust_htlc_exposure_msat=5_000_000)
    pair = ChannelPair(policy=policy)
    for n in range(2):
        pair.add(pair.a, 3_000_000, n)  # 3000 sat: above the dust limit plus HTLC fees at 2500 sat/kw
    pair.commit(pair.a)
    pair.pump()
    with pytest.raises(e.CommandRejected):
        pair.a.channel.update_fee(5_000)  # HTLC-timeout fee 3315 sat: both trimmed, 6_000_000 msat of dust
    pair.apply(pair.a, pair.a.channel.update_fee(2_600))
