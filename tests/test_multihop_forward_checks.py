"""BOLT 4 forwarding-node checks (reference_node/forwarding/checks.py), one failure per test, with the
fee boundary of BOLT 7 "HTLC Fees" checked by hypothesis."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reference_node.forwarding.checks import (
    ForwardLimits,
    IncomingForward,
    OutgoingChannel,
    check_forward,
)
from reference_node.gossip.announcements import ChannelPolicy
from reference_node.onion.failure_messages import FailureCode

HEIGHT = 1_000
POLICY = ChannelPolicy(
    cltv_expiry_delta=40,
    htlc_minimum_msat=1_000,
    htlc_maximum_msat=10**10,
    fee_base_msat=1_000,
    fee_proportional_millionths=100,
)
UPDATE = b"\x01\x02" + bytes(10)  # stands for our serialized channel_update


def outgoing(**changes: object) -> OutgoingChannel:
    values: dict[str, object] = {
        "short_channel_id": 42,
        "policy": POLICY,
        "usable": True,
        "disabled": False,
        "spendable_msat": 10**9,
        "channel_update": UPDATE,
    }
    values.update(changes)
    return OutgoingChannel(**values)  # type: ignore[arg-type]


def htlc(
    amt_to_forward_msat: int = 1_000_000, outgoing_cltv_value: int = HEIGHT + 100, **changes: int
) -> IncomingForward:
    amount = amt_to_forward_msat + POLICY.fee_msat(amt_to_forward_msat)
    values = {
        "amount_msat": amount,
        "cltv_expiry": outgoing_cltv_value + POLICY.cltv_expiry_delta,
        "amt_to_forward_msat": amt_to_forward_msat,
        "outgoing_cltv_value": outgoing_cltv_value,
    }
    values.update(changes)
    return IncomingForward(**values)


def test_a_forward_paying_the_advertised_fee_and_delta_passes() -> None:
    assert check_forward(htlc(), outgoing(), HEIGHT) is None


def test_no_channel_for_the_short_channel_id_is_unknown_next_peer() -> None:
    failure = check_forward(htlc(), None, HEIGHT)
    assert failure is not None and failure.code is FailureCode.unknown_next_peer


def test_one_msat_short_of_the_fee_is_fee_insufficient_with_incoming_amount_and_update() -> None:
    request = htlc()
    short = IncomingForward(
        request.amount_msat - 1, request.cltv_expiry, request.amt_to_forward_msat, request.outgoing_cltv_value
    )
    failure = check_forward(short, outgoing(), HEIGHT)
    assert failure is not None and failure.code is FailureCode.fee_insufficient
    # "report the amount of the incoming HTLC and the current channel setting for the outgoing channel"
    assert failure.htlc_msat == short.amount_msat and failure.channel_update == UPDATE


def test_a_delta_one_block_short_is_incorrect_cltv_expiry_with_outgoing_cltv() -> None:
    request = htlc()
    short = IncomingForward(
        request.amount_msat, request.cltv_expiry - 1, request.amt_to_forward_msat, request.outgoing_cltv_value
    )
    failure = check_forward(short, outgoing(), HEIGHT)
    assert failure is not None and failure.code is FailureCode.incorrect_cltv_expiry
    assert failure.cltv_expiry == short.outgoing_cltv_value and failure.channel_update == UPDATE


def test_an_outgoing_expiry_near_the_present_is_expiry_too_soon() -> None:
    failure = check_forward(
        htlc(outgoing_cltv_value=HEIGHT + 1), outgoing(), HEIGHT, ForwardLimits(min_blocks_to_expiry=6)
    )
    assert failure is not None and failure.code is FailureCode.expiry_too_soon
    assert failure.channel_update == UPDATE


def test_an_expiry_beyond_max_htlc_cltv_is_expiry_too_far() -> None:
    failure = check_forward(
        htlc(outgoing_cltv_value=HEIGHT + 5_000), outgoing(), HEIGHT, ForwardLimits(max_htlc_cltv_blocks=2016)
    )
    assert failure is not None and failure.code is FailureCode.expiry_too_far


def test_an_amount_below_htlc_minimum_is_amount_below_minimum_with_outgoing_amount() -> None:
    failure = check_forward(htlc(amt_to_forward_msat=999), outgoing(), HEIGHT)
    assert failure is not None and failure.code is FailureCode.amount_below_minimum
    assert failure.htlc_msat == 999


def test_a_disabled_channel_is_channel_disabled() -> None:
    failure = check_forward(htlc(), outgoing(disabled=True), HEIGHT)
    assert failure is not None and failure.code is FailureCode.channel_disabled


def test_an_unusable_channel_is_temporary_channel_failure() -> None:
    failure = check_forward(htlc(), outgoing(usable=False), HEIGHT)
    assert failure is not None and failure.code is FailureCode.temporary_channel_failure
    assert failure.channel_update == UPDATE


def test_more_than_the_spendable_balance_is_temporary_channel_failure() -> None:
    failure = check_forward(htlc(amt_to_forward_msat=2_000_000), outgoing(spendable_msat=1_999_999), HEIGHT)
    assert failure is not None and failure.code is FailureCode.temporary_channel_failure


@given(st.integers(min_value=1_000, max_value=10**10), st.integers(min_value=-5, max_value=5))
def test_the_fee_check_accepts_exactly_the_advertised_fee_or_more(
    amt_to_forward_msat: int, extra_msat: int
) -> None:
    fee = POLICY.fee_base_msat + amt_to_forward_msat * POLICY.fee_proportional_millionths // 1_000_000
    request = htlc(amt_to_forward_msat=amt_to_forward_msat)
    offered = IncomingForward(
        amt_to_forward_msat + fee + extra_msat,
        request.cltv_expiry,
        amt_to_forward_msat,
        request.outgoing_cltv_value,
    )
    failure = check_forward(offered, outgoing(spendable_msat=10**11), HEIGHT)
    if extra_msat >= 0:
        assert failure is None
    else:
        assert failure is not None and failure.code is FailureCode.fee_insufficient
