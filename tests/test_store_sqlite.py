"""The node's SQLite store: WAL with synchronous=FULL, rows survive a reopen, counters never repeat,
constraint violations are specific errors, payments finish once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reference_node.store import (
    InvoiceRow,
    InvoiceStatus,
    PaymentRow,
    PaymentStatus,
    Store,
    StoreError,
    UtxoRow,
)


def _invoice(label: str, payment_hash: bytes) -> InvoiceRow:
    return InvoiceRow(
        payment_hash,
        label,
        "lnbcrt1...",
        b"p" * 32,
        b"s" * 32,
        1000,
        "d",
        99,
        InvoiceStatus.UNPAID,
        None,
        None,
        None,
    )


def _payment(payment_hash: bytes) -> PaymentRow:
    return PaymentRow(
        payment_hash, "lnbcrt1...", b"\x02" * 33, 1000, 1, 0, PaymentStatus.PENDING, None, None, 5
    )


def test_database_uses_wal_and_full_synchronous_commits(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()


def test_channel_state_survives_a_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    dbid = store.add_channel(b"\x02" * 33, 7, {"state": "opening"})
    store.save_channel(dbid, {"state": "normal", "n": 1})
    store.close()
    reopened = Store(tmp_path / "db")
    [row] = reopened.channels()
    assert (row.dbid, row.peer_id, row.seed_index, row.state) == (
        dbid,
        b"\x02" * 33,
        7,
        {"state": "normal", "n": 1},
    )
    reopened.close()


def test_saving_an_unknown_channel_is_an_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    with pytest.raises(StoreError):
        store.save_channel(42, {})
    store.close()


def test_counters_continue_after_a_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    assert [store.next_counter("x") for _ in range(3)] == [0, 1, 2]
    store.close()
    reopened = Store(tmp_path / "db")
    assert reopened.next_counter("x") == 3
    assert reopened.next_counter("y") == 0
    reopened.close()


def test_duplicate_invoice_label_or_hash_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.add_invoice(_invoice("a", b"\x01" * 32))
    with pytest.raises(StoreError):
        store.add_invoice(_invoice("a", b"\x02" * 32))
    with pytest.raises(StoreError):
        store.add_invoice(_invoice("b", b"\x01" * 32))
    store.close()


def test_invoice_is_marked_paid_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.add_invoice(_invoice("a", b"\x01" * 32))
    store.mark_invoice_paid(b"\x01" * 32, 1000, 50, 0)
    store.mark_invoice_paid(b"\x01" * 32, 9999, 60, 1)
    row = store.invoice(b"\x01" * 32)
    assert row is not None
    assert (row.status, row.received_msat, row.paid_at, row.pay_index) == (InvoiceStatus.PAID, 1000, 50, 0)
    store.close()


def test_a_payment_finishes_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.add_payment(_payment(b"\x01" * 32))
    store.finish_payment(b"\x01" * 32, PaymentStatus.COMPLETE, b"\x09" * 32, None)
    store.finish_payment(b"\x01" * 32, PaymentStatus.FAILED, None, "late failure")
    row = store.payment(b"\x01" * 32)
    assert row is not None and row.status is PaymentStatus.COMPLETE and row.preimage == b"\x09" * 32
    with pytest.raises(StoreError):
        store.add_payment(_payment(b"\x01" * 32))
    store.close()


def test_only_a_failed_payment_can_be_retried(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.add_payment(_payment(b"\x01" * 32))
    with pytest.raises(StoreError):
        store.replace_failed_payment(_payment(b"\x01" * 32))
    store.finish_payment(b"\x01" * 32, PaymentStatus.FAILED, None, "no")
    store.replace_failed_payment(_payment(b"\x01" * 32))
    row = store.payment(b"\x01" * 32)
    assert row is not None and row.status is PaymentStatus.PENDING
    store.close()


def test_a_known_utxo_only_gains_its_confirmation_height(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.add_utxo(UtxoRow(b"\x01" * 32, 0, 500, b"\x00\x14" + bytes(20), 3, None, None, False))
    store.add_utxo(UtxoRow(b"\x01" * 32, 0, 500, b"\x00\x14" + bytes(20), 3, 120, None, False))
    store.add_utxo(UtxoRow(b"\x01" * 32, 0, 500, b"\x00\x14" + bytes(20), 3, None, None, False))
    [utxo] = store.utxos()
    assert utxo.height == 120
    store.spend_utxo(b"\x01" * 32, 0, b"\x02" * 32)
    assert store.utxos() == []
    assert store.utxos(include_spent=True)[0].spent_by == b"\x02" * 32
    store.close()


def test_a_database_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    Store(tmp_path / "db").close()
    raw = sqlite3.connect(tmp_path / "db")
    raw.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="schema version 999"):
        Store(tmp_path / "db")
