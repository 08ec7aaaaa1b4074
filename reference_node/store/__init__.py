"""Persistence of the reference node: one SQLite database per node (WAL, synchronous=FULL).

Nothing needed to recover funds lives only in memory: the node writes a channel's `PersistState` (commitments,
signatures, HTLCs, revocation secrets, per-commitment points) and commits it before it sends the message that
depends on it, so a node killed at any instant restarts from a state its peer can reestablish with.
"""

from reference_node.store.db import (
    ChannelRow,
    CommitmentHolder,
    InvoiceRow,
    InvoiceStatus,
    PaymentRow,
    PaymentStatus,
    Store,
    StoreError,
    UtxoRow,
)

__all__ = [
    "ChannelRow",
    "CommitmentHolder",
    "InvoiceRow",
    "InvoiceStatus",
    "PaymentRow",
    "PaymentStatus",
    "Store",
    "StoreError",
    "UtxoRow",
]
