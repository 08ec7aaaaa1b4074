"""Per-commitment secrets: the receiver's 49-slot storage accepts every honest secret, re-derives old ones,
and rejects an inconsistent or out-of-order one with a specific error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_node.keys.shachain import (
    START_INDEX,
    STORAGE_SLOTS,
    InconsistentSecretError,
    PerCommitmentSecretStore,
    SecretIndexError,
    ShachainError,
    generate_from_seed,
    per_commitment_secret,
)

seeds = st.binary(min_size=32, max_size=32)


@settings(max_examples=25, deadline=None)
@given(seeds, st.integers(min_value=1, max_value=300))
def test_honest_secrets_are_accepted_and_rederivable(seed: bytes, count: int) -> None:
    store = PerCommitmentSecretStore()
    for n in range(count):
        store.insert_secret(per_commitment_secret(seed, n), START_INDEX - n)
    assert sum(1 for slot in store.stored() if slot is not None) <= STORAGE_SLOTS
    for n in range(count):
        assert store.derive_old_secret(START_INDEX - n) == per_commitment_secret(seed, n)


@settings(max_examples=25, deadline=None)
@given(seeds, seeds, st.integers(min_value=0, max_value=40))
def test_secret_from_another_seed_is_rejected_once_detectable(seed: bytes, other: bytes, bad: int) -> None:
    if seed == other:
        return
    store = PerCommitmentSecretStore()
    # Insert an inconsistent secret at commitment `bad`, then honest ones: the first insert whose slot
    # must derive the bad one fails (at the latest when the index reaches the bad secret's parent).
    with pytest.raises(InconsistentSecretError):
        for n in range(bad + 2**7):
            secret = per_commitment_secret(other if n == bad else seed, n)
            store.insert_secret(secret, START_INDEX - n)


def test_out_of_order_index_is_rejected() -> None:
    store = PerCommitmentSecretStore()
    with pytest.raises(SecretIndexError, match="expected"):
        store.insert_secret(generate_from_seed(bytes(32), START_INDEX - 1), START_INDEX - 1)


def test_future_secret_cannot_be_derived() -> None:
    store = PerCommitmentSecretStore()
    store.insert_secret(generate_from_seed(bytes(32), START_INDEX), START_INDEX)
    with pytest.raises(SecretIndexError, match="cannot be derived"):
        store.derive_old_secret(START_INDEX - 1)


def test_index_outside_48_bits_is_rejected() -> None:
    with pytest.raises(SecretIndexError):
        generate_from_seed(bytes(32), 1 << 48)


def test_wrong_seed_length_is_rejected() -> None:
    with pytest.raises(ShachainError, match="32 bytes"):
        generate_from_seed(bytes(31), 0)
