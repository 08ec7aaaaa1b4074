"""channel_reestablish after a disconnection or a restart (BOLT 2 "Message Retransmission")."""

from __future__ import annotations

import dataclasses

import pytest

from reference_node.channel import ChannelFailed, ChannelState, HtlcReceived, SendMessage
from reference_node.channel import errors as e
from reference_node.channel.messages import (
    ChannelReady,
    ChannelReestablish,
    CommitmentSigned,
    Error,
    RevokeAndAck,
    Shutdown,
)
from tests.test_channel_support import ChannelPair, disconnect, preimage_of, reconnect, restart


def names(messages: list[object]) -> list[str]:
    return [type(m).__name__ for m in messages]


def complete_payment(pair: ChannelPair, htlc_id: int, n: int) -> None:
    pair.apply(pair.b, pair.b.channel.fulfill_htlc(htlc_id, preimage_of(n)))
    pair.commit(pair.b)
    pair.pump()


def test_reestablish_with_nothing_in_flight_retransmits_nothing() -> None:
    pair = ChannelPair()
    htlc_id = pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    pair.pump()
    disconnect(pair)
    sent_before = len(pair.a.sent)
    reconnect(pair)
    pair.pump()
    assert names(pair.a.sent[sent_before:]) == ["ChannelReestablish"]
    complete_payment(pair, htlc_id, 1)
    assert pair.a.channel.balances_msat() == (990_000_000, 10_000_000)


def test_lost_commitment_signed_is_retransmitted_with_its_updates() -> None:
    pair = ChannelPair()
    htlc_id = pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    disconnect(pair)  # update_add_htlc and commitment_signed never arrive
    sent_before = len(pair.a.sent)
    reconnect(pair)
    pair.pump()
    # nothing was ever signed by B (next_commitment_number is 1 both ways), so channel_ready goes again too
    retransmitted = [m for m in pair.a.sent[sent_before:] if not isinstance(m, ChannelReady)]
    assert names(retransmitted)[:3] == ["ChannelReestablish", "UpdateAddHtlc", "CommitmentSigned"]
    assert [r.htlc_id for r in pair.events_of(pair.b, HtlcReceived)] == [htlc_id]
    complete_payment(pair, htlc_id, 1)
    assert pair.b.channel.balances_msat() == (10_000_000, 990_000_000)


def test_lost_revoke_and_ack_is_retransmitted() -> None:
    pair = ChannelPair()
    pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    pair.deliver(pair.b)  # add
    pair.deliver(pair.b)  # commitment_signed -> B sends revoke_and_ack (and its own commitment_signed)
    disconnect(pair)
    sent_before = len(pair.b.sent)
    reconnect(pair)
    pair.pump()
    retransmitted = pair.b.sent[sent_before:]
    # B sent revoke_and_ack first, then commitment_signed: retransmitted "in the same relative order"
    assert names(retransmitted)[:3] == ["ChannelReestablish", "RevokeAndAck", "CommitmentSigned"]
    assert pair.events_of(pair.b, HtlcReceived)


def test_uncommitted_updates_of_the_peer_are_reversed_and_resent() -> None:
    pair = ChannelPair()
    pair.add(pair.a, 10_000_000, 1)
    pair.deliver(pair.b)  # B holds an add no commitment_signed covers
    disconnect(pair)
    # "MUST reverse any uncommitted updates sent by the other side"
    assert pair.b.channel.ledger.updates == []
    assert pair.b.channel.ledger.next_remote_htlc_id == 0
    sent_before = len(pair.a.sent)
    reconnect(pair)
    pair.pump()
    # A sends its update again (and, having changes to sign, commits them)
    assert "UpdateAddHtlc" in names(pair.a.sent[sent_before:])
    assert [r.htlc_id for r in pair.events_of(pair.b, HtlcReceived)] == [0]


def test_channel_ready_is_retransmitted_when_no_commitment_was_signed() -> None:
    pair = ChannelPair()
    disconnect(pair)
    sent_before = len(pair.a.sent)
    reconnect(pair)
    pair.pump()
    assert names(pair.a.sent[sent_before:]) == ["ChannelReestablish", "ChannelReady"]
    assert pair.is_normal()


def test_channel_ready_is_not_retransmitted_after_the_first_commitment() -> None:
    pair = ChannelPair()
    htlc_id = pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    pair.pump()
    complete_payment(pair, htlc_id, 1)
    disconnect(pair)
    sent_before = len(pair.a.sent)
    reconnect(pair)
    pair.pump()
    assert not any(isinstance(m, ChannelReady) for m in pair.a.sent[sent_before:])


def test_shutdown_is_retransmitted_after_reconnection() -> None:
    pair = ChannelPair()
    htlc_id = pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    pair.pump()
    pair.apply(pair.b, pair.b.channel.shutdown())
    disconnect(pair)
    sent_before = len(pair.b.sent)
    reconnect(pair)
    pair.pump()
    assert any(isinstance(m, Shutdown) for m in pair.b.sent[sent_before:])
    complete_payment(pair, htlc_id, 1)
    assert pair.a.channel.state is ChannelState.CLOSING_BROADCAST


def test_restart_from_persisted_state_then_reestablish_continues() -> None:
    pair = ChannelPair()
    htlc_id = pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    pair.deliver(pair.b)
    pair.deliver(pair.b)  # B persisted and answered; then both nodes die
    disconnect(pair)
    restart(pair, pair.a)
    restart(pair, pair.b)
    reconnect(pair)
    pair.pump()
    assert [r.htlc_id for r in pair.events_of(pair.b, HtlcReceived)] == [htlc_id]
    complete_payment(pair, htlc_id, 1)
    assert pair.a.channel.balances_msat() == (990_000_000, 10_000_000)


def test_restart_from_an_old_state_is_detected_and_we_do_not_broadcast() -> None:
    """option_data_loss_protect: the peer proves we lost state; we must not broadcast our old commitment."""
    pair = ChannelPair()
    old_state = pair.a.persisted
    for n in range(3):
        htlc_id = pair.add(pair.a, 10_000_000, n)
        pair.commit(pair.a)
        pair.pump()
        complete_payment(pair, htlc_id, n)
    disconnect(pair)
    pair.a.persisted = old_state
    restart(pair, pair.a)
    reconnect(pair)
    reestablish_from_b = pair.a.inbox.popleft()
    assert isinstance(reestablish_from_b, ChannelReestablish)
    actions = pair.a.channel.handle(reestablish_from_b)
    failures = [a for a in actions if isinstance(a, ChannelFailed)]
    assert type(failures[0].error) is e.WeAreBehind
    assert not failures[0].broadcast_commitment
    assert [type(a.message) for a in actions if isinstance(a, SendMessage)] == [Error]


def lying_reestablish(pair: ChannelPair, **changes: object) -> list[object]:
    pair_htlc = pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    pair.pump()
    complete_payment(pair, pair_htlc, 1)
    disconnect(pair)
    reconnect(pair)
    honest = pair.a.inbox.popleft()
    assert isinstance(honest, ChannelReestablish)
    return list(pair.a.channel.handle(dataclasses.replace(honest, **changes)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"your_last_per_commitment_secret": bytes(range(32))}, e.ReestablishWrongSecret),
        ({"next_commitment_number": 0}, e.ReestablishZeroCommitmentNumber),
        ({"next_commitment_number": 7}, e.ReestablishCommitmentNumberMismatch),
        (
            {"next_revocation_number": 0, "your_last_per_commitment_secret": bytes(32)},
            e.ReestablishRevocationNumberMismatch,
        ),
        ({"next_revocation_number": 9}, e.ReestablishWrongSecret),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_reestablish_lie_fails_the_channel(changes: dict[str, object], error: type[e.PeerViolation]) -> None:
    pair = ChannelPair()
    actions = lying_reestablish(pair, **changes)
    failures = [a for a in actions if isinstance(a, ChannelFailed)]
    assert len(failures) == 1 and type(failures[0].error) is error, actions
    assert pair.a.channel.state is ChannelState.FAILED


def test_messages_before_reestablish_are_refused() -> None:
    pair = ChannelPair()
    disconnect(pair)
    reconnect(pair)
    reestablish = pair.a.inbox.popleft()
    assert isinstance(reestablish, ChannelReestablish)
    # an update before the peer's channel_reestablish is out of order
    stray = RevokeAndAck(pair.a.channel.channel_id, bytes(32), bytes(33))
    failures = [a for a in pair.a.channel.handle(stray) if isinstance(a, ChannelFailed)]
    assert type(failures[0].error) is e.UnexpectedMessage


def test_commitment_signed_crossing_a_disconnection_keeps_commitment_numbers_in_step() -> None:
    pair = ChannelPair()
    for n in range(4):
        htlc_id = pair.add(pair.a, 1_000_000 + n, n)
        pair.commit(pair.a)
        # lose everything after the commitment_signed reached B but before A heard back
        pair.deliver(pair.b)
        pair.deliver(pair.b)
        disconnect(pair)
        reconnect(pair)
        pair.pump()
        complete_payment(pair, htlc_id, n)
    assert isinstance(pair.a.sent[-1], CommitmentSigned | RevokeAndAck)
    a_ledger, b_ledger = pair.a.channel.ledger, pair.b.channel.ledger
    assert (a_ledger.local_ctn, a_ledger.remote_ctn) == (b_ledger.remote_ctn, b_ledger.local_ctn)
    assert pair.a.channel.balances_msat() == (1_000_000_000 - 4_000_006, 4_000_006)


def test_reestablish_arriving_before_our_reconnection_is_answered() -> None:
    pair = ChannelPair()
    htlc_id = pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    pair.pump()
    disconnect(pair)
    # only A learns about the new connection; B gets A's channel_reestablish first
    pair.apply(pair.a, pair.a.channel.peer_reconnected())
    pair.pump()
    assert pair.b.channel.is_link_ready() and pair.a.channel.is_link_ready()
    complete_payment(pair, htlc_id, 1)
    assert pair.b.channel.balances_msat() == (10_000_000, 990_000_000)


def test_a_failed_channel_retransmits_its_error_on_reconnection() -> None:
    pair = ChannelPair()
    pair.apply(pair.a, pair.a.channel.force_close("enough"))
    disconnect(pair)
    actions = pair.a.channel.peer_reconnected()
    sent = [a.message for a in actions if isinstance(a, SendMessage)]
    assert [type(m) for m in sent] == [Error] and b"enough" in sent[0].data
