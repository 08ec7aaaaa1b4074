"""The store side of BOLT 5 persistence: a channel state and what its monitor records of it are committed
in one transaction (`Store.atomic`), commitments and preimages are appended once, and a monitor restored
from the store reads its revoked commitments back from there."""

from __future__ import annotations

from pathlib import Path

import pytest

from reference_node.channel.params import Side
from reference_node.channel.signer import CommitmentView, HtlcOutput
from reference_node.onchain.archive import StoreArchive
from reference_node.onchain.records import LocalCommitmentRecord
from reference_node.store import CommitmentHolder, Store
from tests.test_channel_support import hash_of, preimage_of


class Crash(Exception):
    """Stands for a failure between two writes of one persisted state."""


def _view(holder: Side, number: int, htlc_count: int) -> CommitmentView:
    htlcs = tuple(
        HtlcOutput(
            offered=i % 2 == 0,
            htlc_id=i,
            amount_msat=5_000_000,
            payment_hash=hash_of(preimage_of(i)),
            cltv_expiry=500 + i,
        )
        for i in range(htlc_count)
    )
    return CommitmentView(holder, number, b"\x02" * 33, 600_000_000, 400_000_000, 2500, htlcs)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "node.sqlite3")


def test_writes_inside_atomic_commit_together(store: Store, tmp_path: Path) -> None:
    dbid = store.add_channel(b"\x03" * 33, 0, {"n": 0})
    with store.atomic():
        store.save_channel(dbid, {"n": 1})
        StoreArchive(store, dbid).add_remote(_view(Side.REMOTE, 1, 2))
        store.set_meta("onchain/1", "{}")
    reopened = Store(tmp_path / "node.sqlite3")
    assert reopened.channels()[0].state == {"n": 1}
    assert StoreArchive(reopened, dbid).remote(1) == _view(Side.REMOTE, 1, 2)
    assert reopened.get_meta("onchain/1") == "{}"


def test_a_failure_inside_atomic_leaves_neither_the_state_nor_the_record(
    store: Store, tmp_path: Path
) -> None:
    dbid = store.add_channel(b"\x03" * 33, 0, {"n": 0})
    with pytest.raises(Crash), store.atomic():
        store.save_channel(dbid, {"n": 1})
        StoreArchive(store, dbid).add_remote(_view(Side.REMOTE, 1, 2))
        raise Crash
    reopened = Store(tmp_path / "node.sqlite3")
    assert reopened.channels()[0].state == {"n": 0}
    assert StoreArchive(reopened, dbid).remote(1) is None
    # the store is usable afterwards: the next write is its own transaction again
    store.save_channel(dbid, {"n": 2})
    assert Store(tmp_path / "node.sqlite3").channels()[0].state == {"n": 2}


def test_a_commitment_record_is_written_once_and_never_replaced(store: Store) -> None:
    archive = StoreArchive(store, 7)
    first = LocalCommitmentRecord(_view(Side.LOCAL, 3, 1), b"\x01" * 64, (b"\x02" * 64,))
    archive.add_local(first)
    archive.add_local(LocalCommitmentRecord(_view(Side.LOCAL, 3, 0), b"\x09" * 64, ()))
    assert archive.local(3) == first
    assert archive.local_numbers() == [3]
    assert store.commitment_numbers(7, CommitmentHolder.REMOTE) == []


def test_commitments_of_two_channels_are_kept_apart(store: Store) -> None:
    StoreArchive(store, 1).add_remote(_view(Side.REMOTE, 5, 1))
    StoreArchive(store, 2).add_remote(_view(Side.REMOTE, 5, 3))
    assert StoreArchive(store, 1).remote(5) == _view(Side.REMOTE, 5, 1)
    assert StoreArchive(store, 2).remote(5) == _view(Side.REMOTE, 5, 3)


def test_a_preimage_is_found_by_its_payment_hash(store: Store) -> None:
    archive = StoreArchive(store, 1)
    archive.add_preimage(hash_of(preimage_of(4)), preimage_of(4))
    assert archive.preimage(hash_of(preimage_of(4))) == preimage_of(4)
    assert archive.preimage(hash_of(preimage_of(5))) is None
    assert StoreArchive(store, 2).preimage(hash_of(preimage_of(4))) is None
