"""BOLT 7 in the running node: the pure gossip package (graph, announcements, outbox, queries) wired to
peers, channels and the chain.

- Our public channels: once `channel_ready` went both ways and the funding has 6 confirmations, we send
  `announcement_signatures`; with the peer's we assemble the `channel_announcement`, then broadcast it
  with our `channel_update` and our `node_announcement` ("MUST NOT send `node_announcement` ... until it
  has at least one announced channel" is the graph's own rule: a node without channels is not kept).
- Incoming gossip goes into the graph (persisted in the store); what the graph accepts is relayed.
- Each peer has an outbox. With `gossip_queries` negotiated we send `gossip_timestamp_filter` asking for
  everything; a peer gets our own gossip at once, relayed gossip only once its own filter admits it.
  `query_channel_range` and `query_short_channel_ids` are answered.
- Sending is batched by a timer (`broadcast_interval_s`, BOLT 7 "SHOULD flush outgoing gossip messages
  once every 60 seconds"; tests use a small value), and the chain is watched by long-polling the node's
  chain source (no sleeps waiting for conditions).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reference_node.chain_source import ChainSourceError
from reference_node.channel import ChannelState
from reference_node.faults import Defect
from reference_node.forwarding.relay import HtlcRelay
from reference_node.gossip.addresses import AddressDescriptor
from reference_node.gossip.announcement_signatures import (
    AnnouncementInfo,
    complete_channel_announcement,
    make_announcement_signatures,
)
from reference_node.gossip.announcements import build_node_announcement
from reference_node.gossip.errors import (
    AnnouncementSignaturesError,
    GossipError,
    InvalidSignatureError,
    QueryError,
)
from reference_node.gossip.flags import ANNOUNCEMENT_MIN_CONFIRMATIONS
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.outbox import GossipOutbox
from reference_node.gossip.persist import dump_graph, load_graph
from reference_node.gossip.queries import answer_query_channel_range, answer_query_short_channel_ids
from reference_node.gossip.records import FundingOutput, GossipResult
from reference_node.gossip.sync import (
    ChannelRangeQuery,
    ShortIdQueryGate,
    build_short_id_queries,
    short_ids_to_query,
)
from reference_node.keys.channel_keys import ChannelKeys
from reference_node.payments.channels import ChannelSlot
from reference_node.peer import Peer, PeerClosed, PeerState
from reference_node.transport import TransportError
from reference_node.wire import (
    AnnouncementSignatures,
    ChannelAnnouncement,
    ChannelUpdate,
    GossipTimestampFilter,
    Message,
    NodeAnnouncement,
    QueryChannelRange,
    QueryShortChannelIds,
    ReplyChannelRange,
    ReplyShortChannelIdsEnd,
    ShortChannelId,
    WarningMessage,
)
from reference_node.wire.features import Feature, Features, negotiated
from reference_node.wire.gossip_encoding import QueryOptionFlag

if TYPE_CHECKING:
    from reference_node.node import LightningNode

log = logging.getLogger(__name__)

_GRAPH_META_KEY = "gossip/graph"
_ALL_TIMESTAMPS = 0xFFFFFFFF
_ALL_BLOCKS = 0xFFFFFFFF
_ANNOUNCE_CHANNEL_FLAG = 1  # BOLT 2 open_channel `channel_flags` bit 0: announce_channel
GOSSIP_MESSAGES = (
    "announcement_signatures",
    "channel_announcement",
    "channel_update",
    "node_announcement",
    "gossip_timestamp_filter",
    "query_channel_range",
    "query_short_channel_ids",
    "reply_channel_range",
    "reply_short_channel_ids_end",
)


class InitialSync(enum.Enum):
    """How a node catches up with a peer that negotiated gossip_queries."""

    # gossip_timestamp_filter from 0: the peer sends everything it has, then what arrives
    TIMESTAMP_FILTER = "timestamp_filter"
    # gossip_timestamp_filter from now for new gossip; the history by query_channel_range (with timestamps
    # and checksums) and query_short_channel_ids for what we lack
    RANGE_QUERIES = "range_queries"


@dataclass(frozen=True)
class GossipConfig:
    initial_sync: InitialSync = InitialSync.TIMESTAMP_FILTER
    broadcast_interval_s: float = 60.0  # BOLT 7: "once every 60 seconds"; 0 sends as soon as queued
    block_poll_s: float = 1.0  # length of one long-poll of the chain (bounds how long stop() waits)
    alias: str = ""
    rgb_color: bytes = b"\x00\x00\x00"
    addresses: tuple[AddressDescriptor, ...] = field(default=())


class GossipSync:
    def __init__(self, node: LightningNode, relay: HtlcRelay, config: GossipConfig | None = None) -> None:
        self.node = node
        self.relay = relay
        self.config = config or GossipConfig()
        self.chain_hash = node.node.config.network.chain_hash
        raw = node.store.get_meta(_GRAPH_META_KEY)
        self.graph = load_graph(json.loads(raw)) if raw else ChannelGraph(self.chain_hash)
        self.graph.verify_signatures = not node.faults.has(Defect.TRUST_GOSSIP_SIGNATURES)
        self.graph.check_funding_output = not node.faults.has(Defect.TRUST_GOSSIP_FUNDING)
        self.outboxes: dict[bytes, GossipOutbox] = {}
        self._ours: dict[ShortChannelId, AnnouncementSignatures] = {}
        self._theirs: dict[ShortChannelId, AnnouncementSignatures] = {}
        # how many `announcement_signatures` each channel's peer sent us (the harness checks the peer's)
        self.received_announcement_signatures: dict[ShortChannelId, int] = {}
        self._announced: set[ShortChannelId] = set()
        self._answered: set[tuple[bytes, ShortChannelId]] = set()
        self._node_announcement_timestamp = 0
        self._chain_height = 0
        self._queued = asyncio.Event()
        self._changed = asyncio.Event()
        self._dirty = False
        self._check_lock = asyncio.Lock()
        self._check_pending = False
        self._range_queries: dict[bytes, ChannelRangeQuery] = {}
        self._query_gates: dict[bytes, ShortIdQueryGate] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gossip-chain")
        for name in GOSSIP_MESSAGES:
            node.node.register_handler(name, self._on_message)
        node.node.add_lifecycle_hooks(self._on_peer_active, self._on_peer_closed)
        node.channels.persist_hooks.append(self._on_channel_persisted)

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [asyncio.ensure_future(self._flush_loop()), asyncio.ensure_future(self._watch_chain())]
        for peer in self.node.node.peers.values():
            # peers connected before gossip was installed (a node that started before its RPC server)
            if peer.state is PeerState.ACTIVE and peer.node_id not in self.outboxes:
                self._spawn(self._on_peer_active(peer))

    async def stop(self) -> None:
        for task in [*self._tasks, *self._background]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._background, return_exceptions=True)
        self._tasks = []
        self._save()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _watch_chain(self) -> None:
        loop = asyncio.get_running_loop()
        chain = self.node.chain
        self._chain_height = await loop.run_in_executor(self._executor, chain.height)
        await self.check_channels()
        while True:
            tip = await loop.run_in_executor(
                self._executor, chain.wait_for_block, self._chain_height, self.config.block_poll_s
            )
            if tip > self._chain_height:
                self._chain_height = tip
                await self.check_channels()

    def _on_channel_persisted(self, slot: ChannelSlot) -> None:
        # one pending check covers any number of persisted states (every commitment persists one)
        if not self._check_pending:
            self._check_pending = True
            self._spawn(self._pending_check())

    async def _pending_check(self) -> None:
        self._check_pending = False
        await self.check_channels()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- our channels ----------------------------------------------------------------------------------

    async def check_channels(self) -> None:
        """Announce what can be announced now (after a block or a channel state change)."""
        async with self._check_lock:
            height = max(self._chain_height, self.node.current_height())
            for slot in list(self.node.channels.slots.values()):
                await self._check_channel(slot, height)

    async def _check_channel(self, slot: ChannelSlot, height: int) -> None:
        data = slot.channel.data
        if slot.channel.state is not ChannelState.NORMAL or data.short_channel_id is None:
            return
        scid = ShortChannelId.from_int(data.short_channel_id)
        info = self.relay.channel_info(slot)
        if info is None:
            return
        if self.graph.channel(scid) is None:
            # BOLT 7: "SHOULD accept `channel_update`s for its own channels (even if non-public)"
            self.graph.add_local_channel(scid, self.node.node_id, slot.peer_id, data.funding_satoshis)
        update = self.relay.updates.update_for(info)
        if self._receive(update, None).accepted and scid in self._announced:
            # a new policy of an announced channel goes to every peer
            for outbox in self.outboxes.values():
                outbox.queue_own((update,))
            self._queued.set()
        if not data.channel_flags & _ANNOUNCE_CHANNEL_FLAG:
            return
        confirmations = height - scid.block_height + 1
        if confirmations < ANNOUNCEMENT_MIN_CONFIRMATIONS or scid in self._announced:
            return
        if scid not in self._ours:
            announcement_info = self._announcement_info(slot, scid, confirmations)
            keys = ChannelKeys.from_seed(self.node.channels.channel_seed(slot.seed_index))
            self._ours[scid] = make_announcement_signatures(
                announcement_info,
                node_secret=self.node.key.private_key.secret,
                funding_secret=keys.funding_privkey,
            )
            await self._send(slot.peer_id, self._ours[scid])
            self._answered.add((slot.peer_id, scid))
        if scid in self._theirs:
            self._complete(slot, scid, confirmations)

    def _announcement_info(
        self, slot: ChannelSlot, scid: ShortChannelId, confirmations: int
    ) -> AnnouncementInfo:
        data = slot.channel.data
        assert data.channel_id is not None and data.remote_basepoints is not None
        return AnnouncementInfo(
            channel_id=data.channel_id,
            short_channel_id=scid,
            chain_hash=self.chain_hash,
            local_node_id=self.node.node_id,
            remote_node_id=slot.peer_id,
            local_funding_pubkey=data.local_basepoints.funding_pubkey,
            remote_funding_pubkey=data.remote_basepoints.funding_pubkey,
            features=Features(),  # no channel feature is defined for announcements yet (BOLT 9 C)
            funding_confirmations=confirmations,
        )

    def _complete(self, slot: ChannelSlot, scid: ShortChannelId, confirmations: int) -> None:
        info = self._announcement_info(slot, scid, confirmations)
        try:
            announcement = complete_channel_announcement(info, self._ours[scid], self._theirs[scid])
        except (AnnouncementSignaturesError, GossipError) as exc:
            log.warning("announcement_signatures for %s refused: %s", scid, exc)
            self._theirs.pop(scid, None)
            return
        now = int(time.time())
        self.graph.add_own_announcement(announcement, slot.channel.data.funding_satoshis, now)
        self._announced.add(scid)
        self._dirty = True
        own: list[Message] = [announcement]
        channel_info = self.relay.channel_info(slot)
        assert channel_info is not None
        update = self.relay.updates.update_for(channel_info)
        self.graph.receive_channel_update(update, now=now)
        own.append(update)
        own.append(self._node_announcement())
        for outbox in self.outboxes.values():
            outbox.queue_own(tuple(own))
        self._queued.set()
        self._changed.set()

    def _node_announcement(self) -> NodeAnnouncement:
        # "MUST set `timestamp` to be greater than that of any previous `node_announcement`"
        timestamp = max(int(time.time()), self._node_announcement_timestamp + 1)
        self._node_announcement_timestamp = timestamp
        announcement = build_node_announcement(
            node_secret=self.node.key.private_key.secret,
            node_id=self.node.node_id,
            timestamp=timestamp,
            features=self.node.node.config.features,
            rgb_color=self.config.rgb_color,
            alias=self.config.alias or self.node.alias,
            addresses=self.config.addresses,
        )
        self._receive(announcement, None)
        return announcement

    # -- peers -----------------------------------------------------------------------------------------

    def _gossip_queries(self, peer: Peer) -> bool:
        remote = peer.remote_features
        return remote is not None and negotiated(
            self.node.node.config.features, remote, Feature.gossip_queries
        )

    async def _on_peer_active(self, peer: Peer) -> None:
        outbox = GossipOutbox(self.chain_hash)
        self.outboxes[peer.node_id] = outbox
        if self._gossip_queries(peer):
            # the peer's own filter decides what we relay to it ("MUST not send gossip it did not generate
            # itself, until it receives `gossip_timestamp_filter`")
            self._spawn(self._start_sync(peer.node_id))
        self._answered = {a for a in self._answered if a[0] != peer.node_id}
        # BOLT 7: "MUST respond to the first `announcement_signatures` message with its own" after a
        # reconnection: resend ours for that peer's channels that are not announced yet
        for slot in self.node.channels.slots_of(peer.node_id):
            scid_int = slot.channel.data.short_channel_id
            if scid_int is None:
                continue
            scid = ShortChannelId.from_int(scid_int)
            if scid in self._ours and scid not in self._announced:
                self._spawn(self._send(peer.node_id, self._ours[scid]))

    def _on_peer_closed(self, node_id: bytes) -> None:
        self.outboxes.pop(node_id, None)
        self._range_queries.pop(node_id, None)
        self._query_gates.pop(node_id, None)

    async def _start_sync(self, node_id: bytes) -> None:
        if self.config.initial_sync is InitialSync.TIMESTAMP_FILTER:
            await self._send(node_id, GossipTimestampFilter(self.chain_hash, 0, _ALL_TIMESTAMPS))
            return
        now = int(time.time())
        await self._send(node_id, GossipTimestampFilter(self.chain_hash, now, _ALL_TIMESTAMPS - now))
        query = ChannelRangeQuery(
            self.chain_hash, 0, _ALL_BLOCKS, QueryOptionFlag.WANT_TIMESTAMPS | QueryOptionFlag.WANT_CHECKSUMS
        )
        self._range_queries[node_id] = query
        await self._send(node_id, query.message())

    async def _on_reply_channel_range(self, peer: Peer, message: ReplyChannelRange) -> None:
        query = self._range_queries.get(peer.node_id)
        if query is None:
            raise QueryError(message.NAME, "reply_channel_range without our query_channel_range")
        if not query.receive(message):
            return
        del self._range_queries[peer.node_id]
        wanted = short_ids_to_query(self.graph, query.entries())
        gate = self._query_gates.setdefault(peer.node_id, ShortIdQueryGate())
        first = gate.enqueue(build_short_id_queries(self.chain_hash, wanted))
        log.info("%s lists %d channels; asking for %d", peer.node_id.hex(), len(query.entries()), len(wanted))
        if first is not None:
            await self._send(peer.node_id, first)

    async def _on_reply_short_channel_ids_end(self, peer: Peer, message: ReplyShortChannelIdsEnd) -> None:
        gate = self._query_gates.get(peer.node_id)
        if gate is None:
            raise QueryError(message.NAME, "reply_short_channel_ids_end without our query_short_channel_ids")
        following = gate.receive_end(message)
        if following is not None:
            await self._send(peer.node_id, following)

    async def _send(self, node_id: bytes, message: Message) -> None:
        peer = self.node.node.peer(node_id)
        if peer is None:
            return
        try:
            await peer.send(message)
        except (PeerClosed, TransportError, ConnectionError) as exc:
            log.info("%s to %s not sent: %s", message.NAME, node_id.hex(), exc)

    async def _flush_loop(self) -> None:
        while True:
            await self._queued.wait()
            if self.config.broadcast_interval_s > 0:
                # the staggered-broadcast timer: gather what arrives in one interval, send it once
                await asyncio.sleep(self.config.broadcast_interval_s)
            self._queued.clear()
            await self.flush()

    async def flush(self) -> None:
        for node_id, outbox in list(self.outboxes.items()):
            for message in outbox.flush():
                await self._send(node_id, message)
        self._save()

    def _save(self) -> None:
        if self._dirty:
            self.node.store.set_meta(_GRAPH_META_KEY, json.dumps(dump_graph(self.graph)))
            self._dirty = False

    # -- incoming --------------------------------------------------------------------------------------

    async def _on_message(self, peer: Peer, message: Message) -> None:
        try:
            await self._dispatch(peer, message)
        except GossipError as exc:
            # BOLT 7 "SHOULD send a `warning`" cases (bad signatures, malformed queries, ...)
            log.info("gossip from %s refused: %s", peer.node_id.hex(), exc)
            text = str(exc).encode()[:0xFFFF]
            await self._send(peer.node_id, WarningMessage(channel_id=bytes(32), data=text))
            if isinstance(exc, InvalidSignatureError) and isinstance(message, ChannelUpdate):
                # BOLT 7 channel_update receiver: "if `signature` is not a valid signature ...: SHOULD send
                # a `warning` and close the connection" (for the announcements closing is only a MAY)
                await peer.disconnect("channel_update with an invalid signature")

    async def _dispatch(self, peer: Peer, message: Message) -> None:
        if isinstance(message, AnnouncementSignatures):
            await self._on_announcement_signatures(peer, message)
        elif isinstance(message, ChannelAnnouncement):
            funding = await self._funding_output(message.short_channel_id)
            result = self.graph.receive_channel_announcement(
                message, lookup=lambda _scid: funding, now=int(time.time())
            )
            self._relay(result, peer.node_id)
        elif isinstance(message, ChannelUpdate | NodeAnnouncement):
            self._relay(self._receive(message, peer.node_id), peer.node_id)
        elif isinstance(message, GossipTimestampFilter):
            outbox = self.outboxes.get(peer.node_id)
            if outbox is not None:
                for backlog in outbox.receive_filter(message, self.graph):
                    await self._send(peer.node_id, backlog)
        elif isinstance(message, QueryChannelRange):
            for range_reply in answer_query_channel_range(self.graph, message):
                await self._send(peer.node_id, range_reply)
        elif isinstance(message, QueryShortChannelIds):
            for reply in answer_query_short_channel_ids(self.graph, message):
                await self._send(peer.node_id, reply)
        elif isinstance(message, ReplyChannelRange):
            await self._on_reply_channel_range(peer, message)
        elif isinstance(message, ReplyShortChannelIdsEnd):
            await self._on_reply_short_channel_ids_end(peer, message)

    def _receive(self, message: ChannelUpdate | NodeAnnouncement, source: bytes | None) -> GossipResult:
        if isinstance(message, ChannelUpdate):
            result = self.graph.receive_channel_update(message, now=int(time.time()))
        else:
            result = self.graph.receive_node_announcement(message)
        if result.accepted:
            self._dirty = True
            self._changed.set()
        return result

    def _relay(self, result: GossipResult, source: bytes) -> None:
        if not result.accepted or not result.to_relay:
            return
        self._dirty = True
        self._changed.set()
        for node_id, outbox in self.outboxes.items():
            if node_id != source:
                outbox.queue_relayed(result.to_relay)
        self._queued.set()

    async def _on_announcement_signatures(self, peer: Peer, message: AnnouncementSignatures) -> None:
        scid = message.short_channel_id
        self._theirs[scid] = message
        self.received_announcement_signatures[scid] = self.received_announcement_signatures.get(scid, 0) + 1
        self._changed.set()
        slot = self.relay.slot_for_scid(scid.to_int())
        if slot is None or slot.peer_id != peer.node_id:
            log.info("announcement_signatures for unknown channel %s from %s", scid, peer.node_id.hex())
            return
        if scid in self._ours and (peer.node_id, scid) not in self._answered:
            self._answered.add((peer.node_id, scid))
            await self._send(peer.node_id, self._ours[scid])
        await self.check_channels()

    async def _funding_output(self, scid: ShortChannelId) -> FundingOutput | None:
        """BOLT 7: "MUST verify the `short_channel_id` refers to a confirmed output"."""
        chain = self.node.chain
        try:
            # not the watcher's thread: that one is busy long-polling the chain
            tip = await asyncio.to_thread(chain.height)
            if scid.block_height > tip:
                return None
            block = await asyncio.to_thread(chain.block_at, scid.block_height)
        except ChainSourceError as exc:
            log.info("cannot look up %s: %s", scid, exc)
            return None
        if scid.tx_index >= len(block.txs):
            return None
        outputs = block.txs[scid.tx_index].outputs
        if scid.output_index >= len(outputs):
            return None
        output = outputs[scid.output_index]
        return FundingOutput(output.script_pubkey, output.amount_sat, tip - scid.block_height + 1)

    # -- waiting ---------------------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> None:
        """Wait until `predicate()` holds, re-checked whenever the graph changes."""
        async with asyncio.timeout(timeout_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()
