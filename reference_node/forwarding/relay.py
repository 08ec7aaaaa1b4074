"""The node's HTLC switch: every channel report goes through here first.

- An incoming HTLC whose onion says forward (BOLT 4 `ForwardPayload`) is checked against our outgoing
  channel (`checks.check_forward`) and offered on it, or failed back with our own failure.
- An incoming final HTLC that is one part of a multi-part payment goes to the `MppReceiver`.
- Everything else incoming (single-part final HTLCs, onions we cannot read) is the payment service's.
- When an HTLC we forwarded is fulfilled, the preimage goes upstream at once (BOLT 2: the preimage "may be
  used at once"); when it fails, the failure goes upstream wrapped with the incoming onion's shared
  secret (BOLT 4 "Returning Errors": "MUST return-forward"), a malformed failure turned into our own
  `update_fail_htlc` with the downstream node's failure code and `sha256_of_onion` (BOLT 2
  `update_fail_malformed_htlc`: "MUST return an error in the `update_fail_htlc` sent to the link which
  originally sent the HTLC, using the `failure_code` given and setting the data to `sha256_of_onion`").
- HTLCs a payer of this node offered (`watch_outgoing`) are reported to that payer.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reference_node.channel import Action, ChannelState, HtlcFailed, HtlcFulfilled, HtlcReceived, Side
from reference_node.channel.errors import ChannelError
from reference_node.forwarding.checks import (
    ForwardLimits,
    IncomingForward,
    OutgoingChannel,
    check_forward,
)
from reference_node.forwarding.links import ForwardLink, ForwardLinks
from reference_node.forwarding.mpp_receiver import DEFAULT_MPP_TIMEOUT_S, HtlcPart, MppReceiver
from reference_node.forwarding.onchain import OnchainForwardSettler
from reference_node.forwarding.policy import ForwardingPolicy, LocalChannelInfo, LocalChannelUpdates
from reference_node.onion.failure_messages import FailureCode, FailureFlag, FailureMessage
from reference_node.onion.failure_packet import ReturnedFailure, create_failure, forward_failure
from reference_node.onion.forwarding import HtlcOnionError, IncomingHtlcHop, process_htlc_onion
from reference_node.onion.payload import FinalPayload, ForwardPayload
from reference_node.payments.channels import UPDATE_STATES, ChannelCommandError, ChannelSlot, Report
from reference_node.payments.service import DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA
from reference_node.wire import ShortChannelId

if TYPE_CHECKING:
    from reference_node.node import LightningNode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RelayConfig:
    policy: ForwardingPolicy = field(default_factory=ForwardingPolicy)
    limits: ForwardLimits = field(default_factory=ForwardLimits)
    mpp_timeout_s: float = DEFAULT_MPP_TIMEOUT_S


@dataclass(frozen=True)
class ForwardRecord:
    """A settled forward, for tests and `listforwards`-like views."""

    in_channel_dbid: int
    out_channel_dbid: int
    in_amount_msat: int
    out_amount_msat: int
    fulfilled: bool


# A payer's callback for one of its own HTLCs: the HtlcFulfilled or HtlcFailed report.
OutgoingWatcher = Callable[[HtlcFulfilled | HtlcFailed], Awaitable[None]]


class HtlcRelay:
    def __init__(self, node: LightningNode, config: RelayConfig | None = None) -> None:
        self.node = node
        self.config = config or RelayConfig()
        self.manager = node.channels
        self.updates = LocalChannelUpdates(
            node.key.private_key.secret,
            node.node_id,
            node.node.config.network.chain_hash,
            self.config.policy,
        )
        self.links = ForwardLinks(node.store)
        self.mpp = MppReceiver(
            node.store,
            self._fulfil_part,
            self._fail_part,
            DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
            self.config.mpp_timeout_s,
        )
        self.settled: list[ForwardRecord] = []
        self._watchers: dict[tuple[int, int], OutgoingWatcher] = {}
        self._fallback = self.manager.report_handler
        self.manager.report_handler = self.on_report
        # forwards whose downstream channel closed are settled upstream from the chain (BOLT 5)
        self.onchain = OnchainForwardSettler(self)
        node.onchain.handlers.append(self.onchain.on_action)

    # -- our own channels ------------------------------------------------------------------------------

    def channel_info(self, slot: ChannelSlot, short_channel_id: int | None = None) -> LocalChannelInfo | None:
        """The update-relevant facts of a channel, named by `short_channel_id` (default: its real one)."""
        data = slot.channel.data
        scid = short_channel_id if short_channel_id is not None else data.short_channel_id
        if scid is None:
            return None
        capacity_msat = data.funding_satoshis * 1000
        if data.remote_params is not None:
            capacity_msat = min(capacity_msat, data.remote_params.max_htlc_value_in_flight_msat)
        return LocalChannelInfo(ShortChannelId.from_int(scid), slot.peer_id, capacity_msat, disabled=False)

    def slot_for_scid(self, short_channel_id: int) -> ChannelSlot | None:
        for slot in self.manager.slots.values():
            channel = slot.channel
            if channel.state in (ChannelState.CLOSED, ChannelState.FAILED):
                continue
            if channel.data.short_channel_id == short_channel_id or channel.recognizes_short_channel_id(
                short_channel_id
            ):
                return slot
        return None

    def slot_by_dbid(self, dbid: int) -> ChannelSlot | None:
        return next((s for s in self.manager.slots.values() if s.dbid == dbid), None)

    @staticmethod
    def spendable_msat(slot: ChannelSlot) -> int:
        """What we can still offer: our balance less the reserve the peer asks of us (BOLT 2) and, when we
        opened the channel, the commitment fee we pay; the channel has the final word on adding."""
        channel = slot.channel
        data = channel.data
        if data.ledger is None or data.remote_params is None:
            return 0
        local_msat = channel.balances_msat()[0]
        reserve_msat = data.remote_params.channel_reserve_satoshis * 1000
        fee_msat = channel.commitment_fee_sat() * 1000 if data.opener is Side.LOCAL else 0
        return max(0, local_msat - reserve_msat - fee_msat)

    def watch_outgoing(self, slot: ChannelSlot, htlc_id: int, watcher: OutgoingWatcher) -> None:
        assert slot.dbid is not None
        self._watchers[(slot.dbid, htlc_id)] = watcher

    # -- reports ---------------------------------------------------------------------------------------

    async def on_report(self, slot: ChannelSlot, report: Report) -> None:
        if isinstance(report, HtlcReceived):
            if await self._on_received(slot, report):
                return
        elif isinstance(report, HtlcFulfilled | HtlcFailed) and slot.dbid is not None:
            watcher = self._watchers.pop((slot.dbid, report.htlc_id), None)
            if watcher is not None:
                await watcher(report)
                return
            link = self.links.get(slot.dbid, report.htlc_id)
            if link is not None:
                await self._relay_back(link, report)
                return
        if self._fallback is not None:
            await self._fallback(slot, report)

    async def _on_received(self, slot: ChannelSlot, htlc: HtlcReceived) -> bool:
        """True when handled here (a forward or an MPP part); False leaves it to the payment service."""
        if slot.channel.state not in UPDATE_STATES:
            return False
        try:
            hop = process_htlc_onion(
                htlc.onion_routing_packet,
                self.node.key.private_key.secret,
                htlc.payment_hash,
                htlc.amount_msat,
                htlc.cltv_expiry,
                htlc.path_key,
            )
        except HtlcOnionError:
            return False  # the payment service answers bad onions (malformed or invalid_onion_payload)
        payload = hop.payload
        if isinstance(payload, ForwardPayload):
            await self._forward(slot, htlc, hop, payload)
            return True
        if isinstance(payload, FinalPayload) and payload.total_msat != payload.amt_to_forward_msat:
            part = HtlcPart(slot.key, htlc.htlc_id, htlc.amount_msat, hop.shared_secret)
            await self.mpp.add_part(
                part, htlc.payment_hash, hop, htlc.cltv_expiry, self.node.current_height()
            )
            return True
        return False

    # -- forwarding ------------------------------------------------------------------------------------

    def _outgoing(self, short_channel_id: int) -> tuple[ChannelSlot, OutgoingChannel] | None:
        slot = self.slot_for_scid(short_channel_id)
        if slot is None:
            return None
        info = self.channel_info(slot, short_channel_id)
        if info is None:
            return None
        channel = slot.channel
        peer = self.node.node.peer(slot.peer_id)
        usable = channel.state is ChannelState.NORMAL and channel.is_link_ready() and peer is not None
        outgoing = OutgoingChannel(
            short_channel_id,
            self.updates.channel_policy(info),
            usable,
            info.disabled,
            self.spendable_msat(slot),
            self.updates.failure_update_bytes(info),
        )
        return slot, outgoing

    async def _forward(
        self, in_slot: ChannelSlot, htlc: HtlcReceived, hop: IncomingHtlcHop, payload: ForwardPayload
    ) -> None:
        if in_slot.dbid is not None and self.links.of_incoming(in_slot.dbid, htlc.htlc_id) is not None:
            # replayed after a restart: it is already on the outgoing channel, its fate comes from there
            return
        found = self._outgoing(payload.short_channel_id.to_int())
        request = IncomingForward(
            htlc.amount_msat, htlc.cltv_expiry, payload.amt_to_forward_msat, payload.outgoing_cltv_value
        )
        failure = check_forward(
            request, found[1] if found else None, self.node.current_height(), self.config.limits
        )
        if failure is None and htlc.exceeds_dust_exposure:
            # BOLT 2 max_dust_htlc_exposure_msat: "SHOULD fail this HTLC once it's committed"
            failure = FailureMessage(FailureCode.temporary_node_failure)
        if failure is not None or found is None or hop.next_onion is None:
            await self._fail_incoming(in_slot, htlc.htlc_id, hop.shared_secret, failure)
            return
        out_slot, outgoing = found
        next_onion = hop.next_onion.to_bytes()

        def add() -> list[Action]:
            htlc_id, actions = out_slot.channel.add_htlc(
                payload.amt_to_forward_msat, htlc.payment_hash, payload.outgoing_cltv_value, next_onion
            )
            assert out_slot.dbid is not None and in_slot.dbid is not None
            # recorded before update_add_htlc goes out (the batch runs after this returns)
            self.links.add(
                ForwardLink(
                    out_slot.dbid,
                    htlc_id,
                    in_slot.dbid,
                    htlc.htlc_id,
                    hop.shared_secret,
                    htlc.amount_msat,
                    payload.amt_to_forward_msat,
                )
            )
            return actions

        try:
            await self.manager.command(out_slot, add)
        except (ChannelCommandError, ChannelError) as exc:
            log.info("cannot forward HTLC %d: %s", htlc.htlc_id, exc)
            update = FailureMessage(
                FailureCode.temporary_channel_failure, channel_update=outgoing.channel_update
            )
            await self._fail_incoming(in_slot, htlc.htlc_id, hop.shared_secret, update)

    async def _fail_incoming(
        self, slot: ChannelSlot, htlc_id: int, shared_secret: bytes, failure: FailureMessage | None
    ) -> None:
        message = failure or FailureMessage(FailureCode.temporary_node_failure)
        log.info("failing incoming HTLC %d: %s", htlc_id, message.code.name)
        reason = create_failure(shared_secret, message).reason
        await self.manager.command(slot, lambda: slot.channel.fail_htlc(htlc_id, reason))

    def forget(self, link: ForwardLink, fulfilled: bool) -> None:
        """The forward is settled downstream (off chain or on chain): drop its link, record it."""
        self.links.remove(link)
        self.settled.append(
            ForwardRecord(
                link.in_channel_dbid,
                link.out_channel_dbid,
                link.in_amount_msat,
                link.out_amount_msat,
                fulfilled,
            )
        )

    async def _relay_back(self, link: ForwardLink, report: HtlcFulfilled | HtlcFailed) -> None:
        in_slot = self.slot_by_dbid(link.in_channel_dbid)
        if in_slot is None:
            log.warning("incoming channel %d of a forward is gone", link.in_channel_dbid)
            return
        self.forget(link, isinstance(report, HtlcFulfilled))
        if isinstance(report, HtlcFulfilled):
            preimage = report.payment_preimage
            await self.manager.command(
                in_slot, lambda: in_slot.channel.fulfill_htlc(link.in_htlc_id, preimage)
            )
            return
        if report.reason is not None:
            reason = forward_failure(link.shared_secret, ReturnedFailure(report.reason, None)).reason
        else:
            reason = create_failure(link.shared_secret, _malformed_to_failure(report)).reason
        await self.manager.command(in_slot, lambda: in_slot.channel.fail_htlc(link.in_htlc_id, reason))

    # -- MPP parts -------------------------------------------------------------------------------------

    async def _fulfil_part(self, part: HtlcPart, preimage: bytes) -> None:
        slot = self.manager.slots.get(part.channel_key)
        if slot is not None:
            await self.manager.command(slot, lambda: slot.channel.fulfill_htlc(part.htlc_id, preimage))

    async def _fail_part(self, part: HtlcPart, failure: FailureMessage) -> None:
        slot = self.manager.slots.get(part.channel_key)
        if slot is not None:
            await self._fail_incoming(slot, part.htlc_id, part.shared_secret, failure)

    def close(self) -> None:
        self.mpp.cancel_timers()


def _malformed_to_failure(report: HtlcFailed) -> FailureMessage:
    sha256_of_onion = report.sha256_of_onion or bytes(32)
    try:
        code = FailureCode(report.failure_code or 0)
    except ValueError:
        code = FailureCode.invalid_onion_version
    if not code.has_flag(FailureFlag.BADONION):
        # the channel layer fails the channel for a malformed failure without BADONION (BOLT 2)
        code = FailureCode.invalid_onion_version
    return FailureMessage(code, sha256_of_onion=sha256_of_onion)
