"""BOLT 7 receiver checks, the observing side: what the node under test kept of the gossip the scripted
peer sent (adversary_gossip.py), read back through the spec's own messages: `query_short_channel_ids`,
`query_channel_range`, `gossip_timestamp_filter`, relayed gossip, and its warnings.

    - expect_query_reply: {peer: peer, channel: c1, channel_announcement: true, update_timestamps: [10]}
    - expect_channel_range_reply: {peer: peer, listed: [c1], not_listed: [c2]}
    - expect_gossip_dump: {peer: observer, channels: [c1], not_sent: [c2]}
    - expect_relay: {peer: observer, channel: c1, update_timestamps: [20], not_node_announcements: [19]}
    - expect_gossip_warning: {peer: peer}
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

from harness.drivers.base import UnsupportedOperation
from harness.drivers.peer import ExpectationFailed
from harness.scenarios.registry import register_step
from harness.scenarios.step import PeerName, Step, StepContext
from harness.scenarios.steps.adversary_gossip import (
    DEFAULT_TIMEOUT_S,
    MAX_U32,
    NOT_REPLIES,
    REGTEST,
    GossipChannel,
    gossip_channel,
    remaining_s,
    scripted_peer,
)
from reference_node.scripted_peer import KEEPALIVE, ScriptedPeer, ScriptExpectationFailed, ScriptTimeout
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
)
from reference_node.wire.gossip_encoding import decode_short_ids, encode_query_flags, encode_short_ids

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
            item = await scripted_peer(ctx, self.peer).receive(self.timeout_s, skip=_GOSSIP_TRAFFIC)
        except ScriptExpectationFailed as exc:
            raise ExpectationFailed(f"no warning: {exc}") from exc
        if not isinstance(item, WarningMessage | ErrorMessage):
            raise ExpectationFailed(f"expected a warning, received {getattr(item, 'NAME', item)}")
        return f"received {item.NAME}: {item.data.decode('ascii', errors='replace')[:80]}"


# -- what the node kept: query_short_channel_ids ------------------------------------------------------------


@dataclass(frozen=True)
class QueryReply:
    """What a node sent for one `query_short_channel_ids`, up to its `reply_short_channel_ids_end`.
    `warnings` arrived meanwhile and are not part of the reply: BOLT 1 lets a node send a `warning` at
    any time, for diagnosis (e.g. about an announcement it ignored), and BOLT 7's reply is the
    announcements and updates, then `reply_short_channel_ids_end`."""

    messages: tuple[Message, ...]
    end: ReplyShortChannelIdsEnd
    warnings: tuple[WarningMessage, ...] = ()


async def collect_query_reply(
    peer: ScriptedPeer, query: QueryShortChannelIds, timeout_s: float
) -> QueryReply:
    await peer.send(query)
    messages: list[Message] = []
    warnings: list[WarningMessage] = []
    try:
        while True:
            item = await peer.receive(timeout_s, skip=NOT_REPLIES)
            if isinstance(item, ReplyShortChannelIdsEnd):
                return QueryReply(tuple(messages), item, tuple(warnings))
            if isinstance(item, WarningMessage):
                warnings.append(item)
                continue
            if not isinstance(item, Message):
                raise ExpectationFailed(f"undecodable or unknown message in the reply: {item}")
            messages.append(item)
    except ScriptTimeout as exc:
        raise NoQueryReply(f"query_short_channel_ids: {exc}") from exc
    except ScriptExpectationFailed as exc:
        raise ExpectationFailed(f"query_short_channel_ids: {exc}") from exc


class NoQueryReply(ExpectationFailed):
    """The node never finished answering a `query_short_channel_ids` (no `reply_short_channel_ids_end`)."""


class Unanswered(enum.Enum):
    """What a query nobody answers means to a step: the scenario reads the node's state through the
    query (`skip`: it cannot be judged that way), or the answer is what it checks (`fail`)."""

    SKIP = "skip"
    FAIL = "fail"


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
    # BOLT 7: a channel_update for a chain_hash the node does not follow MUST be ignored; name one
    # that was kept anyway, so the failure shows why its timestamp is unexpected.
    foreign = sorted(
        {
            m.chain_hash.hex()
            for m in reply.messages
            if isinstance(m, ChannelAnnouncement | ChannelUpdate) and m.chain_hash != REGTEST
        }
    )
    if foreign:
        wrong.append(f"gossip for another chain in the reply (chain_hash {', '.join(foreign)})")
    others = [
        describe_message(m)
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


def describe_message(message: Message) -> str:
    """A message's name, and for a `warning` or `error` its text too (BOLT 1: `data` is printable ASCII)."""
    if isinstance(message, WarningMessage | ErrorMessage):
        text = message.data.decode("ascii", errors="replace")
        return f"{message.NAME} (channel_id {message.channel_id.hex()}): {text!r}"
    return message.NAME


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
    unanswered: Unanswered = Unanswered.SKIP
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        channel = gossip_channel(ctx, self.channel)
        peer = scripted_peer(ctx, self.peer)
        tlvs = QueryShortChannelIdsTlvs()
        if self.query_flags is not None:
            encoding_type, encoded = encode_query_flags([self.query_flags])
            tlvs = QueryShortChannelIdsTlvs(query_flags=QueryFlagsTlv(encoding_type, encoded))
        query = QueryShortChannelIds(REGTEST, encode_short_ids([channel.short_channel_id]), tlvs)
        base = channel.base_timestamp
        deadline = time.monotonic() + self.timeout_s
        attempts = 0
        warnings: list[WarningMessage] = []
        while True:
            attempts += 1
            try:
                await peer.sync(max(deadline - time.monotonic(), 1.0))  # it handled all we sent before
            except ScriptExpectationFailed as exc:
                raise ExpectationFailed(f"ping barrier before the query: {exc}") from exc
            try:
                reply = await collect_query_reply(peer, query, max(deadline - time.monotonic(), 1.0))
            except NoQueryReply as exc:
                if self.unanswered is Unanswered.SKIP and attempts == 1:
                    raise UnsupportedOperation(
                        self.peer,
                        "reading the node's gossip",
                        f"it does not answer query_short_channel_ids ({exc})",
                    ) from exc
                raise
            warnings.extend(reply.warnings)
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
                    f"{_passed_over(warnings)}"
                )
            if verdict.wrong or time.monotonic() >= deadline:
                raise ExpectationFailed(f"{verdict} ({attempts} queries){_passed_over(warnings)}")


def _passed_over(warnings: list[WarningMessage]) -> str:
    """The warnings a query's replies were read past, as evidence in the step's result or failure."""
    if not warnings:
        return ""
    return f"; warnings meanwhile (not part of the reply): {[describe_message(w) for w in warnings]}"


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
    number_of_blocks: int = MAX_U32
    around: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check_arguments(self) -> None:
        if self.number_of_blocks < 1:
            raise ValueError("number_of_blocks must be 1 or greater (BOLT 7 sender rule)")
        if self.first_blocknum + self.number_of_blocks > MAX_U32 + 1:
            raise ValueError("first_blocknum + number_of_blocks passes 2^32")

    async def run(self, ctx: StepContext) -> str | None:
        peer = scripted_peer(ctx, self.peer)
        deadline = time.monotonic() + self.timeout_s
        first, count = self.first_blocknum, self.number_of_blocks
        if self.around is not None:
            first, count = gossip_channel(ctx, self.around).short_channel_id.block_height, 1
        query = QueryChannelRange(REGTEST, first, count)
        await peer.send(query)
        replies: list[ReplyChannelRange] = []
        try:
            while not replies or not replies[-1].sync_complete:
                item = await peer.receive(remaining_s(deadline), skip=NOT_REPLIES)
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
    first_timestamp_offset_s: int | None = None  # from the first named channel's base time; None: 0
    timestamp_range: int = MAX_U32
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check_arguments(self) -> None:
        if self.first_timestamp_offset_s is not None and not (self.channels or self.not_sent):
            raise ValueError("first_timestamp_offset_s is relative to a channel: name one")
        if not 0 <= self.timestamp_range <= MAX_U32:
            raise ValueError("timestamp_range is a u32")

    async def run(self, ctx: StepContext) -> str | None:
        peer = scripted_peer(ctx, self.peer)
        deadline = time.monotonic() + self.timeout_s
        wanted = {gossip_channel(ctx, n).short_channel_id for n in self.channels}
        wanted_nodes = {gossip_channel(ctx, n).node_id(i) for n in self.nodes_of for i in (0, 1)}
        first = 0
        if self.first_timestamp_offset_s is not None:
            base = gossip_channel(ctx, [*self.channels, *self.not_sent][0]).base_timestamp
            first = base + self.first_timestamp_offset_s
        await peer.send(GossipTimestampFilter(REGTEST, first, self.timestamp_range))
        received: list[Message] = []

        def complete() -> bool:
            announced = {m.short_channel_id for m in received if isinstance(m, ChannelAnnouncement)}
            updated = {m.short_channel_id for m in received if isinstance(m, ChannelUpdate)}
            noded = {m.node_id for m in received if isinstance(m, NodeAnnouncement)}
            return wanted <= announced and wanted <= updated and wanted_nodes <= noded

        try:
            while not complete():
                item = await peer.receive(remaining_s(deadline), skip=NOT_REPLIES)
                if isinstance(item, Message):
                    received.append(item)
            await peer.sync(self.timeout_s)
            while True:  # what arrived before the barrier's pong
                item = await peer.receive(0.01, skip=NOT_REPLIES)
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


@register_step
@dataclass(frozen=True)
class ExpectRelay(Step):
    """On a connection whose `gossip_timestamp_filter` admits new gossip (after `expect_gossip_dump`),
    the node relays what it received from another peer: wait until the channel_updates of `channel` with
    `update_timestamps` (offsets) arrived, then a ping barrier; no node_announcement of the channel's
    nodes with `not_node_announcements` timestamps may have come (BOLT 7: one the node must not
    forward). With `channel_announcement`, the channel's announcement must come too, before its
    updates."""

    NAME = "expect_relay"
    SUMMARY = "the node relays new gossip to a filtering peer (and not what it must not forward)"
    USES_CHAIN = False
    peer: PeerName
    channel: str
    update_timestamps: list[int] = field(default_factory=list)
    node_announcement_timestamps: list[int] = field(default_factory=list)
    not_node_announcements: list[int] = field(default_factory=list)
    channel_announcement: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        channel = gossip_channel(ctx, self.channel)
        peer = scripted_peer(ctx, self.peer)
        deadline = time.monotonic() + self.timeout_s
        base = channel.base_timestamp
        node_ids = {channel.node_id(0), channel.node_id(1)}
        want_updates = {base + t for t in self.update_timestamps}
        want_nodes = {base + t for t in self.node_announcement_timestamps}
        received: list[Message] = []

        def seen(kind: type[Message]) -> set[int]:
            return {
                m.timestamp  # type: ignore[attr-defined]
                for m in received
                if isinstance(m, kind)
                and (
                    m.short_channel_id == channel.short_channel_id
                    if isinstance(m, ChannelUpdate)
                    else isinstance(m, NodeAnnouncement) and m.node_id in node_ids
                )
            }

        try:
            while not (want_updates <= seen(ChannelUpdate) and want_nodes <= seen(NodeAnnouncement)):
                item = await peer.receive(remaining_s(deadline), skip=NOT_REPLIES)
                if isinstance(item, Message):
                    received.append(item)
            await peer.sync(self.timeout_s)
            while True:  # what arrived before the barrier's pong
                item = await peer.receive(0.01, skip=NOT_REPLIES)
                if isinstance(item, Message):
                    received.append(item)
        except ScriptExpectationFailed as exc:
            if not (want_updates <= seen(ChannelUpdate) and want_nodes <= seen(NodeAnnouncement)):
                raise ExpectationFailed(f"not relayed: {exc}; got {_names(received)}") from exc
        if self.channel_announcement:
            order = [
                m.NAME
                for m in received
                if isinstance(m, ChannelAnnouncement | ChannelUpdate)
                and m.short_channel_id == channel.short_channel_id
            ]
            if "channel_announcement" not in order:
                raise ExpectationFailed(
                    f"the channel_announcement of {self.channel} was not relayed: {order}"
                )
            if order.index("channel_announcement") > order.index("channel_update"):
                raise ExpectationFailed(f"a channel_update of {self.channel} came before its announcement")
        forbidden = sorted(seen(NodeAnnouncement) & {base + t for t in self.not_node_announcements})
        if forbidden:
            raise ExpectationFailed(
                f"relayed node_announcements it must not forward (timestamps {forbidden})"
            )
        return f"relayed: {_names(received)}"
