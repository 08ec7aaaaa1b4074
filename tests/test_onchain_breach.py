"""Revoked commitments on a real chain: the honest side takes every output with the revocation key (one
batched penalty), including the outputs of the cheater's second-stage HTLC transactions, and ends with the
whole channel value less fees, to the satoshi. With the `no-penalty` defect it does not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reference_node.bitcoin.tx import Tx
from reference_node.onchain import (
    ChannelCloseSeen,
    CloseKind,
    MonitorConfig,
    NotRevoked,
    PreimageLearned,
)
from reference_node.transactions.fees import ANCHOR_OUTPUT_SAT
from tests.test_channel_support import hash_of, preimage_of
from tests.test_onchain_support import FEE_INPUT_SAT, OnchainWorld, Watcher

FUNDING_SAT = 1_000_000
CLTV_DELTA = 60


@pytest.fixture(params=[False, True], ids=["static_remotekey", "anchors"])
def anchors(request: pytest.FixtureRequest) -> bool:
    value: bool = request.param
    return value


def _world(anchors: bool, honest_config: MonitorConfig | None = None) -> OnchainWorld:
    return OnchainWorld(anchors=anchors, push_msat=400_000_000, config_a=honest_config)


@pytest.fixture
def world(anchors: bool) -> Iterator[OnchainWorld]:
    w = _world(anchors)
    yield w
    w.close()


def _pay(w: OnchainWorld, sender: Watcher, amount_msat: int, n: int) -> None:
    """A complete payment: add, commit, fulfil, commit; both monitors record every step."""
    receiver = w.b if sender is w.a else w.a
    htlc_id = w.pair.add(sender.side, amount_msat, n, cltv_expiry=w.chain.height() + CLTV_DELTA)
    w.pair.commit(sender.side)
    w.pair.pump()
    w.sync()
    w.pair.apply(receiver.side, receiver.side.channel.fulfill_htlc(htlc_id, preimage_of(n)))
    w.pair.commit(receiver.side)
    w.pair.pump()
    w.sync()


def _pending_both_ways(w: OnchainWorld) -> None:
    """One HTLC each way, committed in both commitments, then settled: the state with them is revoked."""
    expiry = w.chain.height() + CLTV_DELTA
    to_b = w.pair.add(w.pair.a, 60_000_000, 11, cltv_expiry=expiry)
    to_a = w.pair.add(w.pair.b, 70_000_000, 12, cltv_expiry=expiry)
    w.pair.commit(w.pair.a)
    w.pair.commit(w.pair.b)
    w.pair.pump()
    w.sync()
    w.pair.apply(w.pair.b, w.pair.b.channel.fulfill_htlc(to_b, preimage_of(11)))
    w.pair.apply(w.pair.a, w.pair.a.channel.fulfill_htlc(to_a, preimage_of(12)))
    w.sync()  # as a node does after every persisted state: the preimages are in it
    w.pair.commit(w.pair.a)
    w.pair.commit(w.pair.b)
    w.pair.pump()
    w.sync()


def _revoked_with_htlcs(w: OnchainWorld, cheater: Watcher) -> int:
    """The cheater's latest local commitment that carries HTLCs (revoked by now)."""
    numbers = cheater.monitor.local_commitment_numbers()
    with_htlcs = [n for n in numbers if cheater.monitor.records.local_record(n).view.htlcs]  # type: ignore[union-attr]
    return max(with_htlcs)


def _fee_sat(w: OnchainWorld, tx: Tx) -> int:
    return w.fees_paid_sat({tx.txid()})


def _honest_claim_fees(w: OnchainWorld, honest: Watcher) -> int:
    txids = set()
    for broadcast in honest.broadcasts:
        if broadcast.description.startswith("anchor sweep"):
            continue
        tx = Tx.parse(broadcast.tx)
        if w.confirmed(tx):
            txids.add(tx.txid())
    return w.fees_paid_sat(txids)


def _second_stage_fees(w: OnchainWorld, commitment: Tx, cheater: Watcher) -> int:
    """What the cheater's confirmed HTLC transactions took out of the HTLC outputs (zero with anchors: the
    cheater's own coin paid)."""
    taken = 0
    for broadcast in cheater.broadcasts:
        tx = Tx.parse(broadcast.tx)
        if broadcast.description not in ("HTLC-success", "HTLC-timeout"):
            continue
        if not w.confirmed(tx):
            continue
        htlc_in = commitment.outputs[tx.inputs[0].prevout.index].amount_sat
        taken += htlc_in - tx.outputs[0].amount_sat
    return taken


def _assert_honest_takes_all(w: OnchainWorld, honest: Watcher, cheater: Watcher, commitment: Tx) -> None:
    assert honest.rejected == []
    commitment_fee_sat = _fee_sat(w, commitment)
    anchors_sat = 2 * ANCHOR_OUTPUT_SAT if w.pair.a.channel.data.channel_type.anchors else 0
    expected = (
        FUNDING_SAT
        - commitment_fee_sat
        - anchors_sat
        - _second_stage_fees(w, commitment, cheater)
        - _honest_claim_fees(w, honest)
        + honest.fee_inputs_added * FEE_INPUT_SAT
    )
    assert w.balance_sat(honest.sweep_script) == expected
    assert w.balance_sat(
        cheater.sweep_script
    ) == cheater.fee_inputs_added * FEE_INPUT_SAT - _fees_from_own_coins(w, cheater)


def _fees_from_own_coins(w: OnchainWorld, who: Watcher) -> int:
    """Fees `who` paid from its own coins (its zero-fee HTLC transactions and anchor sweeps aside)."""
    txids = set()
    for broadcast in who.broadcasts:
        tx = Tx.parse(broadcast.tx)
        if len(tx.inputs) > 1 and w.confirmed(tx):
            txids.add(tx.txid())
    return w.fees_paid_sat(txids)


@pytest.mark.parametrize("cheater_name", ["B", "A"], ids=["accepter_cheats", "opener_cheats"])
def test_breach_without_htlcs_is_punished(world: OnchainWorld, cheater_name: str) -> None:
    w = world
    cheater = w.b if cheater_name == "B" else w.a
    honest = w.a if cheater is w.b else w.b
    _pay(w, cheater, 100_000_000, 1)
    old = cheater.monitor.local_commitment_numbers()[0]
    revoked = cheater.monitor.revoked_local_commitment(old)
    assert w.send(revoked.serialize()) == revoked.txid_hex
    w.mine(1)
    assert [e.kind for e in honest.events if isinstance(e, ChannelCloseSeen)] == [CloseKind.REVOKED]
    assert [e.kind for e in cheater.events if isinstance(e, ChannelCloseSeen)] == [CloseKind.LOCAL_REVOKED]
    w.mine(150 + 20)
    assert any(b.description.startswith("penalty") for b in honest.broadcasts)
    assert honest.monitor.is_resolved()
    _assert_honest_takes_all(w, honest, cheater, revoked)


def test_breach_with_htlcs_both_ways_takes_every_output_in_one_penalty(world: OnchainWorld) -> None:
    w = world
    _pending_both_ways(w)
    cheater, honest = w.b, w.a
    revoked = cheater.monitor.revoked_local_commitment(_revoked_with_htlcs(w, cheater))
    assert w.send(revoked.serialize()) == revoked.txid_hex
    w.mine(1, offline=(cheater,))  # the cheater stays away: nothing but the honest side acts
    penalties = [Tx.parse(b.tx) for b in honest.broadcasts if b.description.startswith("penalty")]
    assert penalties
    spent = {(i.prevout.txid, i.prevout.index) for i in penalties[0].inputs}
    htlc_and_to_local = {
        (revoked.txid(), index)
        for index, output in enumerate(revoked.outputs)
        if output.amount_sat != ANCHOR_OUTPUT_SAT
    }
    # one penalty transaction takes to_local, to_remote and both HTLC outputs
    assert htlc_and_to_local <= spent
    w.mine(120, offline=(cheater,))
    assert honest.monitor.is_resolved()
    _assert_honest_takes_all(w, honest, cheater, revoked)


def test_breach_after_the_cheaters_second_stage_spend(world: OnchainWorld) -> None:
    w = world
    _pending_both_ways(w)
    cheater, honest = w.b, w.a
    revoked = cheater.monitor.revoked_local_commitment(_revoked_with_htlcs(w, cheater))
    assert w.send(revoked.serialize()) == revoked.txid_hex
    # the honest side is away while the cheater publishes its HTLC-success transaction (it knows preimage 11)
    w.mine(3, offline=(honest,))
    second_stage = [b for b in cheater.broadcasts if b.description == "HTLC-success"]
    assert second_stage and w.confirmed(Tx.parse(second_stage[0].tx))
    w.catch_up(honest)
    w.mine(150, offline=(cheater,))
    penalty_inputs = {
        (i.prevout.txid, i.prevout.index)
        for b in honest.broadcasts
        if b.description.startswith("penalty")
        for i in Tx.parse(b.tx).inputs
    }
    assert (Tx.parse(second_stage[0].tx).txid(), 0) in penalty_inputs
    assert hash_of(preimage_of(11)) in [
        e.payment_hash for e in honest.events if isinstance(e, PreimageLearned)
    ]
    assert honest.monitor.is_resolved()
    _assert_honest_takes_all(w, honest, cheater, revoked)


def test_no_penalty_defect_lets_the_cheater_keep_its_output(anchors: bool) -> None:
    w = _world(anchors, honest_config=MonitorConfig(no_penalty=True))
    try:
        cheater, honest = w.b, w.a
        _pay(w, cheater, 100_000_000, 1)
        revoked = cheater.monitor.revoked_local_commitment(cheater.monitor.local_commitment_numbers()[0])
        w.send(revoked.serialize())
        w.mine(150 + 20)
        assert not any(b.description.startswith("penalty") for b in honest.broadcasts)
        assert any(b.description == "to_local sweep" for b in cheater.broadcasts)
        assert w.balance_sat(cheater.sweep_script) > 0
    finally:
        w.close()


def test_a_current_commitment_is_not_offered_as_a_breach(world: OnchainWorld) -> None:
    current = world.b.monitor.records.local_current_number
    with pytest.raises(NotRevoked):
        world.b.monitor.revoked_local_commitment(current)
