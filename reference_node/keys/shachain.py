"""BOLT 3 "Per-commitment Secret Requirements" and "Efficient Per-commitment Secret Storage".

The sender derives every secret from one seed (`generate_from_seed`); the receiver keeps at most 49
secrets (`PerCommitmentSecretStore`) from which every earlier one can be re-derived, and rejects a
secret that is inconsistent with the ones it already holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.bitcoin.hashes import sha256

# BOLT 3: "the first secret used MUST be index 281474976710655, and then the index decremented".
INDEX_BITS = 48
START_INDEX = (1 << INDEX_BITS) - 1
STORAGE_SLOTS = INDEX_BITS + 1


class ShachainError(ValueError):
    """Base class of per-commitment secret errors."""


class InconsistentSecretError(ShachainError):
    """A newly revealed secret does not derive an already stored one (BOLT 3: the receiver MUST fail)."""

    def __init__(self, index: int, conflicting_index: int) -> None:
        super().__init__(
            f"per-commitment secret for index {index} does not derive the stored secret "
            f"for index {conflicting_index}"
        )
        self.index = index
        self.conflicting_index = conflicting_index


class SecretIndexError(ShachainError):
    """An index is outside 0..2^48-1, out of sequence, or not derivable from what is stored."""


def _flip_and_hash(value: bytes, bits: int, index: int) -> bytes:
    """Apply the BOLT 3 generation steps for bits bits-1..0 of index to value."""
    p = bytearray(value)
    for b in range(bits - 1, -1, -1):
        if (index >> b) & 1:
            p[b // 8] ^= 1 << (b % 8)
            p = bytearray(sha256(bytes(p)))
    return bytes(p)


def _check_index(index: int) -> None:
    if not 0 <= index <= START_INDEX:
        raise SecretIndexError(f"index {index} is outside 0..{START_INDEX}")


def generate_from_seed(seed: bytes, index: int) -> bytes:
    """BOLT 3 generate_from_seed(seed, I)."""
    if len(seed) != 32:
        raise ShachainError(f"seed must be 32 bytes, got {len(seed)}")
    _check_index(index)
    return _flip_and_hash(seed, INDEX_BITS, index)


def per_commitment_secret(seed: bytes, commitment_number: int) -> bytes:
    """The secret of commitment number n is the one at index 2^48 - 1 - n."""
    return generate_from_seed(seed, START_INDEX - commitment_number)


def _where_to_put_secret(index: int) -> int:
    """Number of trailing zero bits of index (48 for index 0)."""
    for b in range(INDEX_BITS):
        if (index >> b) & 1:
            return b
    return INDEX_BITS


@dataclass(frozen=True)
class StoredSecret:
    secret: bytes
    index: int


class PerCommitmentSecretStore:
    """The receiver's compact storage (BOLT 3 `insert_secret`), 49 slots.

    Secrets must be inserted in the order they are revealed (index 2^48-1, then decreasing by one).
    """

    def __init__(self) -> None:
        self._known: list[StoredSecret | None] = [None] * STORAGE_SLOTS
        self._next_index = START_INDEX

    @property
    def next_index(self) -> int:
        """The index of the next secret this store expects."""
        return self._next_index

    def insert_secret(self, secret: bytes, index: int) -> None:
        """Store a revealed secret; raises InconsistentSecretError if it does not derive a stored one."""
        _check_index(index)
        if len(secret) != 32:
            raise ShachainError(f"secret must be 32 bytes, got {len(secret)}")
        if index != self._next_index:
            raise SecretIndexError(f"expected the secret for index {self._next_index}, got index {index}")
        slot = _where_to_put_secret(index)
        for b in range(slot):
            known = self._known[b]
            if known is not None and _flip_and_hash(secret, slot, known.index) != known.secret:
                raise InconsistentSecretError(index, known.index)
        self._known[slot] = StoredSecret(secret, index)
        self._next_index = index - 1

    def derive_old_secret(self, index: int) -> bytes:
        """Any secret with index >= the last inserted one."""
        _check_index(index)
        for b, known in enumerate(self._known):
            if known is None:
                continue
            mask = ~((1 << b) - 1)
            if index & mask == known.index:
                return _flip_and_hash(known.secret, b, index)
        raise SecretIndexError(f"index {index} cannot be derived from the stored secrets")

    def stored(self) -> tuple[StoredSecret | None, ...]:
        return tuple(self._known)
