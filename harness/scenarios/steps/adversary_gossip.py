"""BOLT 7 receiver checks: the scripted peer announces a channel it funded on the scenario's chain (it holds
all four keys), sends gossip the spec says to store or to ignore, and asks the node under test what it
kept, through the spec's own query messages (so any implementation answering `gossip_queries` is judged
the same way).

    - gossip_channel: {name: c1, node: target}                      # a 2-of-2 P2WSH output, 6 confirmations
    - send_channel_announcement: {peer: peer, channel: c1, fault: bad_node_signature}
    - send_channel_update: {peer: peer, channel: c1, node: 1, timestamp_offset_s: 10}
    - send_node_announcement: {peer: peer, channel: c1, node: 2}
    - expect_query_reply: {peer: peer, channel: c1, update_timestamps: [10]}  # gossip_observe.py

Timestamps are offsets from the time `gossip_channel` ran, so they are recent (receivers drop gossip
older than two weeks or far in the future) and each step can name the one it means.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import time
from dataclasses import dataclass

from coincurve import PrivateKey

from harness.chain.bitcoind import BitcoindChain
from harness.drivers.base import ChainFollowing, UnsupportedOperation
from harness.drivers.bitcoind_source import BitcoindBackendSource
from harness.drivers.peer import ExpectationFailed
from harness.drivers.reference import EmbeddedChainSource, ReferenceDriver, ScriptedPeerSession
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, PeerName, Step, StepContext
from reference_node.chain_source import ChainSource
from reference_node.gossip.addresses import AddressDescriptor
from reference_node.gossip.announcements import (
    ChannelPolicy,
    build_channel_update,
    build_node_announcement,
    unsigned_channel_announcement,
)
from reference_node.gossip.flags import Direction
from reference_node.gossip.signing import node_announcement_digest, sign, sign_channel_announcement
from reference_node.node import Network
from reference_node.scripted_peer import KEEPALIVE, ScriptedPeer
from reference_node.transactions.funding import funding_script_pubkey
from reference_node.wire import (
    ChannelAnnouncement,
    ChannelUpdate,
    NodeAnnouncement,
    ShortChannelId,
    encode_message,
)
from reference_node.wire.features import Features

DEFAULT_TIMEOUT_S = 10.0
ANNOUNCEMENT_CONFIRMATIONS = 6  # BOLT 7: "at least 6 confirmations"
REGTEST = Network.REGTEST.chain_hash
# A chain the node does not follow: signatures stay valid, only chain_hash is foreign.
FOREIGN_CHAIN = Network.MAINNET.chain_hash
# BOLT 9 assigns no feature to bit 100; even: "unknown even bit" in a channel_announcement.
UNKNOWN_EVEN_FEATURE = Features.from_bytes((1 << 100).to_bytes(13, "big"))
# What the node may send meanwhile that is not an answer to our query (its own sync of us).
NOT_REPLIES = KEEPALIVE | {"gossip_timestamp_filter", "query_channel_range", "query_short_channel_ids"}
MAX_U32 = 0xFFFFFFFF


def remaining_s(deadline: float) -> float:
    """Seconds left until `deadline` (time.monotonic()), a little above 0 once it passed: a wait that
    collects many messages stays within its step's `timeout_s` even if the node keeps talking."""
    return max(deadline - time.monotonic(), 0.001)


def _value_key(name: str) -> str:
    return f"gossip_channel:{name}"


@dataclass(frozen=True)
class GossipChannel:
    """A channel output on chain whose four keys the script holds; index 0 is `node_id_1`'s side."""

    name: str
    node_secrets: tuple[bytes, bytes]
    bitcoin_secrets: tuple[bytes, bytes]
    short_channel_id: ShortChannelId
    capacity_sat: int
    base_timestamp: int

    def node_id(self, index: int) -> bytes:
        return PrivateKey(self.node_secrets[index]).public_key.format()

    def bitcoin_key(self, index: int) -> bytes:
        return PrivateKey(self.bitcoin_secrets[index]).public_key.format()


def gossip_channel(ctx: StepContext, name: str) -> GossipChannel:
    value = ctx.get_value(_value_key(name))
    if not isinstance(value, GossipChannel):
        raise ExpectationFailed(f"no gossip channel {name!r}: add a gossip_channel step before")
    return value


def _secret(seed: int, name: str, label: str) -> bytes:
    return hashlib.sha256(f"boltcheck-gossip/{seed}/{name}/{label}".encode()).digest()


def channel_keys(seed: int, name: str) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes]]:
    """(node secrets, bitcoin secrets), the node secrets ordered so that the first is `node_id_1`."""
    pairs = [(_secret(seed, name, f"node-{i}"), _secret(seed, name, f"bitcoin-{i}")) for i in (0, 1)]
    pairs.sort(key=lambda pair: PrivateKey(pair[0]).public_key.format())
    return (pairs[0][0], pairs[1][0]), (pairs[0][1], pairs[1][1])


def scripted_peer(ctx: StepContext, name: str) -> ScriptedPeer:
    session = ctx.peer(name)
    if not isinstance(session, ScriptedPeerSession) or session.peer is None:
        raise UnsupportedOperation(name, "gossip script", "needs a connected scripted reference peer")
    return session.peer


def chain_source(ctx: StepContext) -> ChainSource:
    chain = ctx.chain
    if isinstance(chain, BitcoindChain):
        return BitcoindBackendSource(chain)
    return EmbeddedChainSource(chain)  # type: ignore[arg-type]


class FundingKind(enum.Enum):
    P2WSH = "p2wsh"  # the 2-of-2 of bitcoin_key_1/2, as BOLT 3 says
    OTHER_SCRIPT = "other_script"  # a P2WSH of other keys: the announcement's keys do not match it


@register_step
@dataclass(frozen=True)
class GossipChannelStep(Step):
    """Fund an output for a channel the script will announce (BOLT 3 funding script of two keys it
    derives from the seed), confirm it `confirmations` times, and remember its `short_channel_id`. The
    node `node` is brought up to the tip (an in-process reference node synced, a ChainFollowing node
    waited for) so it can verify the announcement."""

    NAME = "gossip_channel"
    SUMMARY = "fund and confirm an output for a channel the scripted peer will announce"
    name: str
    node: DriverName
    amount_sat: int = 100_000
    confirmations: int = ANNOUNCEMENT_CONFIRMATIONS
    funding: FundingKind = FundingKind.P2WSH
    share_node_of: str | None = None  # node_id_1 of that gossip_channel is one of this channel's nodes
    timeout_s: float = 30.0

    def check_arguments(self) -> None:
        if self.share_node_of == self.name:
            raise ValueError("share_node_of names another gossip_channel")
        if self.amount_sat < 1000:
            raise ValueError("amount_sat must be at least 1000")
        if not 1 <= self.confirmations <= 100:
            raise ValueError("confirmations must be 1..100")

    async def run(self, ctx: StepContext) -> str | None:
        node_secrets, bitcoin_secrets = channel_keys(ctx.scenario_seed, self.name)
        if self.share_node_of is not None:
            shared = gossip_channel(ctx, self.share_node_of).node_secrets[0]
            pairs = sorted(
                [(shared, bitcoin_secrets[0]), (node_secrets[1], bitcoin_secrets[1])],
                key=lambda pair: PrivateKey(pair[0]).public_key.format(),
            )
            node_secrets, bitcoin_secrets = (pairs[0][0], pairs[1][0]), (pairs[0][1], pairs[1][1])
        keys = [PrivateKey(s).public_key.format() for s in bitcoin_secrets]
        if self.funding is FundingKind.OTHER_SCRIPT:
            keys[1] = PrivateKey(_secret(ctx.scenario_seed, self.name, "stranger")).public_key.format()
        chain = ctx.chain
        # threads: over bitcoind RPC these calls must not hold up the nodes sharing this event loop
        outpoint = await asyncio.to_thread(
            chain.fund, funding_script_pubkey(keys[0], keys[1]), self.amount_sat
        )
        await asyncio.to_thread(chain.mine, self.confirmations)
        info = await asyncio.to_thread(chain.get_tx, outpoint.txid)
        if info.block_height is None:
            raise ExpectationFailed(f"funding {outpoint.txid} of {self.name} did not confirm")
        block = await asyncio.to_thread(chain_source(ctx).block_at, info.block_height)
        tx_index = next(i for i, tx in enumerate(block.txs) if tx.txid_hex == outpoint.txid)
        scid = ShortChannelId(info.block_height, tx_index, outpoint.vout)
        ctx.set_value(
            _value_key(self.name),
            GossipChannel(self.name, node_secrets, bitcoin_secrets, scid, self.amount_sat, int(time.time())),
        )
        # BOLT 7, receiving `channel_announcement`: an output without 6 confirmations (in the node's own
        # view of the chain) SHOULD be ignored. A node that reads the chain on its own schedule (Core
        # Lightning polls bitcoind) must have seen these blocks before the announcement arrives, or
        # ignoring it (and warning: "Bad gossip order") is the conforming answer, not the one we test.
        driver = ctx.driver(self.node)
        if isinstance(driver, ReferenceDriver) and driver.lightning is not None:
            await driver.lightning.sync_chain()
        elif isinstance(driver, ChainFollowing):
            await driver.sync()
        return (
            f"{self.name}: short_channel_id {scid}, {self.amount_sat} sat, {self.confirmations} confirmations"
        )


class AnnouncementFault(enum.Enum):
    NONE = "none"
    BAD_NODE_SIGNATURE = "bad_node_signature"  # node_signature_2 signs another message
    BAD_BITCOIN_SIGNATURE = "bad_bitcoin_signature"  # bitcoin_signature_1 by the wrong key
    WRONG_CHAIN_HASH = "wrong_chain_hash"  # mainnet's chain_hash, correctly signed
    UNKNOWN_EVEN_FEATURE = "unknown_even_feature"  # bit 100 set, correctly signed
    WRONG_BITCOIN_KEY = "wrong_bitcoin_key"  # bitcoin_key_2 is not in the funding script (signed by it)
    OTHER_NODE_IDS = "other_node_ids"  # the same output and bitcoin_keys, two other nodes: all signed


def build_channel_announcement(
    channel: GossipChannel, fault: AnnouncementFault, chain_hash: bytes = REGTEST
) -> ChannelAnnouncement:
    bitcoin_secrets = list(channel.bitcoin_secrets)
    node_secrets = list(channel.node_secrets)
    if fault is AnnouncementFault.OTHER_NODE_IDS:
        node_secrets = [hashlib.sha256(b"impostor" + secret).digest() for secret in node_secrets]
    if fault is AnnouncementFault.WRONG_BITCOIN_KEY:
        bitcoin_secrets[1] = hashlib.sha256(b"not the funding key" + bitcoin_secrets[1]).digest()
    unsigned = unsigned_channel_announcement(
        chain_hash=FOREIGN_CHAIN if fault is AnnouncementFault.WRONG_CHAIN_HASH else chain_hash,
        short_channel_id=channel.short_channel_id,
        node_id_a=PrivateKey(node_secrets[0]).public_key.format(),
        node_id_b=PrivateKey(node_secrets[1]).public_key.format(),
        bitcoin_key_a=PrivateKey(bitcoin_secrets[0]).public_key.format(),
        bitcoin_key_b=PrivateKey(bitcoin_secrets[1]).public_key.format(),
        features=UNKNOWN_EVEN_FEATURE if fault is AnnouncementFault.UNKNOWN_EVEN_FEATURE else Features(),
    )
    # node_id_1 is the lesser key: the other node ids may swap sides, each with its bitcoin_key
    first = 0 if PrivateKey(node_secrets[0]).public_key.format() == unsigned.node_id_1 else 1
    signed = sign_channel_announcement(
        unsigned,
        node_secret_1=node_secrets[first],
        node_secret_2=node_secrets[1 - first],
        bitcoin_secret_1=bitcoin_secrets[first],
        bitcoin_secret_2=bitcoin_secrets[1 - first],
    )
    if fault is AnnouncementFault.BAD_NODE_SIGNATURE:
        wrong = sign(channel.node_secrets[1], hashlib.sha256(b"another message").digest())
        return _replace(signed, node_signature_2=wrong)
    if fault is AnnouncementFault.BAD_BITCOIN_SIGNATURE:
        h = hashlib.sha256(encode_message(signed)).digest()
        return _replace(signed, bitcoin_signature_1=sign(channel.node_secrets[0], h))
    return signed


def _replace(msg: ChannelAnnouncement, **signatures: bytes) -> ChannelAnnouncement:
    return dataclasses.replace(msg, **signatures)  # type: ignore[arg-type]


@register_step
@dataclass(frozen=True)
class SendChannelAnnouncement(Step):
    NAME = "send_channel_announcement"
    SUMMARY = "the scripted peer sends a channel_announcement for a gossip_channel (or a spoiled one)"
    USES_CHAIN = False
    peer: PeerName
    channel: str
    fault: AnnouncementFault = AnnouncementFault.NONE

    async def run(self, ctx: StepContext) -> str | None:
        channel = gossip_channel(ctx, self.channel)
        await scripted_peer(ctx, self.peer).send(build_channel_announcement(channel, self.fault))
        return f"channel_announcement {channel.short_channel_id} ({self.fault.value})"


class UpdateFault(enum.Enum):
    NONE = "none"
    BAD_SIGNATURE = "bad_signature"  # signed by the other node of the channel
    WRONG_CHAIN_HASH = "wrong_chain_hash"  # mainnet's chain_hash, correctly signed


def build_gossip_update(
    channel: GossipChannel,
    node: int,
    timestamp: int,
    fee_base_msat: int,
    htlc_maximum_msat: int | None,
    fault: UpdateFault,
) -> ChannelUpdate:
    """A `channel_update` from the channel's node `node` (1 or 2: direction bit 0 or 1)."""
    index = node - 1
    signer = channel.node_secrets[1 - index if fault is UpdateFault.BAD_SIGNATURE else index]
    capacity_msat = channel.capacity_sat * 1000
    return build_channel_update(
        node_secret=signer,
        chain_hash=FOREIGN_CHAIN if fault is UpdateFault.WRONG_CHAIN_HASH else REGTEST,
        short_channel_id=channel.short_channel_id,
        timestamp=timestamp,
        direction=Direction(index),
        policy=ChannelPolicy(
            cltv_expiry_delta=40,
            htlc_minimum_msat=1000,
            htlc_maximum_msat=capacity_msat if htlc_maximum_msat is None else htlc_maximum_msat,
            fee_base_msat=fee_base_msat,
            fee_proportional_millionths=100,
        ),
    )


@register_step
@dataclass(frozen=True)
class SendChannelUpdate(Step):
    """A `channel_update` from node 1 or 2 of a gossip_channel, timestamp = base + `timestamp_offset_s`."""

    NAME = "send_channel_update"
    SUMMARY = "the scripted peer sends a channel_update for a gossip_channel (or a spoiled one)"
    USES_CHAIN = False
    peer: PeerName
    channel: str
    node: int = 1
    timestamp_offset_s: int = 0
    fee_base_msat: int = 1000
    htlc_maximum_msat: int | None = None
    fault: UpdateFault = UpdateFault.NONE

    def check_arguments(self) -> None:
        if self.node not in (1, 2):
            raise ValueError("node is 1 (node_id_1) or 2 (node_id_2)")

    async def run(self, ctx: StepContext) -> str | None:
        channel = gossip_channel(ctx, self.channel)
        timestamp = channel.base_timestamp + self.timestamp_offset_s
        update = build_gossip_update(
            channel, self.node, timestamp, self.fee_base_msat, self.htlc_maximum_msat, self.fault
        )
        await scripted_peer(ctx, self.peer).send(update)
        return (
            f"channel_update {channel.short_channel_id} node {self.node} at {timestamp} ({self.fault.value})"
        )


class NodeAnnouncementFault(enum.Enum):
    NONE = "none"
    BAD_SIGNATURE = "bad_signature"  # signed by the channel's other node
    ADDRLEN_SHORT = "addrlen_short"  # an IPv4 descriptor cut short by addrlen
    UNKNOWN_ADDRESS_TYPE = "unknown_address_type"  # an IPv4 descriptor, then one of type 200
    TWO_DNS_HOSTNAMES = "two_dns_hostnames"  # an IPv4 descriptor and two type 5 (DNS hostname) ones
    INVALID_NODE_ID = "invalid_node_id"  # node_id 0x02 || 0xff * 32: x is not a field element


_IPV4 = AddressDescriptor.ipv4("192.0.2.1", 9735)  # RFC 5737 documentation address
_DNS = (AddressDescriptor.dns("a.example", 9735), AddressDescriptor.dns("b.example", 9735))  # RFC 2606
_INVALID_NODE_ID = b"\x02" + b"\xff" * 32


def build_gossip_node_announcement(
    channel: GossipChannel, node: int, timestamp: int, alias: str, fault: NodeAnnouncementFault
) -> NodeAnnouncement:
    index = node - 1
    signed = build_node_announcement(
        node_secret=channel.node_secrets[index],
        node_id=channel.node_id(index),
        timestamp=timestamp,
        features=Features(),
        alias=alias,
        addresses=(_IPV4,),
    )
    addresses = signed.addresses
    if fault is NodeAnnouncementFault.ADDRLEN_SHORT:
        addresses = _IPV4.encode()[:-2]  # type 1 needs 6 bytes of data; 4 remain
    elif fault is NodeAnnouncementFault.UNKNOWN_ADDRESS_TYPE:
        addresses = _IPV4.encode() + bytes([200, 1, 2, 3])
    elif fault is NodeAnnouncementFault.TWO_DNS_HOSTNAMES:
        addresses = _IPV4.encode() + b"".join(d.encode() for d in _DNS)
    secret = channel.node_secrets[1 - index if fault is NodeAnnouncementFault.BAD_SIGNATURE else index]
    unsigned = dataclasses.replace(signed, addresses=addresses)
    if fault is NodeAnnouncementFault.INVALID_NODE_ID:
        unsigned = dataclasses.replace(unsigned, node_id=_INVALID_NODE_ID)
    return dataclasses.replace(unsigned, signature=sign(secret, node_announcement_digest(unsigned)))


@register_step
@dataclass(frozen=True)
class SendNodeAnnouncement(Step):
    NAME = "send_node_announcement"
    SUMMARY = "the scripted peer sends a node_announcement for a node of a gossip_channel (or a spoiled one)"
    USES_CHAIN = False
    peer: PeerName
    channel: str
    node: int = 1
    timestamp_offset_s: int = 0
    alias: str = "boltcheck"
    fault: NodeAnnouncementFault = NodeAnnouncementFault.NONE

    def check_arguments(self) -> None:
        if self.node not in (1, 2):
            raise ValueError("node is 1 (node_id_1) or 2 (node_id_2)")

    async def run(self, ctx: StepContext) -> str | None:
        channel = gossip_channel(ctx, self.channel)
        timestamp = channel.base_timestamp + self.timestamp_offset_s
        message = build_gossip_node_announcement(channel, self.node, timestamp, self.alias, self.fault)
        await scripted_peer(ctx, self.peer).send(message)
        return f"node_announcement of node {self.node} of {self.channel} at {timestamp} ({self.fault.value})"
