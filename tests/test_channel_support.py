"""Two in-memory channel instances wired back to back (no tests here: the harness of the channel tests).

`ChannelPair` plays the node around each `Channel`: it queues `SendMessage`s for the other side, keeps the
last `PersistState`, builds the funding transaction on `FundingOutputNeeded`, records broadcasts and events,
and checks the persistence contract (a message that reveals or commits to new state is preceded by a
`PersistState` in the same batch of actions).
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from reference_node.bitcoin.tx import OutPoint, Tx, TxIn, TxOut
from reference_node.channel import (
    Action,
    BroadcastTx,
    Channel,
    ChannelParams,
    ChannelState,
    ChannelType,
    FundingOutputNeeded,
    PeerFeatures,
    PersistState,
    Policy,
    SendMessage,
)
from reference_node.channel.bolt3_signer import Bolt3Signer
from reference_node.channel.messages import (
    ChannelMessage,
    ClosingComplete,
    ClosingSig,
    ClosingSigned,
    CommitmentSigned,
    FundingSigned,
    RevokeAndAck,
    Shutdown,
    UpdateAddHtlc,
    UpdateFailHtlc,
    UpdateFailMalformedHtlc,
    UpdateFee,
    UpdateFulfillHtlc,
)
from reference_node.channel.wire_adapter import from_wire, to_wire
from reference_node.wire import decode_message, encode_message

REGTEST_CHAIN_HASH = bytes.fromhex("06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f")
ONION = bytes(1366)
P2WPKH_A = bytes.fromhex("0014") + bytes(range(20))
P2WPKH_B = bytes.fromhex("0014") + bytes(range(20, 40))


# messages that reveal a secret, hand over a signature or commit us to a state
MUST_PERSIST_BEFORE = (
    UpdateAddHtlc,
    UpdateFulfillHtlc,
    UpdateFailHtlc,
    UpdateFailMalformedHtlc,
    UpdateFee,
    CommitmentSigned,
    RevokeAndAck,
    FundingSigned,
    Shutdown,
    ClosingSigned,
    ClosingComplete,
    ClosingSig,
)


def default_params(reserve_sat: int = 10_000) -> ChannelParams:
    return ChannelParams(
        dust_limit_satoshis=546,
        max_htlc_value_in_flight_msat=10_000_000_000,
        channel_reserve_satoshis=reserve_sat,
        htlc_minimum_msat=1,
        to_self_delay=144,
        max_accepted_htlcs=30,
    )


def preimage_of(n: int) -> bytes:
    return hashlib.sha256(b"preimage %d" % n).digest()


def hash_of(preimage: bytes) -> bytes:
    return hashlib.sha256(preimage).digest()


@dataclass
class SideState:
    name: str
    channel: Channel
    signer: Bolt3Signer
    inbox: deque[ChannelMessage] = field(default_factory=deque)
    persisted: dict[str, Any] | None = None
    events: list[Action] = field(default_factory=list)
    broadcasts: list[BroadcastTx] = field(default_factory=list)
    sent: list[ChannelMessage] = field(default_factory=list)


class ChannelPair:
    def __init__(
        self,
        anchors: bool = False,
        funding_satoshis: int = 1_000_000,
        push_msat: int = 0,
        feerate_per_kw: int = 2500,
        features: PeerFeatures | None = None,
        policy: Policy | None = None,
        opener_params: ChannelParams | None = None,
        accepter_params: ChannelParams | None = None,
        minimum_depth: int = 3,
        auto_open: bool = True,
        over_wire: bool = True,
        channel_type: ChannelType | None = None,
        announce_channel: bool = False,
    ) -> None:
        self.over_wire = over_wire
        self.policy = policy or Policy(chain_hashes=frozenset({REGTEST_CHAIN_HASH}))
        self.features = features or PeerFeatures()
        signer_a = Bolt3Signer(hashlib.sha256(b"seed A").digest())
        signer_b = Bolt3Signer(hashlib.sha256(b"seed B").digest())
        channel_b = Channel.new_inbound(
            signer=signer_b,
            policy=self.policy,
            local_params=accepter_params or default_params(),
            minimum_depth=minimum_depth,
            features=self.features,
            shutdown_scriptpubkey=P2WPKH_B,
        )
        self.b = SideState("B", channel_b, signer_b)
        self.opening_args: dict[str, Any] = dict(
            signer=signer_a,
            policy=self.policy,
            chain_hash=REGTEST_CHAIN_HASH,
            temporary_channel_id=hashlib.sha256(b"temp").digest(),
            funding_satoshis=funding_satoshis,
            push_msat=push_msat,
            feerate_per_kw=feerate_per_kw,
            local_params=opener_params or default_params(),
            channel_type=channel_type or ChannelType(anchors=anchors),
            announce_channel=announce_channel,
            features=self.features,
            shutdown_scriptpubkey=P2WPKH_A,
        )
        channel_a, actions = Channel.new_outbound(**self.opening_args)
        self.a = SideState("A", channel_a, signer_a)
        self.funding_tx: Tx | None = None
        self.apply(self.a, actions)
        if auto_open:
            self.pump()
            self.confirm_funding(depth=minimum_depth)
            self.pump()

    def other(self, side: SideState) -> SideState:
        return self.b if side is self.a else self.a

    # -- the node's job ---------------------------------------------------------------------------

    def apply(self, side: SideState, actions: list[Action]) -> None:
        persisted_in_batch = False
        for action in actions:
            if isinstance(action, SendMessage):
                if isinstance(action.message, MUST_PERSIST_BEFORE):
                    assert persisted_in_batch, f"{action.message.NAME} sent before its state was persisted"
                side.sent.append(action.message)
                self.other(side).inbox.append(self.transmit(action.message))
            elif isinstance(action, PersistState):
                side.persisted = action.state
                persisted_in_batch = True
            elif isinstance(action, BroadcastTx):
                side.broadcasts.append(action)
            elif isinstance(action, FundingOutputNeeded):
                self.funding_tx = Tx(
                    2,
                    (TxIn(OutPoint(hashlib.sha256(b"wallet utxo").digest(), 0)),),
                    (TxOut(action.funding_satoshis, action.funding_scriptpubkey),),
                )
                built = side.channel.funding_tx_built(self.funding_tx.txid(), 0, self.funding_tx.serialize())
                self.apply(side, built)
            else:
                side.events.append(action)

    def transmit(self, message: ChannelMessage) -> ChannelMessage:
        """Through the real codec: channel message -> wire message -> bytes -> wire message -> channel."""
        if not self.over_wire:
            return message
        received = from_wire(decode_message(encode_message(to_wire(message))))
        assert received == message, f"{message.NAME} changed on the wire"
        return received

    def deliver(self, side: SideState) -> ChannelMessage:
        """Deliver the oldest message queued for `side`."""
        message = side.inbox.popleft()
        self.apply(side, side.channel.handle(message))
        return message

    def pump(self, limit: int = 10_000) -> int:
        delivered = 0
        while self.a.inbox or self.b.inbox:
            for side in (self.a, self.b):
                if side.inbox:
                    self.deliver(side)
                    delivered += 1
            if delivered > limit:
                raise AssertionError("message pump did not settle")
        return delivered

    def confirm_funding(self, depth: int) -> None:
        assert self.funding_tx is not None
        output = self.funding_tx.outputs[0]
        for side in (self.a, self.b):
            event = side.channel.funding_confirmed(depth, 500, 1, output.amount_sat, output.script_pubkey)
            self.apply(side, event)

    # -- conveniences -----------------------------------------------------------------------------

    def add(self, sender: SideState, amount_msat: int, n: int, cltv_expiry: int = 600) -> int:
        htlc_id, actions = sender.channel.add_htlc(amount_msat, hash_of(preimage_of(n)), cltv_expiry, ONION)
        self.apply(sender, actions)
        return htlc_id

    def commit(self, side: SideState) -> None:
        self.apply(side, side.channel.commit())

    def is_normal(self) -> bool:
        return self.a.channel.state is ChannelState.NORMAL and self.b.channel.state is ChannelState.NORMAL

    def events_of(self, side: SideState, kind: type[Action]) -> list[Any]:
        return [event for event in side.events if isinstance(event, kind)]


def disconnect(pair: ChannelPair) -> None:
    """The transport drops: whatever was in flight is lost."""
    for side in (pair.a, pair.b):
        side.inbox.clear()
        pair.apply(side, side.channel.peer_disconnected())


def reconnect(pair: ChannelPair) -> None:
    for side in (pair.a, pair.b):
        pair.apply(side, side.channel.peer_reconnected())


def restart(pair: ChannelPair, side: SideState) -> None:
    """Kill the node and restore the channel from its last persisted state."""
    assert side.persisted is not None
    side.channel = Channel.from_json(side.persisted, side.signer, pair.policy)
