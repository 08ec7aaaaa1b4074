"""BOLT 4 "Basic Multi-Part Payments", final node (reference_node/forwarding/mpp_receiver.py): parts are
held until they reach `total_msat`, then all fulfilled; an incomplete set fails with `mpp_timeout` when
the event loop's timer fires; a part with another `total_msat` fails the whole set."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from reference_node.forwarding.mpp_receiver import HtlcPart, MppReceiver
from reference_node.onion.failure_messages import FailureCode, FailureMessage
from reference_node.onion.forwarding import IncomingHtlcHop
from reference_node.onion.payload import FinalPayload
from reference_node.store import InvoiceRow, InvoiceStatus, Store

PREIMAGE = hashlib.sha256(b"mpp test preimage").digest()
PAYMENT_HASH = hashlib.sha256(PREIMAGE).digest()
SECRET = hashlib.sha256(b"mpp test payment_secret").digest()
INVOICE_MSAT = 100_000
HEIGHT = 500
CLTV = HEIGHT + 100


class Settled:
    def __init__(self) -> None:
        self.fulfilled: list[tuple[HtlcPart, bytes]] = []
        self.failed: list[tuple[HtlcPart, FailureMessage]] = []
        self.changed = asyncio.Event()

    async def fulfil(self, part: HtlcPart, preimage: bytes) -> None:
        self.fulfilled.append((part, preimage))
        self.changed.set()

    async def fail(self, part: HtlcPart, failure: FailureMessage) -> None:
        self.failed.append((part, failure))
        self.changed.set()


def _store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "node.sqlite3")
    store.add_invoice(
        InvoiceRow(
            PAYMENT_HASH,
            "mpp",
            "lnbcrt-test",
            PREIMAGE,
            SECRET,
            INVOICE_MSAT,
            "d",
            2**40,
            InvoiceStatus.UNPAID,
            None,
            None,
            None,
        )
    )
    return store


def _hop(amount_msat: int, total_msat: int = INVOICE_MSAT, secret: bytes | None = SECRET) -> IncomingHtlcHop:
    payload = FinalPayload(amount_msat, CLTV, total_msat, secret, None)
    return IncomingHtlcHop(bytes(32), payload, None, None, None, amount_msat, CLTV)


async def _add(receiver: MppReceiver, htlc_id: int, amount_msat: int, **hop: object) -> HtlcPart:
    part = HtlcPart(1, htlc_id, amount_msat, bytes(32))
    await receiver.add_part(part, PAYMENT_HASH, _hop(amount_msat, **hop), CLTV, HEIGHT)  # type: ignore[arg-type]
    return part


def test_parts_reaching_total_msat_are_all_fulfilled_and_the_invoice_paid(tmp_path: Path) -> None:
    async def run() -> None:
        settled = Settled()
        store = _store(tmp_path)
        receiver = MppReceiver(store, settled.fulfil, settled.fail, 18, timeout_s=60)
        await _add(receiver, 0, 60_000)
        assert settled.fulfilled == []  # "MUST NOT fulfill any HTLCs in the HTLC set" while short
        await _add(receiver, 1, 40_000)
        assert [(p.htlc_id, pre) for p, pre in settled.fulfilled] == [(0, PREIMAGE), (1, PREIMAGE)]
        invoice = store.invoice(PAYMENT_HASH)
        assert (
            invoice is not None
            and invoice.status is InvoiceStatus.PAID
            and invoice.received_msat == INVOICE_MSAT
        )
        assert receiver.pending(PAYMENT_HASH) is None

    asyncio.run(run())


def test_an_incomplete_set_fails_every_part_with_mpp_timeout_when_the_timer_fires(tmp_path: Path) -> None:
    async def run() -> None:
        settled = Settled()
        receiver = MppReceiver(_store(tmp_path), settled.fulfil, settled.fail, 18, timeout_s=0.05)
        await _add(receiver, 0, 30_000)
        await _add(receiver, 1, 30_000)
        async with asyncio.timeout(5):
            while len(settled.failed) < 2:
                settled.changed.clear()
                await settled.changed.wait()
        assert {f.code for _, f in settled.failed} == {FailureCode.mpp_timeout}
        assert settled.fulfilled == []

    asyncio.run(run())


def test_a_part_with_another_total_msat_fails_the_whole_set(tmp_path: Path) -> None:
    async def run() -> None:
        settled = Settled()
        receiver = MppReceiver(_store(tmp_path), settled.fulfil, settled.fail, 18, timeout_s=60)
        await _add(receiver, 0, 30_000)
        await _add(receiver, 1, 30_000, total_msat=INVOICE_MSAT + 1)
        assert sorted(p.htlc_id for p, _ in settled.failed) == [0, 1]
        assert all(f.code is FailureCode.incorrect_or_unknown_payment_details for _, f in settled.failed)
        receiver.cancel_timers()

    asyncio.run(run())


def test_a_part_without_payment_secret_is_refused(tmp_path: Path) -> None:
    async def run() -> None:
        settled = Settled()
        receiver = MppReceiver(_store(tmp_path), settled.fulfil, settled.fail, 18, timeout_s=60)
        await _add(receiver, 0, 30_000, secret=None)
        # "MUST require `payment_secret` for all HTLCs in the set."
        assert [f.code for _, f in settled.failed] == [FailureCode.incorrect_or_unknown_payment_details]
        assert receiver.pending(PAYMENT_HASH) is None

    asyncio.run(run())


def test_a_set_whose_total_is_below_the_invoice_amount_is_refused(tmp_path: Path) -> None:
    async def run() -> None:
        settled = Settled()
        receiver = MppReceiver(_store(tmp_path), settled.fulfil, settled.fail, 18, timeout_s=60)
        await _add(receiver, 0, 30_000, total_msat=INVOICE_MSAT - 1)
        failure = settled.failed[0][1]
        assert (
            failure.code is FailureCode.incorrect_or_unknown_payment_details and failure.htlc_msat == 30_000
        )

    asyncio.run(run())
