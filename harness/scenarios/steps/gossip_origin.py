"""BOLT 7 origin checks: the gossip the node under test creates for its own announced channel and for
itself, received by a scripted observer through `gossip_timestamp_filter` and judged rule by rule
(signatures verified with libsecp256k1 here, the funding output read from the chain).

    - open_channel: {opener: peer, to: target, announce: true, name: main}
    - mine_synced: {nodes: [target, peer], blocks: 6}
    - connect: {peer: observer, to: target}
    - expect_own_gossip: {peer: observer, node: target, counterparty: peer}
"""

from __future__ import annotations

import enum
import hashlib
import time
from dataclasses import dataclass

from coincurve import PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact

from harness.drivers.base import UnsupportedOperation
from harness.drivers.peer import ExpectationFailed
from harness.drivers.reference import ReferenceDriver
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, PeerName, Step, StepContext
from harness.scenarios.steps.adversary_gossip import (
    MAX_U32,
    NOT_REPLIES,
    REGTEST,
    chain_source,
    remaining_s,
    scripted_peer,
)
from harness.scenarios.steps.channels import channel_ref, reference_node
from reference_node.scripted_peer import ScriptExpectationFailed, TraceDirection
from reference_node.transactions.funding import funding_script_pubkey
from reference_node.wire import (
    ChannelAnnouncement,
    ChannelUpdate,
    FeatureError,
    GossipTimestampFilter,
    Message,
    NodeAnnouncement,
    ShortChannelId,
    decode_message,
    encode_message,
)
from reference_node.wire.features import Context, Features, check_sent_features

# channel_update flags with a meaning (BOLT 7): message_flags bit 0 must_be_one, bit 1 dont_forward;
# channel_flags bit 0 direction, bit 1 disable.
_ASSIGNED_FLAG_BITS = 0b11
_MUST_BE_ONE = 0b1
# node_announcement address descriptor types and their data lengths (BOLT 7); type 5 is variable.
_FIXED_ADDRESS_LENGTH = {1: 6, 2: 18, 3: 12, 4: 37}
_DNS_HOSTNAME = 5
_TOR_V2 = 3
_PORT_CHECKED = {1, 2, 5}
_OWN_GOSSIP = frozenset({"channel_announcement", "channel_update", "node_announcement"})


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _valid(pubkey: bytes, compact: bytes, digest: bytes) -> bool:
    try:
        return PublicKey(pubkey).verify(cdata_to_der(deserialize_compact(compact)), digest, hasher=None)
    except (ValueError, TypeError):
        return False


def channel_announcement_problems(msg: ChannelAnnouncement) -> list[str]:
    """Origin rules that need no chain: ordering, the four signatures of `h`, features."""
    problems = []
    if not msg.node_id_1 < msg.node_id_2:
        problems.append("node_id_1 is not the lexicographically-lesser key")
    h = _sha256d(encode_message(msg)[2 + 256 :])  # "beginning at offset 256" of the payload
    for name, key, signature in (
        ("node_signature_1", msg.node_id_1, msg.node_signature_1),
        ("node_signature_2", msg.node_id_2, msg.node_signature_2),
        ("bitcoin_signature_1", msg.bitcoin_key_1, msg.bitcoin_signature_1),
        ("bitcoin_signature_2", msg.bitcoin_key_2, msg.bitcoin_signature_2),
    ):
        if not _valid(key, signature, h):
            problems.append(f"{name} does not sign h")
    problems.extend(_feature_problems(msg.features, Context.CHANNEL_ANNOUNCEMENT, "channel_announcement"))
    return problems


def _feature_problems(features: bytes, context: Context, where: str) -> list[str]:
    problems = []
    if features[:1] == b"\x00":
        problems.append(f"{where} features {features.hex()} are not of minimum length")
    try:
        check_sent_features(Features.from_bytes(features), context, where=where)
    except FeatureError as exc:
        problems.append(str(exc))
    return problems


def channel_update_problems(
    msg: ChannelUpdate, announcement: ChannelAnnouncement, origin: bytes, capacity_msat: int | None
) -> list[str]:
    problems = []
    digest = _sha256d(encode_message(msg)[2 + 64 :])
    if not _valid(origin, msg.signature, digest):
        problems.append("signature is not the origin node's over the rest of the message")
    if msg.chain_hash != announcement.chain_hash or msg.short_channel_id != announcement.short_channel_id:
        problems.append("chain_hash / short_channel_id differ from the channel_announcement's")
    wanted_direction = 0 if origin == announcement.node_id_1 else 1
    if msg.channel_flags & 1 != wanted_direction:
        problems.append(
            f"direction bit {msg.channel_flags & 1}, the origin is node_id_{wanted_direction + 1}"
        )
    if capacity_msat is not None and msg.htlc_maximum_msat > capacity_msat:
        problems.append(f"htlc_maximum_msat {msg.htlc_maximum_msat} exceeds the capacity {capacity_msat}")
    if msg.htlc_maximum_msat < msg.htlc_minimum_msat:
        problems.append(
            f"htlc_maximum_msat {msg.htlc_maximum_msat} < htlc_minimum_msat {msg.htlc_minimum_msat}"
        )
    if not msg.message_flags & _MUST_BE_ONE:
        problems.append("must_be_one is 0 in message_flags")
    if msg.message_flags & ~_ASSIGNED_FLAG_BITS or msg.channel_flags & ~_ASSIGNED_FLAG_BITS:
        problems.append(
            f"unassigned flag bits set: message_flags {msg.message_flags:#x}, "
            f"channel_flags {msg.channel_flags:#x}"
        )
    if msg.timestamp == 0:
        problems.append("timestamp is 0")
    return problems


def address_problems(addresses: bytes) -> list[str]:
    """The origin's `addresses`: known descriptors in ascending type order, each with its full length
    (so `addrlen` is their total), no type 0, no Tor v2, no port 0 on IPv4/IPv6/DNS, one DNS hostname at
    most, in ASCII."""
    problems = []
    offset, types = 0, []
    while offset < len(addresses):
        kind = addresses[offset]
        if kind == _DNS_HOSTNAME and offset + 1 < len(addresses):
            length = 1 + addresses[offset + 1] + 2
            hostname = addresses[offset + 2 : offset + 2 + addresses[offset + 1]]
            if not hostname.isascii():
                problems.append(f"DNS hostname {hostname!r} is not ASCII")
        elif kind in _FIXED_ADDRESS_LENGTH:
            length = _FIXED_ADDRESS_LENGTH[kind]
        else:
            problems.append(
                f"address descriptor of type {kind} at {offset}" + (" (zero-typed)" if kind == 0 else "")
            )
            break
        end = offset + 1 + length
        if end > len(addresses):
            problems.append(f"addrlen cuts the type {kind} descriptor at {offset} short")
            break
        if kind in _PORT_CHECKED and addresses[end - 2 : end] == b"\x00\x00":
            problems.append(f"type {kind} descriptor with port 0")
        types.append(kind)
        offset = end
    if types != sorted(types):
        problems.append(f"address descriptors not in ascending order: types {types}")
    if types.count(_DNS_HOSTNAME) > 1:
        problems.append("more than one DNS hostname")
    if _TOR_V2 in types:
        problems.append("a Tor v2 onion service")
    return problems


def node_announcement_problems(msg: NodeAnnouncement) -> list[str]:
    problems = []
    if not _valid(msg.node_id, msg.signature, _sha256d(encode_message(msg)[2 + 64 :])):
        problems.append("signature is not node_id's over the rest of the message")
    text, _, padding = msg.alias.partition(b"\x00")
    if padding.strip(b"\x00"):
        problems.append(f"alias {msg.alias.hex()}: bytes after the first zero are not all zero")
    try:
        text.decode("utf-8")
    except UnicodeDecodeError:
        problems.append(f"alias {msg.alias.hex()} is not UTF-8")
    problems.extend(_feature_problems(msg.features, Context.NODE_ANNOUNCEMENT, "node_announcement"))
    problems.extend(address_problems(msg.addresses))
    return problems


class OwnGossip(enum.Enum):
    CHANNEL = "channel"  # its channel_announcement and its channel_update for the channel
    NODE = "node"  # its node_announcement


@register_step
@dataclass(frozen=True)
class ExpectOwnGossip(Step):
    """Send `gossip_timestamp_filter` for everything and collect until the node's own gossip arrived:
    with `part: channel` a channel_announcement naming it and its channel_update for that channel, with
    `part: node` its node_announcement; judge each by BOLT 7's origin rules. The funding output comes
    from the chain (P2WSH of the two `bitcoin_key`s, the capacity); with a reference `counterparty`, the
    node's `bitcoin_key` must be the funding_pubkey it gave and `htlc_maximum_msat` at most the
    `max_htlc_value_in_flight_msat` it got. BOLT 7 asks no node to announce itself: a node_announcement
    that never comes is a skip, not a failure."""

    NAME = "expect_own_gossip"
    SUMMARY = "the node's own channel_announcement and channel_update, or node_announcement, obey BOLT 7"
    peer: PeerName
    node: DriverName
    part: OwnGossip = OwnGossip.CHANNEL
    counterparty: DriverName | None = None
    timeout_s: float = 30.0

    async def run(self, ctx: StepContext) -> str | None:
        origin = ctx.driver(self.node).node_id
        received = await self._collect(ctx, origin)
        if self.part is OwnGossip.NODE:
            node = next(m for m in received if isinstance(m, NodeAnnouncement) and m.node_id == origin)
            problems = node_announcement_problems(node)
            if problems:
                raise ExpectationFailed("node_announcement: " + "; ".join(problems))
            return f"node_announcement at {node.timestamp}: ok"
        announcement, update = next(
            (a, u)
            for a in received
            if isinstance(a, ChannelAnnouncement)
            and origin in _ids(a)
            and (u := _own_update(received, a, origin)) is not None
        )
        problems = [f"channel_announcement: {p}" for p in channel_announcement_problems(announcement)]
        capacity_msat, max_in_flight_msat = self._funding(ctx, announcement, origin, problems)
        problems += [
            f"channel_update: {p}"
            for p in channel_update_problems(update, announcement, origin, capacity_msat)
        ]
        if max_in_flight_msat is not None and update.htlc_maximum_msat > max_in_flight_msat:
            problems.append(
                f"channel_update: htlc_maximum_msat {update.htlc_maximum_msat} above the "
                f"max_htlc_value_in_flight_msat {max_in_flight_msat} the node received"
            )
        if problems:
            raise ExpectationFailed("; ".join(problems))
        return f"channel_announcement {announcement.short_channel_id} and its channel_update: ok"

    async def _collect(self, ctx: StepContext, origin: bytes) -> list[Message]:
        peer = scripted_peer(ctx, self.peer)
        deadline = time.monotonic() + self.timeout_s
        # what an earlier step on this connection already received counts (a second filter need not
        # make a node send its backlog again)
        earlier = [
            decode_message(entry.raw)
            for entry in peer.trace
            if entry.direction is TraceDirection.RECEIVED and entry.name in _OWN_GOSSIP
        ]
        received: list[Message] = [m for m in earlier if isinstance(m, Message)]
        if _complete(received, origin, self.part):
            return received
        await peer.send(GossipTimestampFilter(REGTEST, 0, MAX_U32))
        try:
            while not _complete(received, origin, self.part):
                item = await peer.receive(remaining_s(deadline), skip=NOT_REPLIES)
                if isinstance(item, Message):
                    received.append(item)
        except ScriptExpectationFailed as exc:
            names = ", ".join(m.NAME for m in received) or "nothing"
            if self.part is OwnGossip.NODE:
                raise UnsupportedOperation(
                    self.node, "judging its node_announcement", f"it sent none ({exc}; got {names})"
                ) from exc
            raise ExpectationFailed(f"the node's own gossip did not all come: {exc}; got {names}") from exc
        return received

    def _funding(
        self, ctx: StepContext, msg: ChannelAnnouncement, origin: bytes, problems: list[str]
    ) -> tuple[int | None, int | None]:
        """ "MUST set `short_channel_id` to refer to the confirmed funding transaction"; "the corresponding
        output MUST be a P2WSH"; the `bitcoin_key`s are the nodes' funding_pubkeys. Returns the capacity
        and, with a counterparty, the `max_htlc_value_in_flight_msat` the node received (msat)."""
        scid = msg.short_channel_id
        block = chain_source(ctx).block_at(scid.block_height)
        try:
            output = block.txs[scid.tx_index].outputs[scid.output_index]
        except IndexError:
            problems.append(f"channel_announcement: {scid} names no output on chain")
            return None, None
        if output.script_pubkey != funding_script_pubkey(msg.bitcoin_key_1, msg.bitcoin_key_2):
            problems.append(f"channel_announcement: {scid} is not the P2WSH 2-of-2 of bitcoin_key_1/2")
        if self.counterparty is None:
            return output.amount_sat * 1000, None
        ln = reference_node(ctx, self.counterparty, "expect_own_gossip")
        data = next(
            (
                s.channel.data
                for s in ln.channels.slots.values()
                if s.channel.data.short_channel_id == scid.to_int()
            ),
            None,
        )
        if data is None or data.remote_basepoints is None:
            problems.append(f"{self.counterparty} has no channel {scid}")
            return output.amount_sat * 1000, None
        key = msg.bitcoin_key_1 if origin == msg.node_id_1 else msg.bitcoin_key_2
        if key != data.remote_basepoints.funding_pubkey:
            problems.append("channel_announcement: the node's bitcoin_key is not the funding_pubkey it gave")
        return output.amount_sat * 1000, data.local_params.max_htlc_value_in_flight_msat


def _ids(msg: ChannelAnnouncement) -> tuple[bytes, bytes]:
    return msg.node_id_1, msg.node_id_2


def _complete(received: list[Message], origin: bytes, part: OwnGossip) -> bool:
    if part is OwnGossip.NODE:
        return any(isinstance(m, NodeAnnouncement) and m.node_id == origin for m in received)
    announcements = [m for m in received if isinstance(m, ChannelAnnouncement) and origin in _ids(m)]
    return any(_own_update(received, a, origin) is not None for a in announcements)


def _own_update(
    received: list[Message], announcement: ChannelAnnouncement, origin: bytes
) -> ChannelUpdate | None:
    direction = 0 if origin == announcement.node_id_1 else 1
    return next(
        (
            m
            for m in received
            if isinstance(m, ChannelUpdate)
            and m.short_channel_id == announcement.short_channel_id
            and m.channel_flags & 1 == direction
        ),
        None,
    )


@register_step
@dataclass(frozen=True)
class ExpectAnnouncementSignatures(Step):
    """The reference node `node` (with `gossip: true`) got `announcement_signatures` from the other side of
    `channel` (`received: true`, waited for), or got none (`received: false`: put it after a step that
    proves the other side handled the same confirmations, e.g. this step on a public channel)."""

    NAME = "expect_announcement_signatures"
    SUMMARY = "the other side of a channel sent (or did not send) announcement_signatures"
    node: DriverName
    channel: str = "channel"
    received: bool = True
    timeout_s: float = 30.0

    async def run(self, ctx: StepContext) -> str | None:
        driver = ctx.driver(self.node)
        if not isinstance(driver, ReferenceDriver) or driver.multihop is None or driver.lightning is None:
            raise UnsupportedOperation(
                self.node, "expect_announcement_signatures", "a reference node with gossip"
            )
        gossip = driver.multihop.gossip
        slot = driver.lightning.channels.find(channel_ref(ctx, self.channel).channel_id.hex())
        scid_int = slot.channel.data.short_channel_id
        if scid_int is None:
            raise ExpectationFailed(f"{self.channel} has no short_channel_id yet")
        scid = ShortChannelId.from_int(scid_int)

        def count() -> int:
            return gossip.received_announcement_signatures.get(scid, 0)

        if self.received:
            try:
                await gossip.wait_for(lambda: count() > 0, self.timeout_s)
            except TimeoutError as exc:
                raise ExpectationFailed(
                    f"no announcement_signatures for {scid} within {self.timeout_s}s"
                ) from exc
            return f"announcement_signatures for {scid} received"
        if count():
            raise ExpectationFailed(
                f"{count()} announcement_signatures for {scid}, a channel not to announce"
            )
        return f"no announcement_signatures for {scid}"
