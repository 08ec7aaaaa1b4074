"""The channel layer of the node: runs each BOLT 2 `Channel` against its peer, the store, the wallet and the
chain, and executes the channel's actions in order.

Ordering (issue 5, crash safety): the actions of one channel call are executed one by one; a
`PersistState` is committed to SQLite before the next action (the `SendMessage` or `BroadcastTx` that
depends on it) runs. Reports for the payment layer (HtlcReceived, HtlcFulfilled, ...) are handled after the
whole batch went out, so new updates never jump ahead of messages the channel already produced.
Every channel has a lock: one call and its batch at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from reference_node.bitcoin.tx import Tx, TxOut
from reference_node.channel import (
    Action,
    BroadcastTx,
    Channel,
    ChannelClosed,
    ChannelFailed,
    ChannelOpened,
    ChannelParams,
    ChannelState,
    ChannelType,
    Disconnect,
    FundingOutputNeeded,
    HtlcFailed,
    HtlcFulfilled,
    HtlcReceived,
    HtlcResolved,
    PeerFeatures,
    PersistState,
    Policy,
    SendMessage,
    Side,
    WatchFunding,
)
from reference_node.channel.bolt3_signer import Bolt3Signer
from reference_node.channel.errors import ChannelError, CommandRejected
from reference_node.channel.ledger import REMOVALS, UpdateKind
from reference_node.channel.messages import ChannelMessage
from reference_node.channel.messages import Error as ErrorMessage
from reference_node.channel.messages import Warning as WarningMessage
from reference_node.channel.states import FUNDED_STATES
from reference_node.channel.wire_adapter import from_wire, to_wire
from reference_node.faults import Controls, Faults
from reference_node.peer import ALL_CHANNELS, Peer, PeerClosed, PeerState
from reference_node.store import PaymentStatus, Store
from reference_node.transport import TransportError
from reference_node.wallet import BuiltTx, Wallet, WalletError
from reference_node.wire import Message
from reference_node.wire.features import Feature, Features, negotiated

if TYPE_CHECKING:
    from reference_node.node import Node

log = logging.getLogger(__name__)
# BOLT 1: message types 32-255 are the channel messages (BOLT 2)
_CHANNEL_MESSAGE_TYPES = (32, 255)

CHANNEL_MESSAGES = (
    "open_channel",
    "accept_channel",
    "funding_created",
    "funding_signed",
    "channel_ready",
    "update_add_htlc",
    "update_fulfill_htlc",
    "update_fail_htlc",
    "update_fail_malformed_htlc",
    "update_fee",
    "commitment_signed",
    "revoke_and_ack",
    "channel_reestablish",
    "shutdown",
    "closing_signed",
    "closing_complete",
    "closing_sig",
    "error",
)
# Establishment states a channel forgets on disconnect (BOLT 2: nothing was signed yet)
OPENING_STATES = frozenset(
    {
        ChannelState.OPENER_INIT,
        ChannelState.OPEN_CHANNEL_SENT,
        ChannelState.AWAITING_FUNDING_TX,
        ChannelState.FUNDING_CREATED_SENT,
        ChannelState.ACCEPTER_INIT,
        ChannelState.ACCEPT_CHANNEL_SENT,
    }
)
UPDATE_STATES = frozenset({ChannelState.NORMAL, ChannelState.SHUTTING_DOWN})


class ChannelCommandError(Exception):
    """A channel command (open, pay, close) cannot be done; says why."""


class ChainAccess(Protocol):
    """What the channel layer needs from the node's chain watcher."""

    def current_height(self) -> int: ...

    def feerate_per_kw(self) -> int: ...

    async def broadcast(self, raw: bytes) -> None: ...

    async def funding_output(self, txid: bytes, vout: int) -> tuple[int, int, TxOut] | None:
        """(height, tx_index, output) of a confirmed funding output, or None while unconfirmed."""
        ...


@dataclass(frozen=True)
class ChannelConfig:
    minimum_depth: int = 3
    to_self_delay: int = 144
    max_accepted_htlcs: int = 30
    dust_limit_satoshis: int = 546
    htlc_minimum_msat: int = 1
    min_reserve_satoshis: int = 1_000


@dataclass
class ChannelSlot:
    """One channel and what the node keeps around it."""

    key: int  # in-memory id; `dbid` once the channel has been persisted
    peer_id: bytes
    seed_index: int
    channel: Channel
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    dbid: int | None = None
    funding_build: BuiltTx | None = None
    funding_spent_by: bytes | None = None
    reconcile_pending: bool = False
    closing_tx: bytes | None = None
    # set while new HTLCs may be offered (normal state, connected, past the peer's channel_reestablish);
    # cleared on disconnect and until the reestablish completes (ChannelManager.refresh_usable)
    usable: asyncio.Event = field(default_factory=asyncio.Event)


class Changes:
    """Wakes every waiter when something changes; each waiter re-checks its own condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> None:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                await self._event.wait()


Report = (
    HtlcReceived | HtlcFulfilled | HtlcFailed | HtlcResolved | ChannelOpened | ChannelFailed | ChannelClosed
)
ReportHandler = Callable[["ChannelSlot", Report], Awaitable[None]]


class ChannelManager:
    def __init__(
        self,
        node: Node,
        store: Store,
        wallet: Wallet,
        chain: ChainAccess,
        seed: bytes,
        config: ChannelConfig,
        faults: Faults,
        controls: Controls,
    ) -> None:
        self.node = node
        self.store = store
        self.wallet = wallet
        self.chain = chain
        self._seed = seed
        self.config = config
        self.faults = faults
        self.controls = controls
        # a defect (faults.py) may switch off some of the policy's checks
        self.policy = faults.channel_policy(Policy(chain_hashes=frozenset({node.config.network.chain_hash})))
        self.slots: dict[int, ChannelSlot] = {}
        self.changes = Changes()
        self.report_handler: ReportHandler | None = None
        # called with every persisted channel state, in its store transaction (BOLT 5 on-chain monitors
        # record each commitment)
        self.persist_hooks: list[Callable[[ChannelSlot], None]] = []
        self._next_key = 0
        self._watch: dict[int, WatchFunding] = {}
        for name in CHANNEL_MESSAGES:
            node.register_handler(name, self._on_message)
        node.add_lifecycle_hooks(self._on_peer_active, self._on_peer_closed)

    # -- keys ------------------------------------------------------------------------------------------

    def _signer(self, seed_index: int) -> Bolt3Signer:
        channel_seed = hmac.new(self._seed, b"channel/%d" % seed_index, hashlib.sha256).digest()
        return Bolt3Signer(channel_seed)

    def channel_seed(self, seed_index: int) -> bytes:
        """The seed of a channel's keys (the same the signer uses), for its BOLT 5 on-chain monitor."""
        return hmac.new(self._seed, b"channel/%d" % seed_index, hashlib.sha256).digest()

    def _add_slot(self, peer_id: bytes, seed_index: int, channel: Channel, dbid: int | None) -> ChannelSlot:
        self._next_key += 1
        slot = ChannelSlot(self._next_key, peer_id, seed_index, channel, dbid=dbid)
        self.slots[slot.key] = slot
        return slot

    # -- restart ---------------------------------------------------------------------------------------

    def load(self) -> None:
        """Restore every persisted channel; channels with nothing signed yet are not kept (BOLT 2)."""
        for row in self.store.channels():
            signer = self.faults.wrap_signer(self._signer(row.seed_index))
            channel = Channel.from_json(row.state, signer, self.policy)
            slot = self._add_slot(row.peer_id, row.seed_index, channel, row.dbid)
            slot.reconcile_pending = channel.state in UPDATE_STATES
            data = channel.data
            if data.funding_tx is not None and channel.state in FUNDED_STATES:
                # our funding transaction spends wallet coins: keep them marked as spent
                self.wallet.add_transaction(Tx.parse(data.funding_tx), None)
            if channel.state is ChannelState.AWAITING_CHANNEL_READY and data.funding_txid is not None:
                assert data.funding_output_index is not None
                self._watch[slot.key] = WatchFunding(
                    data.funding_txid, data.funding_output_index, b"", data.minimum_depth
                )
        self._reconcile_payments()

    def _reconcile_payments(self) -> None:
        """A payment still pending after a restart: find its HTLC's fate in the channel's update log."""
        by_dbid = {s.dbid: s for s in self.slots.values()}
        for payment in self.store.payments():
            if payment.status is not PaymentStatus.PENDING:
                continue
            slot = by_dbid.get(payment.channel_dbid)
            if slot is None or slot.channel.data.ledger is None:
                self.store.finish_payment(payment.payment_hash, PaymentStatus.FAILED, None, "channel lost")
                continue
            ledger = slot.channel.data.ledger
            removal = ledger.find_removal(Side.LOCAL, payment.htlc_id)
            if removal is not None and removal.kind is UpdateKind.FULFILL:
                self.store.finish_payment(
                    payment.payment_hash, PaymentStatus.COMPLETE, removal.payment_preimage, None
                )
            elif (
                ledger.find_add(Side.LOCAL, payment.htlc_id) is None
                and payment.htlc_id >= ledger.next_local_htlc_id
            ):
                self.store.finish_payment(
                    payment.payment_hash, PaymentStatus.FAILED, None, "HTLC never committed before restart"
                )

    # -- running a channel -----------------------------------------------------------------------------

    async def run(self, slot: ChannelSlot, command: Callable[[], list[Action]]) -> None:
        """Call the channel under its lock, execute the batch, then handle its reports."""
        async with slot.lock:
            actions = command()
            reports = await self._execute(slot, actions)
        await self._after_batch(slot, reports)

    async def _after_batch(self, slot: ChannelSlot, reports: list[Report]) -> None:
        self.refresh_usable(slot)
        self.changes.notify()
        for report in reports:
            if self.report_handler is not None:
                await self.report_handler(slot, report)
        if slot.reconcile_pending and self._link_ready(slot):
            slot.reconcile_pending = False
            await self._replay_unresolved_incoming(slot)
        self.changes.notify()

    def refresh_usable(self, slot: ChannelSlot) -> None:
        """Set or clear `slot.usable` from the channel's state. BOLT 2 "Message Retransmission": after a
        reconnection no update may be sent before the peer's `channel_reestablish`, so a payment waits on
        this event instead of failing while the channel reestablishes."""
        channel = slot.channel
        if (
            channel.state is ChannelState.NORMAL
            and channel.data.ledger is not None
            and self._link_ready(slot)
        ):
            slot.usable.set()
        else:
            slot.usable.clear()

    async def wait_usable(self, slot: ChannelSlot, timeout_s: float) -> None:
        """Wait until the channel may take new HTLCs; TimeoutError after `timeout_s`."""
        async with asyncio.timeout(timeout_s):
            await slot.usable.wait()

    def _link_ready(self, slot: ChannelSlot) -> bool:
        # as the channel's own rule: connected, and reestablished if a reestablish was sent
        data = slot.channel.data
        return data.connected and (data.reestablish_received or not data.reestablish_sent)

    async def _execute(self, slot: ChannelSlot, actions: list[Action]) -> list[Report]:
        reports: list[Report] = []
        for action in actions:
            if isinstance(action, PersistState):
                self._persist(slot, action)
            elif isinstance(action, SendMessage):
                await self._send(slot.peer_id, action.message)
            elif isinstance(action, BroadcastTx):
                await self._broadcast(slot, action)
            elif isinstance(action, FundingOutputNeeded):
                reports += await self._build_funding(slot, action)
            elif isinstance(action, WatchFunding):
                self._watch[slot.key] = action
            elif isinstance(action, Disconnect):
                peer = self.node.peer(slot.peer_id)
                if peer is not None:
                    await peer.disconnect(action.reason)
            elif isinstance(action, Report):
                reports.append(action)
            else:
                raise ChannelCommandError(f"unknown channel action {action!r}")
        return reports

    def _persist(self, slot: ChannelSlot, action: PersistState) -> None:
        # one transaction (one fsync) for the channel state and what the hooks record of it (the BOLT 5
        # monitor's commitments): both are on disk before the message that depends on them is sent
        with self.store.atomic():
            if slot.dbid is None:
                slot.dbid = self.store.add_channel(slot.peer_id, slot.seed_index, action.state)
            else:
                self.store.save_channel(slot.dbid, action.state)
            for hook in self.persist_hooks:
                hook(slot)

    async def _send(self, peer_id: bytes, message: ChannelMessage) -> None:
        if message.NAME in self.controls.drop_message_types:
            log.info("fault: dropping %s to %s", message.NAME, peer_id.hex())
            return
        delay_s = self.controls.delay_message_types_s.get(message.NAME)
        if delay_s:
            # a deliberate fault (delay a message type), not a wait for a condition
            await asyncio.sleep(delay_s)
        peer = self.node.peer(peer_id)
        if peer is None or peer.state is not PeerState.ACTIVE:
            # the channel retransmits what the peer needs at reestablishment (BOLT 2)
            log.debug("%s to %s not sent: not connected", message.NAME, peer_id.hex())
            return
        try:
            await peer.send(to_wire(message))
        except (PeerClosed, TransportError, ConnectionError) as exc:
            log.info("%s to %s not sent: %s", message.NAME, peer_id.hex(), exc)

    async def _broadcast(self, slot: ChannelSlot, action: BroadcastTx) -> None:
        tx = Tx.parse(action.tx)
        self.wallet.add_transaction(tx, None)
        if "closing" in action.description or "commitment" in action.description:
            slot.closing_tx = action.tx
        await self.chain.broadcast(action.tx)

    async def _build_funding(self, slot: ChannelSlot, need: FundingOutputNeeded) -> list[Report]:
        output = TxOut(need.funding_satoshis, need.funding_scriptpubkey)
        try:
            built = self.wallet.build([output], self.chain.feerate_per_kw())
        except WalletError as exc:
            slot.channel.data.failure = f"cannot fund: {exc}"
            raise ChannelCommandError(f"cannot fund the channel: {exc}") from exc
        slot.funding_build = built
        vout = next(i for i, o in enumerate(built.tx.outputs) if o == output)
        more = slot.channel.funding_tx_built(built.tx.txid(), vout, built.tx.serialize())
        return await self._execute(slot, more)

    # -- peers -----------------------------------------------------------------------------------------

    def peer_features(self, peer: Peer) -> PeerFeatures:
        local: Features = self.node.config.features
        remote = peer.remote_features or Features()

        def both(feature: Feature) -> bool:
            return negotiated(local, remote, feature)

        return PeerFeatures(
            option_support_large_channel=both(Feature.option_support_large_channel),
            option_upfront_shutdown_script=both(Feature.option_upfront_shutdown_script),
            option_shutdown_anysegwit=both(Feature.option_shutdown_anysegwit),
            option_simple_close=both(Feature.option_simple_close),
            option_anchors=both(Feature.option_anchors),
            option_scid_alias=both(Feature.option_scid_alias),
            option_zeroconf=both(Feature.option_zeroconf),
        )

    async def _on_peer_active(self, peer: Peer) -> None:
        for slot in self.slots_of(peer.node_id):
            if slot.channel.state in FUNDED_STATES:
                await self.run(slot, slot.channel.peer_reconnected)

    def _on_peer_closed(self, node_id: bytes) -> None:
        for slot in self.slots_of(node_id):
            if slot.channel.state in (ChannelState.FAILED, ChannelState.CLOSED):
                continue
            try:
                actions = slot.channel.peer_disconnected()
            except ChannelError as exc:
                log.info("peer_disconnected on channel %d: %s", slot.key, exc)
                continue
            for action in actions:
                if isinstance(action, PersistState):
                    self._persist(slot, action)
            if slot.channel.state is ChannelState.FAILED and slot.funding_build is not None:
                self.wallet.release(slot.funding_build)
                slot.funding_build = None
        for slot in self.slots_of(node_id):
            self.refresh_usable(slot)
        self.changes.notify()

    def slots_of(self, peer_id: bytes) -> list[ChannelSlot]:
        return [s for s in self.slots.values() if s.peer_id == peer_id]

    async def _on_message(self, peer: Peer, message: Message) -> None:
        channel_message = from_wire(message)
        if channel_message is None:
            return
        if message.NAME == "open_channel":
            slot = self._new_inbound(peer)
            temporary_channel_id = getattr(channel_message, "temporary_channel_id", b"")
            await self.run(
                slot, lambda: _name_refusal(slot.channel.handle(channel_message), temporary_channel_id)
            )
            return
        elif message.NAME == "error":
            channel_id = getattr(channel_message, "channel_id", ALL_CHANNELS)
            targets = [
                s
                for s in self.slots_of(peer.node_id)
                if channel_id == ALL_CHANNELS or self._matches(s, channel_id)
            ]
            for target in targets:
                await self.run(target, functools.partial(target.channel.handle, channel_message))
            return
        else:
            channel_id = getattr(channel_message, "channel_id", None)
            if channel_id is None:
                channel_id = getattr(channel_message, "temporary_channel_id", b"")
            found = [s for s in self.slots_of(peer.node_id) if self._matches(s, channel_id)]
            if not found:
                log.info(
                    "%s for unknown channel %s from %s", message.NAME, channel_id.hex(), peer.node_id.hex()
                )
                if _CHANNEL_MESSAGE_TYPES[0] <= message.TYPE <= _CHANNEL_MESSAGE_TYPES[1]:
                    # BOLT 1: "SHOULD send `error` with the unknown `channel_id` in reply to messages of type
                    # `32`-`255` related to unknown channels."
                    reply = ErrorMessage(channel_id, b"unknown channel")
                    try:
                        await peer.send(to_wire(reply))
                    except (PeerClosed, TransportError, ConnectionError) as exc:
                        log.info("error for unknown channel %s not sent: %s", channel_id.hex(), exc)
                return
            slot = found[-1]
        await self.run(slot, lambda: slot.channel.handle(channel_message))

    @staticmethod
    def _matches(slot: ChannelSlot, channel_id: bytes) -> bool:
        data = slot.channel.data
        return channel_id in (data.channel_id, data.temporary_channel_id)

    def _local_params(self, funding_satoshis: int | None) -> ChannelParams:
        reserve_sat = self.config.min_reserve_satoshis
        if funding_satoshis is not None:
            reserve_sat = max(reserve_sat, funding_satoshis // 100)  # 1%, as other implementations do
        return ChannelParams(
            dust_limit_satoshis=self.config.dust_limit_satoshis,
            max_htlc_value_in_flight_msat=(1 << 64) - 1,
            channel_reserve_satoshis=reserve_sat,
            htlc_minimum_msat=self.config.htlc_minimum_msat,
            to_self_delay=self.config.to_self_delay,
            max_accepted_htlcs=self.config.max_accepted_htlcs,
        )

    def _new_inbound(self, peer: Peer) -> ChannelSlot:
        seed_index = self.store.next_counter("channel_seed")
        channel = Channel.new_inbound(
            signer=self.faults.wrap_signer(self._signer(seed_index)),
            policy=self.policy,
            local_params=self._local_params(None),
            minimum_depth=self.config.minimum_depth,
            features=self.peer_features(peer),
            shutdown_scriptpubkey=self.wallet.new_script(),
        )
        return self._add_slot(peer.node_id, seed_index, channel, None)

    # -- commands --------------------------------------------------------------------------------------

    async def open_channel(
        self,
        peer_id: bytes,
        funding_satoshis: int,
        push_msat: int,
        channel_type: ChannelType,
        announce: bool,
        feerate_per_kw: int | None,
        temporary_channel_id: bytes,
    ) -> ChannelSlot:
        peer = self.node.peer(peer_id)
        if peer is None or peer.state is not PeerState.ACTIVE:
            raise ChannelCommandError(f"peer {peer_id.hex()} is not connected")
        seed_index = self.store.next_counter("channel_seed")
        try:
            channel, actions = Channel.new_outbound(
                signer=self.faults.wrap_signer(self._signer(seed_index)),
                policy=self.policy,
                chain_hash=self.node.config.network.chain_hash,
                temporary_channel_id=temporary_channel_id,
                funding_satoshis=funding_satoshis,
                push_msat=push_msat,
                feerate_per_kw=feerate_per_kw or self.chain.feerate_per_kw(),
                local_params=self._local_params(funding_satoshis),
                channel_type=channel_type,
                announce_channel=announce,
                features=self.peer_features(peer),
                shutdown_scriptpubkey=self.wallet.new_script(),
            )
        except ChannelError as exc:
            raise ChannelCommandError(str(exc)) from exc
        slot = self._add_slot(peer_id, seed_index, channel, None)
        await self.run(slot, lambda: actions)
        return slot

    async def command(self, slot: ChannelSlot, command: Callable[[], list[Action]]) -> None:
        """A channel command, then `commitment_signed` if there is something to sign and we may."""
        try:
            await self.run(slot, command)
        except CommandRejected as exc:
            raise ChannelCommandError(str(exc)) from exc
        await self.commit_if_possible(slot)

    async def commit_if_possible(self, slot: ChannelSlot) -> None:
        channel = slot.channel
        if channel.state not in UPDATE_STATES or channel.data.ledger is None or not self._link_ready(slot):
            return
        ledger = channel.data.ledger
        if ledger.remote_pending or not ledger.has_changes_for(Side.REMOTE):
            return
        await self.run(slot, channel.commit)

    async def force_close(self, slot: ChannelSlot, reason: str) -> None:
        """Unilateral close: fail the channel, which broadcasts our latest commitment (BOLT 5).

        `Channel` has no public force-close command yet; this drives the same path a protocol violation
        takes (`_fail`: send `error`, broadcast the latest signed commitment)."""
        channel = slot.channel

        def fail() -> list[Action]:
            return channel._command(lambda: channel._fail(CommandRejected(reason)))

        await self.run(slot, fail)

    # -- chain events ----------------------------------------------------------------------------------

    async def on_block(self, height: int, txs: tuple[Tx, ...]) -> None:
        """Funding depth for channels waiting for it; closing transactions confirmed."""
        for tx in txs:
            txid = tx.txid()
            for slot in list(self.slots.values()):
                data = slot.channel.data
                if data.funding_txid is None or slot.funding_spent_by is not None:
                    continue
                if any(
                    i.prevout.txid == data.funding_txid and i.prevout.index == data.funding_output_index
                    for i in tx.inputs
                ):
                    slot.funding_spent_by = txid
                    # a spend while a mutual close is negotiated or broadcast is taken as that close
                    # (BOLT 5 resolution of commitment transactions is not implemented yet)
                    if slot.channel.state in (
                        ChannelState.CLOSING_BROADCAST,
                        ChannelState.NEGOTIATING_CLOSING,
                    ):
                        await self.run(slot, functools.partial(slot.channel.closing_confirmed, txid))
        for key, watch in list(self._watch.items()):
            slot = self.slots[key]
            if slot.channel.state is not ChannelState.AWAITING_CHANNEL_READY:
                del self._watch[key]
                continue
            found = await self.chain.funding_output(watch.funding_txid, watch.funding_output_index)
            if found is None:
                continue
            mined_height, tx_index, output = found
            depth = height - mined_height + 1
            confirmed = functools.partial(
                slot.channel.funding_confirmed,
                depth,
                mined_height,
                tx_index,
                output.amount_sat,
                output.script_pubkey,
            )
            await self.run(slot, confirmed)
            await self.commit_if_possible(slot)

    def funding_txids(self) -> set[bytes]:
        return {w.funding_txid for w in self._watch.values()}

    # -- queries ---------------------------------------------------------------------------------------

    def find(self, channel_ref: str) -> ChannelSlot:
        """By channel_id (hex), short_channel_id (BLOCKxTXxOUT) or peer id (its only live channel)."""
        for slot in self.slots.values():
            data = slot.channel.data
            if data.channel_id is not None and data.channel_id.hex() == channel_ref:
                return slot
            if data.short_channel_id is not None and scid_text(data.short_channel_id) == channel_ref:
                return slot
        live = [
            s
            for s in self.slots.values()
            if s.peer_id.hex() == channel_ref
            and s.channel.state not in (ChannelState.CLOSED, ChannelState.FAILED)
        ]
        if len(live) == 1:
            return live[0]
        raise ChannelCommandError(f"no single channel matches {channel_ref!r}")

    async def _replay_unresolved_incoming(self, slot: ChannelSlot) -> None:
        """After a restart: incoming HTLCs already reported but neither fulfilled nor failed are handled
        again (the report may have been lost with the process)."""
        ledger = slot.channel.data.ledger
        if ledger is None or self.report_handler is None:
            return
        removed = {u.htlc_id for u in ledger.updates if u.kind in REMOVALS and u.htlc_offerer is Side.REMOTE}
        for update in list(ledger.updates):
            if (
                update.kind is UpdateKind.ADD
                and update.proposer is Side.REMOTE
                and update.reported
                and update.htlc_id not in removed
            ):
                report = HtlcReceived(
                    update.htlc_id,
                    update.amount_msat,
                    update.payment_hash,
                    update.cltv_expiry,
                    update.onion_routing_packet,
                    update.path_key,
                    False,
                )
                await self.report_handler(slot, report)


def _name_refusal(actions: list[Action], temporary_channel_id: bytes) -> list[Action]:
    """An `open_channel` refused before the channel recorded its `temporary_channel_id` comes back with an
    `error`/`warning` whose channel_id is empty; the reply must name the channel it refuses (BOLT 1: the
    `channel_id` of the channel the error is about; BOLT 2: the `temporary_channel_id` until funding)."""
    named: list[Action] = []
    for action in actions:
        message = action.message if isinstance(action, SendMessage) else None
        if isinstance(message, ErrorMessage | WarningMessage) and not message.channel_id:
            action = SendMessage(dataclasses.replace(message, channel_id=temporary_channel_id))
        named.append(action)
    return named


def scid_text(short_channel_id: int) -> str:
    """BOLT 7 human-readable form: block x transaction x output."""
    return f"{short_channel_id >> 40}x{(short_channel_id >> 16) & 0xFFFFFF}x{short_channel_id & 0xFFFF}"
