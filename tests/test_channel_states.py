"""The channel's states and transitions live in one table; anything else is refused."""

from __future__ import annotations

import pytest

from reference_node.channel import TRANSITIONS, ChannelFailed, ChannelState, IllegalTransition
from reference_node.channel import errors as e
from reference_node.channel.messages import ClosingSigned, FundingCreated
from reference_node.channel.states import check_transition
from tests.test_channel_support import ChannelPair


def test_every_state_has_a_row_in_the_table() -> None:
    assert set(TRANSITIONS) == set(ChannelState)
    for targets in TRANSITIONS.values():
        assert targets <= set(ChannelState)


def test_terminal_states_have_no_way_out() -> None:
    assert TRANSITIONS[ChannelState.CLOSED] == frozenset()
    assert TRANSITIONS[ChannelState.FAILED] == frozenset()


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (ChannelState.OPENER_INIT, ChannelState.NORMAL),
        (ChannelState.NORMAL, ChannelState.AWAITING_CHANNEL_READY),
        (ChannelState.CLOSED, ChannelState.NORMAL),
        (ChannelState.FAILED, ChannelState.NORMAL),
        (ChannelState.NORMAL, ChannelState.CLOSED),
    ],
)
def test_a_transition_missing_from_the_table_raises(source: ChannelState, target: ChannelState) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(source, target, "test")
    assert info.value.source is source and info.value.target is target


def test_a_message_out_of_order_fails_the_channel() -> None:
    pair = ChannelPair()
    stray = FundingCreated(pair.a.channel.data.temporary_channel_id, bytes(32), 0, bytes(64))
    actions = pair.b.channel.handle(stray)
    failures = [a for a in actions if isinstance(a, ChannelFailed)]
    assert type(failures[0].error) is e.UnexpectedMessage
    assert pair.b.channel.state is ChannelState.FAILED


def test_closing_signed_before_shutdown_fails_the_channel() -> None:
    pair = ChannelPair()
    actions = pair.b.channel.handle(ClosingSigned(pair.b.channel.channel_id, 1000, bytes(64)))
    assert any(isinstance(a, ChannelFailed) for a in actions)


def test_a_failed_channel_ignores_further_messages() -> None:
    pair = ChannelPair()
    pair.b.channel.handle(ClosingSigned(pair.b.channel.channel_id, 1000, bytes(64)))
    assert pair.b.channel.handle(ClosingSigned(pair.b.channel.channel_id, 1000, bytes(64))) == []


def test_commands_in_the_wrong_state_are_rejected_without_changing_anything() -> None:
    pair = ChannelPair(auto_open=False)
    before = pair.a.channel.to_json()
    with pytest.raises(e.CommandRejected):
        pair.a.channel.add_htlc(1000, bytes(32), 100, bytes(1366))
    with pytest.raises(e.CommandRejected):
        pair.a.channel.shutdown()
    assert pair.a.channel.to_json() == before
