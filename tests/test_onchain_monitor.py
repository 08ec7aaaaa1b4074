"""ChannelMonitor behaviours beyond a single close: reorgs, persistence, anchor CPFP, BOLT 2 deadlines,
mutual close, and what the harness's breach fault may produce."""

from __future__ import annotations

import json

import pytest

from reference_node.bitcoin.tx import Tx
from reference_node.keys.channel_keys import ChannelKeys
from reference_node.onchain import (
    BroadcastTx,
    ChannelCloseSeen,
    ChannelMonitor,
    ChannelResolved,
    CloseKind,
    FeeInputNeeded,
    GoOnchain,
)
from reference_node.onchain.monitor import MonitorConfig
from tests.test_channel_support import preimage_of
from tests.test_onchain_support import OnchainWorld, key_of


def test_penalty_is_broadcast_again_after_a_reorg_removes_it() -> None:
    w = OnchainWorld(push_msat=400_000_000)
    try:
        htlc = w.pair.add(w.pair.b, 100_000_000, 1)
        w.pair.commit(w.pair.b)
        w.pair.pump()
        w.pair.apply(w.pair.a, w.pair.a.channel.fulfill_htlc(htlc, preimage_of(1)))
        w.pair.commit(w.pair.a)
        w.pair.pump()
        w.sync()
        revoked = w.b.monitor.revoked_local_commitment(0)
        w.send(revoked.serialize())
        w.mine(2, offline=(w.b,))
        penalty = next(Tx.parse(b.tx) for b in w.a.broadcasts if b.description.startswith("penalty"))
        assert w.confirmed(penalty)
        # the block holding the penalty is gone, and the branch replacing it does not have it (yet)
        penalty_height = w.chain.height()
        w.a.monitor.blocks_disconnected(penalty_height)
        assert penalty.inputs[0].prevout not in w.a.monitor.evaluation.spends
        again = w.a.monitor.block_connected(penalty_height, [], 1000)
        assert penalty.serialize() in [a.tx for a in again if isinstance(a, BroadcastTx)]
        # the real chain reorganises the same way: the monitor follows the new branch to the end
        w.reorg(1)
        assert w.confirmed(revoked) and w.confirmed(penalty)
        w.mine(100, offline=(w.b,))
        assert w.a.monitor.is_resolved()
        assert len([e for e in w.a.events if isinstance(e, ChannelResolved)]) == 1
    finally:
        w.close()


def test_state_survives_a_json_round_trip_mid_resolution() -> None:
    w = OnchainWorld(push_msat=300_000_000)
    try:
        w.pair.add(w.pair.a, 50_000_000, 1, cltv_expiry=w.chain.height() + 20)
        w.pair.commit(w.pair.a)
        w.pair.pump()
        w.sync()
        commitment = w.a.monitor.signed_local_commitment(w.a.monitor.records.local_current_number)
        w.send(commitment.serialize())
        w.mine(25)
        state = json.loads(json.dumps(w.a.monitor.to_json()))
        restored = ChannelMonitor.from_json(state, key_of("seed A"))
        assert restored.close_kind == w.a.monitor.close_kind == CloseKind.LOCAL.value
        assert restored.evaluation.spends == w.a.monitor.evaluation.spends
        assert restored.evaluation.watched.keys() == w.a.monitor.evaluation.watched.keys()
        # our own keys are derived from the channel seed again, never stored
        our_keys = ChannelKeys.from_seed(key_of("seed A"))
        assert our_keys.funding_privkey.hex() not in json.dumps(state)
        assert our_keys.revocation_basepoint_secret.hex() not in json.dumps(state)
        w.a.monitor = restored
        w.mine(260)
        assert w.a.monitor.is_resolved()
    finally:
        w.close()


def test_anchor_cpfp_lifts_a_low_fee_commitment_to_the_target_feerate() -> None:
    w = OnchainWorld(anchors=True, push_msat=300_000_000, feerate_per_kw=253)
    try:
        target_per_kw = 5_000
        actions = w.a.monitor.bump_local_commitment(target_per_kw)
        assert any(isinstance(a, FeeInputNeeded) for a in actions)
        w.perform(w.a, actions)
        children = [b for b in w.a.broadcasts if b.description == "anchor CPFP"]
        assert children and w.a.rejected == []
        commitment = next(
            Tx.parse(b.tx) for b in w.a.broadcasts if b.description == "latest local commitment"
        )
        child = Tx.parse(children[-1].tx)
        assert child.inputs[0].prevout.txid == commitment.txid()
        package_fee_sat = (
            w.chain.mempool_entry(commitment.txid_hex).fee_sat + w.chain.mempool_entry(child.txid_hex).fee_sat
        )
        package_weight = commitment.weight + child.weight
        assert package_fee_sat * 1000 >= target_per_kw * package_weight
        w.mine(1)
        assert w.confirmed(commitment) and w.confirmed(child)
    finally:
        w.close()


def test_offered_htlc_past_its_deadline_forces_the_channel_on_chain() -> None:
    w = OnchainWorld(push_msat=300_000_000)
    try:
        expiry = w.chain.height() + 10
        w.pair.add(w.pair.a, 50_000_000, 1, cltv_expiry=expiry)
        w.pair.commit(w.pair.a)
        w.pair.pump()
        w.sync()
        w.mine(expiry - w.chain.height() + MonitorConfig().grace_blocks - 1)
        assert not [e for e in w.a.events if isinstance(e, GoOnchain)]
        w.mine(1)
        deadlines = [e for e in w.a.events if isinstance(e, GoOnchain)]
        assert [d.requirement for d in deadlines] == ["bolt02-cltv_expiry_delta-offerer-must-02"]
    finally:
        w.close()


def test_received_htlc_with_its_preimage_goes_on_chain_before_the_fulfillment_deadline() -> None:
    w = OnchainWorld(push_msat=300_000_000)
    try:
        expiry = w.chain.height() + 30
        w.pair.add(w.pair.a, 50_000_000, 1, cltv_expiry=expiry)
        w.pair.commit(w.pair.a)
        w.pair.pump()
        w.sync()
        w.b.monitor.add_preimage(preimage_of(1))
        deadline = expiry - MonitorConfig().fulfillment_deadline_blocks
        w.mine(deadline - w.chain.height() - 1)
        assert not [e for e in w.b.events if isinstance(e, GoOnchain)]
        w.mine(1)
        deadlines = [e for e in w.b.events if isinstance(e, GoOnchain)]
        assert [d.requirement for d in deadlines] == ["bolt02-cltv_expiry_delta-fulfiller-must-03"]
    finally:
        w.close()


def test_mutual_close_is_recognised_and_needs_no_claim() -> None:
    w = OnchainWorld(push_msat=300_000_000)
    try:
        w.pair.apply(w.pair.a, w.pair.a.channel.shutdown())
        w.pair.pump()
        closing = next(b for b in w.pair.a.broadcasts + w.pair.b.broadcasts if "closing" in b.description)
        w.send(closing.tx)
        w.mine(1)
        for watcher in w.watchers:
            assert [e.kind for e in watcher.events if isinstance(e, ChannelCloseSeen)] == [CloseKind.MUTUAL]
            assert not [e for e in watcher.events if isinstance(e, BroadcastTx)]
        w.mine(99)
        assert all(watcher.monitor.is_resolved() for watcher in w.watchers)
    finally:
        w.close()


def test_unknown_commitment_number_is_refused() -> None:
    from reference_node.onchain import UnknownCommitment

    w = OnchainWorld()
    try:
        with pytest.raises(UnknownCommitment):
            w.a.monitor.signed_local_commitment(99)
    finally:
        w.close()


def test_a_fee_coin_lent_to_an_unconfirmed_cpfp_is_reused_for_the_htlc_timeout() -> None:
    w = OnchainWorld(anchors=True, push_msat=300_000_000, feerate_per_kw=253)
    try:
        expiry = w.chain.height() + 5
        w.pair.add(w.pair.a, 50_000_000, 1, cltv_expiry=expiry)
        w.pair.commit(w.pair.a)
        w.pair.pump()
        w.sync()
        monitor = w.a.monitor
        coin = w.fee_input(w.a)
        monitor.add_fee_input(coin)
        actions = monitor.bump_local_commitment(5_000)
        commitment = next(
            Tx.parse(a.tx) for a in actions if isinstance(a, BroadcastTx) and "commitment" in a.description
        )
        assert any(isinstance(a, BroadcastTx) and a.description == "anchor CPFP" for a in actions)
        # the commitment confirms without its child (say the child was outbid): the coin is free again
        height = w.chain.height() + 1
        monitor.block_connected(height, [commitment], 1000)
        timeout_txs = []
        for later in range(height + 1, expiry + 3):
            timeout_txs += [
                Tx.parse(a.tx)
                for a in monitor.block_connected(later, [], 1000)
                if isinstance(a, BroadcastTx) and a.description == "HTLC-timeout"
            ]
        assert timeout_txs
        assert coin.outpoint in {i.prevout for i in timeout_txs[0].inputs}
        assert not any(isinstance(e, FeeInputNeeded) for e in monitor.block_connected(expiry + 3, [], 1000))
    finally:
        w.close()
