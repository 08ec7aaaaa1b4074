"""End to end between two in-memory channels: open, payments both ways, update_fee, mutual close."""

from __future__ import annotations

import pytest

from reference_node.channel import ChannelOpened, ChannelState, HtlcFulfilled, HtlcReceived
from tests.test_channel_support import ChannelPair, preimage_of


@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
def test_open_reaches_normal_on_both_sides(anchors: bool) -> None:
    pair = ChannelPair(anchors=anchors)
    assert pair.is_normal()
    assert pair.events_of(pair.a, ChannelOpened) and pair.events_of(pair.b, ChannelOpened)
    assert pair.a.channel.channel_id == pair.b.channel.channel_id
    assert [b.description for b in pair.a.broadcasts] == ["funding transaction"]


@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
def test_single_payment_moves_the_amount(anchors: bool) -> None:
    pair = ChannelPair(anchors=anchors)
    htlc_id = pair.add(pair.a, 50_000_000, 1)
    pair.commit(pair.a)
    pair.pump()
    received = pair.events_of(pair.b, HtlcReceived)
    assert [r.htlc_id for r in received] == [htlc_id]
    pair.apply(pair.b, pair.b.channel.fulfill_htlc(htlc_id, preimage_of(1)))
    pair.commit(pair.b)
    pair.pump()
    assert pair.events_of(pair.a, HtlcFulfilled)[0].payment_preimage == preimage_of(1)
    assert pair.a.channel.balances_msat() == (1_000_000_000 - 50_000_000, 50_000_000)
    assert pair.b.channel.balances_msat() == (50_000_000, 1_000_000_000 - 50_000_000)
    assert pair.a.channel.state is ChannelState.NORMAL
