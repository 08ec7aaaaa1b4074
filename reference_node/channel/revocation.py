"""The peer's revealed per-commitment secrets, kept in reference_node.keys' 49-slot store.

The store object has no persistence API of its own yet, so the slots live in `ChannelData` and a store is
rebuilt from them when needed (adapter: see the report; `PerCommitmentSecretStore.from_stored` would remove
the private-attribute access below).
"""

from __future__ import annotations

from reference_node.channel.data import ChannelData, SecretSlot
from reference_node.keys.shachain import START_INDEX, STORAGE_SLOTS, PerCommitmentSecretStore, StoredSecret


def _store(data: ChannelData) -> PerCommitmentSecretStore:
    store = PerCommitmentSecretStore()
    known: list[StoredSecret | None] = [None] * STORAGE_SLOTS
    for slot in data.remote_secret_slots:
        known[slot.slot] = StoredSecret(slot.secret, slot.index)
    store._known = known  # restore persisted slots (no public constructor for this yet)
    store._next_index = data.remote_secret_next_index
    return store


def insert_remote_secret(data: ChannelData, commitment_number: int, secret: bytes) -> None:
    """Raises reference_node.keys.shachain.ShachainError if the secret is inconsistent with earlier ones."""
    store = _store(data)
    store.insert_secret(secret, START_INDEX - commitment_number)
    data.remote_secret_slots = [
        SecretSlot(slot, stored.index, stored.secret)
        for slot, stored in enumerate(store.stored())
        if stored is not None
    ]
    data.remote_secret_next_index = store.next_index


def remote_secret(data: ChannelData, commitment_number: int) -> bytes | None:
    """The peer's secret for one of its revoked commitments, or None if not revealed (yet)."""
    if START_INDEX - commitment_number <= data.remote_secret_next_index:
        return None
    return _store(data).derive_old_secret(START_INDEX - commitment_number)


def revealed_count(data: ChannelData) -> int:
    return START_INDEX - data.remote_secret_next_index
