"""shutdown and both closing negotiations (BOLT 2 "Channel Close")."""

from __future__ import annotations

import dataclasses

import pytest

from reference_node.bitcoin.tx import Tx
from reference_node.channel import ChannelFailed, ChannelState, Disconnect, PeerFeatures, SendMessage
from reference_node.channel import errors as e
from reference_node.channel.actions import Action
from reference_node.channel.messages import (
    ClosingComplete,
    ClosingSig,
    ClosingSigned,
    Error,
    FeeRange,
    Shutdown,
    Warning,
)
from reference_node.channel.params import ChannelType, Policy
from tests.test_channel_support import P2WPKH_A, P2WPKH_B, REGTEST_CHAIN_HASH, ChannelPair, preimage_of

P2TR = bytes([0x51, 32]) + bytes(32)
OP_RETURN_SCRIPT = bytes([0x6A, 6]) + b"closed"


def failure(actions: list[Action]) -> e.ChannelError:
    failures = [a for a in actions if isinstance(a, ChannelFailed)]
    assert len(failures) == 1, actions
    return failures[0].error


def sent(actions: list[Action]) -> list[object]:
    return [a.message for a in actions if isinstance(a, SendMessage)]


def shut_down(pair: ChannelPair) -> None:
    pair.apply(pair.a, pair.a.channel.shutdown())
    pair.deliver(pair.b)  # shutdown -> B replies with shutdown
    pair.deliver(pair.a)  # A: both shutdowns, no HTLCs -> negotiation starts


# -- shutdown ----------------------------------------


def test_shutdown_waits_for_htlcs_to_clear_before_negotiating() -> None:
    pair = ChannelPair()
    htlc_id = pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    pair.pump()
    pair.apply(pair.a, pair.a.channel.shutdown())
    pair.pump()
    assert pair.a.channel.state is ChannelState.SHUTTING_DOWN
    with pytest.raises(e.CommandRejected):  # "MUST NOT send an `update_add_htlc` after a `shutdown`"
        pair.a.channel.add_htlc(1_000_000, bytes(32), 600, bytes(1366))
    pair.apply(pair.b, pair.b.channel.fulfill_htlc(htlc_id, preimage_of(1)))
    pair.commit(pair.b)
    pair.pump()
    assert pair.a.channel.state is ChannelState.CLOSING_BROADCAST


def test_shutdown_with_unsigned_updates_is_refused() -> None:
    pair = ChannelPair()
    pair.add(pair.a, 10_000_000, 1)
    with pytest.raises(e.CommandRejected):
        pair.a.channel.shutdown()


def test_shutdown_script_must_match_the_upfront_script() -> None:
    pair = ChannelPair(auto_open=False)
    pair.a.channel.data.local_upfront_shutdown_script = P2WPKH_A
    with pytest.raises(e.CommandRejected):
        pair.a.channel.shutdown(P2WPKH_B)


def test_shutdown_received_before_funding_fails_the_channel() -> None:
    pair = ChannelPair(auto_open=False)
    pair.deliver(pair.b)  # open_channel: B is waiting for funding_created
    actions = pair.b.channel.handle(Shutdown(bytes(32), P2WPKH_A))
    assert type(failure(actions)) is e.ShutdownBeforeFunding
    assert pair.b.channel.state is ChannelState.FAILED


@pytest.mark.parametrize(
    "script",
    [
        b"",
        bytes([0x76, 0xA9, 20]) + bytes(20) + bytes([0x88, 0xAC]),
        bytes([0x00, 21]) + bytes(21),
        OP_RETURN_SCRIPT,
    ],
    ids=["empty", "p2pkh", "bad-v0-length", "op_return-without-simple-close"],
)
def test_shutdown_with_a_forbidden_script_gets_a_warning(script: bytes) -> None:
    pair = ChannelPair()
    actions = pair.b.channel.handle(Shutdown(pair.b.channel.channel_id, script))
    assert [type(m) for m in sent(actions)] == [Warning]
    assert any(isinstance(a, Disconnect) for a in actions)
    assert pair.b.channel.state is ChannelState.NORMAL  # the channel itself survives


def test_anysegwit_script_is_allowed_when_negotiated() -> None:
    pair = ChannelPair()
    actions = pair.b.channel.handle(Shutdown(pair.b.channel.channel_id, P2TR))
    assert Shutdown in [type(m) for m in sent(actions)]


def test_shutdown_differing_from_the_upfront_script_fails_the_connection() -> None:
    pair = ChannelPair(features=PeerFeatures(option_upfront_shutdown_script=True))
    pair.b.channel.data.remote_upfront_shutdown_script = P2WPKH_A
    actions = pair.b.channel.handle(Shutdown(pair.b.channel.channel_id, P2TR))
    assert any(isinstance(a, Disconnect) for a in actions)
    assert [type(m) for m in sent(actions)] == [Warning]


# -- legacy closing_signed ----------------------------------------


def first_offer(pair: ChannelPair) -> ClosingSigned:
    shut_down(pair)
    offer = pair.b.inbox.popleft()
    assert isinstance(offer, ClosingSigned) and offer.fee_range is not None
    return offer


def test_non_funder_accepts_an_offer_within_its_range_in_one_round_trip() -> None:
    pair = ChannelPair()
    offer = first_offer(pair)
    actions = pair.b.channel.handle(offer)
    reply = sent(actions)
    assert isinstance(reply[0], ClosingSigned) and reply[0].fee_satoshis == offer.fee_satoshis
    assert pair.b.channel.state is ChannelState.CLOSING_BROADCAST


def test_closing_signed_with_a_bad_signature_fails_the_channel() -> None:
    pair = ChannelPair()
    offer = first_offer(pair)
    bad = dataclasses.replace(offer, signature=bytes(reversed(offer.signature)))
    assert type(failure(pair.b.channel.handle(bad))) is e.BadClosingSignature


def test_funder_fails_the_channel_when_the_fee_is_outside_the_overlap() -> None:
    pair = ChannelPair()
    offer = first_offer(pair)
    # B answers with its own signature on a fee far outside A's range
    fee = offer.fee_range.max_fee_satoshis + 1_000 if offer.fee_range else 0
    spec = pair.b.channel.legacy_closing_tx(fee, pair.b.channel.data.local_params.dust_limit_satoshis)
    signature = pair.b.signer.sign_closing(pair.b.channel.funding_info(), spec)
    counter = ClosingSigned(offer.channel_id, fee, signature, FeeRange(0, fee))
    assert type(failure(pair.a.channel.handle(counter))) is e.ClosingFeeOutOfRange


def test_non_overlapping_fee_ranges_get_a_warning_and_no_failure() -> None:
    pair = ChannelPair()
    offer = first_offer(pair)
    assert offer.fee_range is not None
    high = offer.fee_range.max_fee_satoshis + 100
    spec = pair.b.channel.legacy_closing_tx(high, pair.b.channel.data.local_params.dust_limit_satoshis)
    counter = ClosingSigned(
        offer.channel_id,
        high,
        pair.b.signer.sign_closing(pair.b.channel.funding_info(), spec),
        FeeRange(high, high),
    )
    actions = pair.a.channel.handle(counter)
    assert [type(m) for m in sent(actions)] == [Warning]
    assert pair.a.channel.state is ChannelState.NEGOTIATING_CLOSING


def test_legacy_negotiation_without_fee_range_converges() -> None:
    """An old peer that sends no `fee_range`: values must move "strictly between" the last two."""
    pair = ChannelPair()
    offer = first_offer(pair)
    no_range = dataclasses.replace(offer, fee_range=None)
    pair.b.inbox.appendleft(no_range)
    pair.pump()
    assert pair.a.channel.state is ChannelState.CLOSING_BROADCAST
    assert pair.b.channel.state is ChannelState.CLOSING_BROADCAST


def test_closing_fee_that_does_not_converge_fails_the_channel() -> None:
    pair = ChannelPair()
    shut_down(pair)
    offer = pair.b.inbox.popleft()
    assert isinstance(offer, ClosingSigned)
    channel = pair.a.channel
    # A (funder) sent fee F; pretend B answered F - 500 earlier, then comes back with an even lower fee
    channel.data.closing.last_received_fee_satoshis = offer.fee_satoshis - 500
    fee = offer.fee_satoshis - 600
    spec = pair.b.channel.legacy_closing_tx(fee, pair.b.channel.data.local_params.dust_limit_satoshis)
    message = ClosingSigned(
        offer.channel_id, fee, pair.b.signer.sign_closing(pair.b.channel.funding_info(), spec)
    )
    assert type(failure(channel.handle(message))) is e.ClosingFeeNotConverging


# -- option_simple_close ----------------------------------------


def simple_pair() -> tuple[ChannelPair, ClosingComplete, ClosingComplete]:
    pair = ChannelPair(push_msat=300_000_000, features=PeerFeatures(option_simple_close=True))
    shut_down(pair)
    from_a = pair.b.inbox.popleft()
    from_b = pair.a.inbox.popleft()
    assert isinstance(from_a, ClosingComplete) and isinstance(from_b, ClosingComplete)
    return pair, from_a, from_b


def test_simple_close_each_side_signs_the_others_transaction() -> None:
    pair, from_a, from_b = simple_pair()
    # A has more funds: it offers its own output alone and both outputs
    assert from_a.closer_output_only and from_a.closer_and_closee_outputs and not from_a.closee_output_only
    pair.b.inbox.appendleft(from_a)
    pair.a.inbox.appendleft(from_b)
    pair.pump()
    for side in (pair.a, pair.b):
        assert len([b for b in side.broadcasts if "closing" in b.description]) == 2


def test_closing_complete_with_a_fee_above_the_closer_balance_fails() -> None:
    pair, from_a, _ = simple_pair()
    too_much = dataclasses.replace(from_a, fee_satoshis=800_000)
    assert type(failure(pair.b.channel.handle(too_much))) is e.ClosingFeeTooHigh


def test_closing_complete_for_an_old_closee_script_gets_a_warning() -> None:
    pair, from_a, _ = simple_pair()
    stale = dataclasses.replace(from_a, closee_scriptpubkey=P2TR)
    actions = pair.b.channel.handle(stale)
    assert [type(m) for m in sent(actions)] == [Warning]
    assert pair.b.channel.state is ChannelState.NEGOTIATING_CLOSING


def test_closing_complete_without_the_needed_signature_fails() -> None:
    pair, from_a, _ = simple_pair()
    stripped = dataclasses.replace(from_a, closer_and_closee_outputs=None, closee_output_only=None)
    assert type(failure(pair.b.channel.handle(stripped))) is e.ClosingSignatureFieldMissing


def test_closing_complete_with_a_bad_signature_fails() -> None:
    pair, from_a, _ = simple_pair()
    assert from_a.closer_output_only is not None
    bad = dataclasses.replace(from_a, closer_and_closee_outputs=from_a.closer_output_only)
    assert type(failure(pair.b.channel.handle(bad))) is e.BadClosingSignature


def test_closing_sig_not_matching_our_offer_fails() -> None:
    pair, from_a, _from_b = simple_pair()
    pair.b.inbox.appendleft(from_a)
    pair.deliver(pair.b)  # B signs A's transaction: closing_sig for A
    closing_sig = pair.a.inbox.pop()
    assert isinstance(closing_sig, ClosingSig)
    altered = dataclasses.replace(closing_sig, fee_satoshis=closing_sig.fee_satoshis + 1)
    assert type(failure(pair.a.channel.handle(altered))) is e.ClosingSigMismatch


def test_closing_sig_with_two_signatures_fails() -> None:
    pair, from_a, _ = simple_pair()
    pair.b.inbox.appendleft(from_a)
    pair.deliver(pair.b)
    closing_sig = pair.a.inbox.pop()
    assert isinstance(closing_sig, ClosingSig)
    both = dataclasses.replace(closing_sig, closer_output_only=closing_sig.closer_and_closee_outputs)
    assert type(failure(pair.a.channel.handle(both))) is e.ClosingSigMismatch


def test_simple_close_to_op_return_gives_the_output_to_fees() -> None:
    pair = ChannelPair(push_msat=998_000_000, features=PeerFeatures(option_simple_close=True))
    pair.apply(pair.a, pair.a.channel.shutdown(OP_RETURN_SCRIPT))
    pair.pump()
    ours = [
        Tx.parse(b.tx) for b in pair.a.broadcasts if b.description == "mutual closing transaction (we pay)"
    ]
    assert ours and all(o.amount_sat == 0 for o in ours[0].outputs if o.script_pubkey == OP_RETURN_SCRIPT)


# -- peer error ----------------------------------------


def test_an_error_from_the_peer_fails_the_channel_without_answering() -> None:
    pair = ChannelPair()
    actions = pair.a.channel.handle(Error(pair.a.channel.channel_id, b"boom"))
    assert pair.a.channel.state is ChannelState.FAILED
    assert sent(actions) == []
    assert any(isinstance(a, ChannelFailed) and a.broadcast_commitment for a in actions)


def test_anchors_channel_closes_the_same_way() -> None:
    pair = ChannelPair(anchors=True)
    assert pair.a.channel.data.channel_type == ChannelType(anchors=True)
    shut_down(pair)
    pair.pump()
    assert isinstance(pair, ChannelPair) and pair.b.channel.state is ChannelState.CLOSING_BROADCAST


def test_simple_close_can_be_repeated_with_a_higher_fee() -> None:
    pair, from_a, from_b = simple_pair()
    pair.b.inbox.appendleft(from_a)
    pair.a.inbox.appendleft(from_b)
    pair.pump()
    first = {b.tx for b in pair.a.broadcasts if b.description == "mutual closing transaction (we pay)"}
    pair.apply(pair.a, pair.a.channel.send_closing_complete(from_a.fee_satoshis + 500))
    pair.pump()
    ours = [b.tx for b in pair.a.broadcasts if b.description == "mutual closing transaction (we pay)"]
    assert len(ours) == 2 and ours[-1] not in first
    assert pair.a.channel.state is ChannelState.CLOSING_BROADCAST


def test_a_second_closing_complete_must_wait_for_closing_sig() -> None:
    pair, _, _ = simple_pair()
    with pytest.raises(e.CommandRejected):
        pair.a.channel.send_closing_complete(2_000)


def test_shutdown_reply_waits_until_our_updates_are_signed() -> None:
    pair = ChannelPair(policy=Policy(chain_hashes=frozenset({REGTEST_CHAIN_HASH}), auto_commit=False))
    htlc_id = pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    pair.pump()
    pair.commit(pair.b)
    pair.pump()
    pair.apply(pair.b, pair.b.channel.fulfill_htlc(htlc_id, preimage_of(1)))
    pair.apply(pair.a, pair.a.channel.shutdown())
    pair.deliver(pair.a)  # A receives the fulfil
    pair.deliver(pair.b)  # B receives shutdown but has an unsigned fulfil: no reply yet
    assert not any(isinstance(m, Shutdown) for m in pair.b.sent)
    pair.commit(pair.b)
    assert isinstance(pair.b.sent[-1], Shutdown)


def test_a_repeated_agreed_closing_signed_is_signed_again_not_refused() -> None:
    """Electrum repeats the agreed `closing_signed`: "if `fee_satoshis` is equal to its previously sent
    `fee_satoshis`: SHOULD sign and broadcast the final closing transaction"."""
    pair = ChannelPair()
    offer = first_offer(pair)
    agreement = next(m for m in sent(pair.b.channel.handle(offer)) if isinstance(m, ClosingSigned))
    pair.a.channel.handle(agreement)
    assert pair.a.channel.state is ChannelState.CLOSING_BROADCAST
    actions = pair.a.channel.handle(agreement)  # the same message again
    assert not any(isinstance(a, ChannelFailed) for a in actions)
    assert pair.a.channel.state is ChannelState.CLOSING_BROADCAST
    # and a repeat towards the non-funder is just as harmless
    assert not any(isinstance(a, ChannelFailed) for a in pair.b.channel.handle(offer))
