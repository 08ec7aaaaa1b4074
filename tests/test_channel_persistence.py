"""The whole channel state serializes to plain JSON and back, at every point it is persisted."""

from __future__ import annotations

import json

import pytest

from reference_node.channel import Channel, PersistState
from reference_node.channel.actions import Action
from reference_node.channel.serialize import StateDecodeError
from tests.test_channel_support import ChannelPair, SideState, preimage_of


class RecordingPair(ChannelPair):
    def __init__(self, **kwargs: object) -> None:
        self.snapshots: list[dict[str, object]] = []
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def apply(self, side: SideState, actions: list[Action]) -> None:
        self.snapshots.extend(a.state for a in actions if isinstance(a, PersistState))
        super().apply(side, actions)


@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
def test_every_persisted_state_round_trips_through_json(anchors: bool) -> None:
    pair = RecordingPair(anchors=anchors, push_msat=200_000_000)
    ids = [pair.add(pair.a, 5_000_000, 1), pair.add(pair.a, 300_000, 2)]
    pair.commit(pair.a)
    b_id = pair.add(pair.b, 7_000_000, 3)
    pair.commit(pair.b)
    pair.pump()
    pair.apply(pair.b, pair.b.channel.fulfill_htlc(ids[0], preimage_of(1)))
    pair.apply(pair.b, pair.b.channel.fail_htlc(ids[1], b"\x01" * 32))
    pair.apply(pair.a, pair.a.channel.fail_malformed_htlc(b_id, b"\x02" * 32, 0x8000 | 0x4000 | 5))
    pair.apply(pair.a, pair.a.channel.update_fee(3000))
    pair.commit(pair.a)
    pair.commit(pair.b)
    pair.pump()
    pair.apply(pair.a, pair.a.channel.shutdown())
    pair.pump()
    assert len(pair.snapshots) > 20
    for snapshot in pair.snapshots:
        text = json.dumps(snapshot)  # plain JSON: no bytes, no enums, no dataclasses left
        restored = Channel.from_json(json.loads(text), pair.a.signer, pair.policy)
        again = restored.to_json()
        # the link flags are reset on restore (a restarted node is disconnected); the rest is identical
        for flag in ("connected", "reestablish_sent", "reestablish_received"):
            again.pop(flag)
            snapshot = {k: v for k, v in snapshot.items() if k != flag}
        assert again == snapshot


def test_a_corrupted_state_is_refused_with_a_specific_error() -> None:
    pair = ChannelPair()
    assert pair.a.persisted is not None
    broken = dict(pair.a.persisted)
    broken["funding_satoshis"] = "a lot"
    with pytest.raises(StateDecodeError):
        Channel.from_json(broken, pair.a.signer, pair.policy)
    del broken["funding_satoshis"]
    with pytest.raises(StateDecodeError):
        Channel.from_json(broken, pair.a.signer, pair.policy)
