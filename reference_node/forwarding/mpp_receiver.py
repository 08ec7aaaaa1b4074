"""BOLT 4 "Basic Multi-Part Payments", final node: HTLCs whose `total_msat` exceeds their
`amt_to_forward` are collected by `payment_hash` until the set reaches `total_msat` (then every part is
fulfilled) or a timer fires (then every part fails with `mpp_timeout`).

The timer is the event loop's (`loop.call_later`), armed with the first part: "MUST fail all HTLCs in
the HTLC set after some reasonable timeout. SHOULD wait for at least 60 seconds after the initial HTLC."
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from reference_node.onion.failure_messages import FailureCode, FailureMessage
from reference_node.onion.forwarding import IncomingHtlcHop
from reference_node.onion.payload import FinalPayload
from reference_node.payments.final_node import HtlcAccepted, check_final_htlc
from reference_node.store import InvoiceRow, Store

log = logging.getLogger(__name__)

# BOLT 4: "SHOULD wait for at least 60 seconds after the initial HTLC"
DEFAULT_MPP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class HtlcPart:
    """One HTLC of a set: where it came in and the secret to fail it with."""

    channel_key: int
    htlc_id: int
    amount_msat: int
    shared_secret: bytes


@dataclass
class HtlcSet:
    payment_hash: bytes
    total_msat: int
    parts: list[HtlcPart] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None

    @property
    def received_msat(self) -> int:
        return sum(p.amount_msat for p in self.parts)


# Settles parts: (part, preimage) fulfils; (part, failure) fails.
FulfilPart = Callable[[HtlcPart, bytes], Awaitable[None]]
FailPart = Callable[[HtlcPart, FailureMessage], Awaitable[None]]


class MppReceiver:
    def __init__(
        self,
        store: Store,
        fulfil: FulfilPart,
        fail: FailPart,
        min_final_cltv_expiry_delta: int,
        timeout_s: float = DEFAULT_MPP_TIMEOUT_S,
    ) -> None:
        self._store = store
        self._fulfil = fulfil
        self._fail = fail
        self._min_final_cltv_expiry_delta = min_final_cltv_expiry_delta
        self.timeout_s = timeout_s
        self._sets: dict[bytes, HtlcSet] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def pending(self, payment_hash: bytes) -> HtlcSet | None:
        return self._sets.get(payment_hash)

    async def add_part(
        self,
        part: HtlcPart,
        payment_hash: bytes,
        hop: IncomingHtlcHop,
        cltv_expiry: int,
        current_height: int,
    ) -> None:
        payload = hop.payload
        assert isinstance(payload, FinalPayload)
        failure = self._check_part(part, payment_hash, payload, hop, cltv_expiry, current_height)
        htlc_set = self._sets.get(payment_hash)
        if failure is not None:
            await self._fail(part, failure)
            return
        if htlc_set is not None and htlc_set.total_msat != payload.total_msat:
            # "SHOULD fail the entire HTLC set if `total_msat` is not the same for all HTLCs in the set."
            await self._fail(part, self._unknown_details(part, current_height))
            await self._fail_set(htlc_set, self._unknown_details(part, current_height))
            return
        if htlc_set is None:
            htlc_set = HtlcSet(payment_hash, payload.total_msat)
            self._sets[payment_hash] = htlc_set
            loop = asyncio.get_running_loop()
            htlc_set.timer = loop.call_later(self.timeout_s, self._on_timeout, payment_hash)
        htlc_set.parts.append(part)
        if htlc_set.received_msat < htlc_set.total_msat:
            # "MUST NOT fulfill any HTLCs in the HTLC set"
            return
        # "if the total `amt_to_forward` of this HTLC set is equal to or greater than `total_msat`: SHOULD
        # fulfill all HTLCs in the HTLC set"
        self._close(htlc_set)
        invoice = self._store.invoice(payment_hash)
        assert invoice is not None
        pay_index = self._store.next_counter("pay_index")
        # the invoice is paid before any preimage leaves
        self._store.mark_invoice_paid(payment_hash, htlc_set.received_msat, int(time.time()), pay_index)
        for settled in htlc_set.parts:
            await self._fulfil(settled, invoice.preimage)

    def _check_part(
        self,
        part: HtlcPart,
        payment_hash: bytes,
        payload: FinalPayload,
        hop: IncomingHtlcHop,
        cltv_expiry: int,
        current_height: int,
    ) -> FailureMessage | None:
        if part.amount_msat < payload.amt_to_forward_msat:
            return FailureMessage(
                FailureCode.final_incorrect_htlc_amount, incoming_htlc_amt_msat=part.amount_msat
            )
        if cltv_expiry < payload.outgoing_cltv_value:
            return FailureMessage(FailureCode.final_incorrect_cltv_expiry, cltv_expiry=cltv_expiry)
        if payload.payment_secret is None:
            # "MUST require `payment_secret` for all HTLCs in the set."
            return self._unknown_details(part, current_height)
        invoice: InvoiceRow | None = self._store.invoice(payment_hash)
        # The payment-level rules ("amount paid" is `total_msat`) are the single-part ones, applied to the
        # whole set's total.
        as_whole = dataclasses.replace(payload, amt_to_forward_msat=payload.total_msat)
        decision = check_final_htlc(
            dataclasses.replace(hop, payload=as_whole),
            payload.total_msat,
            cltv_expiry,
            invoice,
            self._min_final_cltv_expiry_delta,
            current_height,
        )
        if isinstance(decision, HtlcAccepted):
            return None
        log.info("failing MPP part %d: %s", part.htlc_id, decision.reason)
        if decision.failure.code is FailureCode.incorrect_or_unknown_payment_details:
            return self._unknown_details(part, current_height)
        return decision.failure

    @staticmethod
    def _unknown_details(part: HtlcPart, current_height: int) -> FailureMessage:
        return FailureMessage(
            FailureCode.incorrect_or_unknown_payment_details,
            htlc_msat=part.amount_msat,
            height=current_height,
        )

    def _close(self, htlc_set: HtlcSet) -> None:
        if htlc_set.timer is not None:
            htlc_set.timer.cancel()
        self._sets.pop(htlc_set.payment_hash, None)

    async def _fail_set(self, htlc_set: HtlcSet, failure: FailureMessage) -> None:
        self._close(htlc_set)
        for part in htlc_set.parts:
            await self._fail(part, failure)

    def _on_timeout(self, payment_hash: bytes) -> None:
        htlc_set = self._sets.get(payment_hash)
        if htlc_set is None:
            return
        log.info("MPP set %s incomplete after %.1f s: mpp_timeout", payment_hash.hex(), self.timeout_s)
        # "SHOULD use `mpp_timeout` for the failure message."
        task = asyncio.ensure_future(self._fail_set(htlc_set, FailureMessage(FailureCode.mpp_timeout)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel_timers(self) -> None:
        for htlc_set in self._sets.values():
            if htlc_set.timer is not None:
                htlc_set.timer.cancel()
