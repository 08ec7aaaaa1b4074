"""Paying across hops: routes from the gossip graph (plus the invoice's route hints and our own channels'
live balances), the onion, retries that learn from attributed failures (MissionControl, BOLT 4 origin
node), and multi-part sending when no single route carries the amount (BOLT 4 "Basic Multi-Part
Payments").

`send_route` / `wait_attempt` are the building blocks (Core Lightning's `sendpay` / `waitsendpay`);
`pay` is the whole algorithm.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reference_node.channel import Action, ChannelState, HtlcFailed, HtlcFulfilled
from reference_node.channel.errors import ChannelError
from reference_node.forwarding.relay import HtlcRelay
from reference_node.gossip.announcements import ChannelPolicy
from reference_node.gossip.errors import RouteNotFoundError
from reference_node.gossip.graph import ChannelGraph
from reference_node.gossip.mission_control import MissionControl, policy_from_failure
from reference_node.gossip.mpp import split_payment
from reference_node.gossip.pathfinding import (
    LocalChannel,
    RouteRequest,
    edges_from_graph,
    edges_from_route_hints,
    find_route,
    unroutable_nodes,
)
from reference_node.gossip.route import Route, RouteEdge
from reference_node.invoice import Invoice, InvoiceError, decode_invoice
from reference_node.onion.failure_messages import FailureCode, FailureFlag, FailureMessage
from reference_node.pay.onion import read_failure, route_onion
from reference_node.payments.channels import ChannelCommandError
from reference_node.store import PaymentRow, PaymentStatus, StoreError
from reference_node.wire import ShortChannelId

if TYPE_CHECKING:
    from reference_node.node import LightningNode

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 12


class PayError(Exception):
    """A payment cannot be attempted (bad invoice, no route, channel refused the HTLC); says why."""


class AttemptStatus(enum.Enum):
    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True)
class AttemptResult:
    """How one HTLC (one part, one try) ended. `erring_index` counts route hops (0 = our peer);
    `erring_node` is that hop's node id; `failure_code` the BOLT 4 code (None when unattributable)."""

    status: AttemptStatus
    route: Route
    partid: int
    preimage: bytes | None = None
    erring_index: int | None = None
    erring_node: bytes | None = None
    failure_code: int | None = None
    failure: FailureMessage | None = None
    detail: str = ""

    @property
    def failure_name(self) -> str | None:
        if self.failure_code is None:
            return None
        try:
            return FailureCode(self.failure_code).name
        except ValueError:
            return f"unknown_failure_{self.failure_code}"


@dataclass
class Attempt:
    payment_hash: bytes
    partid: int
    route: Route
    session_key: bytes
    done: asyncio.Future[AttemptResult]
    channel_dbid: int = 0
    htlc_id: int = 0


@dataclass(frozen=True)
class PayResult:
    status: PaymentStatus
    payment_hash: bytes
    preimage: bytes | None
    amount_msat: int  # delivered to the payee
    amount_sent_msat: int  # including every fee, successful parts only
    parts: int
    attempts: tuple[AttemptResult, ...]
    failure: str | None = None


@dataclass(frozen=True)
class PayerConfig:
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    max_parts: int = 16
    # Core Lightning's riskfactor-like cost per block of delay, in msat
    cltv_risk_msat_per_block: int = 0


@dataclass
class _Outcome:
    results: list[AttemptResult] = field(default_factory=list)


class RoutingPayer:
    def __init__(
        self,
        node: LightningNode,
        relay: HtlcRelay,
        graph: ChannelGraph | None,
        config: PayerConfig | None = None,
    ) -> None:
        self.node = node
        self.relay = relay
        self.graph = graph
        self.config = config or PayerConfig()
        self.mission_control = MissionControl()
        self._attempts: dict[tuple[bytes, int], Attempt] = {}
        self._counter = 0

    # -- routes ----------------------------------------------------------------------------------------

    def local_channels(self) -> list[LocalChannel]:
        channels = []
        for slot in self.node.channels.slots.values():
            data = slot.channel.data
            if slot.channel.state is not ChannelState.NORMAL or data.short_channel_id is None:
                continue
            if self.node.node.peer(slot.peer_id) is None or not slot.channel.is_link_ready():
                continue
            channels.append(
                LocalChannel(
                    ShortChannelId.from_int(data.short_channel_id),
                    slot.peer_id,
                    self.relay.spendable_msat(slot),
                )
            )
        return channels

    def edges(self, invoice: Invoice | None = None) -> list[RouteEdge]:
        edges = edges_from_graph(self.graph) if self.graph is not None else []
        if invoice is not None and invoice.route_hints:
            edges += edges_from_route_hints(invoice.route_hints, invoice.payee_node_id)
        return edges

    def request(self, destination: bytes, amount_msat: int, final_cltv_delta: int) -> RouteRequest:
        return RouteRequest(
            source=self.node.node_id,
            destination=destination,
            amount_msat=amount_msat,
            final_cltv_value=self.node.current_height() + final_cltv_delta + 1,
            cltv_risk_msat_per_block=self.config.cltv_risk_msat_per_block,
            now=int(time.time()),
        )

    def get_route(
        self, destination: bytes, amount_msat: int, final_cltv_delta: int, invoice: Invoice | None = None
    ) -> Route:
        """Core Lightning's `getroute`: the cheapest route now (RouteNotFoundError otherwise)."""
        return find_route(
            self.edges(invoice),
            self.request(destination, amount_msat, final_cltv_delta),
            local_channels=self.local_channels(),
            mission_control=self.mission_control,
            unroutable=unroutable_nodes(self.graph) if self.graph is not None else frozenset(),
        )

    # -- sendpay / waitsendpay -------------------------------------------------------------------------

    def _session_key(self, payment_hash: bytes, partid: int) -> bytes:
        self._counter += 1
        label = b"route-session" + payment_hash + partid.to_bytes(8, "big") + self._counter.to_bytes(8, "big")
        return hmac.new(self.node.key.private_key.secret, label, hashlib.sha256).digest()

    async def send_route(
        self,
        route: Route,
        payment_hash: bytes,
        payment_secret: bytes | None,
        total_msat: int | None = None,
        partid: int = 0,
        *,
        bolt11: str = "",
        onion_keys: tuple[bytes, ...] | None = None,
    ) -> Attempt:
        """Offer the first HTLC of `route` (Core Lightning's `sendpay`). `onion_keys` (a fault) encrypts
        the onion to other keys than the route's nodes."""
        first = self.relay.slot_for_scid(route.hops[0].short_channel_id.to_int())
        if first is None or first.peer_id != route.hops[0].node_id:
            raise PayError(f"no channel {route.hops[0].short_channel_id} to {route.hops[0].node_id.hex()}")
        session_key = self._session_key(payment_hash, partid)
        onion = route_onion(
            session_key,
            route,
            payment_hash,
            payment_secret,
            total_msat if total_msat is not None else route.final_amount_msat,
            onion_keys,
        )
        total = total_msat if total_msat is not None else route.final_amount_msat
        loop = asyncio.get_running_loop()
        attempt = Attempt(payment_hash, partid, route, session_key, loop.create_future())

        def add() -> list[Action]:
            htlc_id, actions = first.channel.add_htlc(
                route.amount_msat, payment_hash, route.cltv_expiry, onion
            )
            assert first.dbid is not None
            attempt.channel_dbid, attempt.htlc_id = first.dbid, htlc_id
            self._record_payment(attempt, bolt11, total)
            self.relay.watch_outgoing(first, htlc_id, lambda report: self._on_settled(attempt, report))
            return actions

        try:
            await self.node.channels.command(first, add)
        except (ChannelCommandError, ChannelError, StoreError) as exc:
            raise PayError(f"cannot add the HTLC: {exc}") from exc
        self._attempts[(payment_hash, partid)] = attempt
        return attempt

    def _record_payment(self, attempt: Attempt, bolt11: str, total_msat: int) -> None:
        """One store row per payment hash (the payment service's table): written with the first part,
        before its update_add_htlc goes out; a retry after a failed payment replaces it."""
        store = self.node.store
        existing = store.payment(attempt.payment_hash)
        if existing is not None and existing.status is PaymentStatus.PENDING:
            return
        row = PaymentRow(
            attempt.payment_hash,
            bolt11,
            attempt.route.hops[-1].node_id,
            total_msat,
            attempt.channel_dbid,
            attempt.htlc_id,
            PaymentStatus.PENDING,
            None,
            None,
            int(time.time()),
        )
        if existing is None:
            store.add_payment(row)
        elif existing.status is PaymentStatus.FAILED:
            store.replace_failed_payment(row)

    async def _on_settled(self, attempt: Attempt, report: HtlcFulfilled | HtlcFailed) -> None:
        route = attempt.route
        if isinstance(report, HtlcFulfilled):
            for edge, hop in zip(route.edges, route.hops, strict=True):
                self.mission_control.report_success(
                    edge.short_channel_id, edge.from_node_id, hop.htlc_amount_msat
                )
            result = AttemptResult(
                AttemptStatus.COMPLETE, route, attempt.partid, preimage=report.payment_preimage
            )
        elif report.reason is None:
            # update_fail_malformed_htlc from our peer: it could not read the onion we built for it
            result = AttemptResult(
                AttemptStatus.FAILED,
                route,
                attempt.partid,
                erring_index=0,
                erring_node=route.hops[0].node_id,
                failure_code=report.failure_code,
                detail="malformed",
            )
        else:
            read = read_failure(attempt.session_key, route, report.reason)
            erring_node = route.hops[read.erring_index].node_id if read.erring_index is not None else None
            result = AttemptResult(
                AttemptStatus.FAILED,
                route,
                attempt.partid,
                erring_index=read.erring_index,
                erring_node=erring_node,
                failure_code=read.failure_code,
                failure=read.message,
                detail=read.detail,
            )
        if not attempt.done.done():
            attempt.done.set_result(result)

    async def wait_attempt(self, payment_hash: bytes, partid: int, timeout_s: float) -> AttemptResult:
        """Core Lightning's `waitsendpay`: the end of one attempt (TimeoutError if still pending)."""
        attempt = self._attempts.get((payment_hash, partid))
        if attempt is None:
            raise PayError(f"no attempt {partid} for {payment_hash.hex()}")
        async with asyncio.timeout(timeout_s):
            return await asyncio.shield(attempt.done)

    # -- pay -------------------------------------------------------------------------------------------

    def decode(self, bolt11: str) -> Invoice:
        try:
            invoice = decode_invoice(bolt11)
            invoice.check_payable(int(time.time()))
        except InvoiceError as exc:
            raise PayError(f"Invalid bolt11: {exc}") from exc
        return invoice

    async def pay(self, bolt11: str, amount_msat: int | None = None, timeout_s: float = 60.0) -> PayResult:
        """Pay an invoice over any route: retry with what failures teach, split into parts when no
        single route can carry the amount."""
        invoice = self.decode(bolt11)
        if invoice.amount_msat is not None and amount_msat is not None and amount_msat != invoice.amount_msat:
            raise PayError("amount_msat parameter unnecessary")
        total = invoice.amount_msat if invoice.amount_msat is not None else amount_msat
        if total is None:
            raise PayError("amount_msat parameter required")
        existing = self.node.store.payment(invoice.payment_hash)
        if existing is not None and existing.status is PaymentStatus.COMPLETE:
            raise PayError(f"payment {invoice.payment_hash.hex()} already complete")
        async with asyncio.timeout(timeout_s):
            result = await self._pay(invoice, bolt11, total)
        status = PaymentStatus.COMPLETE if result.preimage is not None else PaymentStatus.FAILED
        self.node.store.finish_payment(invoice.payment_hash, status, result.preimage, result.failure)
        self.node.channels.changes.notify()
        return result

    async def _pay(self, invoice: Invoice, bolt11: str, total_msat: int) -> PayResult:
        outcome = _Outcome()
        remaining = total_msat
        partid = 0
        sent_msat = 0
        overrides: dict[tuple[ShortChannelId, bytes], ChannelPolicy] = {}
        preimage: bytes | None = None
        parts = 0
        while remaining > 0:
            if len(outcome.results) >= self.config.max_attempts:
                return self._failed(invoice, outcome, f"gave up after {len(outcome.results)} attempts")
            try:
                routes = self._routes(invoice, remaining, overrides)
            except RouteNotFoundError as exc:
                return self._failed(invoice, outcome, f"no route: {exc}")
            attempts: list[Attempt] = []
            for route in routes:
                partid += 1
                try:
                    attempts.append(
                        await self.send_route(
                            route,
                            invoice.payment_hash,
                            invoice.payment_secret,
                            total_msat,
                            partid,
                            bolt11=bolt11,
                        )
                    )
                except PayError as exc:
                    log.info("part %d not sent: %s", partid, exc)
            if not attempts:
                return self._failed(invoice, outcome, "no part could be sent")
            results = await asyncio.gather(*(a.done for a in attempts))
            for result in results:
                outcome.results.append(result)
                if result.status is AttemptStatus.COMPLETE:
                    remaining -= result.route.final_amount_msat
                    sent_msat += result.route.amount_msat
                    preimage = result.preimage
                    parts += 1
                elif self._is_final(result):
                    return self._failed(invoice, outcome, result.failure_name or result.detail)
                else:
                    self._learn(result, overrides)
            if preimage is not None and remaining > 0:
                # the payee released the preimage: the payment is done (BOLT 4: it fulfils the whole set)
                break
        return PayResult(
            PaymentStatus.COMPLETE,
            invoice.payment_hash,
            preimage,
            total_msat - max(remaining, 0),
            sent_msat,
            parts,
            tuple(outcome.results),
        )

    def _routes(
        self, invoice: Invoice, amount_msat: int, overrides: dict[tuple[ShortChannelId, bytes], ChannelPolicy]
    ) -> tuple[Route, ...]:
        request = dataclasses.replace(
            self.request(invoice.payee_node_id, amount_msat, invoice.min_final_cltv_expiry_delta),
            policy_overrides=dict(overrides),
        )
        local_channels = self.local_channels()
        unroutable = unroutable_nodes(self.graph) if self.graph is not None else frozenset()
        edges = self.edges(invoice)
        try:
            route = find_route(
                edges,
                request,
                local_channels=local_channels,
                mission_control=self.mission_control,
                unroutable=unroutable,
            )
            return (route,)
        except RouteNotFoundError:
            # BOLT 4 basic_mpp: "SHOULD try to use diverse paths to the recipient for each HTLC"
            return split_payment(
                edges,
                request,
                local_channels=local_channels,
                mission_control=self.mission_control,
                unroutable=unroutable,
                max_parts=self.config.max_parts,
            )

    @staticmethod
    def _is_final(result: AttemptResult) -> bool:
        """A failure from the payee itself (other than mpp_timeout), or a PERM failure without a channel to
        blame: retrying elsewhere cannot help."""
        if result.erring_index is None:
            return False
        if result.erring_index == len(result.route.hops) - 1:
            return result.failure_code != FailureCode.mpp_timeout
        return False

    def _learn(
        self, result: AttemptResult, overrides: dict[tuple[ShortChannelId, bytes], ChannelPolicy]
    ) -> None:
        if result.erring_index is None or result.failure_code is None:
            return
        now = int(time.time())
        self.mission_control.learn_from_failure(
            result.route, result.erring_index, result.failure_code, now=now
        )
        if result.failure is not None and result.failure_code & FailureFlag.UPDATE:
            learned = policy_from_failure(result.route, result.erring_index, result.failure)
            if learned is not None:
                key, policy = learned
                overrides[key] = policy

    @staticmethod
    def _failed(invoice: Invoice, outcome: _Outcome, reason: str) -> PayResult:
        return PayResult(
            PaymentStatus.FAILED, invoice.payment_hash, None, 0, 0, 0, tuple(outcome.results), reason
        )

    def close(self) -> None:
        for attempt in self._attempts.values():
            if not attempt.done.done():
                attempt.done.cancel()
        self._attempts.clear()
