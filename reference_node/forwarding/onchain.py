"""Forwarded HTLCs settled on chain (issue 7 item 4): when the downstream channel of a forward closes, its
BOLT 5 monitor tells how each HTLC we offered there ended, and the incoming HTLC follows.

BOLT 5 "HTLC Output Handling: Local Commitment, Local Offers" / "Remote Commitment, Local Offers":
- a preimage in a witness (their HTLC-success, or their claim of our offered output): "MUST extract the
  payment preimage from the transaction input witness" and fulfil the incoming HTLC with it; the preimage
  also goes to the incoming channel's monitor, so it can claim on chain if that channel closes too (and,
  BOLT 2 "cltv_expiry_delta Selection", fail that channel before the incoming HTLC's deadline);
- a timeout (our HTLC-timeout or our claim, resolved to a reasonable depth) or an HTLC without an output:
  "MUST fail the corresponding incoming HTLC (if any) once the resolving transaction has reached
  reasonable depth".
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from reference_node.onchain.model import HtlcResolvedOnchain, OnchainAction
from reference_node.onion.failure_messages import FailureCode, FailureMessage
from reference_node.onion.failure_packet import create_failure
from reference_node.payments.channels import ChannelCommandError, ChannelSlot

if TYPE_CHECKING:
    from reference_node.forwarding.links import ForwardLink
    from reference_node.forwarding.relay import HtlcRelay
    from reference_node.onchain.service import SlotLike

log = logging.getLogger(__name__)


class OnchainForwardSettler:
    """An `OnchainService` handler: settles upstream what the downstream channel's close decided."""

    def __init__(self, relay: HtlcRelay) -> None:
        self._relay = relay

    async def on_action(self, slot: SlotLike, action: OnchainAction) -> None:
        if not isinstance(action, HtlcResolvedOnchain) or not action.offered_by_us or slot.dbid is None:
            return
        link = self._relay.links.get(slot.dbid, action.htlc_id)
        if link is None:
            return  # not a forward (our own payment), or already settled off chain
        in_slot = self._relay.slot_by_dbid(link.in_channel_dbid)
        if in_slot is None:
            log.warning("incoming channel %d of an on-chain forward is gone", link.in_channel_dbid)
            return
        if action.fulfilled:
            monitor = self._relay.node.onchain.monitor_of(slot)
            preimage = None if monitor is None else monitor.records.preimage_for(action.payment_hash)
            if preimage is None:
                log.warning("HTLC %d fulfilled on chain but its preimage is unknown", action.htlc_id)
                return
            await self._fulfil_upstream(link, in_slot, preimage)
        else:
            await self._fail_upstream(link, in_slot)

    async def _fulfil_upstream(self, link: ForwardLink, in_slot: ChannelSlot, preimage: bytes) -> None:
        self._relay.forget(link, fulfilled=True)
        # first to the incoming channel's monitor: if that channel is (or goes) on chain, it claims there
        await self._relay.node.onchain.add_preimages(in_slot, [preimage])
        log.info("forwarded HTLC settled on chain downstream: fulfilling incoming HTLC %d", link.in_htlc_id)
        try:
            await self._relay.manager.command(
                in_slot, lambda: in_slot.channel.fulfill_htlc(link.in_htlc_id, preimage)
            )
        except ChannelCommandError as exc:
            log.info(
                "incoming HTLC %d not fulfilled off chain (%s): the monitor claims it", link.in_htlc_id, exc
            )

    async def _fail_upstream(self, link: ForwardLink, in_slot: ChannelSlot) -> None:
        self._relay.forget(link, fulfilled=False)
        # BOLT 4: the channel to the next hop is closed
        reason = create_failure(
            link.shared_secret, FailureMessage(FailureCode.permanent_channel_failure)
        ).reason
        log.info("forwarded HTLC timed out on chain downstream: failing incoming HTLC %d", link.in_htlc_id)
        try:
            await self._relay.manager.command(
                in_slot, lambda: in_slot.channel.fail_htlc(link.in_htlc_id, reason)
            )
        except ChannelCommandError as exc:
            log.warning("incoming HTLC %d could not be failed: %s", link.in_htlc_id, exc)
