"""`StoreArchive`: a channel's `CommitmentArchive` in the node's SQLite store (table `commitments`, one row
per (channel, holder, commitment number), appended once and never rewritten; `channel_preimages`, one row
per payment hash).

The node records a channel's commitments from its persist hook, inside the store transaction that saves the
channel state (`Store.atomic`), so a commitment's record is on disk exactly when the state that signed or
received it is: BOLT 5 penalties for every revoked state survive a SIGKILL at any point, and a channel state
change costs one row, not a rewrite of the whole history.
"""

from __future__ import annotations

from reference_node.channel.serialize import load, to_jsonable
from reference_node.channel.signer import CommitmentView
from reference_node.onchain.records import LocalCommitmentRecord
from reference_node.store import CommitmentHolder, Store


class StoreArchive:
    def __init__(self, store: Store, channel_dbid: int) -> None:
        self._store = store
        self._channel_dbid = channel_dbid

    def __repr__(self) -> str:
        return f"StoreArchive(channel {self._channel_dbid})"

    def add_local(self, record: LocalCommitmentRecord) -> None:
        self._store.add_commitment(
            self._channel_dbid, CommitmentHolder.LOCAL, record.view.commitment_number, to_jsonable(record)
        )

    def add_remote(self, view: CommitmentView) -> None:
        self._store.add_commitment(
            self._channel_dbid, CommitmentHolder.REMOTE, view.commitment_number, to_jsonable(view)
        )

    def local(self, commitment_number: int) -> LocalCommitmentRecord | None:
        row = self._store.commitment(self._channel_dbid, CommitmentHolder.LOCAL, commitment_number)
        return None if row is None else load(LocalCommitmentRecord, row)

    def remote(self, commitment_number: int) -> CommitmentView | None:
        row = self._store.commitment(self._channel_dbid, CommitmentHolder.REMOTE, commitment_number)
        return None if row is None else load(CommitmentView, row)

    def add_preimage(self, payment_hash: bytes, preimage: bytes) -> None:
        self._store.add_channel_preimage(self._channel_dbid, payment_hash, preimage)

    def preimage(self, payment_hash: bytes) -> bytes | None:
        return self._store.channel_preimage(self._channel_dbid, payment_hash)

    def local_numbers(self) -> list[int]:
        return self._store.commitment_numbers(self._channel_dbid, CommitmentHolder.LOCAL)
