"""Receiver requirements of update_add_htlc, the removals, update_fee, commitment_signed and revoke_and_ack
(BOLT 2 "Normal Operation"): send the violating message, check the specific error and the reaction."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from reference_node.channel import ChannelFailed, ChannelState, SendMessage
from reference_node.channel import errors as e
from reference_node.channel.actions import Action
from reference_node.channel.messages import (
    CommitmentSigned,
    Error,
    RevokeAndAck,
    UpdateAddHtlc,
    UpdateFailHtlc,
    UpdateFailMalformedHtlc,
    UpdateFee,
    UpdateFulfillHtlc,
)
from reference_node.channel.params import Policy
from tests.test_channel_support import (
    ONION,
    REGTEST_CHAIN_HASH,
    ChannelPair,
    SideState,
    default_params,
    hash_of,
    preimage_of,
)


def assert_failed_with(side: SideState, actions: list[Action], error: type[e.PeerViolation]) -> None:
    failures = [a for a in actions if isinstance(a, ChannelFailed)]
    assert len(failures) == 1, actions
    assert type(failures[0].error) is error, failures[0].error
    assert [type(a.message) for a in actions if isinstance(a, SendMessage)] == [Error]
    assert side.channel.state is ChannelState.FAILED
    # a funded channel that fails broadcasts our latest commitment (BOLT 5 "Failing a Channel")
    assert failures[0].broadcast_commitment


def add_message(pair: ChannelPair, **changes: object) -> UpdateAddHtlc:
    """A well-formed update_add_htlc from A (next id), as A would send it."""
    base = UpdateAddHtlc(
        pair.a.channel.channel_id,
        pair.a.channel.ledger.next_local_htlc_id,
        10_000_000,
        hash_of(preimage_of(99)),
        600,
        ONION,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_valid_update_add_htlc_is_accepted() -> None:
    pair = ChannelPair(push_msat=100_000_000)
    actions = pair.b.channel.handle(add_message(pair))
    assert actions == []
    assert pair.b.channel.ledger.next_remote_htlc_id == 1


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"amount_msat": 0}, e.HtlcAmountBelowMinimum),
        ({"cltv_expiry": 500_000_000}, e.CltvExpiryTooLarge),
        ({"id": 5}, e.HtlcIdViolation),
        ({"amount_msat": 995_000_000}, e.HtlcSenderCannotAfford),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_update_add_htlc_violation_fails_the_channel(
    changes: dict[str, object], error: type[e.PeerViolation]
) -> None:
    pair = ChannelPair()
    actions = pair.b.channel.handle(add_message(pair, **changes))
    assert_failed_with(pair.b, actions, error)


def test_update_add_htlc_below_htlc_minimum_msat_fails() -> None:
    pair = ChannelPair(accepter_params=dataclasses.replace(default_params(), htlc_minimum_msat=5_000))
    actions = pair.b.channel.handle(add_message(pair, amount_msat=4_999))
    assert_failed_with(pair.b, actions, e.HtlcAmountBelowMinimum)


def test_update_add_htlc_beyond_max_accepted_htlcs_fails() -> None:
    pair = ChannelPair(accepter_params=dataclasses.replace(default_params(), max_accepted_htlcs=2))
    for htlc_id in range(2):
        assert pair.b.channel.handle(add_message(pair, id=htlc_id)) == []
    actions = pair.b.channel.handle(add_message(pair, id=2))
    assert_failed_with(pair.b, actions, e.TooManyHtlcs)


def test_update_add_htlc_beyond_max_htlc_value_in_flight_fails() -> None:
    limits = dataclasses.replace(default_params(), max_htlc_value_in_flight_msat=25_000_000)
    pair = ChannelPair(accepter_params=limits)
    for htlc_id in range(2):
        assert pair.b.channel.handle(add_message(pair, id=htlc_id)) == []
    actions = pair.b.channel.handle(add_message(pair, id=2))
    assert_failed_with(pair.b, actions, e.HtlcValueInFlightExceeded)


def test_update_add_htlc_breaking_the_sender_reserve_fails() -> None:
    # B (not the funder) holds 15_000 sat and must keep A's required reserve of 10_000 sat
    pair = ChannelPair(push_msat=15_000_000)
    message = UpdateAddHtlc(pair.b.channel.channel_id, 0, 6_000_000, hash_of(preimage_of(1)), 600, ONION)
    actions = pair.a.channel.handle(message)
    assert_failed_with(pair.a, actions, e.HtlcSenderCannotAfford)


def test_update_add_htlc_after_shutdown_fails() -> None:
    pair = ChannelPair()
    pair.apply(pair.a, pair.a.channel.shutdown())
    pair.deliver(pair.b)  # B receives shutdown (and replies)
    actions = pair.b.channel.handle(add_message(pair))
    assert_failed_with(pair.b, actions, e.UpdateAfterShutdown)


def test_repeated_htlc_id_after_reconnection_is_ignored() -> None:
    pair = ChannelPair()
    message = add_message(pair)
    assert pair.b.channel.handle(message) == []
    assert pair.b.channel.handle(message) == []  # same id, same HTLC: "MUST ignore a repeated `id`"
    assert pair.b.channel.ledger.next_remote_htlc_id == 1


def test_multiple_htlcs_with_the_same_payment_hash_are_allowed() -> None:
    pair = ChannelPair()
    assert pair.b.channel.handle(add_message(pair, id=0)) == []
    assert pair.b.channel.handle(add_message(pair, id=1)) == []


# -- removals ----------------------------------------


def committed_htlc_from_a(pair: ChannelPair) -> int:
    htlc_id = pair.add(pair.a, 10_000_000, 7)
    pair.commit(pair.a)
    pair.pump()
    return htlc_id


def test_fulfill_with_unknown_id_fails_the_channel() -> None:
    pair = ChannelPair()
    committed_htlc_from_a(pair)
    actions = pair.a.channel.handle(UpdateFulfillHtlc(pair.a.channel.channel_id, 3, preimage_of(7)))
    assert_failed_with(pair.a, actions, e.UnknownHtlcId)


def test_fulfill_with_wrong_preimage_fails_the_channel() -> None:
    pair = ChannelPair()
    htlc_id = committed_htlc_from_a(pair)
    actions = pair.a.channel.handle(UpdateFulfillHtlc(pair.a.channel.channel_id, htlc_id, preimage_of(8)))
    assert_failed_with(pair.a, actions, e.PreimageMismatch)


def test_fail_for_htlc_not_in_current_commitment_fails_the_channel() -> None:
    pair = ChannelPair()
    htlc_id = pair.add(pair.a, 10_000_000, 7)  # offered, never committed
    actions = pair.a.channel.handle(UpdateFailHtlc(pair.a.channel.channel_id, htlc_id, b"x"))
    assert_failed_with(pair.a, actions, e.UnknownHtlcId)


def test_fail_malformed_without_badonion_fails_the_channel() -> None:
    pair = ChannelPair()
    htlc_id = committed_htlc_from_a(pair)
    message = UpdateFailMalformedHtlc(pair.a.channel.channel_id, htlc_id, bytes(32), 0x4000 | 5)
    assert_failed_with(pair.a, pair.a.channel.handle(message), e.MalformedWithoutBadonion)


def test_fail_malformed_with_badonion_is_accepted() -> None:
    pair = ChannelPair()
    htlc_id = committed_htlc_from_a(pair)
    message = UpdateFailMalformedHtlc(pair.a.channel.channel_id, htlc_id, bytes(32), 0x8000 | 0x4000 | 5)
    assert pair.a.channel.handle(message) == []


def test_we_do_not_remove_an_htlc_before_it_is_irrevocably_committed() -> None:
    pair = ChannelPair()
    htlc_id = pair.add(pair.a, 10_000_000, 7)
    pair.deliver(pair.b)  # B has the add, nothing committed
    with pytest.raises(e.CommandRejected):
        pair.b.channel.fulfill_htlc(htlc_id, preimage_of(7))


# -- update_fee ----------------------------------------


def test_update_fee_from_non_funder_fails_the_channel() -> None:
    pair = ChannelPair(push_msat=100_000_000)
    actions = pair.a.channel.handle(UpdateFee(pair.a.channel.channel_id, 3000))
    assert_failed_with(pair.a, actions, e.UpdateFeeFromNonFunder)


@pytest.mark.parametrize("feerate_per_kw", [1, 10_000_000])
def test_update_fee_unreasonable_fails_the_channel(feerate_per_kw: int) -> None:
    pair = ChannelPair()
    actions = pair.b.channel.handle(UpdateFee(pair.b.channel.channel_id, feerate_per_kw))
    assert_failed_with(pair.b, actions, e.UpdateFeeFeerateUnacceptable)


def test_update_fee_the_funder_cannot_afford_fails_the_channel() -> None:
    policy = Policy(chain_hashes=frozenset({REGTEST_CHAIN_HASH}), max_feerate_per_kw=10_000_000)
    pair = ChannelPair(push_msat=990_000_000, policy=policy)
    actions = pair.b.channel.handle(UpdateFee(pair.b.channel.channel_id, 100_000))
    assert_failed_with(pair.b, actions, e.UpdateFeeUnaffordable)


def test_update_fee_from_us_as_non_funder_is_refused() -> None:
    pair = ChannelPair()
    with pytest.raises(e.CommandRejected):
        pair.b.channel.update_fee(3000)


# -- commitment_signed ----------------------------------------


def signed_add(pair: ChannelPair, amount_msat: int = 10_000_000) -> CommitmentSigned:
    """A adds an HTLC and signs; B has received the add, the commitment_signed is returned undelivered."""
    pair.add(pair.a, amount_msat, 7)
    pair.commit(pair.a)
    pair.deliver(pair.b)  # update_add_htlc
    message = pair.b.inbox.popleft()
    assert isinstance(message, CommitmentSigned)
    return message


def test_commitment_signed_with_bad_signature_fails_the_channel() -> None:
    pair = ChannelPair()
    message = signed_add(pair)
    bad = dataclasses.replace(message, signature=message.htlc_signature[0])  # a valid sig of another tx
    assert_failed_with(pair.b, pair.b.channel.handle(bad), e.BadCommitmentSignature)


def test_commitment_signed_with_high_s_signature_fails_the_channel() -> None:
    """LOW-S: the same signature with s replaced by n - s is valid ECDSA but not standard."""
    pair = ChannelPair()
    message = signed_add(pair)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    r, s = message.signature[:32], int.from_bytes(message.signature[32:], "big")
    high_s = dataclasses.replace(message, signature=r + (n - s).to_bytes(32, "big"))
    assert_failed_with(pair.b, pair.b.channel.handle(high_s), e.BadCommitmentSignature)


def test_commitment_signed_with_wrong_htlc_signature_count_fails() -> None:
    pair = ChannelPair()
    message = signed_add(pair)
    bad = dataclasses.replace(message, htlc_signature=())
    assert_failed_with(pair.b, pair.b.channel.handle(bad), e.HtlcSignatureCountMismatch)


def test_commitment_signed_with_bad_htlc_signature_fails() -> None:
    pair = ChannelPair()
    message = signed_add(pair)
    bad = dataclasses.replace(message, htlc_signature=(message.signature,))
    assert_failed_with(pair.b, pair.b.channel.handle(bad), e.BadHtlcSignature)


def test_commitment_signed_is_answered_with_revoke_and_ack() -> None:
    pair = ChannelPair()
    message = signed_add(pair)
    actions = pair.b.channel.handle(message)
    sent = [a.message for a in actions if isinstance(a, SendMessage)]
    assert isinstance(sent[0], RevokeAndAck)
    assert sent[0].per_commitment_secret == pair.b.signer.per_commitment_secret(0)


def test_dust_htlc_needs_no_htlc_signature() -> None:
    pair = ChannelPair()
    message = signed_add(pair, amount_msat=100_000)  # 100 sat: trimmed against a 546 sat dust limit
    assert message.htlc_signature == ()
    assert any(isinstance(a, SendMessage) for a in pair.b.channel.handle(message))


# -- revoke_and_ack ----------------------------------------


def pending_revoke(pair: ChannelPair) -> RevokeAndAck:
    pair.b.inbox.append(signed_add(pair))
    pair.deliver(pair.b)
    message = pair.a.inbox.popleft()
    assert isinstance(message, RevokeAndAck)
    return message


def test_revoke_and_ack_with_wrong_secret_fails_the_channel() -> None:
    pair = ChannelPair()
    message = pending_revoke(pair)
    bad = dataclasses.replace(message, per_commitment_secret=hashlib.sha256(b"not it").digest())
    assert_failed_with(pair.a, pair.a.channel.handle(bad), e.InvalidRevocationSecret)


def test_revoke_and_ack_with_invalid_secret_key_fails_the_channel() -> None:
    pair = ChannelPair()
    message = pending_revoke(pair)
    bad = dataclasses.replace(message, per_commitment_secret=bytes(32))
    assert_failed_with(pair.a, pair.a.channel.handle(bad), e.InvalidRevocationSecret)


def test_revoke_and_ack_without_pending_commitment_fails_the_channel() -> None:
    pair = ChannelPair()
    message = pending_revoke(pair)
    assert [a for a in pair.a.channel.handle(message) if isinstance(a, ChannelFailed)] == []
    assert_failed_with(pair.a, pair.a.channel.handle(message), e.UnexpectedMessage)
