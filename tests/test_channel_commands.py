"""Commands the spec forbids the sender are refused without touching the channel; a few rarer paths."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from reference_node.channel import Channel, ChannelFailed, ChannelState
from reference_node.channel import errors as e
from reference_node.channel.bolt3_signer import Bolt3Signer
from reference_node.channel.messages import ChannelMessage
from reference_node.keys.derivation import per_commitment_point
from tests.test_channel_support import ChannelPair, disconnect, preimage_of, reconnect


def committed_pair() -> tuple[ChannelPair, int]:
    """A offered B one committed HTLC (id returned)."""
    pair = ChannelPair()
    htlc_id = pair.add(pair.a, 10_000_000, 1)
    pair.commit(pair.a)
    pair.pump()
    return pair, htlc_id


REFUSALS: dict[str, Callable[[ChannelPair, int], object]] = {
    "fulfil-unknown-htlc": lambda p, i: p.b.channel.fulfill_htlc(i + 5, preimage_of(1)),
    "fulfil-own-htlc": lambda p, i: p.a.channel.fulfill_htlc(i, preimage_of(1)),
    "fulfil-wrong-preimage": lambda p, i: p.b.channel.fulfill_htlc(i, preimage_of(2)),
    "fail-malformed-without-badonion": lambda p, i: p.b.channel.fail_malformed_htlc(i, bytes(32), 0x4000),
    "commit-without-updates": lambda p, i: p.a.channel.commit(),
    "second-shutdown": lambda p, i: (p.apply(p.a, p.a.channel.shutdown()), p.a.channel.shutdown()),
    "shutdown-to-p2pkh": lambda p, i: p.a.channel.shutdown(bytes([0x76, 0xA9, 20]) + bytes(20) + b"\x88\xac"),
    "closing-complete-before-shutdown": lambda p, i: p.a.channel.send_closing_complete(1000),
    "funding-tx-when-funded": lambda p, i: p.a.channel.funding_tx_built(bytes(32), 0, b""),
    "forget-funded-channel": lambda p, i: p.b.channel.forget_unconfirmed_funding(),
    "closing-confirmed-while-open": lambda p, i: p.a.channel.closing_confirmed(bytes(32)),
}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_forbidden_command_is_refused_and_changes_nothing(name: str) -> None:
    pair, htlc_id = committed_pair()
    with pytest.raises(e.CommandRejected):
        REFUSALS[name](pair, htlc_id)
    assert pair.a.channel.state in (ChannelState.NORMAL, ChannelState.SHUTTING_DOWN)
    assert pair.b.channel.state is ChannelState.NORMAL


def test_commit_while_waiting_for_revoke_and_ack_is_refused() -> None:
    pair = ChannelPair()
    pair.add(pair.a, 1_000_000, 1)
    pair.commit(pair.a)
    pair.add(pair.a, 1_000_000, 2)
    with pytest.raises(e.CommandRejected):
        pair.a.channel.commit()


def test_updates_are_refused_until_the_peer_reestablished() -> None:
    pair, htlc_id = committed_pair()
    disconnect(pair)
    with pytest.raises(e.CommandRejected):
        pair.b.channel.fulfill_htlc(htlc_id, preimage_of(1))
    reconnect(pair)
    with pytest.raises(e.CommandRejected):  # our reestablish went out, the peer's has not arrived
        pair.b.channel.fulfill_htlc(htlc_id, preimage_of(1))
    pair.pump()
    pair.apply(pair.b, pair.b.channel.fulfill_htlc(htlc_id, preimage_of(1)))


def test_every_kind_of_update_is_retransmitted_with_a_lost_commitment_signed() -> None:
    pair = ChannelPair(push_msat=100_000_000)
    ids = [pair.add(pair.b, 2_000_000, n) for n in range(3)]
    pair.commit(pair.b)
    pair.pump()
    pair.apply(pair.a, pair.a.channel.fulfill_htlc(ids[0], preimage_of(0)))
    pair.apply(pair.a, pair.a.channel.fail_htlc(ids[1], b"reason"))
    pair.apply(pair.a, pair.a.channel.fail_malformed_htlc(ids[2], bytes(32), 0x8000 | 0x4000 | 5))
    pair.apply(pair.a, pair.a.channel.update_fee(4000))
    pair.commit(pair.a)
    disconnect(pair)  # all of it lost
    sent_before = len(pair.a.sent)
    reconnect(pair)
    pair.pump()
    names = [m.NAME for m in pair.a.sent[sent_before:]]
    assert names[:6] == [
        "channel_reestablish",
        "update_fulfill_htlc",
        "update_fail_htlc",
        "update_fail_malformed_htlc",
        "update_fee",
        "commitment_signed",
    ]
    assert pair.a.channel.balances_msat() == (902_000_000, 98_000_000)
    assert pair.b.channel.ledger.current_view(pair.b.channel.data.opener).feerate_per_kw == 4000


class NotShachainSigner(Bolt3Signer):
    """Per-commitment secrets that are valid keys but not from BOLT 3's shachain."""

    def per_commitment_secret(self, commitment_number: int) -> bytes:
        return hashlib.sha256(b"not shachain %d" % commitment_number).digest()

    def per_commitment_point(self, commitment_number: int) -> bytes:
        return per_commitment_point(self.per_commitment_secret(commitment_number))


def test_revocation_secrets_not_from_shachain_fail_the_channel() -> None:
    pair = ChannelPair(auto_open=False)
    # B is replaced by a fundee whose secrets are not derived with shachain
    signer = NotShachainSigner(hashlib.sha256(b"seed B").digest())
    pair.b.signer = signer
    pair.b.channel = Channel.new_inbound(
        signer=signer,
        policy=pair.policy,
        local_params=pair.b.channel.data.local_params,
        minimum_depth=3,
        features=pair.features,
        shutdown_scriptpubkey=pair.b.channel.data.closing.local_scriptpubkey,
    )
    pair.pump()
    pair.confirm_funding(3)
    pair.pump()
    failures: list[ChannelMessage | ChannelFailed] = []
    for n in range(3):
        pair.add(pair.a, 1_000_000, n)
        pair.commit(pair.a)
        pair.pump()
        failures = [a for a in pair.a.events if isinstance(a, ChannelFailed)]
        if failures:
            break
    assert failures and isinstance(failures[0], ChannelFailed)
    assert type(failures[0].error) is e.RevocationSecretNotShachain
