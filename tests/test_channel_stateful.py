"""Hypothesis stateful test of a channel pair: random interleavings of adds, fulfils, fails, fee updates,
commitments, message delivery, disconnections and restarts from both sides.

Invariants: value is conserved in every commitment; neither honest side ever fails the channel; every
secret a side holds for the peer's revoked commitments is the right one; after each sync both sides agree
on balances, HTLCs, feerate and commitment numbers, and each holds the secret of every revoked state of the
other.
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from reference_node.bitcoin.tx import Tx
from reference_node.channel import ChannelState, PeerFeatures, Side
from reference_node.channel import errors as e
from reference_node.channel.ledger import UpdateKind
from reference_node.channel.messages import ClosingComplete
from reference_node.channel.params import Policy
from reference_node.channel.revocation import remote_secret
from tests.kernel_check import kernel_accepts
from tests.test_channel_support import (
    P2WPKH_A,
    P2WPKH_B,
    REGTEST_CHAIN_HASH,
    ChannelPair,
    SideState,
    disconnect,
    hash_of,
    preimage_of,
    reconnect,
    restart,
)

FUNDING_SAT = 1_000_000


class ChannelPairMachine(RuleBasedStateMachine):
    pair: ChannelPair

    @initialize(
        over_wire=st.booleans(),
        anchors=st.booleans(),
        auto_commit=st.booleans(),
        push_msat=st.sampled_from([0, 400_000_000]),
        simple_close=st.booleans(),
    )
    def open(
        self, over_wire: bool, anchors: bool, auto_commit: bool, push_msat: int, simple_close: bool
    ) -> None:
        policy = Policy(chain_hashes=frozenset({REGTEST_CHAIN_HASH}), auto_commit=auto_commit)
        features = PeerFeatures(option_simple_close=simple_close)
        self.pair = ChannelPair(
            anchors=anchors, push_msat=push_msat, policy=policy, over_wire=over_wire, features=features
        )
        self.payment_number = 0
        self.preimages: dict[bytes, bytes] = {}
        assert self.pair.is_normal()

    def side(self, name: str) -> SideState:
        return self.pair.a if name == "A" else self.pair.b

    # -- rules ---------------------------------------------------------------------------------------

    @rule(sender=st.sampled_from("AB"), amount_msat=st.sampled_from([1_000, 400_000, 3_000_000, 60_000_000]))
    def add(self, sender: str, amount_msat: int) -> None:
        self.payment_number += 1
        side = self.side(sender)
        try:
            self.pair.add(side, amount_msat, self.payment_number)
        except e.CommandRejected as exc:
            event(f"add refused: {str(exc)[:60]}")
            return
        event("add")
        preimage = preimage_of(self.payment_number)
        self.preimages[hash_of(preimage)] = preimage

    @rule(
        side_name=st.sampled_from("AB"),
        how=st.sampled_from(["fulfil", "fulfil", "fail", "fail_malformed"]),
        pick=st.integers(0, 1000),
    )
    def remove(self, side_name: str, how: str, pick: int) -> None:
        side = self.side(side_name)
        ledger = side.channel.ledger
        removable = [
            u
            for u in ledger.updates
            if u.kind is UpdateKind.ADD
            and u.proposer is Side.REMOTE
            and ledger.settled(u)
            and ledger.find_removal(Side.REMOTE, u.htlc_id) is None
        ]
        if not removable:
            return
        htlc = removable[pick % len(removable)]
        try:
            if how == "fulfil":
                actions = side.channel.fulfill_htlc(htlc.htlc_id, self.preimages[htlc.payment_hash])
            elif how == "fail":
                actions = side.channel.fail_htlc(htlc.htlc_id, b"\x00" * 32)
            else:
                actions = side.channel.fail_malformed_htlc(htlc.htlc_id, bytes(32), 0x8000 | 0x4000 | 5)
        except e.CommandRejected:
            return
        event(how)
        self.pair.apply(side, actions)

    @rule(feerate_per_kw=st.integers(253, 12_000))
    def update_fee(self, feerate_per_kw: int) -> None:
        try:
            self.pair.apply(self.pair.a, self.pair.a.channel.update_fee(feerate_per_kw))
        except e.CommandRejected:
            return

    @rule(side_name=st.sampled_from("AB"))
    def commit(self, side_name: str) -> None:
        side = self.side(side_name)
        try:
            self.pair.apply(side, side.channel.commit())
        except e.CommandRejected:
            return

    @rule(side_name=st.sampled_from("AB"), count=st.integers(1, 4))
    def deliver(self, side_name: str, count: int) -> None:
        side = self.side(side_name)
        for _ in range(count):
            if side.inbox:
                self.pair.deliver(side)

    @rule()
    def disconnect_and_reestablish(self) -> None:
        disconnect(self.pair)
        reconnect(self.pair)

    @rule(side_name=st.sampled_from("AB"))
    def reconnect_noticed_by_one_side_only(self, side_name: str) -> None:
        """The other side learns of the new connection from the peer's channel_reestablish."""
        disconnect(self.pair)
        side = self.side(side_name)
        self.pair.apply(side, side.channel.peer_reconnected())

    @rule(side_name=st.sampled_from("AB"))
    def restart_and_reestablish(self, side_name: str) -> None:
        disconnect(self.pair)
        restart(self.pair, self.side(side_name))
        reconnect(self.pair)

    @rule()
    def sync(self) -> None:
        pair = self.pair
        event(f"sync with {len(pair.a.channel.ledger.updates)} updates in flight")
        for _ in range(50):
            pair.pump()
            committed = False
            for side in (pair.a, pair.b):
                ledger = side.channel.ledger
                if ledger.has_changes_for(Side.REMOTE) and not ledger.remote_pending:
                    pair.apply(side, side.channel.commit())
                    committed = True
            if not committed and not pair.a.inbox and not pair.b.inbox:
                break
        a, b = pair.a.channel, pair.b.channel
        la, lb = a.ledger, b.ledger
        assert (la.local_ctn, la.remote_ctn) == (lb.remote_ctn, lb.local_ctn)
        assert not la.remote_pending and not lb.remote_pending
        view_a, view_b = la.current_view(Side.LOCAL), lb.current_view(Side.REMOTE)
        assert (view_a.local_msat, view_a.remote_msat, view_a.feerate_per_kw) == (
            view_b.remote_msat,
            view_b.local_msat,
            view_b.feerate_per_kw,
        )
        assert sorted((h.offerer is Side.LOCAL, h.htlc_id) for h in view_a.htlcs) == sorted(
            (h.offerer is Side.REMOTE, h.htlc_id) for h in view_b.htlcs
        )
        # every revoked state's secret is held by the other side
        for holder, peer in ((pair.a, pair.b), (pair.b, pair.a)):
            assert peer.channel.ledger.remote_ctn == holder.channel.ledger.local_ctn
            for n in range(holder.channel.ledger.local_ctn):
                assert remote_secret(peer.channel.data, n) == holder.signer.per_commitment_secret(n)

    def teardown(self) -> None:
        """Settle every HTLC, close cooperatively, and check the closing transaction spends the funding
        output (Bitcoin Core's interpreter) and pays each side its balance minus the agreed fee."""
        if not hasattr(self, "pair") or self.pair.a.channel.state is not ChannelState.NORMAL:
            return
        pair = self.pair
        self.sync()
        for _ in range(10):
            for side in (pair.a, pair.b):
                ledger = side.channel.ledger
                for update in list(ledger.updates):
                    if (
                        update.kind is UpdateKind.ADD
                        and update.proposer is Side.REMOTE
                        and ledger.find_removal(Side.REMOTE, update.htlc_id) is None
                        and ledger.settled(update)
                    ):
                        actions = side.channel.fulfill_htlc(
                            update.htlc_id, self.preimages[update.payment_hash]
                        )
                        pair.apply(side, actions)
            self.sync()
            if not pair.a.channel.ledger.updates:
                break
        assert not pair.a.channel.ledger.updates
        balances = pair.a.channel.balances_msat()
        pair.apply(pair.b, pair.b.channel.shutdown())
        pair.pump()
        for side in (pair.a, pair.b):
            assert side.channel.state is ChannelState.CLOSING_BROADCAST, side.channel.data.failure
        assert pair.funding_tx is not None
        funding = pair.funding_tx.outputs[0]
        for side in (pair.a, pair.b):
            for broadcast in side.broadcasts:
                if "closing" in broadcast.description:
                    assert kernel_accepts(funding.script_pubkey, funding.amount_sat, Tx.parse(broadcast.tx))
        if pair.features.option_simple_close:
            # A's own closing transaction: A pays the fee it offered in closing_complete
            closing = [b for b in pair.a.broadcasts if b.description == "mutual closing transaction (we pay)"]
            fee_sat = [m for m in pair.a.sent if isinstance(m, ClosingComplete)][-1].fee_satoshis
        else:
            closing = [b for b in pair.a.broadcasts if "closing" in b.description]
            fee_sat = pair.a.channel.data.closing.last_sent_fee_satoshis
        assert fee_sat is not None and closing
        tx = Tx.parse(closing[-1].tx)
        paid = {o.script_pubkey: o.amount_sat for o in tx.outputs}
        # the funder (A) pays the fee; each output is the balance rounded down (dust outputs dropped)
        a_expected = balances[0] // 1000 - fee_sat
        b_expected = balances[1] // 1000
        assert paid.get(P2WPKH_A, 0) in (a_expected, 0)
        assert paid.get(P2WPKH_B, 0) in (b_expected, 0)

    # -- invariants --------------------------------------------------------------------------------

    @invariant()
    def nobody_failed(self) -> None:
        for side in (self.pair.a, self.pair.b):
            assert side.channel.state is ChannelState.NORMAL, side.channel.data.failure

    @invariant()
    def value_is_conserved(self) -> None:
        for side in (self.pair.a, self.pair.b):
            ledger = side.channel.ledger
            for holder in (Side.LOCAL, Side.REMOTE):
                for view in (ledger.current_view(holder), ledger.next_view(holder)):
                    total = view.local_msat + view.remote_msat + sum(h.amount_msat for h in view.htlcs)
                    assert total == FUNDING_SAT * 1000

    @invariant()
    def held_secrets_are_the_peers(self) -> None:
        for holder, peer in ((self.pair.a, self.pair.b), (self.pair.b, self.pair.a)):
            revealed = peer.channel.ledger.remote_ctn
            assert revealed <= holder.channel.ledger.local_ctn
            if revealed:
                assert remote_secret(peer.channel.data, revealed - 1) == holder.signer.per_commitment_secret(
                    revealed - 1
                )


ChannelPairMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_channel_pair_state_machine = ChannelPairMachine.TestCase
