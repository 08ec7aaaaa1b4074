"""End to end between two in-memory channels: open, payments both ways, update_fee, mutual close."""

from __future__ import annotations

import pytest

from reference_node.bitcoin.tx import Tx
from reference_node.channel import (
    BroadcastTx,
    ChannelOpened,
    ChannelState,
    HtlcFulfilled,
    HtlcReceived,
    PeerFeatures,
    SendMessage,
    Side,
)
from reference_node.channel.messages import Error
from tests.kernel_check import kernel_accepts
from tests.test_channel_support import P2WPKH_B, ChannelPair, preimage_of


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


def _settle_payments(pair: ChannelPair, payments: list[tuple[str, int, int]]) -> None:
    """Interleave adds from both sides, commit concurrently, then fulfil or fail each once received."""
    sides = {"A": pair.a, "B": pair.b}
    ids: dict[int, tuple[str, int]] = {}
    for sender_name, amount_msat, n in payments:
        ids[n] = (sender_name, pair.add(sides[sender_name], amount_msat, n))
    # both sides sign at once: commitment_signed messages cross on the wire
    for side in (pair.a, pair.b):
        if side.channel.ledger.has_changes_for(Side.REMOTE):
            pair.commit(side)
    pair.pump()
    for n, (sender_name, htlc_id) in ids.items():
        receiver = pair.other(sides[sender_name])
        if n % 3 == 0:
            pair.apply(receiver, receiver.channel.fail_htlc(htlc_id, b"\x00" * 32))
        else:
            pair.apply(receiver, receiver.channel.fulfill_htlc(htlc_id, preimage_of(n)))
    for side in (pair.a, pair.b):
        if side.channel.ledger.has_changes_for(Side.REMOTE) and not side.channel.ledger.remote_pending:
            pair.commit(side)
    pair.pump()


def _expected_balances(payments: list[tuple[str, int, int]], start_a_msat: int) -> tuple[int, int]:
    a_msat = start_a_msat
    for sender_name, amount_msat, n in payments:
        if n % 3 == 0:
            continue  # failed: the amount went back
        a_msat += -amount_msat if sender_name == "A" else amount_msat
    return a_msat, 1_000_000_000 - a_msat


@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
@pytest.mark.parametrize("simple_close", [False, True], ids=["closing_signed", "simple_close"])
def test_payments_both_ways_update_fee_and_mutual_close(anchors: bool, simple_close: bool) -> None:
    pair = ChannelPair(
        anchors=anchors, push_msat=300_000_000, features=PeerFeatures(option_simple_close=simple_close)
    )
    payments: list[tuple[str, int, int]] = []
    n = 0
    for round_ in range(6):
        batch = []
        for k in range(4):
            n += 1
            sender = "A" if (round_ + k) % 2 == 0 else "B"
            # a mix of dust (trimmed) and non-dust HTLCs
            amount_msat = 200_000 + 1_000_000 * k if k % 2 else 20_000_000 + 3_000_000 * round_
            batch.append((sender, amount_msat, n))
        _settle_payments(pair, batch)
        payments.extend(batch)
        if round_ == 2:
            pair.apply(pair.a, pair.a.channel.update_fee(5000))
            pair.commit(pair.a)
            pair.pump()
    expected = _expected_balances(payments, 700_000_000)
    assert pair.a.channel.balances_msat() == expected
    assert pair.b.channel.balances_msat() == (expected[1], expected[0])
    assert not pair.a.channel.ledger.updates and not pair.b.channel.ledger.updates
    # fee accounting: both commitments at the new feerate, paid by the opener only
    for side in (pair.a, pair.b):
        assert side.channel.ledger.current_view(Side.LOCAL).feerate_per_kw == 5000
    fee_sat = (1124 if anchors else 724) * 5000 // 1000 + (660 if anchors else 0)
    assert pair.a.channel.commitment_fee_sat() == fee_sat

    pair.apply(pair.a, pair.a.channel.shutdown())
    pair.pump()
    assert pair.a.channel.state is ChannelState.CLOSING_BROADCAST
    assert pair.b.channel.state is ChannelState.CLOSING_BROADCAST
    closing = [b for b in pair.a.broadcasts + pair.b.broadcasts if "closing" in b.description]
    assert closing
    for broadcast in closing:
        tx = Tx.parse(broadcast.tx)
        assert pair.funding_tx is not None
        funding_output = pair.funding_tx.outputs[0]
        assert kernel_accepts(funding_output.script_pubkey, funding_output.amount_sat, tx)
        fee_sat = funding_output.amount_sat - sum(o.amount_sat for o in tx.outputs)
        paid = {o.script_pubkey: o.amount_sat for o in tx.outputs}
        # every satoshi is accounted for: balances (rounded down) minus the closing fee
        assert sum(paid.values()) + fee_sat == 1_000_000
        assert paid.get(P2WPKH_B, 0) >= expected[1] // 1000 - fee_sat
    txid = Tx.parse(closing[0].tx).txid()
    for side in (pair.a, pair.b):
        pair.apply(side, side.channel.closing_confirmed(txid))
        assert side.channel.state is ChannelState.CLOSED


@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
def test_failing_the_channel_broadcasts_a_valid_latest_commitment(anchors: bool) -> None:
    pair = ChannelPair(anchors=anchors, push_msat=100_000_000)
    for n, amount_msat in enumerate([30_000_000, 200_000, 12_000_000]):
        pair.add(pair.a, amount_msat, n)
    pair.commit(pair.a)
    pair.pump()
    actions = pair.b.channel.handle(Error(pair.b.channel.channel_id, b"test"))
    broadcasts = [a for a in actions if isinstance(a, BroadcastTx)]
    assert len(broadcasts) == 1
    tx = Tx.parse(broadcasts[0].tx)
    assert pair.funding_tx is not None
    funding_output = pair.funding_tx.outputs[0]
    assert tx.inputs[0].prevout.txid == pair.funding_tx.txid()
    assert kernel_accepts(funding_output.script_pubkey, funding_output.amount_sat, tx)
    # two non-dust HTLC outputs, to_local, to_remote (+ two anchors)
    assert len(tx.outputs) == (6 if anchors else 4)


def test_force_close_sends_error_and_broadcasts_the_commitment() -> None:
    pair = ChannelPair()
    actions = pair.a.channel.force_close()
    assert [type(a.message) for a in actions if isinstance(a, SendMessage)] == [Error]
    assert [a.description for a in actions if isinstance(a, BroadcastTx)] == [
        "latest local commitment (unilateral close)"
    ]
    assert pair.a.channel.state is ChannelState.FAILED


def test_fundee_forgets_a_channel_whose_funding_never_confirms() -> None:
    pair = ChannelPair(auto_open=False)
    pair.pump()
    actions = pair.b.channel.forget_unconfirmed_funding()
    assert not any(isinstance(a, SendMessage | BroadcastTx) for a in actions)
    assert pair.b.channel.state is ChannelState.FAILED
