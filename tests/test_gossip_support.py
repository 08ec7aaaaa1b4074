"""Helpers for the gossip tests: deterministic keys, a fake chain for funding lookups, and signed
announcements/updates for small networks. (No tests here.)"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.gossip.announcements import (
    ChannelPolicy,
    build_channel_update,
    direction_of,
    unsigned_channel_announcement,
)
from reference_node.gossip.flags import REGTEST_CHAIN_HASH, Direction
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.records import FundingOutput
from reference_node.gossip.signing import sign_channel_announcement
from reference_node.transactions.funding import funding_script_pubkey
from reference_node.wire import ChannelAnnouncement, ChannelUpdate, ShortChannelId
from reference_node.wire.features import Features

CHAIN = REGTEST_CHAIN_HASH
NOW = 1_700_000_000
NO_FEATURES = Features()


def secret(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


@dataclass(frozen=True)
class Party:
    name: str

    @property
    def node_secret(self) -> bytes:
        return secret(f"node/{self.name}")

    @property
    def funding_secret(self) -> bytes:
        return secret(f"funding/{self.name}")

    @property
    def node_id(self) -> bytes:
        return public_key_of(self.node_secret)

    @property
    def funding_pubkey(self) -> bytes:
        return public_key_of(self.funding_secret)


def ordered(a: Party, b: Party) -> tuple[Party, Party]:
    return (a, b) if a.node_id < b.node_id else (b, a)


def announce(
    a: Party, b: Party, scid: ShortChannelId, *, features: Features = NO_FEATURES, chain_hash: bytes = CHAIN
) -> ChannelAnnouncement:
    unsigned = unsigned_channel_announcement(
        chain_hash=chain_hash,
        short_channel_id=scid,
        node_id_a=a.node_id,
        node_id_b=b.node_id,
        bitcoin_key_a=a.funding_pubkey,
        bitcoin_key_b=b.funding_pubkey,
        features=features,
    )
    first, second = ordered(a, b)
    return sign_channel_announcement(
        unsigned,
        node_secret_1=first.node_secret,
        node_secret_2=second.node_secret,
        bitcoin_secret_1=first.funding_secret,
        bitcoin_secret_2=second.funding_secret,
    )


def policy(
    cltv: int = 40, base: int = 1000, ppm: int = 100, htlc_min: int = 1, htlc_max: int = 100_000_000
) -> ChannelPolicy:
    return ChannelPolicy(cltv, htlc_min, htlc_max, base, ppm)


def update(
    origin: Party,
    other: Party,
    scid: ShortChannelId,
    *,
    timestamp: int = NOW,
    channel_policy: ChannelPolicy | None = None,
    disabled: bool = False,
    dont_forward: bool = False,
    chain_hash: bytes = CHAIN,
) -> ChannelUpdate:
    return build_channel_update(
        node_secret=origin.node_secret,
        chain_hash=chain_hash,
        short_channel_id=scid,
        timestamp=timestamp,
        direction=direction_of(origin.node_id, other.node_id),
        policy=channel_policy or policy(),
        disabled=disabled,
        dont_forward=dont_forward,
    )


@dataclass
class FakeChain:
    """Funding outputs by short_channel_id, as the node's lookup callback would report them."""

    outputs: dict[ShortChannelId, FundingOutput] = field(default_factory=dict)

    def fund(
        self, a: Party, b: Party, scid: ShortChannelId, amount_sat: int = 1_000_000, confirmations: int = 6
    ) -> None:
        script = funding_script_pubkey(a.funding_pubkey, b.funding_pubkey)
        self.outputs[scid] = FundingOutput(script, amount_sat, confirmations)

    def lookup(self, scid: ShortChannelId) -> FundingOutput | None:
        return self.outputs.get(scid)


def public_channel(
    graph: ChannelGraph,
    chain: FakeChain,
    a: Party,
    b: Party,
    scid: ShortChannelId,
    *,
    amount_sat: int = 1_000_000,
    policy_a: ChannelPolicy | None = None,
    policy_b: ChannelPolicy | None = None,
    timestamp: int = NOW,
) -> None:
    """Announce a channel and both directions' updates into `graph`; asserts each is accepted."""
    chain.fund(a, b, scid, amount_sat)
    assert graph.receive_channel_announcement(
        announce(a, b, scid), lookup=chain.lookup, now=timestamp
    ).accepted
    for origin, other, chosen in ((a, b, policy_a), (b, a, policy_b)):
        msg = update(origin, other, scid, timestamp=timestamp, channel_policy=chosen)
        assert graph.receive_channel_update(msg, now=timestamp).accepted


def direction(origin: Party, other: Party) -> Direction:
    return direction_of(origin.node_id, other.node_id)
