"""The reference node's view of how the node under test reacts to a misbehaviour (BOLT 1/2): the `error`
and `warning` messages it receives (`watch_notices`, `expect_notice`, `ignore_errors`) and a ping barrier
proving nothing was rejected (`expect_no_rejection`). Used by the adversarial steps of adversary_bolt02.py.
"""

from __future__ import annotations

import asyncio
import enum
import weakref
from dataclasses import dataclass

from harness.drivers.peer import ExpectationFailed
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, Step, StepContext
from harness.scenarios.steps.channels import _remember_baseline, channel_ref, reference_node
from reference_node.node import LightningNode, Node
from reference_node.payments.channels import ChannelSlot
from reference_node.peer import Peer
from reference_node.wire import Message

BARRIER_TIMEOUT_S = 10.0


def channel_slot(ctx: StepContext, ln: LightningNode, channel: str) -> ChannelSlot:
    """The reference node's slot of a channel an `open_channel` step named."""
    return ln.channels.find(channel_ref(ctx, channel).channel_id.hex())


# -- error and warning messages the reference node receives ----------------------------------------------


class NoticeName(enum.Enum):
    """BOLT 1 messages a node sends to report a problem."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class ReceivedNotice:
    peer_id: bytes
    name: NoticeName
    channel_id: bytes
    data: bytes


class NoticeRecorder:
    """Records every `error` and `warning` a reference node receives (its own handlers still run), from
    a mark on: the misbehaviour steps set the mark, `expect_notice` looks at what came after it."""

    def __init__(self, node: Node) -> None:
        self.notices: list[ReceivedNotice] = []
        self.mark = 0
        # connections lost per peer at the mark: a node that reacts only by closing the connection (BOLT 2
        # asks for a `warning` first) is told apart from one that did nothing
        self.disconnects_at_mark: dict[bytes, int] = {}
        # `ignore_errors`: received errors are recorded but not acted on (no channel failed, nothing
        # broadcast), so what reaches the chain is the other node's doing
        self.ignore_errors = False
        self._condition = asyncio.Condition()
        for notice in NoticeName:
            self._wrap(node, notice)

    def _wrap(self, node: Node, notice: NoticeName) -> None:
        inner = node.handler_for(notice.value)

        async def record(peer: Peer, message: Message) -> None:
            channel_id = getattr(message, "channel_id", b"")
            data = getattr(message, "data", b"")
            async with self._condition:
                self.notices.append(ReceivedNotice(peer.node_id, notice, channel_id, data))
                self._condition.notify_all()
            if notice is NoticeName.ERROR and self.ignore_errors:
                return
            if inner is not None:
                await inner(peer, message)

        node.register_handler(notice.value, record)

    def since_mark(self) -> list[ReceivedNotice]:
        return self.notices[self.mark :]

    async def wait_for(self, found: ReceivedNoticeMatch, timeout_s: float) -> ReceivedNotice:
        async with asyncio.timeout(timeout_s), self._condition:
            await self._condition.wait_for(lambda: found.first(self.since_mark()) is not None)
        match = found.first(self.since_mark())
        assert match is not None
        return match


@dataclass(frozen=True)
class ReceivedNoticeMatch:
    peer_id: bytes
    names: frozenset[NoticeName]
    channel_id: bytes

    def first(self, notices: list[ReceivedNotice]) -> ReceivedNotice | None:
        # BOLT 1: a `channel_id` of all zeroes refers to every channel
        channel_ids = {self.channel_id, bytes(32)}
        for notice in notices:
            if (
                notice.peer_id == self.peer_id
                and notice.name in self.names
                and notice.channel_id in channel_ids
            ):
                return notice
        return None


_RECORDERS: weakref.WeakKeyDictionary[Node, NoticeRecorder] = weakref.WeakKeyDictionary()


def notice_recorder(ln: LightningNode) -> NoticeRecorder:
    """The node's recorder, installed on first use."""
    recorder = _RECORDERS.get(ln.node)
    if recorder is None:
        recorder = _RECORDERS[ln.node] = NoticeRecorder(ln.node)
    return recorder


def before_misbehaviour(ctx: StepContext, ln: LightningNode, node: str, peer: str) -> None:
    """What every misbehaviour step does before it acts: `expect_rejection` and `expect_notice` look at
    what happens from here on."""
    _remember_baseline(ctx, ln, node, peer)
    recorder = notice_recorder(ln)
    recorder.mark = len(recorder.notices)
    peer_id = ctx.driver(peer).node_id
    recorder.disconnects_at_mark[peer_id] = len(ln.node.disconnects(peer_id))


@register_step
@dataclass(frozen=True)
class WatchNotices(Step):
    """From now on, `expect_notice` sees the `error`/`warning` messages the reference node receives
    (for use before a generic misbehaviour step such as `send_channel_message`)."""

    NAME = "watch_notices"
    SUMMARY = "record the error/warning messages a reference node receives from now on"
    node: DriverName
    peer: DriverName

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "watch_notices")
        before_misbehaviour(ctx, ln, self.node, self.peer)
        return f"{self.node} records error and warning messages"


@register_step
@dataclass(frozen=True)
class IgnoreErrors(Step):
    """The reference node records the `error` messages it receives but does not act on them (BOLT 1
    says fail the channel; it keeps it, and broadcasts nothing), so a later `expect_spend` of the
    funding output sees only what the other node broadcast."""

    NAME = "ignore_errors"
    SUMMARY = "a reference node stops acting on received error messages"
    node: DriverName

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "ignore_errors")
        notice_recorder(ln).ignore_errors = True
        return f"{self.node} ignores error messages"


class ExpectedNotice(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    ERROR_OR_WARNING = "error_or_warning"

    def names(self) -> frozenset[NoticeName]:
        if self is ExpectedNotice.ERROR_OR_WARNING:
            return frozenset(NoticeName)
        return frozenset({NoticeName(self.value)})


@register_step
@dataclass(frozen=True)
class ExpectNotice(Step):
    """Since the last misbehaviour (or `watch_notices`), the reference node `node` received an `error`
    (or `warning`) from `peer` about `channel` (or about all channels)."""

    NAME = "expect_notice"
    SUMMARY = "the node sent the reference peer an error or a warning"
    node: DriverName
    peer: DriverName
    message: ExpectedNotice
    channel: str = "channel"
    timeout_s: float = 10.0

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "expect_notice")
        channel_id = channel_ref(ctx, self.channel).channel_id
        recorder = notice_recorder(ln)
        wanted = ReceivedNoticeMatch(ctx.driver(self.peer).node_id, self.message.names(), channel_id)
        try:
            notice = await recorder.wait_for(wanted, self.timeout_s)
        except TimeoutError as exc:
            seen = ", ".join(n.name.value for n in recorder.since_mark()) or "nothing"
            peer_id = ctx.driver(self.peer).node_id
            closed = len(ln.node.disconnects(peer_id)) > recorder.disconnects_at_mark.get(peer_id, 0)
            link = "it closed the connection without one" if closed else "the connection stayed open"
            raise ExpectationFailed(
                f"{self.peer} sent no {self.message.value.replace('_', ' ')} about {self.channel} "
                f"within {self.timeout_s:g}s (received: {seen}; {link})"
            ) from exc
        text = notice.data.decode("utf-8", "replace")[:300]
        return f"{self.peer} sent {notice.name.value}: {text!r}"


@register_step
@dataclass(frozen=True)
class ExpectNoRejection(Step):
    """Since the last misbehaviour (or legitimate message) of the reference node `node`, `peer` kept
    the connection and the channel: a ping barrier proves it handled everything sent before."""

    NAME = "expect_no_rejection"
    SUMMARY = "the node handled the last messages and kept the connection and the channel"
    node: DriverName
    peer: DriverName
    channel: str = "channel"
    timeout_s: float = BARRIER_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "expect_no_rejection")
        slot = channel_slot(ctx, ln, self.channel)
        await ping_barrier(ln, ctx.driver(self.peer).node_id, slot, self.peer, self.timeout_s)
        return f"{self.peer} answered a ping and kept {self.channel}"


async def ping_barrier(
    ln: LightningNode, peer_id: bytes, slot: ChannelSlot, name: str, timeout_s: float
) -> None:
    """BOLT 1 ping/pong: the peer answers in order, so once its `pong` is here it has handled every
    message sent before; then neither the connection nor the channel may have been given up."""
    peer = ln.node.peer(peer_id)
    if peer is None:
        raise ExpectationFailed(f"{name} closed the connection")
    try:
        await peer.ping(timeout_s=timeout_s)
    except (TimeoutError, ConnectionError) as exc:
        raise ExpectationFailed(f"{name} did not answer a ping within {timeout_s:g}s") from exc
    if ln.node.peer(peer_id) is None:
        raise ExpectationFailed(f"{name} closed the connection")
    if slot.channel.data.failure is not None:
        raise ExpectationFailed(f"{name} failed the channel: {slot.channel.data.failure}")
