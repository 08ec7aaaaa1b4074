"""The channel reserve switches of `Policy` (BOLT 2 `update_add_htlc`, "while maintaining its channel
reserve"): `enforce_sender_reserve` for the HTLCs we offer (off: they only have to leave us able to pay
the commitment fee), `enforce_receiver_reserve` for those we accept (off: the receiver's "cannot afford"
rule is not checked; only an HTLC beyond the sender's whole balance is refused). On in a real node."""

from __future__ import annotations

import dataclasses

import pytest

from reference_node.channel import ChannelFailed, ChannelState, HtlcReceived, fees
from reference_node.channel import errors as e
from reference_node.channel.messages import UpdateAddHtlc
from tests.test_channel_support import ChannelPair, SideState

FUNDING_SAT = 1_000_000
FEERATE_PER_KW = 2500
RESERVE_SAT = 10_000  # default_params(): the reserve each side asks of the other


def _below_reserve_msat(kept_sat: int) -> int:
    """An HTLC the funder A (all the funding, no anchors) may offer only to keep `kept_sat` after paying
    the commitment fee with that one HTLC (BOLT 3 weight)."""
    fee_sat = fees.funder_cost_sat(FEERATE_PER_KW, 1, False)
    return (FUNDING_SAT - fee_sat - kept_sat) * 1000


def _switch(side: SideState, **switches: bool) -> None:
    side.channel.policy = dataclasses.replace(side.channel.policy, **switches)


def _failure_of(side: SideState) -> e.ChannelError:
    failed = [event for event in side.events if isinstance(event, ChannelFailed)]
    assert len(failed) == 1, f"{side.name} failed the channel {len(failed)} times"
    return failed[0].error


def test_the_reserve_switches_are_on_by_default() -> None:
    policy = ChannelPair(auto_open=False).policy
    assert policy.enforce_sender_reserve and policy.enforce_receiver_reserve


def test_funder_refuses_an_htlc_that_leaves_it_below_its_reserve() -> None:
    pair = ChannelPair(feerate_per_kw=FEERATE_PER_KW)
    with pytest.raises(e.CommandRejected, match="reserve"):
        pair.add(pair.a, _below_reserve_msat(RESERVE_SAT // 2), 1)
    assert not any(isinstance(m, UpdateAddHtlc) for m in pair.a.sent)


def test_sender_switch_off_offers_an_htlc_below_the_reserve_and_an_honest_peer_fails_the_channel() -> None:
    pair = ChannelPair(feerate_per_kw=FEERATE_PER_KW)
    _switch(pair.a, enforce_sender_reserve=False)
    pair.add(pair.a, _below_reserve_msat(RESERVE_SAT // 2), 1)
    assert sum(isinstance(m, UpdateAddHtlc) for m in pair.a.sent) == 1
    pair.pump()
    assert type(_failure_of(pair.b)) is e.HtlcSenderCannotAfford
    assert pair.b.channel.state is ChannelState.FAILED


def test_sender_switch_off_still_refuses_an_htlc_whose_fee_the_funder_cannot_pay() -> None:
    pair = ChannelPair(feerate_per_kw=FEERATE_PER_KW)
    _switch(pair.a, enforce_sender_reserve=False)
    with pytest.raises(e.CommandRejected):
        pair.add(pair.a, _below_reserve_msat(-1), 1)  # one sat short of the fee


def test_sender_switch_off_lets_the_non_funder_spend_into_its_reserve() -> None:
    pair = ChannelPair(feerate_per_kw=FEERATE_PER_KW, push_msat=15_000_000)  # B has 15_000 sat
    with pytest.raises(e.CommandRejected):
        pair.add(pair.b, 9_000_000, 1)  # would leave B 6_000 sat, below A's 10_000 sat reserve
    _switch(pair.b, enforce_sender_reserve=False)
    pair.add(pair.b, 9_000_000, 1)
    pair.pump()
    assert type(_failure_of(pair.a)) is e.HtlcSenderCannotAfford


def test_sender_switch_leaves_the_other_sender_limits_in_place() -> None:
    pair = ChannelPair(feerate_per_kw=FEERATE_PER_KW)
    _switch(pair.a, enforce_sender_reserve=False)
    with pytest.raises(e.CommandRejected, match="500000000"):
        pair.add(pair.a, 1_000_000, 1, cltv_expiry=500_000_000)


def test_receiver_switch_off_accepts_an_htlc_that_leaves_the_sender_below_its_reserve() -> None:
    pair = ChannelPair(feerate_per_kw=FEERATE_PER_KW)
    _switch(pair.a, enforce_sender_reserve=False)
    _switch(pair.b, enforce_receiver_reserve=False)
    amount_msat = _below_reserve_msat(RESERVE_SAT // 2)
    pair.add(pair.a, amount_msat, 1)
    pair.commit(pair.a)
    pair.pump()
    assert pair.is_normal()
    assert [r.amount_msat for r in pair.events_of(pair.b, HtlcReceived)] == [amount_msat]


def test_receiver_switch_off_accepts_an_htlc_whose_fee_the_sender_cannot_pay() -> None:
    # the receiver rule is one sentence ("cannot afford at the current feerate_per_kw (while
    # maintaining its channel reserve ...)"): off, it is not checked at all
    pair = ChannelPair(feerate_per_kw=FEERATE_PER_KW)
    _switch(pair.a, enforce_sender_limits=False)
    _switch(pair.b, enforce_receiver_reserve=False)
    pair.add(pair.a, _below_reserve_msat(-1), 1)  # one sat short of the fee
    pair.commit(pair.a)
    pair.pump()
    assert pair.is_normal()
    assert len(pair.events_of(pair.b, HtlcReceived)) == 1


def test_receiver_switch_off_still_fails_an_htlc_beyond_the_senders_whole_balance() -> None:
    pair = ChannelPair(feerate_per_kw=FEERATE_PER_KW)
    _switch(pair.a, enforce_sender_limits=False)
    _switch(pair.b, enforce_receiver_reserve=False)
    pair.add(pair.a, FUNDING_SAT * 1000 + 1, 1)
    pair.pump()
    assert type(_failure_of(pair.b)) is e.HtlcSenderCannotAfford


def test_the_sender_switch_alone_does_not_relax_what_we_accept() -> None:
    pair = ChannelPair(feerate_per_kw=FEERATE_PER_KW, push_msat=15_000_000)
    _switch(pair.a, enforce_sender_reserve=False)  # A's switch is about A's own HTLCs only
    _switch(pair.b, enforce_sender_reserve=False)
    pair.add(pair.b, 9_000_000, 1)
    pair.pump()
    assert type(_failure_of(pair.a)) is e.HtlcSenderCannotAfford
