"""The monitor's records stay bounded as a channel ages (BOLT 5 persistence): the peer's secrets in the
49-slot form of BOLT 3, only the current commitments in the monitor's state, every commitment and preimage
appended once to its archive, and a penalty for the oldest revoked state still built from them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from reference_node.bitcoin.tx import Tx
from reference_node.keys.channel_keys import ChannelKeys
from reference_node.keys.shachain import STORAGE_SLOTS
from reference_node.onchain import ChannelMonitor, ClaimKind, CloseKind
from tests.test_channel_support import hash_of, preimage_of
from tests.test_onchain_support import OnchainWorld, Watcher, key_of

CLTV_DELTA = 60


@pytest.fixture
def world() -> Iterator[OnchainWorld]:
    w = OnchainWorld(push_msat=400_000_000)
    yield w
    w.close()


def _pump_recording(w: OnchainWorld) -> None:
    """Deliver messages one by one and let both monitors record after each, as the node does after every
    persisted state."""
    while w.pair.a.inbox or w.pair.b.inbox:
        for side in (w.pair.a, w.pair.b):
            if side.inbox:
                w.pair.deliver(side)
                w.sync()


def _pay(w: OnchainWorld, sender: Watcher, n: int) -> None:
    receiver = w.b if sender is w.a else w.a
    htlc_id = w.pair.add(sender.side, 20_000_000 + n, n, cltv_expiry=w.chain.height() + CLTV_DELTA)
    w.pair.commit(sender.side)
    _pump_recording(w)
    w.pair.apply(receiver.side, receiver.side.channel.fulfill_htlc(htlc_id, preimage_of(n)))
    w.pair.commit(receiver.side)
    _pump_recording(w)


def _payments(w: OnchainWorld, first: int, count: int) -> None:
    for n in range(first, first + count):
        _pay(w, w.a if n % 2 == 0 else w.b, n)


def _state_size(watcher: Watcher) -> int:
    return len(json.dumps(watcher.monitor.to_json()))


def test_every_revealed_secret_derives_from_at_most_49_slots(world: OnchainWorld) -> None:
    _payments(world, 0, 40)
    records = world.a.monitor.records
    peer_keys = ChannelKeys.from_seed(key_of("seed B"))  # the peer's own derivation, independent of ours
    revealed = records.remote_current_number
    assert revealed > 64  # several levels of the BOLT 3 tree are in use
    assert len(records.secret_slots) <= STORAGE_SLOTS
    for number in range(revealed):
        assert records.secret_of(number) == peer_keys.per_commitment_secret(number), number
    assert records.secret_of(revealed) is None


def test_monitor_state_does_not_grow_with_the_number_of_states(world: OnchainWorld) -> None:
    _payments(world, 0, 10)
    early_sat = _state_size(world.a)
    early_states = world.a.monitor.records.remote_current_number
    _payments(world, 10, 50)
    later = world.a.monitor.records
    assert later.remote_current_number > 5 * early_states
    # a few more secret slots at most (one per bit of the commitment count): never one view per state
    assert _state_size(world.a) < early_sat * 1.5
    assert later.preimages == []  # nothing in flight


def test_archive_holds_every_recorded_commitment_once(world: OnchainWorld) -> None:
    first = world.a.monitor.records.local_current_number
    _payments(world, 0, 12)
    records = world.a.monitor.records
    assert records.archive.local_numbers() == list(range(first, records.local_current_number + 1))
    for number in range(first, records.remote_current_number + 1):
        view = records.remote_view(number)
        assert view is not None and view.commitment_number == number
    with_htlcs = [r for r in records.local if r.view.htlcs]
    assert with_htlcs, "some recorded state carries an HTLC"


def test_preimages_of_settled_htlcs_leave_the_state_but_stay_known(world: OnchainWorld) -> None:
    _payments(world, 0, 6)
    for watcher in world.watchers:
        records = watcher.monitor.records
        assert records.preimages == []
        for n in range(6):
            assert records.preimage_for(hash_of(preimage_of(n))) == preimage_of(n)


def test_oldest_revoked_state_with_htlcs_is_punished_by_a_monitor_restored_from_json(
    world: OnchainWorld,
) -> None:
    _payments(world, 0, 20)
    cheater = world.b
    oldest = min(r.view.commitment_number for r in cheater.monitor.records.local if r.view.htlcs)
    archive = world.a.monitor.records.archive
    state = json.loads(json.dumps(world.a.monitor.to_json()))
    world.a.monitor = ChannelMonitor.from_json(state, key_of("seed A"), archive=archive)
    revoked = cheater.monitor.revoked_local_commitment(oldest)
    assert world.send(revoked.serialize()) == revoked.txid_hex
    world.mine(1, offline=(cheater,))
    assert world.a.monitor.close_kind == CloseKind.REVOKED.value
    penalties = [Tx.parse(b.tx) for b in world.a.broadcasts if b.description.startswith("penalty")]
    assert penalties
    world.mine(2, offline=(cheater,))
    assert all(world.confirmed(tx) for tx in penalties)
    watched = world.a.monitor.evaluation.watched
    revoked_htlcs = [o for o, w in watched.items() if w.claim is ClaimKind.REVOKED_HTLC]
    revoked_outputs = [
        o for o, w in watched.items() if w.claim in (ClaimKind.REVOKED_TO_LOCAL, ClaimKind.REVOKED_HTLC)
    ]
    assert revoked_htlcs, "the revoked state carries an HTLC output"
    spent = {i.prevout for tx in penalties for i in tx.inputs}
    assert set(revoked_outputs) <= spent
