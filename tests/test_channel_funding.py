"""Funding confirmation, minimum_depth, short_channel_id, aliases and zeroconf (BOLT 2 `channel_ready`)."""

from __future__ import annotations

import dataclasses

from reference_node.channel import ChannelFailed, ChannelOpened, ChannelState, WatchFunding
from reference_node.channel import errors as e
from reference_node.channel.messages import ChannelReady
from reference_node.channel.params import ChannelType, Policy, ShortChannelId
from tests.test_channel_support import REGTEST_CHAIN_HASH, ChannelPair


def opened_pair(**kwargs: object) -> ChannelPair:
    pair = ChannelPair(auto_open=False, **kwargs)  # type: ignore[arg-type]
    pair.pump()
    return pair


def test_channel_ready_waits_for_minimum_depth() -> None:
    pair = opened_pair(minimum_depth=3)
    assert pair.b.channel.state is ChannelState.AWAITING_CHANNEL_READY
    watch = [event for event in pair.b.events if isinstance(event, WatchFunding)]
    assert watch and watch[0].minimum_depth == 3
    pair.confirm_funding(depth=2)
    assert not any(isinstance(m, ChannelReady) for m in pair.a.sent + pair.b.sent)
    pair.confirm_funding(depth=3)
    pair.pump()
    assert pair.is_normal()


def test_short_channel_id_comes_from_the_funding_confirmation() -> None:
    pair = opened_pair()
    pair.confirm_funding(depth=3)  # mined in block 500, transaction 1, output 0
    assert pair.a.channel.data.short_channel_id == ShortChannelId(500, 1, 0).to_int()


def test_unannounced_channel_gets_an_alias_unrelated_to_the_scid() -> None:
    pair = opened_pair()
    pair.confirm_funding(depth=3)
    pair.pump()
    ready = next(m for m in pair.a.sent if isinstance(m, ChannelReady))
    assert ready.alias is not None and ready.alias != pair.a.channel.data.short_channel_id
    assert pair.b.channel.data.remote_alias == ready.alias
    opened = next(event for event in pair.b.events if isinstance(event, ChannelOpened))
    assert opened.remote_alias == ready.alias


def test_announced_channel_sends_no_alias_and_accepts_the_real_scid() -> None:
    pair = opened_pair(announce_channel=True)
    pair.confirm_funding(depth=3)
    pair.pump()
    assert all(m.alias is None for m in pair.a.sent if isinstance(m, ChannelReady))
    scid = pair.a.channel.data.short_channel_id
    assert scid is not None and pair.a.channel.recognizes_short_channel_id(scid)


def test_scid_alias_channel_refuses_the_real_scid_for_incoming_htlcs() -> None:
    pair = opened_pair(channel_type=ChannelType(scid_alias=True))
    pair.confirm_funding(depth=3)
    pair.pump()
    data = pair.a.channel.data
    assert data.local_alias is not None and data.short_channel_id is not None
    assert pair.a.channel.recognizes_short_channel_id(data.local_alias)
    assert not pair.a.channel.recognizes_short_channel_id(data.short_channel_id)


def test_funding_output_that_does_not_pay_funding_satoshis_fails_the_channel() -> None:
    pair = opened_pair()
    assert pair.funding_tx is not None
    output = pair.funding_tx.outputs[0]
    actions = pair.b.channel.funding_confirmed(3, 500, 1, output.amount_sat - 1, output.script_pubkey)
    failures = [a for a in actions if isinstance(a, ChannelFailed)]
    assert type(failures[0].error) is e.FundingOutputMismatch
    assert not any(isinstance(a, ChannelReady) for a in actions)


def test_zeroconf_channel_is_ready_without_confirmation_when_trusted() -> None:
    policy = Policy(chain_hashes=frozenset({REGTEST_CHAIN_HASH}), trust_zeroconf=True)
    pair = opened_pair(channel_type=ChannelType(zeroconf=True), policy=policy, minimum_depth=0)
    assert pair.is_normal()
    assert pair.a.channel.data.minimum_depth == 0


def test_redundant_channel_ready_is_ignored() -> None:
    pair = ChannelPair()
    ready = next(m for m in pair.a.sent if isinstance(m, ChannelReady))
    assert pair.b.channel.handle(ready) == []
    assert pair.b.channel.handle(dataclasses.replace(ready, alias=42)) == []
    assert pair.b.channel.data.remote_alias == 42  # "MAY send `channel_ready` with a different alias"
