"""Invoices and payments over direct channels: create/list/wait invoices, pay an invoice of a peer,
and the final-node handling of incoming HTLCs (BOLT 4), on top of the channel layer.

Crash safety: a payment row (with its channel and HTLC id) is written before its `update_add_htlc` goes
out; an invoice is marked paid before the `update_fulfill_htlc` that reveals its preimage. After a restart
`ChannelManager.load` settles pending payments from the channel log, and unresolved incoming HTLCs are
handled again once the channel is reestablished.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time

from reference_node.channel import Action, ChannelState, HtlcFailed, HtlcFulfilled, HtlcReceived
from reference_node.channel.errors import ChannelError
from reference_node.faults import Controls, Defect, Faults
from reference_node.invoice import (
    Currency,
    Invoice,
    InvoiceError,
    create_invoice,
    decode_invoice,
    encode_invoice,
)
from reference_node.nodekey import Entropy, NodeKey
from reference_node.onion.failure_messages import FailureMessage, FailureMessageError
from reference_node.onion.failure_packet import (
    FailurePacketError,
    ReturnedFailure,
    create_failure,
    decode_failure,
)
from reference_node.onion.forwarding import HtlcOnionError, process_htlc_onion
from reference_node.onion.sphinx import OnionProcessingError, derive_hop_secrets, process_onion
from reference_node.payments.channels import (
    UPDATE_STATES,
    ChannelCommandError,
    ChannelManager,
    ChannelSlot,
    Report,
)
from reference_node.payments.final_node import HtlcAccepted, HtlcRejected, check_final_htlc, one_hop_onion
from reference_node.store import InvoiceRow, InvoiceStatus, PaymentRow, PaymentStatus, StoreError

log = logging.getLogger(__name__)

DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA = 18  # BOLT 11's default for `c`
DEFAULT_INVOICE_EXPIRY_S = 3600
FINAL_CLTV_MARGIN_BLOCKS = 6


class PaymentError(Exception):
    """An invoice or payment operation failed; says why (bad invoice, no channel, failed HTLC)."""


class PaymentService:
    def __init__(
        self,
        manager: ChannelManager,
        key: NodeKey,
        entropy: Entropy,
        currency: Currency,
        faults: Faults,
        controls: Controls,
    ) -> None:
        self.manager = manager
        self.store = manager.store
        self._key = key
        self._entropy = entropy
        self.currency = currency
        self.faults = faults
        self.controls = controls
        manager.report_handler = self.on_report

    # -- invoices --------------------------------------------------------------------------------------

    def create_invoice(
        self, amount_msat: int | None, label: str, description: str, expiry_s: int | None = None
    ) -> InvoiceRow:
        if self.store.invoice_by_label(label) is not None:
            raise PaymentError(f"Duplicate label '{label}'")
        # a persistent counter in the label: a seeded node restarted never reuses a preimage
        index = self.store.next_counter("invoice")
        preimage = self._entropy.random_bytes(f"invoice-preimage/{index}")
        payment_secret = self._entropy.random_bytes(f"invoice-secret/{index}")
        payment_hash = hashlib.sha256(preimage).digest()
        now = int(time.time())
        expiry = expiry_s if expiry_s is not None else DEFAULT_INVOICE_EXPIRY_S
        invoice = create_invoice(
            currency=self.currency,
            payment_hash=payment_hash,
            payment_secret=payment_secret,
            timestamp=now,
            private_key=self._key.private_key.secret,
            amount_msat=amount_msat,
            description=description,
            expiry_seconds=expiry,
            min_final_cltv_expiry_delta=DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA,
        )
        row = InvoiceRow(
            payment_hash=payment_hash,
            label=label,
            bolt11=encode_invoice(invoice),
            preimage=preimage,
            payment_secret=payment_secret,
            amount_msat=amount_msat,
            description=description,
            expires_at=now + expiry,
            status=InvoiceStatus.UNPAID,
            received_msat=None,
            paid_at=None,
            pay_index=None,
        )
        self.store.add_invoice(row)
        return row

    def invoice_status(self, row: InvoiceRow) -> InvoiceStatus:
        if row.status is InvoiceStatus.UNPAID and row.expires_at < time.time():
            return InvoiceStatus.EXPIRED
        return row.status

    async def wait_invoice(self, label: str, timeout_s: float) -> InvoiceRow:
        def settled() -> bool:
            row = self.store.invoice_by_label(label)
            return row is not None and self.invoice_status(row) is not InvoiceStatus.UNPAID

        if self.store.invoice_by_label(label) is None:
            raise PaymentError(f"Unknown invoice {label!r}")
        await self.manager.changes.wait_for(settled, timeout_s)
        row = self.store.invoice_by_label(label)
        assert row is not None
        return row

    # -- paying ----------------------------------------------------------------------------------------

    def decode(self, bolt11: str) -> Invoice:
        try:
            return decode_invoice(bolt11)
        except InvoiceError as exc:
            raise PaymentError(f"Invalid bolt11: {exc}") from exc

    def _session_key(self, payment_hash: bytes, htlc_id: int) -> bytes:
        # Recomputable (so a failure can be decoded after a restart) and unique per attempt.
        return hmac.new(
            self._key.private_key.secret,
            b"onion-session" + payment_hash + htlc_id.to_bytes(8, "big"),
            hashlib.sha256,
        ).digest()

    async def pay(self, bolt11: str, amount_msat: int | None, timeout_s: float) -> PaymentRow:
        """Pay an invoice of a direct peer; returns the finished payment (complete or failed)."""
        invoice = self.decode(bolt11)
        try:
            invoice.check_payable(int(time.time()))
        except InvoiceError as exc:
            raise PaymentError(str(exc)) from exc
        if invoice.amount_msat is not None and amount_msat is not None and amount_msat != invoice.amount_msat:
            raise PaymentError("amount_msat parameter unnecessary")
        amount = invoice.amount_msat if invoice.amount_msat is not None else amount_msat
        if amount is None:
            raise PaymentError("amount_msat parameter required")
        existing = self.store.payment(invoice.payment_hash)
        if existing is not None and existing.status is not PaymentStatus.FAILED:
            # never pay the same hash twice: wait for (or return) the earlier attempt
            return await self.wait_payment(invoice.payment_hash, timeout_s)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        slot = await self._usable_channel_to(invoice.payee_node_id, timeout_s)
        await self._send_htlc(slot, invoice, amount, bolt11, replace_failed=existing is not None)
        return await self.wait_payment(invoice.payment_hash, max(0.0, deadline - loop.time()))

    async def _usable_channel_to(self, node_id: bytes, timeout_s: float) -> ChannelSlot:
        """The usable channel to the payee with the most to spend. A channel in normal state that is
        reconnecting (BOLT 2: no update before the peer's `channel_reestablish`) is waited for, up to
        `timeout_s`, on the events the channel manager sets when a channel becomes usable again."""
        candidates = self._normal_channels_to(node_id)
        if not any(s.usable.is_set() for s in candidates):
            waits = [asyncio.ensure_future(s.usable.wait()) for s in candidates]
            try:
                await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
        usable = [s for s in candidates if s.usable.is_set()]
        if not usable:
            raise PaymentError(
                f"no channel with {node_id.hex()} usable within {timeout_s:g} s "
                "(disconnected, or channel_reestablish not completed)"
            )
        return max(usable, key=lambda s: s.channel.balances_msat()[0])

    def _channel_to(self, node_id: bytes, amount_msat: int) -> ChannelSlot:
        """The normal-state channel to the payee with the most to spend, usable or not (no wait)."""
        return max(self._normal_channels_to(node_id), key=lambda s: s.channel.balances_msat()[0])

    def _normal_channels_to(self, node_id: bytes) -> list[ChannelSlot]:
        candidates = [
            s
            for s in self.manager.slots_of(node_id)
            if s.channel.state is ChannelState.NORMAL and s.channel.data.ledger is not None
        ]
        if not candidates:
            raise PaymentError(f"no channel in normal state with {node_id.hex()} (only direct payments)")
        return candidates

    async def _send_htlc(
        self, slot: ChannelSlot, invoice: Invoice, amount_msat: int, bolt11: str, replace_failed: bool
    ) -> None:
        # BOLT 4 payer: final cltv_expiry = current height + min_final_cltv_expiry_delta, plus a margin
        # (shadow-route style) so a payee whose view of the chain is a few blocks ahead of ours does not
        # refuse it as "unreasonably near the present".
        cltv_expiry = (
            self.manager.chain.current_height()
            + invoice.min_final_cltv_expiry_delta
            + FINAL_CLTV_MARGIN_BLOCKS
        )
        ids: list[int] = []

        def add() -> list[Action]:
            ledger = slot.channel.data.ledger
            assert ledger is not None
            onion = one_hop_onion(
                self._session_key(invoice.payment_hash, ledger.next_local_htlc_id),
                invoice.payee_node_id,
                invoice.payment_hash,
                amount_msat,
                cltv_expiry,
                invoice.payment_secret,
            )
            htlc_id, actions = slot.channel.add_htlc(amount_msat, invoice.payment_hash, cltv_expiry, onion)
            row = PaymentRow(
                invoice.payment_hash,
                bolt11,
                invoice.payee_node_id,
                amount_msat,
                slot.dbid or 0,
                htlc_id,
                PaymentStatus.PENDING,
                None,
                None,
                int(time.time()),
            )
            # recorded before update_add_htlc goes out (the batch runs after this returns)
            if replace_failed:
                self.store.replace_failed_payment(row)
            else:
                self.store.add_payment(row)
            ids.append(htlc_id)
            return actions

        try:
            await self.manager.command(slot, add)
        except (ChannelCommandError, ChannelError, StoreError) as exc:
            raise PaymentError(f"cannot add the HTLC: {exc}") from exc

    async def wait_payment(self, payment_hash: bytes, timeout_s: float) -> PaymentRow:
        def done() -> bool:
            row = self.store.payment(payment_hash)
            return row is not None and row.status is not PaymentStatus.PENDING

        # on timeout the payment is still pending: the caller sees status "pending"
        with contextlib.suppress(TimeoutError):
            await self.manager.changes.wait_for(done, timeout_s)
        row = self.store.payment(payment_hash)
        if row is None:
            raise PaymentError(f"no payment for {payment_hash.hex()}")
        return row

    # -- reports from channels -------------------------------------------------------------------------

    async def on_report(self, slot: ChannelSlot, report: Report) -> None:
        if isinstance(report, HtlcFulfilled):
            self.store.finish_payment(
                report.payment_hash, PaymentStatus.COMPLETE, report.payment_preimage, None
            )
        elif isinstance(report, HtlcFailed):
            self.store.finish_payment(
                report.payment_hash, PaymentStatus.FAILED, None, self._failure_text(report)
            )
        elif isinstance(report, HtlcReceived):
            await self._on_htlc_received(slot, report)

    def _failure_text(self, report: HtlcFailed) -> str:
        if report.reason is None:
            return f"malformed: failure_code {report.failure_code}"
        payment = self.store.payment(report.payment_hash)
        if payment is None:
            return "failed (unknown payment)"
        session_key = self._session_key(report.payment_hash, report.htlc_id)
        secrets = [s.shared_secret for s in derive_hop_secrets(session_key, [payment.destination])]
        try:
            decoded = decode_failure(secrets, ReturnedFailure(report.reason, None))
        except (FailurePacketError, FailureMessageError) as exc:
            return f"undecodable failure: {exc}"
        if decoded.failure_message is None:
            return "failure from an unknown node"
        try:
            return FailureMessage.from_bytes(decoded.failure_message).code.name
        except FailureMessageError as exc:
            return f"failure from the payee: {exc}"

    async def _on_htlc_received(self, slot: ChannelSlot, htlc: HtlcReceived) -> None:
        if slot.channel.state not in UPDATE_STATES:
            return
        secret = self._key.private_key.secret
        try:
            hop = process_htlc_onion(
                htlc.onion_routing_packet,
                secret,
                htlc.payment_hash,
                htlc.amount_msat,
                htlc.cltv_expiry,
                htlc.path_key,
            )
        except HtlcOnionError as exc:
            await self._fail_onion(slot, htlc, exc)
            return
        invoice = self.store.invoice(htlc.payment_hash)
        height = self.manager.chain.current_height()
        decision = check_final_htlc(
            hop, htlc.amount_msat, htlc.cltv_expiry, invoice, DEFAULT_MIN_FINAL_CLTV_EXPIRY_DELTA, height
        )
        decision = self._apply_defects(decision, invoice, htlc)
        if isinstance(decision, HtlcRejected):
            log.info("failing HTLC %d: %s", htlc.htlc_id, decision.reason)
            reason = create_failure(hop.shared_secret, decision.failure).reason
            await self.manager.command(slot, lambda: slot.channel.fail_htlc(htlc.htlc_id, reason))
            return
        if self.controls.withhold_preimages or self.faults.has(Defect.WITHHOLD_PREIMAGE):
            log.info("fault: withholding the preimage of HTLC %d", htlc.htlc_id)
            return
        assert invoice is not None
        pay_index = self.store.next_counter("pay_index")
        # the invoice is paid before the preimage leaves (a crash in between replays the HTLC)
        self.store.mark_invoice_paid(htlc.payment_hash, htlc.amount_msat, int(time.time()), pay_index)
        await self.manager.command(slot, lambda: slot.channel.fulfill_htlc(htlc.htlc_id, decision.preimage))

    def _apply_defects(
        self, decision: HtlcAccepted | HtlcRejected, invoice: InvoiceRow | None, htlc: HtlcReceived
    ) -> HtlcAccepted | HtlcRejected:
        if isinstance(decision, HtlcAccepted) or invoice is None:
            return decision
        if invoice.status is InvoiceStatus.PAID and invoice.received_msat == htlc.amount_msat:
            # "if the payment hash has already been paid: ... MAY succeed in accepting the HTLC": the same
            # HTLC replayed after a restart (we marked the invoice paid, then crashed before fulfilling).
            return HtlcAccepted(invoice.preimage)
        lenient = self.faults.has(Defect.IGNORE_PAYMENT_SECRET) and "payment_secret" in decision.reason
        lenient |= (
            self.faults.has(Defect.ACCEPT_UNDERPAYMENT) and "less than the amount expected" in decision.reason
        )
        if lenient and invoice.status is InvoiceStatus.UNPAID:
            log.info("defect: accepting an HTLC BOLT 4 says to fail (%s)", decision.reason)
            return HtlcAccepted(invoice.preimage)
        return decision

    async def _fail_onion(self, slot: ChannelSlot, htlc: HtlcReceived, exc: HtlcOnionError) -> None:
        log.info("failing HTLC %d: %s", htlc.htlc_id, exc)
        if exc.malformed:
            await self.manager.command(
                slot,
                lambda: slot.channel.fail_malformed_htlc(
                    htlc.htlc_id, exc.sha256_of_onion, exc.failure_code.value
                ),
            )
            return
        try:
            peeled = process_onion(
                htlc.onion_routing_packet, self._key.private_key.secret, htlc.payment_hash, None
            )
        except OnionProcessingError:
            return
        failure = (
            FailureMessage(exc.failure_code, tlv_type=exc.tlv_type, offset=exc.offset)
            if exc.tlv_type is not None
            else FailureMessage(exc.failure_code)
        )
        reason = create_failure(peeled.shared_secret, failure).reason
        await self.manager.command(slot, lambda: slot.channel.fail_htlc(htlc.htlc_id, reason))
