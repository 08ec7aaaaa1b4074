"""BOLT 7 receiver checks: the scripted peer announces a channel it funded on the scenario's chain (it holds
all four keys), sends gossip the spec says to store or to ignore, and asks the node under test what it
kept, through the spec's own query messages (so any implementation answering `gossip_queries` is judged
the same way).

    - gossip_channel: {name: c1, node: target}                      # a 2-of-2 P2WSH output, 6 confirmations
    - send_channel_announcement: {peer: peer, channel: c1, fault: bad_node_signature}
    - send_channel_update: {peer: peer, channel: c1, node: 1, timestamp_offset_s: 10}
    - send_node_announcement: {peer: peer, channel: c1, node: 2}
    - expect_query_reply: {peer: peer, channel: c1, channel_announcement: true, update_timestamps: [10]}
    - expect_channel_range_reply: {peer: peer, listed: [c1], not_listed: [c2]}
    - expect_gossip_dump: {peer: observer, channels: [c1], not_sent: [c2]}

Timestamps are offsets from the time `gossip_channel` ran, so they are recent (receivers drop gossip
older than two weeks or far in the future) and each step can name the one it means.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import time
from dataclasses import dataclass, field

from coincurve import PrivateKey

from harness.chain.bitcoind import BitcoindChain
from harness.drivers.base import UnsupportedOperation
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
from reference_node.scripted_peer import KEEPALIVE, ScriptedPeer, ScriptExpectationFailed
from reference_node.transactions.funding import funding_script_pubkey
from reference_node.wire import (
    ChannelAnnouncement,
    ChannelUpdate,
    DecodeError,
    ErrorMessage,
    GossipTimestampFilter,
    Message,
    NodeAnnouncement,
    QueryChannelRange,
    QueryFlagsTlv,
    QueryShortChannelIds,
    QueryShortChannelIdsTlvs,
    ReplyChannelRange,
    ReplyShortChannelIdsEnd,
    ShortChannelId,
    WarningMessage,
    encode_message,
)
from reference_node.wire.features import Features
from reference_node.wire.gossip_encoding import decode_short_ids, encode_query_flags, encode_short_ids

DEFAULT_TIMEOUT_S = 10.0
ANNOUNCEMENT_CONFIRMATIONS = 6  # BOLT 7: "at least 6 confirmations"
REGTEST = Network.REGTEST.chain_hash
# A chain the node does not follow: signatures stay valid, only chain_hash is foreign.
FOREIGN_CHAIN = Network.MAINNET.chain_hash
# BOLT 9 assigns no feature to bit 100; even: "unknown even bit" in a channel_announcement.
UNKNOWN_EVEN_FEATURE = Features.from_bytes((1 << 100).to_bytes(13, "big"))
# What the node may send meanwhile that is not an answer to our query (its own sync of us).
_NOT_REPLIES = KEEPALIVE | {"gossip_timestamp_filter", "query_channel_range", "query_short_channel_ids"}
_MAX_U32 = 0xFFFFFFFF


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


def _scripted(ctx: StepContext, name: str) -> ScriptedPeer:
    session = ctx.peer(name)
    if not isinstance(session, ScriptedPeerSession) or session.peer is None:
        raise UnsupportedOperation(name, "gossip script", "needs a connected scripted reference peer")
    return session.peer


def _chain_source(ctx: StepContext) -> ChainSource:
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
    node `node` is brought up to the tip when it is an in-process reference node."""

    NAME = "gossip_channel"
    SUMMARY = "fund and confirm an output for a channel the scripted peer will announce"
    name: str
    node: DriverName
    amount_sat: int = 100_000
    confirmations: int = ANNOUNCEMENT_CONFIRMATIONS
    funding: FundingKind = FundingKind.P2WSH
    timeout_s: float = 30.0

    def check_arguments(self) -> None:
        if self.amount_sat < 1000:
            raise ValueError("amount_sat must be at least 1000")
        if not 1 <= self.confirmations <= 100:
            raise ValueError("confirmations must be 1..100")

    async def run(self, ctx: StepContext) -> str | None:
        node_secrets, bitcoin_secrets = channel_keys(ctx.scenario_seed, self.name)
        keys = [PrivateKey(s).public_key.format() for s in bitcoin_secrets]
        if self.funding is FundingKind.OTHER_SCRIPT:
            keys[1] = PrivateKey(_secret(ctx.scenario_seed, self.name, "stranger")).public_key.format()
        chain = ctx.chain
        outpoint = chain.fund(funding_script_pubkey(keys[0], keys[1]), self.amount_sat)
        chain.mine(self.confirmations)
        info = chain.get_tx(outpoint.txid)
        if info.block_height is None:
            raise ExpectationFailed(f"funding {outpoint.txid} of {self.name} did not confirm")
        block = _chain_source(ctx).block_at(info.block_height)
        tx_index = next(i for i, tx in enumerate(block.txs) if tx.txid_hex == outpoint.txid)
        scid = ShortChannelId(info.block_height, tx_index, outpoint.vout)
        ctx.set_value(
            _value_key(self.name),
            GossipChannel(self.name, node_secrets, bitcoin_secrets, scid, self.amount_sat, int(time.time())),
        )
        driver = ctx.driver(self.node)
        if isinstance(driver, ReferenceDriver) and driver.lightning is not None:
            await driver.lightning.sync_chain()
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


def build_channel_announcement(
    channel: GossipChannel, fault: AnnouncementFault, chain_hash: bytes = REGTEST
) -> ChannelAnnouncement:
    bitcoin_secrets = list(channel.bitcoin_secrets)
    if fault is AnnouncementFault.WRONG_BITCOIN_KEY:
        bitcoin_secrets[1] = hashlib.sha256(b"not the funding key" + bitcoin_secrets[1]).digest()
    unsigned = unsigned_channel_announcement(
        chain_hash=FOREIGN_CHAIN if fault is AnnouncementFault.WRONG_CHAIN_HASH else chain_hash,
        short_channel_id=channel.short_channel_id,
        node_id_a=channel.node_id(0),
        node_id_b=channel.node_id(1),
        bitcoin_key_a=PrivateKey(bitcoin_secrets[0]).public_key.format(),
        bitcoin_key_b=PrivateKey(bitcoin_secrets[1]).public_key.format(),
        features=UNKNOWN_EVEN_FEATURE if fault is AnnouncementFault.UNKNOWN_EVEN_FEATURE else Features(),
    )
    signed = sign_channel_announcement(
        unsigned,
        node_secret_1=channel.node_secrets[0],
        node_secret_2=channel.node_secrets[1],
        bitcoin_secret_1=bitcoin_secrets[0],
        bitcoin_secret_2=bitcoin_secrets[1],
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
        await _scripted(ctx, self.peer).send(build_channel_announcement(channel, self.fault))
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
        await _scripted(ctx, self.peer).send(update)
        return (
            f"channel_update {channel.short_channel_id} node {self.node} at {timestamp} ({self.fault.value})"
        )


class NodeAnnouncementFault(enum.Enum):
    NONE = "none"
    BAD_SIGNATURE = "bad_signature"  # signed by the channel's other node
    ADDRLEN_SHORT = "addrlen_short"  # an IPv4 descriptor cut short by addrlen
    UNKNOWN_ADDRESS_TYPE = "unknown_address_type"  # an IPv4 descriptor, then one of type 200


_IPV4 = AddressDescriptor.ipv4("192.0.2.1", 9735)  # RFC 5737 documentation address


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
    secret = channel.node_secrets[1 - index if fault is NodeAnnouncementFault.BAD_SIGNATURE else index]
    unsigned = dataclasses.replace(signed, addresses=addresses)
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
        await _scripted(ctx, self.peer).send(message)
        return f"node_announcement of node {self.node} of {self.channel} at {timestamp} ({self.fault.value})"


_GOSSIP_TRAFFIC = KEEPALIVE | {
    "gossip_timestamp_filter",
    "query_channel_range",
    "query_short_channel_ids",
    "reply_channel_range",
    "reply_short_channel_ids_end",
    "channel_announcement",
    "channel_update",
    "node_announcement",
}


@register_step
@dataclass(frozen=True)
class ExpectGossipWarning(Step):
    """The next message other than keep-alives and gossip traffic (the node's own sync with us: filters,
    queries, announcements it relays) is a `warning` (or an `error`)."""

    NAME = "expect_gossip_warning"
    SUMMARY = "expect a warning (or error) amid the node's gossip traffic"
    USES_CHAIN = False
    peer: PeerName
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        try:
            item = await _scripted(ctx, self.peer).receive(self.timeout_s, skip=_GOSSIP_TRAFFIC)
        except ScriptExpectationFailed as exc:
            raise ExpectationFailed(f"no warning: {exc}") from exc
        if not isinstance(item, WarningMessage | ErrorMessage):
            raise ExpectationFailed(f"expected a warning, received {getattr(item, 'NAME', item)}")
        return f"received {item.NAME}: {item.data.decode('ascii', errors='replace')[:80]}"


# -- what the node kept: query_short_channel_ids ------------------------------------------------------------


@dataclass(frozen=True)
class QueryReply:
    """What a node sent for one `query_short_channel_ids`, up to its `reply_short_channel_ids_end`."""

    messages: tuple[Message, ...]
    end: ReplyShortChannelIdsEnd


async def collect_query_reply(
    peer: ScriptedPeer, query: QueryShortChannelIds, timeout_s: float
) -> QueryReply:
    await peer.send(query)
    messages: list[Message] = []
    try:
        while True:
            item = await peer.receive(timeout_s, skip=_NOT_REPLIES)
            if isinstance(item, ReplyShortChannelIdsEnd):
                return QueryReply(tuple(messages), item)
            if not isinstance(item, Message):
                raise ExpectationFailed(f"undecodable or unknown message in the reply: {item}")
            messages.append(item)
    except ScriptExpectationFailed as exc:
        raise ExpectationFailed(f"query_short_channel_ids: {exc}") from exc


@dataclass(frozen=True)
class ReplyVerdict:
    """`missing`: expected and absent (a slower node may still add them); `wrong`: present and not
    expected, or a malformed reply (waiting cannot help)."""

    missing: tuple[str, ...]
    wrong: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.wrong

    def __str__(self) -> str:
        return "; ".join([*self.wrong, *self.missing])


def check_query_reply(
    reply: QueryReply,
    channel: GossipChannel,
    *,
    channel_announcement: bool,
    update_timestamps: list[int],
    node_announcement_timestamps: list[int],
) -> ReplyVerdict:
    """`reply` against the expected contents (timestamps absolute), BOLT 7 receiver of
    `query_short_channel_ids`: the announcement and the latest update of each end, then ("MUST follow
    with") the node_announcements; `reply_short_channel_ids_end` last, for our chain, full_information."""
    missing: list[str] = []
    wrong: list[str] = []
    scid = channel.short_channel_id
    node_ids = {channel.node_id(0), channel.node_id(1)}
    ours = [m for m in reply.messages if isinstance(m, ChannelAnnouncement) and m.short_channel_id == scid]
    if channel_announcement and not ours:
        missing.append(f"no channel_announcement for {scid}")
    if not channel_announcement and ours:
        wrong.append(f"channel_announcement for {scid}, which the node should have ignored")
    _compare(
        "channel_update",
        update_timestamps,
        [m.timestamp for m in reply.messages if isinstance(m, ChannelUpdate) and m.short_channel_id == scid],
        missing,
        wrong,
    )
    _compare(
        "node_announcement",
        node_announcement_timestamps,
        [m.timestamp for m in reply.messages if isinstance(m, NodeAnnouncement) and m.node_id in node_ids],
        missing,
        wrong,
    )
    others = [
        m.NAME
        for m in reply.messages
        if not isinstance(m, ChannelAnnouncement | ChannelUpdate | NodeAnnouncement)
    ]
    if others:
        wrong.append(f"unexpected messages in the reply: {others}")
    first_node = next((i for i, m in enumerate(reply.messages) if isinstance(m, NodeAnnouncement)), None)
    if first_node is not None and any(
        isinstance(m, ChannelAnnouncement | ChannelUpdate) for m in reply.messages[first_node:]
    ):
        wrong.append("a node_announcement came before channel messages it must follow")
    if reply.end.chain_hash != REGTEST:
        wrong.append(f"reply_short_channel_ids_end chain_hash {reply.end.chain_hash.hex()}, not the query's")
    if reply.end.full_information != 1:
        wrong.append(f"full_information = {reply.end.full_information} for the chain the node follows")
    return ReplyVerdict(tuple(missing), tuple(wrong))


def _compare(name: str, expected: list[int], got: list[int], missing: list[str], wrong: list[str]) -> None:
    extra = sorted(set(got) - set(expected))
    absent = sorted(set(expected) - set(got))
    if extra:
        wrong.append(f"{name} with timestamps {extra} (expected only {sorted(expected)})")
    if absent:
        missing.append(f"no {name} with timestamps {absent} (got {sorted(got)})")
    if len(got) != len(set(got)):
        wrong.append(f"duplicate {name}s: {sorted(got)}")


@register_step
@dataclass(frozen=True)
class ExpectQueryReply(Step):
    """Ask the node for one gossip_channel with `query_short_channel_ids` (all of it, or `query_flags`)
    and check the reply holds exactly what is expected (timestamps as offsets from the channel's base
    time). What is expected but absent is waited for: the query is repeated, paced by the node's own
    replies, until it appears or time runs out; anything present that should not be fails at once."""

    NAME = "expect_query_reply"
    SUMMARY = "query_short_channel_ids for a gossip_channel; check what the node kept and how it replies"
    USES_CHAIN = False
    peer: PeerName
    channel: str
    channel_announcement: bool = True
    update_timestamps: list[int] = field(default_factory=list)
    node_announcement_timestamps: list[int] = field(default_factory=list)
    query_flags: int | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        channel = gossip_channel(ctx, self.channel)
        peer = _scripted(ctx, self.peer)
        tlvs = QueryShortChannelIdsTlvs()
        if self.query_flags is not None:
            encoding_type, encoded = encode_query_flags([self.query_flags])
            tlvs = QueryShortChannelIdsTlvs(query_flags=QueryFlagsTlv(encoding_type, encoded))
        query = QueryShortChannelIds(REGTEST, encode_short_ids([channel.short_channel_id]), tlvs)
        base = channel.base_timestamp
        deadline = time.monotonic() + self.timeout_s
        attempts = 0
        while True:
            attempts += 1
            try:
                await peer.sync(max(deadline - time.monotonic(), 1.0))  # it handled all we sent before
            except ScriptExpectationFailed as exc:
                raise ExpectationFailed(f"ping barrier before the query: {exc}") from exc
            reply = await collect_query_reply(peer, query, max(deadline - time.monotonic(), 1.0))
            verdict = check_query_reply(
                reply,
                channel,
                channel_announcement=self.channel_announcement,
                update_timestamps=[base + t for t in self.update_timestamps],
                node_announcement_timestamps=[base + t for t in self.node_announcement_timestamps],
            )
            if verdict.ok:
                return (
                    f"{len(reply.messages)} messages, then reply_short_channel_ids_end ({attempts} queries)"
                )
            if verdict.wrong or time.monotonic() >= deadline:
                raise ExpectationFailed(f"{verdict} ({attempts} queries)")


# -- query_channel_range ---------------------------------------------------------------------------


def check_range_replies(
    query: QueryChannelRange, replies: list[ReplyChannelRange]
) -> tuple[list[str], set[ShortChannelId]]:
    """BOLT 7 receiver of `query_channel_range`, every rule on the replies; returns problems and the ids."""
    problems = []
    listed: set[ShortChannelId] = set()
    query_end = query.first_blocknum + query.number_of_blocks
    for index, reply in enumerate(replies):
        where = f"reply {index + 1}/{len(replies)}"
        if reply.chain_hash != query.chain_hash:
            problems.append(f"{where}: chain_hash differs from the query's")
        end = reply.first_blocknum + reply.number_of_blocks
        if index == 0:
            if reply.first_blocknum > query.first_blocknum:
                problems.append(f"{where}: first_blocknum {reply.first_blocknum} after the query's")
            if end <= query.first_blocknum:
                problems.append(
                    f"{where}: first_blocknum plus number_of_blocks does not pass the query's start"
                )
        elif reply.first_blocknum < replies[index - 1].first_blocknum:
            problems.append(f"{where}: first_blocknum went backwards")
        final = index == len(replies) - 1
        if not final and reply.sync_complete != 0:
            problems.append(f"{where}: sync_complete set on a reply that is not the final one")
        if final:
            if end < query_end:
                problems.append(f"{where}: the final reply ends at {end}, before the query's end {query_end}")
            if reply.sync_complete != 1:
                problems.append(f"{where}: the final reply has sync_complete = {reply.sync_complete}")
        try:
            ids = decode_short_ids(reply.encoded_short_ids)
        except DecodeError as exc:
            problems.append(f"{where}: encoded_short_ids: {exc}")
            continue
        for scid in ids:
            if not reply.first_blocknum <= scid.block_height < end:
                problems.append(f"{where}: {scid} is outside the reply's blocks")
        listed.update(ids)
    return problems, listed


@register_step
@dataclass(frozen=True)
class ExpectChannelRangeReply(Step):
    """Send `query_channel_range` (blocks `first_blocknum` .. + `number_of_blocks`, or the block of
    `around`), collect `reply_channel_range` until one has `sync_complete`, check every BOLT 7 rule on
    the replies, and that the gossip_channels `listed` are listed and those `not_listed` are not."""

    NAME = "expect_channel_range_reply"
    SUMMARY = "query_channel_range; check the replies cover the range and list the announced channels"
    USES_CHAIN = False
    peer: PeerName
    listed: list[str] = field(default_factory=list)
    not_listed: list[str] = field(default_factory=list)
    first_blocknum: int = 0
    number_of_blocks: int = _MAX_U32
    around: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check_arguments(self) -> None:
        if self.number_of_blocks < 1:
            raise ValueError("number_of_blocks must be 1 or greater (BOLT 7 sender rule)")
        if self.first_blocknum + self.number_of_blocks > _MAX_U32 + 1:
            raise ValueError("first_blocknum + number_of_blocks passes 2^32")

    async def run(self, ctx: StepContext) -> str | None:
        peer = _scripted(ctx, self.peer)
        first, count = self.first_blocknum, self.number_of_blocks
        if self.around is not None:
            first, count = gossip_channel(ctx, self.around).short_channel_id.block_height, 1
        query = QueryChannelRange(REGTEST, first, count)
        await peer.send(query)
        replies: list[ReplyChannelRange] = []
        try:
            while not replies or not replies[-1].sync_complete:
                item = await peer.receive(self.timeout_s, skip=_NOT_REPLIES)
                if not isinstance(item, ReplyChannelRange):
                    raise ExpectationFailed(
                        f"expected reply_channel_range, received {getattr(item, 'NAME', item)}"
                    )
                replies.append(item)
                end = item.first_blocknum + item.number_of_blocks
                if end >= first + count and not item.sync_complete:
                    raise ExpectationFailed(
                        "the reply that reaches the end of the range has sync_complete = 0"
                    )
        except ScriptExpectationFailed as exc:
            raise ExpectationFailed(f"query_channel_range: {exc}") from exc
        problems, ids = check_range_replies(query, replies)
        for name in self.listed:
            if gossip_channel(ctx, name).short_channel_id not in ids:
                problems.append(f"{name} ({gossip_channel(ctx, name).short_channel_id}) is not listed")
        for name in self.not_listed:
            if gossip_channel(ctx, name).short_channel_id in ids:
                problems.append(f"{name} ({gossip_channel(ctx, name).short_channel_id}) is listed")
        if problems:
            raise ExpectationFailed("; ".join(problems))
        return f"{len(replies)} reply_channel_range, {len(ids)} short_channel_ids"


# -- gossip_timestamp_filter -----------------------------------------------------------------------


@register_step
@dataclass(frozen=True)
class ExpectGossipDump(Step):
    """Send `gossip_timestamp_filter` for every timestamp and collect gossip until every gossip_channel
    in `channels` came with its announcement, at least one channel_update, and the node_announcements
    of `nodes_of` (a ping barrier then closes the collection). Checks: the announcement comes before its
    updates and node_announcements; no announcement of `not_sent` (stored without channel_update, or
    ignored)."""

    NAME = "expect_gossip_dump"
    SUMMARY = "gossip_timestamp_filter from 0: the node sends what it stored, announcement first"
    USES_CHAIN = False
    peer: PeerName
    channels: list[str] = field(default_factory=list)
    nodes_of: list[str] = field(default_factory=list)
    not_sent: list[str] = field(default_factory=list)
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        peer = _scripted(ctx, self.peer)
        wanted = {gossip_channel(ctx, n).short_channel_id for n in self.channels}
        wanted_nodes = {gossip_channel(ctx, n).node_id(i) for n in self.nodes_of for i in (0, 1)}
        await peer.send(GossipTimestampFilter(REGTEST, 0, _MAX_U32))
        received: list[Message] = []

        def complete() -> bool:
            announced = {m.short_channel_id for m in received if isinstance(m, ChannelAnnouncement)}
            updated = {m.short_channel_id for m in received if isinstance(m, ChannelUpdate)}
            noded = {m.node_id for m in received if isinstance(m, NodeAnnouncement)}
            return wanted <= announced and wanted <= updated and wanted_nodes <= noded

        try:
            while not complete():
                item = await peer.receive(self.timeout_s, skip=_NOT_REPLIES)
                if isinstance(item, Message):
                    received.append(item)
            await peer.sync(self.timeout_s)
            while True:  # what arrived before the barrier's pong
                item = await peer.receive(0.01, skip=_NOT_REPLIES)
                if isinstance(item, Message):
                    received.append(item)
        except ScriptExpectationFailed as exc:
            if not complete():
                raise ExpectationFailed(
                    f"gossip after gossip_timestamp_filter: {exc}; got {_names(received)}"
                ) from exc
        problems = _dump_problems(received, [gossip_channel(ctx, n) for n in self.not_sent])
        if problems:
            raise ExpectationFailed("; ".join(problems))
        return f"{len(received)} gossip messages: {_names(received)}"


def _names(messages: list[Message]) -> str:
    return ", ".join(m.NAME for m in messages) or "nothing"


def _dump_problems(received: list[Message], not_sent: list[GossipChannel]) -> list[str]:
    problems = []
    first_seen: dict[ShortChannelId, int] = {}
    node_channels: dict[bytes, list[ShortChannelId]] = {}
    for index, message in enumerate(received):
        if isinstance(message, ChannelAnnouncement):
            first_seen.setdefault(message.short_channel_id, index)
            for node_id in (message.node_id_1, message.node_id_2):
                node_channels.setdefault(node_id, []).append(message.short_channel_id)
        elif isinstance(message, ChannelUpdate) and message.short_channel_id not in first_seen:
            problems.append(f"channel_update for {message.short_channel_id} before its channel_announcement")
        elif isinstance(message, NodeAnnouncement) and message.node_id not in node_channels:
            problems.append(
                f"node_announcement of {message.node_id.hex()} before any channel_announcement of it"
            )
    for channel in not_sent:
        if channel.short_channel_id in first_seen:
            problems.append(f"channel_announcement of {channel.name} ({channel.short_channel_id}) was sent")
    return problems
