"""The node's SQLite store: channels, invoices, payments, wallet keys and UTXOs, chain progress.

Every write is its own transaction, committed (and fsynced: WAL with synchronous=FULL) before the method
returns, so the caller may act on it (send a message, broadcast) knowing it survives a SIGKILL. Inside
`Store.atomic()` the writes join one transaction instead (one fsync): a channel state and what its on-chain
monitor records of it land on disk together or not at all.
"""

from __future__ import annotations

import enum
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# 2: on-chain monitors keep their commitments in `commitments` (one row per commitment, append-only), their
# preimages in `channel_preimages`, and a bounded state in meta; a version 1 monitor state (every
# commitment in one JSON value) is not read.
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
    dbid INTEGER PRIMARY KEY,
    peer_id BLOB NOT NULL,
    seed_index INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    payment_hash BLOB PRIMARY KEY,
    label TEXT NOT NULL UNIQUE,
    bolt11 TEXT NOT NULL,
    preimage BLOB NOT NULL,
    payment_secret BLOB NOT NULL,
    amount_msat INTEGER,
    description TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    received_msat INTEGER,
    paid_at INTEGER,
    pay_index INTEGER
);
CREATE TABLE IF NOT EXISTS payments (
    payment_hash BLOB PRIMARY KEY,
    bolt11 TEXT NOT NULL,
    destination BLOB NOT NULL,
    amount_msat INTEGER NOT NULL,
    channel_dbid INTEGER NOT NULL,
    htlc_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    preimage BLOB,
    failure TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS wallet_keys (key_index INTEGER PRIMARY KEY, script BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS utxos (
    txid BLOB NOT NULL,
    vout INTEGER NOT NULL,
    value_sat INTEGER NOT NULL,
    script BLOB NOT NULL,
    key_index INTEGER NOT NULL,
    height INTEGER,
    spent_by BLOB,
    reserved INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (txid, vout)
);
CREATE TABLE IF NOT EXISTS scanned_blocks (height INTEGER PRIMARY KEY, block_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commitments (
    channel_dbid INTEGER NOT NULL,
    holder TEXT NOT NULL,
    commitment_number INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (channel_dbid, holder, commitment_number)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS channel_preimages (
    channel_dbid INTEGER NOT NULL,
    payment_hash BLOB NOT NULL,
    preimage BLOB NOT NULL,
    PRIMARY KEY (channel_dbid, payment_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tx_locations (
    txid BLOB PRIMARY KEY,
    height INTEGER NOT NULL,
    tx_index INTEGER NOT NULL
);
"""


class StoreError(Exception):
    """The database is not one this version can use, or a write broke a constraint."""


class InvoiceStatus(enum.Enum):
    # Core Lightning's names (listinvoices `status`)
    UNPAID = "unpaid"
    PAID = "paid"
    EXPIRED = "expired"


class PaymentStatus(enum.Enum):
    # Core Lightning's names (listpays / pay `status`)
    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"


class CommitmentHolder(enum.Enum):
    """Whose commitment transaction a `commitments` row describes (BOLT 3: each side holds its own)."""

    LOCAL = "local"
    REMOTE = "remote"


@dataclass(frozen=True)
class ChannelRow:
    dbid: int
    peer_id: bytes
    seed_index: int
    state: dict[str, Any]


@dataclass(frozen=True)
class InvoiceRow:
    payment_hash: bytes
    label: str
    bolt11: str
    preimage: bytes
    payment_secret: bytes
    amount_msat: int | None
    description: str
    expires_at: int
    status: InvoiceStatus
    received_msat: int | None
    paid_at: int | None
    pay_index: int | None


@dataclass(frozen=True)
class PaymentRow:
    payment_hash: bytes
    bolt11: str
    destination: bytes
    amount_msat: int
    channel_dbid: int
    htlc_id: int
    status: PaymentStatus
    preimage: bytes | None
    failure: str | None
    created_at: int


@dataclass(frozen=True)
class UtxoRow:
    txid: bytes  # internal byte order
    vout: int
    value_sat: int
    script: bytes
    key_index: int
    height: int | None  # None: only in the mempool (our own broadcast)
    spent_by: bytes | None
    reserved: bool


class Store:
    """One node's database. Not shared between threads: the node's event loop owns it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)
        self._depth = 0  # nesting of open transactions (see `atomic`)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk when it returns, even across a power cut (WAL default is NORMAL).
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        found = self.get_meta("schema_version")
        if found is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif int(found) != SCHEMA_VERSION:
            raise StoreError(f"{path}: schema version {found}, this node uses {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction; nested inside another (`atomic`), it joins the outer one, which commits or
        rolls back everything."""
        if self._depth:
            self._depth += 1
            try:
                yield self._db
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self._db
        except BaseException:
            self._depth = 0
            self._db.execute("ROLLBACK")
            raise
        self._depth = 0
        self._db.execute("COMMIT")

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """Every write made inside is committed together when the block ends (one fsync), or none if it
        raises."""
        with self._transaction():
            yield

    # -- meta --------------------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def next_counter(self, name: str) -> int:
        """A persistent counter: 0, 1, 2, ... (channel seed indexes, invoice pay indexes)."""
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (f"counter/{name}",)).fetchone()
            value = 0 if row is None else int(row[0])
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"counter/{name}", str(value + 1))
            )
        return value

    # -- channels ----------------------------------------------------------------------------------------

    def add_channel(self, peer_id: bytes, seed_index: int, state: dict[str, Any]) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO channels (peer_id, seed_index, state) VALUES (?, ?, ?)",
                (peer_id, seed_index, json.dumps(state)),
            )
            dbid = cursor.lastrowid
        if dbid is None:
            raise StoreError("no row id for the new channel")
        return dbid

    def save_channel(self, dbid: int, state: dict[str, Any]) -> None:
        with self._transaction() as db:
            cursor = db.execute("UPDATE channels SET state = ? WHERE dbid = ?", (json.dumps(state), dbid))
            if cursor.rowcount != 1:
                raise StoreError(f"no channel row {dbid}")

    def channels(self) -> list[ChannelRow]:
        rows = self._db.execute("SELECT dbid, peer_id, seed_index, state FROM channels ORDER BY dbid")
        return [ChannelRow(r[0], bytes(r[1]), r[2], json.loads(r[3])) for r in rows]

    # -- on-chain monitors: commitments ------------------------------------------------------------------

    def add_commitment(
        self, channel_dbid: int, holder: CommitmentHolder, commitment_number: int, record: dict[str, Any]
    ) -> None:
        """Append a commitment's record; one already stored for that number is kept (records never change)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO commitments VALUES (?, ?, ?, ?)",
                (channel_dbid, holder.value, commitment_number, json.dumps(record)),
            )

    def commitment(
        self, channel_dbid: int, holder: CommitmentHolder, commitment_number: int
    ) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT record FROM commitments WHERE channel_dbid = ? AND holder = ? AND commitment_number = ?",
            (channel_dbid, holder.value, commitment_number),
        ).fetchone()
        if row is None:
            return None
        record: dict[str, Any] = json.loads(row[0])
        return record

    def commitment_numbers(self, channel_dbid: int, holder: CommitmentHolder) -> list[int]:
        rows = self._db.execute(
            "SELECT commitment_number FROM commitments WHERE channel_dbid = ? AND holder = ? "
            "ORDER BY commitment_number",
            (channel_dbid, holder.value),
        )
        return [int(r[0]) for r in rows]

    def add_channel_preimage(self, channel_dbid: int, payment_hash: bytes, preimage: bytes) -> None:
        """A payment preimage a channel's on-chain monitor may need (kept once; never logged)."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO channel_preimages VALUES (?, ?, ?)",
                (channel_dbid, payment_hash, preimage),
            )

    def channel_preimage(self, channel_dbid: int, payment_hash: bytes) -> bytes | None:
        row = self._db.execute(
            "SELECT preimage FROM channel_preimages WHERE channel_dbid = ? AND payment_hash = ?",
            (channel_dbid, payment_hash),
        ).fetchone()
        return None if row is None else bytes(row[0])

    # -- invoices ----------------------------------------------------------------------------------------

    def add_invoice(self, row: InvoiceRow) -> None:
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO invoices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row.payment_hash,
                        row.label,
                        row.bolt11,
                        row.preimage,
                        row.payment_secret,
                        row.amount_msat,
                        row.description,
                        row.expires_at,
                        row.status.value,
                        row.received_msat,
                        row.paid_at,
                        row.pay_index,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"invoice with label {row.label!r} or that payment_hash exists: {exc}") from exc

    def mark_invoice_paid(
        self, payment_hash: bytes, received_msat: int, paid_at: int, pay_index: int
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE invoices SET status = ?, received_msat = ?, paid_at = ?, pay_index = ? "
                "WHERE payment_hash = ? AND status = ?",
                (
                    InvoiceStatus.PAID.value,
                    received_msat,
                    paid_at,
                    pay_index,
                    payment_hash,
                    InvoiceStatus.UNPAID.value,
                ),
            )

    def invoice(self, payment_hash: bytes) -> InvoiceRow | None:
        rows = self._invoices("WHERE payment_hash = ?", (payment_hash,))
        return rows[0] if rows else None

    def invoice_by_label(self, label: str) -> InvoiceRow | None:
        rows = self._invoices("WHERE label = ?", (label,))
        return rows[0] if rows else None

    def invoices(self) -> list[InvoiceRow]:
        return self._invoices("", ())

    def _invoices(self, where: str, args: tuple[Any, ...]) -> list[InvoiceRow]:
        rows = self._db.execute(f"SELECT * FROM invoices {where} ORDER BY rowid", args)
        return [
            InvoiceRow(
                bytes(r[0]),
                r[1],
                r[2],
                bytes(r[3]),
                bytes(r[4]),
                r[5],
                r[6],
                r[7],
                InvoiceStatus(r[8]),
                *r[9:],
            )
            for r in rows
        ]

    # -- payments ----------------------------------------------------------------------------------------

    def add_payment(self, row: PaymentRow) -> None:
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO payments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        row.payment_hash,
                        row.bolt11,
                        row.destination,
                        row.amount_msat,
                        row.channel_dbid,
                        row.htlc_id,
                        row.status.value,
                        row.preimage,
                        row.failure,
                        row.created_at,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"a payment for hash {row.payment_hash.hex()} exists") from exc

    def replace_failed_payment(self, row: PaymentRow) -> None:
        """A new attempt for a hash whose earlier attempt failed."""
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM payments WHERE payment_hash = ? AND status = ?",
                (row.payment_hash, PaymentStatus.FAILED.value),
            )
            if cursor.rowcount != 1:
                raise StoreError(f"no failed payment for hash {row.payment_hash.hex()} to replace")
        self.add_payment(row)

    def finish_payment(
        self, payment_hash: bytes, status: PaymentStatus, preimage: bytes | None, failure: str | None
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE payments SET status = ?, preimage = ?, failure = ? "
                "WHERE payment_hash = ? AND status = ?",
                (status.value, preimage, failure, payment_hash, PaymentStatus.PENDING.value),
            )

    def payment(self, payment_hash: bytes) -> PaymentRow | None:
        rows = self._payments("WHERE payment_hash = ?", (payment_hash,))
        return rows[0] if rows else None

    def payments(self) -> list[PaymentRow]:
        return self._payments("", ())

    def _payments(self, where: str, args: tuple[Any, ...]) -> list[PaymentRow]:
        rows = self._db.execute(f"SELECT * FROM payments {where} ORDER BY rowid", args)
        return [
            PaymentRow(
                bytes(r[0]),
                r[1],
                bytes(r[2]),
                r[3],
                r[4],
                r[5],
                PaymentStatus(r[6]),
                None if r[7] is None else bytes(r[7]),
                r[8],
                r[9],
            )
            for r in rows
        ]

    # -- wallet ------------------------------------------------------------------------------------------

    def add_wallet_key(self, key_index: int, script: bytes) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO wallet_keys VALUES (?, ?)", (key_index, script))

    def wallet_scripts(self) -> dict[bytes, int]:
        rows = self._db.execute("SELECT script, key_index FROM wallet_keys")
        return {bytes(r[0]): r[1] for r in rows}

    def add_utxo(self, utxo: UtxoRow) -> None:
        """Record an output paying us; a known output only gets its confirmation height."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO utxos VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (txid, vout) "
                "DO UPDATE SET height = COALESCE(excluded.height, utxos.height)",
                (
                    utxo.txid,
                    utxo.vout,
                    utxo.value_sat,
                    utxo.script,
                    utxo.key_index,
                    utxo.height,
                    utxo.spent_by,
                    int(utxo.reserved),
                ),
            )

    def spend_utxo(self, txid: bytes, vout: int, spent_by: bytes) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE utxos SET spent_by = ?, reserved = 0 WHERE txid = ? AND vout = ?",
                (spent_by, txid, vout),
            )

    def reserve_utxos(self, outpoints: list[tuple[bytes, int]], reserved: bool) -> None:
        with self._transaction() as db:
            db.executemany(
                "UPDATE utxos SET reserved = ? WHERE txid = ? AND vout = ?",
                [(int(reserved), txid, vout) for txid, vout in outpoints],
            )

    def utxos(self, include_spent: bool = False) -> list[UtxoRow]:
        where = "" if include_spent else "WHERE spent_by IS NULL"
        rows = self._db.execute(f"SELECT * FROM utxos {where} ORDER BY height, txid, vout")
        return [
            UtxoRow(
                bytes(r[0]),
                r[1],
                r[2],
                bytes(r[3]),
                r[4],
                r[5],
                None if r[6] is None else bytes(r[6]),
                bool(r[7]),
            )
            for r in rows
        ]

    # -- chain -------------------------------------------------------------------------------------------

    def set_tx_location(self, txid: bytes, height: int, tx_index: int) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO tx_locations VALUES (?, ?, ?)", (txid, height, tx_index))

    def block_scanned(self, height: int, block_hash: str) -> None:
        """The block at `height` is processed: remember its hash (to notice a reorg) and the new height."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO scanned_blocks VALUES (?, ?)", (height, block_hash))
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('chain/scanned_height', ?)", (str(height),)
            )

    def scanned_hash(self, height: int) -> str | None:
        row = self._db.execute("SELECT block_hash FROM scanned_blocks WHERE height = ?", (height,)).fetchone()
        return None if row is None else str(row[0])

    def rewind_to(self, height: int) -> None:
        """A reorg replaced the blocks above `height`: what they confirmed is unconfirmed again (it will be
        seen again when the new blocks are scanned)."""
        with self._transaction() as db:
            db.execute("DELETE FROM scanned_blocks WHERE height > ?", (height,))
            db.execute("DELETE FROM tx_locations WHERE height > ?", (height,))
            db.execute("UPDATE utxos SET height = NULL WHERE height > ?", (height,))
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('chain/scanned_height', ?)", (str(height),)
            )

    def tx_location(self, txid: bytes) -> tuple[int, int] | None:
        row = self._db.execute("SELECT height, tx_index FROM tx_locations WHERE txid = ?", (txid,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))
