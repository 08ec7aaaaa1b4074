"""Unilateral closes resolved on a real chain (every transaction through Bitcoin Core's consensus code):
force close by the opener and by the accepter, HTLCs pending both ways, trimmed and untrimmed, claimed with a
preimage known at once or learned late, or timed out; final balances of both sides to the satoshi."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from reference_node.bitcoin.tx import Tx
from reference_node.channel import Side
from reference_node.onchain import (
    BroadcastTx,
    ChannelCloseSeen,
    ChannelResolved,
    CloseKind,
    HtlcResolvedOnchain,
    PreimageLearned,
)
from tests.test_channel_support import hash_of, preimage_of
from tests.test_onchain_support import FEE_INPUT_SAT, OnchainWorld, Watcher

CLTV_DELTA = 40


@dataclass(frozen=True)
class PendingHtlc:
    n: int  # preimage_of(n)
    sender: str
    amount_msat: int
    receiver_knows_preimage: bool
    trimmed: bool = False


HTLCS = (
    PendingHtlc(1, "A", 50_000_000, True),
    PendingHtlc(2, "A", 300_000, False, trimmed=True),
    PendingHtlc(3, "B", 40_000_000, True),  # A learns this preimage only after the close
    PendingHtlc(4, "B", 30_000_000, False),
    PendingHtlc(5, "A", 20_000_000, False),
)


@pytest.fixture(params=[False, True], ids=["static_remotekey", "anchors"])
def world(request: pytest.FixtureRequest) -> Iterator[OnchainWorld]:
    w = OnchainWorld(anchors=request.param, push_msat=300_000_000)
    yield w
    w.close()


def _add_htlcs(w: OnchainWorld) -> dict[int, int]:
    """Offer every HTLC of HTLCS, commit both ways; returns n -> htlc id."""
    sides = {"A": w.pair.a, "B": w.pair.b}
    expiry = w.chain.height() + CLTV_DELTA
    ids = {h.n: w.pair.add(sides[h.sender], h.amount_msat, h.n, cltv_expiry=expiry) for h in HTLCS}
    w.pair.commit(w.pair.a)
    w.pair.commit(w.pair.b)
    w.pair.pump()
    w.sync()
    return ids


def _won_sat(w: OnchainWorld, closer: Watcher, who: Watcher) -> int:
    """What `who` ends up owning, from the channel's own arithmetic (not the on-chain code): its balance in
    the closer's commitment less fee and anchors if it is the opener, and the HTLCs it wins."""
    closer_holder_view = closer.side.channel.ledger.current_view(Side.LOCAL)
    is_closer = who is closer
    balance_msat = closer_holder_view.local_msat if is_closer else closer_holder_view.remote_msat
    if who is w.a:  # A opened the channel and pays fee and anchors
        balance_msat -= closer.side.channel.commitment_fee_sat(Side.LOCAL) * 1000
    won = balance_msat // 1000
    for htlc in HTLCS:
        if htlc.trimmed:
            continue
        receiver_wins = htlc.receiver_knows_preimage
        winner = ("B" if htlc.sender == "A" else "A") if receiver_wins else htlc.sender
        if winner == who.name:
            won += htlc.amount_msat // 1000
    return won


def _confirmed_claims(w: OnchainWorld, who: Watcher) -> set[bytes]:
    txids = set()
    for broadcast in who.broadcasts:
        if broadcast.description.startswith("anchor sweep"):
            continue  # spends only anchor value, which was burnt by the commitment's opener
        tx = Tx.parse(broadcast.tx)
        if w.confirmed(tx):
            txids.add(tx.txid())
    return txids


@pytest.mark.parametrize("closer_name", ["A", "B"], ids=["opener_closes", "accepter_closes"])
def test_force_close_resolves_every_output_to_the_satoshi(world: OnchainWorld, closer_name: str) -> None:
    w = world
    ids = _add_htlcs(w)
    closer = w.a if closer_name == "A" else w.b
    other = w.b if closer is w.a else w.a
    w.b.monitor.add_preimage(preimage_of(1))  # B is the final recipient of HTLC 1
    commitment = closer.monitor.signed_local_commitment(closer.monitor.records.local_current_number)
    assert w.send(commitment.serialize()) == commitment.txid_hex
    w.mine(1)
    assert [e.kind for e in closer.events if isinstance(e, ChannelCloseSeen)] == [CloseKind.LOCAL]
    assert [e.kind for e in other.events if isinstance(e, ChannelCloseSeen)] == [CloseKind.REMOTE]
    # the preimage of HTLC 3 reaches A late (after the close)
    w.perform(w.a, w.a.monitor.add_preimage(preimage_of(3)))
    w.mine(CLTV_DELTA + 144 + 110)

    for watcher in w.watchers:
        assert watcher.rejected == []
        assert watcher.monitor.is_resolved()
        assert [e.kind for e in watcher.events if isinstance(e, ChannelResolved)] == [CloseKind.LOCAL] * (
            watcher is closer
        ) + [CloseKind.REMOTE] * (watcher is other)
        fee_inputs_sat = watcher.fee_inputs_added * FEE_INPUT_SAT
        fees_sat = w.fees_paid_sat(_confirmed_claims(w, watcher))
        expected_sat = _won_sat(w, closer, watcher) + fee_inputs_sat - fees_sat
        assert w.balance_sat(watcher.sweep_script) == expected_sat, watcher.name

    learned = [e.payment_hash for e in w.a.events if isinstance(e, PreimageLearned)]
    assert hash_of(preimage_of(1)) in learned
    resolved_by_a = {
        (e.htlc_id, e.fulfilled) for e in w.a.events if isinstance(e, HtlcResolvedOnchain) and e.offered_by_us
    }
    assert resolved_by_a == {(ids[1], True), (ids[2], False), (ids[5], False)}
    resolved_by_b = {
        (e.htlc_id, e.fulfilled) for e in w.b.events if isinstance(e, HtlcResolvedOnchain) and e.offered_by_us
    }
    assert resolved_by_b == {(ids[3], True), (ids[4], False)}


def test_claims_name_their_bolt05_requirements(world: OnchainWorld) -> None:
    _add_htlcs(world)
    world.b.monitor.add_preimage(preimage_of(1))
    world.a.monitor.add_preimage(preimage_of(3))
    commitment = world.a.monitor.signed_local_commitment(world.a.monitor.records.local_current_number)
    world.send(commitment.serialize())
    world.mine(CLTV_DELTA + 150)
    catalog = _catalog_ids()
    for watcher in world.watchers:
        broadcasts = [a for a in watcher.events if isinstance(a, BroadcastTx)]
        assert broadcasts
        for broadcast in broadcasts:
            assert broadcast.requirements, broadcast.description
            assert set(broadcast.requirements) <= catalog, broadcast.description


def test_a_preimage_withheld_is_never_used_on_chain() -> None:
    from reference_node.onchain import MonitorConfig

    w = OnchainWorld(push_msat=300_000_000, config_b=MonitorConfig(withhold_preimages=True))
    try:
        ids = _add_htlcs(w)
        w.b.monitor.add_preimage(preimage_of(1))
        commitment = w.a.monitor.signed_local_commitment(w.a.monitor.records.local_current_number)
        w.send(commitment.serialize())
        w.mine(CLTV_DELTA + 5)
        assert not any(isinstance(e, PreimageLearned) for e in w.a.events)
        assert (ids[1], False) in {
            (e.htlc_id, e.fulfilled)
            for e in w.a.events
            if isinstance(e, HtlcResolvedOnchain) and e.offered_by_us
        }
    finally:
        w.close()


def _catalog_ids() -> set[str]:
    import yaml

    from harness.paths import project_root

    data = yaml.safe_load((project_root() / "suites" / "requirements" / "bolt05.yaml").read_text())
    return {r["id"] for r in data["requirements"]}
