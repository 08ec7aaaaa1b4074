"""Payment steps (BOLT 11 invoices paid over a direct channel, BOLT 4 final-node checks).

`invoice` creates an invoice and stores it under a name; `pay` has the payee create invoices and the
payer pay them (one or many, one after the other or concurrently, optionally in the background for a
later `wait_payments`); `pay_forged` has a reference payer pay with a wrong `payment_secret` or less
than the invoice asks, which the payee must refuse (BOLT 4 "Failure Messages", final node).
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, replace

from harness.drivers.base import DriverError, Invoice, PaymentResult, UnsupportedOperation
from harness.drivers.peer import ExpectationFailed
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, Step, StepContext
from harness.scenarios.steps.channels import reference_node
from reference_node.invoice import Currency, InvoiceError, decode_invoice
from reference_node.payments.service import PaymentError
from reference_node.store import PaymentStatus

DEFAULT_TIMEOUT_S = 30.0


class Outcome(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True)
class Payments:
    """Background payments `pay` started (stored under `background`), awaited by `wait_payments`."""

    tasks: tuple[asyncio.Task[PaymentResult], ...]


def _check_outcomes(results: list[PaymentResult], expect: Outcome, failure: str | None) -> str:
    for index, result in enumerate(results):
        if expect is Outcome.SUCCESS and not result.succeeded:
            raise ExpectationFailed(f"payment {index} failed: {result.failure or 'no preimage'}")
        if expect is Outcome.FAILURE and result.succeeded:
            raise ExpectationFailed(f"payment {index} succeeded; the payee had to fail it")
        if expect is Outcome.FAILURE and failure and failure not in (result.failure or ""):
            raise ExpectationFailed(f"payment {index} failed with {result.failure!r}, not {failure!r}")
    outcome = "succeeded" if expect is Outcome.SUCCESS else "failed as expected"
    return f"{len(results)} payment(s) {outcome}"


async def _pay_one(ctx: StepContext, payer: str, invoice: Invoice, timeout_s: float) -> PaymentResult:
    try:
        return await ctx.driver(payer).pay(invoice.bolt11, timeout_s)
    except UnsupportedOperation:
        raise
    except DriverError as exc:
        return PaymentResult(invoice.payment_hash, False, None, str(exc))


@register_step
@dataclass(frozen=True)
class CreateInvoice(Step):
    """The node creates a BOLT 11 invoice, stored under `name` for `pay` (`invoice: NAME`)."""

    NAME = "invoice"
    SUMMARY = "a driven node creates an invoice"
    node: DriverName
    amount_msat: int | None = None
    description: str = "boltcheck"
    name: str = "invoice"

    async def run(self, ctx: StepContext) -> str | None:
        invoice = await ctx.driver(self.node).create_invoice(self.amount_msat, self.description)
        ctx.set_value(self.name, invoice)
        return f"invoice {invoice.payment_hash.hex()[:16]}.. for {invoice.amount_msat} msat"


@register_step
@dataclass(frozen=True)
class Pay(Step):
    """`payee` creates `count` invoices of `amount_msat` (or `invoice` names one from an `invoice`
    step) and `payer` pays them, sequentially or concurrently; each must end as `expect` says. With
    `background: NAME` the step returns at once and `wait_payments: {name: NAME}` checks them."""

    NAME = "pay"
    SUMMARY = "pay invoices over a direct channel"
    payer: DriverName
    payee: DriverName | None = None
    invoice: str | None = None
    amount_msat: int = 10_000_000
    count: int = 1
    concurrent: bool = False
    expect: Outcome = Outcome.SUCCESS
    failure: str | None = None
    background: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check_arguments(self) -> None:
        if (self.payee is None) == (self.invoice is None):
            raise ValueError("give either payee (invoices are created) or invoice (a stored one)")
        if self.count <= 0 or self.amount_msat <= 0:
            raise ValueError("count and amount_msat must be positive")
        if self.invoice is not None and self.count != 1:
            raise ValueError("a stored invoice is paid once")

    async def _invoices(self, ctx: StepContext) -> list[Invoice]:
        if self.invoice is not None:
            stored = ctx.get_value(self.invoice)
            if not isinstance(stored, Invoice):
                raise ValueError(f"{self.invoice!r} does not name an invoice")
            return [stored]
        payee = ctx.driver(self.payee or "")
        return [await payee.create_invoice(self.amount_msat, f"boltcheck {i}") for i in range(self.count)]

    async def run(self, ctx: StepContext) -> str | None:
        invoices = await self._invoices(ctx)
        if self.background is not None:
            tasks = tuple(
                asyncio.ensure_future(_pay_one(ctx, self.payer, i, self.timeout_s)) for i in invoices
            )
            ctx.set_value(self.background, Payments(tasks))
            return f"{len(tasks)} payment(s) started"
        if self.concurrent:
            results = list(
                await asyncio.gather(*(_pay_one(ctx, self.payer, i, self.timeout_s) for i in invoices))
            )
        else:
            results = [await _pay_one(ctx, self.payer, i, self.timeout_s) for i in invoices]
        return _check_outcomes(results, self.expect, self.failure)


@register_step
@dataclass(frozen=True)
class WaitPayments(Step):
    """Wait for payments a `pay` step started in the background; each must end as `expect` says."""

    NAME = "wait_payments"
    SUMMARY = "wait for background payments"
    name: str
    expect: Outcome = Outcome.SUCCESS
    failure: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, ctx: StepContext) -> str | None:
        payments = ctx.get_value(self.name)
        if not isinstance(payments, Payments):
            raise ValueError(f"{self.name!r} does not name background payments")
        _done, pending = await asyncio.wait(payments.tasks, timeout=self.timeout_s)
        if pending:
            raise ExpectationFailed(f"{len(pending)} payment(s) still pending after {self.timeout_s:g}s")
        return _check_outcomes([t.result() for t in payments.tasks], self.expect, self.failure)


class Forgery(enum.Enum):
    WRONG_PAYMENT_SECRET = "wrong_payment_secret"  # BOLT 4: payment_secret does not match
    UNDERPAY = "underpay"  # BOLT 4: the amount paid is less than the amount expected


@register_step
@dataclass(frozen=True)
class PayForged(Step):
    """A reference `payer` pays an invoice of `payee` the way BOLT 4 says a final node must refuse:
    with a wrong `payment_secret`, or `underpay_msat` less than the invoice amount. The payment must
    fail with `incorrect_or_unknown_payment_details`."""

    NAME = "pay_forged"
    SUMMARY = "pay with a wrong payment_secret or too little"
    payer: DriverName
    payee: DriverName
    forgery: Forgery
    amount_msat: int = 10_000_000
    underpay_msat: int = 1_000
    timeout_s: float = DEFAULT_TIMEOUT_S

    def check_arguments(self) -> None:
        if not 0 < self.underpay_msat < self.amount_msat:
            raise ValueError("underpay_msat must be between 0 and amount_msat")

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.payer, "pay_forged")
        bolt11 = (await ctx.driver(self.payee).create_invoice(self.amount_msat, "forged")).bolt11
        invoice = ln.payments.decode(bolt11)
        amount_msat = self.amount_msat
        if self.forgery is Forgery.WRONG_PAYMENT_SECRET:
            invoice = replace(invoice, payment_secret=bytes(a ^ 0xFF for a in invoice.payment_secret))
        else:
            amount_msat -= self.underpay_msat
        slot = ln.payments._channel_to(invoice.payee_node_id, amount_msat)
        try:
            await ln.payments._send_htlc(slot, invoice, amount_msat, bolt11, replace_failed=False)
        except PaymentError as exc:
            raise ExpectationFailed(f"the forged HTLC could not be offered: {exc}") from exc
        row = await ln.payments.wait_payment(invoice.payment_hash, self.timeout_s)
        if row.status is PaymentStatus.COMPLETE:
            raise ExpectationFailed(f"the payee accepted a payment with a {self.forgery.value}")
        if row.status is PaymentStatus.PENDING:
            raise ExpectationFailed(f"the payee did not fail the HTLC within {self.timeout_s:g}s")
        if row.failure != "incorrect_or_unknown_payment_details":
            raise ExpectationFailed(f"failed with {row.failure!r}, not incorrect_or_unknown_payment_details")
        return f"refused with {row.failure}"


@register_step
@dataclass(frozen=True)
class CheckInvoice(Step):
    """Read an invoice the node wrote (stored by `invoice`) with the reference BOLT 11 reader, which
    refuses bad bech32, signatures, field lengths and feature dependencies, then check what the writer
    rules add: the regtest prefix, the amount asked for, the payee's own key, exactly one `p` and one
    `s`, a `d` or `h`."""

    NAME = "check_invoice"
    SUMMARY = "check an invoice against the BOLT 11 writer rules"
    node: DriverName
    invoice: str = "invoice"

    async def run(self, ctx: StepContext) -> str | None:
        stored = ctx.get_value(self.invoice)
        if not isinstance(stored, Invoice):
            raise ValueError(f"{self.invoice!r} does not name an invoice")
        try:
            decoded = decode_invoice(stored.bolt11)
        except InvoiceError as exc:
            raise ExpectationFailed(f"the BOLT 11 reader refuses the invoice: {exc}") from exc
        problems = []
        if decoded.currency is not Currency.REGTEST:
            problems.append(f"prefix ln{decoded.currency.value}, not lnbcrt (regtest)")
        if decoded.amount_msat != stored.amount_msat:
            problems.append(f"amount {decoded.amount_msat} msat, asked {stored.amount_msat}")
        if decoded.payee_node_id != ctx.driver(self.node).node_id:
            problems.append("signed by a key that is not the node's")
        kinds = [type(f).__name__ for f in decoded.tagged_fields]
        for kind in ("PaymentHash", "PaymentSecret"):
            if kinds.count(kind) != 1:
                problems.append(f"{kinds.count(kind)} {kind} fields")
        if (decoded.description is None) == (decoded.description_hash is None):
            problems.append("not exactly one of d and h")
        if problems:
            raise ExpectationFailed("; ".join(problems))
        return f"{len(stored.bolt11)}-character invoice follows the writer rules"
