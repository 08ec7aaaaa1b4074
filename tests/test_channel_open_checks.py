"""Every receiver requirement of open_channel, accept_channel, funding_created and funding_signed
(BOLT 2 "Channel Establishment v1"): send the violating message, check the specific error and the reaction."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from reference_node.channel import ChannelFailed, ChannelState, SendMessage
from reference_node.channel import errors as e
from reference_node.channel.actions import Action
from reference_node.channel.bolt3_signer import Bolt3Signer
from reference_node.channel.channel import Channel
from reference_node.channel.messages import AcceptChannel, Error, FundingCreated, FundingSigned, OpenChannel
from reference_node.channel.params import ChannelType, PeerFeatures, Policy
from tests.test_channel_support import P2WPKH_B, REGTEST_CHAIN_HASH, ChannelPair, default_params

POLICY = Policy(chain_hashes=frozenset({REGTEST_CHAIN_HASH}))
NOT_A_POINT = bytes([0x05]) + bytes(32)
FIELDS_WITH_POINTS = [
    "funding_pubkey",
    "revocation_basepoint",
    "payment_basepoint",
    "delayed_payment_basepoint",
    "htlc_basepoint",
]


def valid_open(**changes: object) -> OpenChannel:
    pair = ChannelPair(auto_open=False)
    message = pair.b.inbox[0]
    assert isinstance(message, OpenChannel)
    return dataclasses.replace(message, **changes)  # type: ignore[arg-type]


def receive_open(
    message: OpenChannel, policy: Policy = POLICY, features: PeerFeatures | None = None
) -> tuple[Channel, list[Action]]:
    channel = Channel.new_inbound(
        signer=Bolt3Signer(hashlib.sha256(b"fundee").digest()),
        policy=policy,
        local_params=default_params(),
        minimum_depth=3,
        features=features or PeerFeatures(),
        shutdown_scriptpubkey=P2WPKH_B,
    )
    return channel, channel.handle(message)


def assert_failed_with(channel: Channel, actions: list[Action], error: type[e.PeerViolation]) -> None:
    failures = [a for a in actions if isinstance(a, ChannelFailed)]
    assert len(failures) == 1, actions
    assert type(failures[0].error) is error, failures[0].error
    sent = [a.message for a in actions if isinstance(a, SendMessage)]
    assert [type(m) for m in sent] == [Error]
    assert channel.state is ChannelState.FAILED


def test_valid_open_channel_is_accepted() -> None:
    channel, actions = receive_open(valid_open())
    assert [type(a.message) for a in actions if isinstance(a, SendMessage)] == [AcceptChannel]
    assert channel.state is ChannelState.ACCEPT_CHANNEL_SENT


def test_undefined_channel_flags_bits_are_ignored() -> None:
    channel, _actions = receive_open(valid_open(channel_flags=0xFE))
    assert channel.state is ChannelState.ACCEPT_CHANNEL_SENT


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"chain_hash": bytes(32)}, e.UnknownChainHash),
        ({"push_msat": 1_000_000 * 1000 + 1}, e.PushMsatExceedsFunding),
        ({"to_self_delay": 5000}, e.ToSelfDelayTooLarge),
        ({"max_accepted_htlcs": 484}, e.MaxAcceptedHtlcsTooLarge),
        ({"feerate_per_kw": 1}, e.FeerateUnacceptable),
        ({"feerate_per_kw": 10_000_000}, e.FeerateUnacceptable),
        ({"dust_limit_satoshis": 20_000}, e.DustLimitAboveReserve),
        ({"dust_limit_satoshis": 353}, e.DustLimitTooSmall),
        ({"funding_satoshis": 1 << 24, "push_msat": 0}, e.LargeChannelUnsupported),
        ({"channel_type": None}, e.ChannelTypeMissing),
        ({"channel_type": bytes([0x50, 0x00])}, e.ChannelTypeUnsuitable),  # bits 12 and 14: undefined type
        (
            {"channel_type": ChannelType(scid_alias=True).to_bytes(), "channel_flags": 1},
            e.ChannelTypeUnsuitable,
        ),
        ({"channel_type": ChannelType(zeroconf=True).to_bytes()}, e.ZeroconfNotTrusted),
        ({"funding_satoshis": 500}, e.OpenParameterRejected),
        ({"htlc_minimum_msat": 10**9}, e.OpenParameterRejected),
        ({"max_htlc_value_in_flight_msat": 1}, e.OpenParameterRejected),
        ({"channel_reserve_satoshis": 500_000}, e.OpenParameterRejected),
        ({"max_accepted_htlcs": 0}, e.OpenParameterRejected),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_open_channel_violation_fails_the_channel(
    changes: dict[str, object], error: type[e.PeerViolation]
) -> None:
    channel, actions = receive_open(valid_open(**changes))
    assert_failed_with(channel, actions, error)


@pytest.mark.parametrize("field", [*FIELDS_WITH_POINTS, "first_per_commitment_point"])
def test_open_channel_with_invalid_point_fails(field: str) -> None:
    channel, actions = receive_open(valid_open(**{field: NOT_A_POINT}))
    assert_failed_with(channel, actions, e.InvalidBasepoint)


def test_open_channel_funder_unable_to_pay_initial_fee_fails() -> None:
    message = valid_open(funding_satoshis=20_000, push_msat=19_000_000, channel_reserve_satoshis=1_000)
    channel, actions = receive_open(message)
    assert_failed_with(channel, actions, e.FunderCannotAffordInitialFee)


def test_open_channel_with_both_initial_outputs_below_reserve_fails() -> None:
    policy = dataclasses.replace(POLICY, max_channel_reserve_ratio_percent=100)
    message = valid_open(funding_satoshis=20_000, push_msat=5_000_000, channel_reserve_satoshis=15_000)
    channel, actions = receive_open(message, policy)
    assert_failed_with(channel, actions, e.InitialOutputsBelowReserve)


def test_open_channel_when_dual_fund_negotiated_fails() -> None:
    channel, actions = receive_open(valid_open(), features=PeerFeatures(option_dual_fund=True))
    assert_failed_with(channel, actions, e.DualFundNegotiated)


def test_open_channel_with_anchors_when_unsupported_fails() -> None:
    policy = dataclasses.replace(POLICY, supports_anchors=False)
    channel, actions = receive_open(valid_open(channel_type=ChannelType(anchors=True).to_bytes()), policy)
    assert_failed_with(channel, actions, e.ChannelTypeUnsuitable)


def test_new_open_channel_after_reconnection_replaces_the_previous_one() -> None:
    """ "if the connection has been re-established after receiving a previous `open_channel`, BUT before
    receiving a `funding_created` message: accept a new `open_channel` message; discard the previous"."""
    first, _ = receive_open(valid_open())
    first.peer_disconnected()
    assert first.state is ChannelState.FAILED  # forgotten, nothing was at risk
    second, _actions = receive_open(valid_open(temporary_channel_id=bytes(32)))
    assert second.state is ChannelState.ACCEPT_CHANNEL_SENT


# -- accept_channel (the opener receives) -----------------------------------------------------------------


def accept_on_opener(**changes: object) -> tuple[ChannelPair, list[Action]]:
    pair = ChannelPair(auto_open=False)
    pair.deliver(pair.b)  # open_channel -> accept_channel
    accept = pair.a.inbox.popleft()
    assert isinstance(accept, AcceptChannel)
    return pair, pair.a.channel.handle(dataclasses.replace(accept, **changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"minimum_depth": 1000}, e.MinimumDepthTooLarge),
        ({"channel_reserve_satoshis": 500, "dust_limit_satoshis": 400}, e.ReserveBelowOpenerDustLimit),
        ({"dust_limit_satoshis": 10_001, "channel_reserve_satoshis": 20_000}, e.OpenerReserveBelowDustLimit),
        ({"channel_type": None}, e.ChannelTypeMissing),
        ({"channel_type": ChannelType(anchors=True).to_bytes()}, e.ChannelTypeMismatch),
        ({"temporary_channel_id": bytes(32)}, e.TemporaryChannelIdMismatch),
        ({"to_self_delay": 5000}, e.ToSelfDelayTooLarge),
        ({"max_accepted_htlcs": 484}, e.MaxAcceptedHtlcsTooLarge),
        ({"dust_limit_satoshis": 9_000, "channel_reserve_satoshis": 8_000}, e.DustLimitAboveReserve),
        ({"dust_limit_satoshis": 300}, e.DustLimitTooSmall),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else None,
)
def test_accept_channel_violation_fails_the_channel(
    changes: dict[str, object], error: type[e.PeerViolation]
) -> None:
    pair, actions = accept_on_opener(**changes)
    assert_failed_with(pair.a.channel, actions, error)


@pytest.mark.parametrize("field", FIELDS_WITH_POINTS)
def test_accept_channel_with_invalid_point_fails(field: str) -> None:
    pair, actions = accept_on_opener(**{field: NOT_A_POINT})
    assert_failed_with(pair.a.channel, actions, e.InvalidBasepoint)


# -- funding_created / funding_signed signatures ------------------------------------------------------------


def test_funding_created_with_bad_signature_fails_the_channel() -> None:
    pair = ChannelPair(auto_open=False)
    pair.deliver(pair.b)  # open_channel
    pair.deliver(pair.a)  # accept_channel -> funding_created
    created = pair.b.inbox.popleft()
    assert isinstance(created, FundingCreated)
    bad = dataclasses.replace(created, signature=bytes(reversed(created.signature)))
    actions = pair.b.channel.handle(bad)
    assert_failed_with(pair.b.channel, actions, e.BadFundingSignature)


def test_funding_signed_with_bad_signature_fails_without_broadcasting_funding() -> None:
    pair = ChannelPair(auto_open=False)
    pair.deliver(pair.b)
    pair.deliver(pair.a)
    pair.deliver(pair.b)  # funding_created -> funding_signed
    signed = pair.a.inbox.popleft()
    assert isinstance(signed, FundingSigned)
    # a valid signature, but over the wrong transaction: B's signature on B's own commitment
    wrong = pair.b.signer.sign_commitment(
        pair.b.channel.funding_info(), pair.b.channel.commitment_view(pair.b.channel.data.opener.other, 0)
    )
    actions = pair.a.channel.handle(dataclasses.replace(signed, signature=wrong.signature))
    assert_failed_with(pair.a.channel, actions, e.BadFundingSignature)
    # "MUST NOT broadcast the funding transaction before receipt of a valid `funding_signed`"
    assert not pair.a.broadcasts
