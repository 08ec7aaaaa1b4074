"""The node's side of BOLT 5: one `ChannelMonitor` per funded channel, fed by the node and acted upon.

`OnchainService` is the thin I/O layer around the sans-I/O monitors (as payments/channels.py is around
`Channel`): it records every persisted channel state, gives each block to every monitor, broadcasts what
they return, funds zero-fee HTLC transactions and anchor CPFP from the wallet, fails the channel when an
HTLC deadline passes, settles our payments from what the chain shows, and persists each monitor's state
in the node's SQLite store (meta key `onchain/<channel dbid>`, bounded in size, and one `commitments` row
per recorded commitment) before acting on it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from reference_node.bitcoin.tx import OutPoint, Tx
from reference_node.channel.channel import Channel
from reference_node.channel.states import ChannelState
from reference_node.faults import Controls
from reference_node.onchain.archive import StoreArchive
from reference_node.onchain.model import (
    FEE_INPUT_MIN_SAT,
    BroadcastTx,
    ChannelCloseSeen,
    ChannelResolved,
    FeeInput,
    FeeInputNeeded,
    GoOnchain,
    HtlcResolvedOnchain,
    OnchainAction,
    OnchainError,
    PreimageLearned,
)
from reference_node.onchain.monitor import ChannelMonitor, MonitorConfig
from reference_node.store import PaymentStatus, Store
from reference_node.wallet import Wallet

log = logging.getLogger(__name__)

META_PREFIX = "onchain/"


class SlotLike(Protocol):
    """What the service needs of the channel layer's `ChannelSlot`."""

    key: int
    dbid: int | None
    seed_index: int
    channel: Channel
    closing_tx: bytes | None


class ChainLike(Protocol):
    def current_height(self) -> int: ...

    def feerate_per_kw(self) -> int: ...

    async def broadcast(self, raw: bytes) -> None: ...


@dataclass(frozen=True)
class OnchainEvent:
    """Something the harness may wait for (close seen, preimage learned, channel resolved...)."""

    slot_key: int
    action: OnchainAction


ForceClose = Callable[[SlotLike, str], Awaitable[None]]


class OnchainService:
    def __init__(
        self,
        store: Store,
        wallet: Wallet,
        chain: ChainLike,
        channel_seed: Callable[[int], bytes],
        force_close: ForceClose,
        config: MonitorConfig | None = None,
        controls: Controls | None = None,
    ) -> None:
        self._store = store
        self._wallet = wallet
        self._chain = chain
        self._channel_seed = channel_seed
        self._force_close = force_close
        self.config = config or MonitorConfig()
        # run-time faults: `withhold_preimages` also keeps preimages off the chain
        self.controls = controls or Controls()
        self.monitors: dict[int, ChannelMonitor] = {}
        self._slots: dict[int, SlotLike] = {}
        self.events: list[OnchainEvent] = []
        self.listeners: list[Callable[[OnchainEvent], None]] = []
        # awaited with every action of a channel's monitor (the HTLC switch settles forwarded HTLCs
        # upstream from what the downstream channel's close shows: BOLT 5 "fulfill/fail the corresponding
        # incoming HTLC")
        self.handlers: list[Callable[[SlotLike, OnchainAction], Awaitable[None]]] = []

    # -- channel state -------------------------------------------------------------------------------

    def monitor_of(self, slot: SlotLike) -> ChannelMonitor | None:
        return self.monitors.get(slot.key)

    def _monitor(self, slot: SlotLike) -> ChannelMonitor | None:
        monitor = self.monitors.get(slot.key)
        if monitor is not None or slot.dbid is None:
            return monitor
        stored = self._store.get_meta(f"{META_PREFIX}{slot.dbid}")
        seed = self._channel_seed(slot.seed_index)
        archive = StoreArchive(self._store, slot.dbid)
        if stored is not None:
            monitor = ChannelMonitor.from_json(json.loads(stored), seed, self.config, archive)
        elif slot.channel.data.funding_txid is not None and slot.channel.data.remote_basepoints is not None:
            monitor = ChannelMonitor(seed, self._wallet.new_script(), self.config, archive=archive)
        else:
            return None
        self.monitors[slot.key] = monitor
        self._slots[slot.key] = slot
        return monitor

    def _save(self, slot: SlotLike, monitor: ChannelMonitor) -> None:
        if slot.dbid is not None:
            self._store.set_meta(f"{META_PREFIX}{slot.dbid}", json.dumps(monitor.to_json()))

    def channel_persisted(self, slot: SlotLike) -> None:
        """Hook: called with every persisted channel state, inside the store transaction that saves it (the
        channel may have signed a commitment, received one, or learned a secret: all of it must be on disk
        before anything depends on it). A new commitment adds one archive row; the monitor's own state
        stays small."""
        monitor = self._monitor(slot)
        if monitor is None:
            return
        monitor.absorb_channel(slot.channel)
        self._save(slot, monitor)

    # -- chain ---------------------------------------------------------------------------------------

    async def on_block(self, height: int, txs: tuple[Tx, ...]) -> None:
        for slot in list(self._slots.values()):
            monitor = self.monitors[slot.key]
            if monitor.is_resolved():
                continue
            monitor.config = replace(self.config, withhold_preimages=self.controls.withhold_preimages)
            actions: list[OnchainAction] = []
            if (
                slot.channel.state is ChannelState.FAILED
                and slot.closing_tx is not None
                and not monitor.state.local_commitment_broadcast
            ):
                # our commitment went out when the channel failed: anchors may have to CPFP it
                actions += monitor.bump_local_commitment(self._chain.feerate_per_kw())
            actions += monitor.block_connected(height, txs, self._chain.feerate_per_kw())
            await self._perform(slot, monitor, actions)

    def blocks_disconnected(self, from_height: int) -> None:
        """A reorg removed every block at `from_height` and above: each monitor forgets what those blocks
        held and resolves again from what remains; the blocks of the new branch come through `on_block`.
        Monitors already irrevocably resolved (100 blocks deep, BOLT 5) are past any reorg we follow."""
        for slot in list(self._slots.values()):
            monitor = self.monitors[slot.key]
            if monitor.state.tip < from_height or monitor.is_resolved():
                continue
            monitor.blocks_disconnected(from_height)
            self._save(slot, monitor)

    def load(self, slots: list[SlotLike]) -> None:
        """After a restart: the monitors of every persisted channel."""
        for slot in slots:
            self._monitor(slot)

    async def add_preimages(self, slot: SlotLike, preimages: list[bytes]) -> int:
        """Preimages the node may now use on chain (learned late, or released after being withheld).
        Returns how many were new to the monitor."""
        monitor = self._monitor(slot)
        if monitor is None:
            return 0
        # the withhold control may have just been lifted: the claims built now may use the preimages
        monitor.config = replace(self.config, withhold_preimages=self.controls.withhold_preimages)
        count = 0
        for preimage in preimages:
            actions = monitor.add_preimage(preimage)
            count += preimage in monitor.records.preimages
            await self._perform(slot, monitor, actions)
        return count

    # -- faults --------------------------------------------------------------------------------------

    async def breach(self, slot: SlotLike, commitment_number: int | None = None) -> Tx:
        """The `breach` fault: broadcast one of our revoked commitments (the newest revoked by default)."""
        monitor = self._monitor(slot)
        if monitor is None:
            raise OnchainError("the channel has no commitment to breach with")
        number = commitment_number
        if number is None:
            number = monitor.records.local_current_number - 1
        tx = monitor.revoked_local_commitment(number)
        slot.closing_tx = tx.serialize()
        await self._chain.broadcast(tx.serialize())
        return tx

    # -- actions -------------------------------------------------------------------------------------

    async def _perform(self, slot: SlotLike, monitor: ChannelMonitor, actions: list[OnchainAction]) -> None:
        self._save(slot, monitor)  # what we broadcast must be reproducible after a crash
        for action in actions:
            event = OnchainEvent(slot.key, action)
            self.events.append(event)
            for listener in self.listeners:
                listener(event)
            for handler in self.handlers:
                try:
                    await handler(slot, action)
                except Exception:  # a handler's bug must not stop the chain scan (funds depend on it)
                    kind = type(action).__name__
                    log.exception("channel %s: on-chain handler failed on %s", slot.key, kind)
            if isinstance(action, BroadcastTx):
                # the wallet learns our claims from the blocks that confirm them: a claim refused (already
                # invalidated by a transaction we had not seen yet) must not leave a phantom coin
                await self._chain.broadcast(action.tx)
            elif isinstance(action, FeeInputNeeded):
                fee_input = await self._fund_fee_input(slot, monitor, action.min_amount_sat)
                if fee_input is not None:
                    await self._perform(slot, monitor, monitor.add_fee_input(fee_input))
            elif isinstance(action, GoOnchain):
                log.info("channel %s: %s", slot.key, action.reason)
                if slot.channel.state not in (ChannelState.FAILED, ChannelState.CLOSED):
                    await self._force_close(slot, action.reason)
            elif isinstance(action, PreimageLearned):
                self._settle(action.payment_hash, action.payment_preimage)
            elif isinstance(action, HtlcResolvedOnchain):
                if action.offered_by_us and not action.fulfilled:
                    self._fail(action.payment_hash)
            elif isinstance(action, ChannelCloseSeen | ChannelResolved):
                log.info("channel %s: %s", slot.key, action)

    async def _fund_fee_input(
        self, slot: SlotLike, monitor: ChannelMonitor, amount_sat: int
    ) -> FeeInput | None:
        """A wallet coin handed to the monitor as a fee input (reserved: the wallet spends it nowhere
        else); its change goes back to the wallet."""
        found = self._wallet.reserve_fee_coin(max(amount_sat, FEE_INPUT_MIN_SAT))
        if found is None:
            log.warning("channel %s: no wallet coin of %d sat for a fee input", slot.key, amount_sat)
            return None
        coin, privkey = found
        return FeeInput(OutPoint(coin.txid, coin.vout), coin.value_sat, privkey, self._wallet.new_script())

    def _settle(self, payment_hash: bytes, preimage: bytes) -> None:
        payment = self._store.payment(payment_hash)
        if payment is not None and payment.status is PaymentStatus.PENDING:
            self._store.finish_payment(payment_hash, PaymentStatus.COMPLETE, preimage, None)

    def _fail(self, payment_hash: bytes) -> None:
        payment = self._store.payment(payment_hash)
        if payment is not None and payment.status is PaymentStatus.PENDING:
            self._store.finish_payment(payment_hash, PaymentStatus.FAILED, None, "HTLC timed out on chain")

    # -- queries -------------------------------------------------------------------------------------

    def resolved(self, slot: SlotLike) -> bool:
        monitor = self._monitor(slot)
        return monitor is not None and monitor.is_resolved()
