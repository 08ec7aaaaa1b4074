"""What the monitor remembers of a channel: the commitments either side could broadcast, the peer's
revealed secrets and the preimages we know.

The channel machine folds settled HTLCs away (its ledger only holds what is in flight), so the HTLC sets of
older commitments exist only here: the monitor records each commitment when the channel signs or receives
it (`ChannelRecords.absorb_channel`, called with every persisted channel state). A revoked commitment can
then be rebuilt exactly, output by output, when it appears on chain (BOLT 5 "Revoked Transaction Close
Handling": the penalty needs each revoked state's HTLC set to rebuild its scripts).

Only what a close of the current state needs is kept here, so the persisted size stays bounded as the
channel ages: our current commitment, their current and next, the peer's secrets in the 49-slot form of
BOLT 3 "Efficient Per-commitment Secret Storage", and the preimages of HTLCs still in one of those
commitments. Every commitment ever recorded is also written once to a `CommitmentArchive` (append-only,
keyed by holder and commitment number), which is where a revoked one is looked up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from reference_node.bitcoin.hashes import sha256
from reference_node.channel.channel import Channel
from reference_node.channel.data import SecretSlot
from reference_node.channel.errors import ChannelError
from reference_node.channel.params import Side
from reference_node.channel.signer import CommitmentView, FundingInfo
from reference_node.channel.states import FUNDED_STATES
from reference_node.keys.shachain import START_INDEX, generate_from_seed


@dataclass(frozen=True)
class LocalCommitmentRecord:
    """One of our commitments, with the peer's signatures that make it broadcastable."""

    view: CommitmentView
    remote_signature: bytes  # 64-byte compact, over the commitment
    remote_htlc_signatures: tuple[bytes, ...]  # compact, BOLT 3 output order


class CommitmentArchive(Protocol):
    """Every commitment the monitor recorded, written once and never rewritten (the node keeps it in its
    store, in the same transaction as the channel state that produced it)."""

    def add_local(self, record: LocalCommitmentRecord) -> None: ...

    def add_remote(self, view: CommitmentView) -> None: ...

    def local(self, commitment_number: int) -> LocalCommitmentRecord | None: ...

    def remote(self, commitment_number: int) -> CommitmentView | None: ...

    def local_numbers(self) -> list[int]: ...

    def add_preimage(self, payment_hash: bytes, preimage: bytes) -> None: ...

    def preimage(self, payment_hash: bytes) -> bytes | None: ...


class MemoryArchive:
    """A `CommitmentArchive` in memory: for monitors without a store (tests, tools)."""

    def __init__(self) -> None:
        self._local: dict[int, LocalCommitmentRecord] = {}
        self._remote: dict[int, CommitmentView] = {}
        self._preimages: dict[bytes, bytes] = {}

    def add_local(self, record: LocalCommitmentRecord) -> None:
        self._local.setdefault(record.view.commitment_number, record)

    def add_remote(self, view: CommitmentView) -> None:
        self._remote.setdefault(view.commitment_number, view)

    def local(self, commitment_number: int) -> LocalCommitmentRecord | None:
        return self._local.get(commitment_number)

    def remote(self, commitment_number: int) -> CommitmentView | None:
        return self._remote.get(commitment_number)

    def local_numbers(self) -> list[int]:
        return sorted(self._local)

    def add_preimage(self, payment_hash: bytes, preimage: bytes) -> None:
        self._preimages.setdefault(payment_hash, preimage)

    def preimage(self, payment_hash: bytes) -> bytes | None:
        return self._preimages.get(payment_hash)


@dataclass
class ChannelRecords:
    """Mutable record book; JSON round trip through reference_node.channel.serialize (the archive is not
    part of it: it is persisted row by row)."""

    funding: FundingInfo | None = None
    local_current: LocalCommitmentRecord | None = None
    remote_current: CommitmentView | None = None
    remote_next: CommitmentView | None = None
    # the peer's current and next commitment numbers (BOLT 5 "their current or next commitment")
    remote_current_number: int = -1
    remote_next_number: int | None = None
    local_current_number: int = -1
    # BOLT 3 "Efficient Per-commitment Secret Storage": at most 49 secrets, from which every revealed one
    # is derived (a copy of the channel's own store, which checked each secret as it arrived)
    secret_slots: list[SecretSlot] = field(default_factory=list)
    secret_next_index: int = START_INDEX
    # the preimages of HTLCs still in a commitment that can reach the chain without a penalty; every
    # preimage learned is also in the archive (our own revoked commitment, the `breach` fault, uses them)
    preimages: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.archive: CommitmentArchive = MemoryArchive()

    # -- queries -----------------------------------------------------------------------------------------

    def local_record(self, number: int) -> LocalCommitmentRecord | None:
        current = self.local_current
        if current is not None and current.view.commitment_number == number:
            return current
        return self.archive.local(number)

    def remote_view(self, number: int) -> CommitmentView | None:
        for view in (self.remote_current, self.remote_next):
            if view is not None and view.commitment_number == number:
                return view
        return self.archive.remote(number)

    @property
    def local(self) -> list[LocalCommitmentRecord]:
        """Every local commitment recorded (read from the archive: for the `breach` fault, not hot paths)."""
        found = (self.local_record(n) for n in self.archive.local_numbers())
        return [record for record in found if record is not None]

    def secret_of(self, number: int) -> bytes | None:
        """The peer's per-commitment secret of commitment `number`, if revealed (BOLT 3 derive_secret)."""
        index = START_INDEX - number
        if not 0 <= index <= START_INDEX or index <= self.secret_next_index:
            return None
        for slot in self.secret_slots:
            low_bits = (1 << slot.slot) - 1
            if index & ~low_bits == slot.index:
                # the slot's secret is generate_from_seed's value after the bits above `slot.slot`: the
                # remaining steps are those of the index's low bits
                return generate_from_seed(slot.secret, index & low_bits)
        return None

    def preimage_for(self, payment_hash: bytes) -> bytes | None:
        for preimage in self.preimages:
            if sha256(preimage) == payment_hash:
                return preimage
        return self.archive.preimage(payment_hash)

    # -- updates -----------------------------------------------------------------------------------------

    def add_preimage(self, preimage: bytes) -> bool:
        """True if the preimage was new (to this channel: one pruned from `preimages` is still known)."""
        if preimage in self.preimages:
            return False
        self.preimages.append(preimage)
        payment_hash = sha256(preimage)
        if self.archive.preimage(payment_hash) is not None:
            return False
        self.archive.add_preimage(payment_hash, preimage)
        return True

    def _current_views(self) -> list[CommitmentView]:
        views = [self.remote_current, self.remote_next]
        if self.local_current is not None:
            views.append(self.local_current.view)
        return [view for view in views if view is not None]

    def _prune_preimages(self) -> None:
        """A preimage whose HTLC is in none of the commitments that can still be broadcast without a
        penalty is not needed at hand (a revoked commitment of theirs is claimed with the revocation key);
        the archive keeps it."""
        hashes = {htlc.payment_hash for view in self._current_views() for htlc in view.htlcs}
        self.preimages = [p for p in self.preimages if sha256(p) in hashes]

    def absorb_channel(self, channel: Channel) -> None:
        """Record everything a funded channel can broadcast or be confronted with right now: our latest
        commitment (with the peer's signatures), their current and next commitments, the secrets they
        revealed, and the preimages of HTLC removals in the update log. A commitment is built and archived
        once, when its number first appears."""
        data = channel.data
        if data.state not in FUNDED_STATES or data.ledger is None:
            return
        try:
            self.funding = channel.funding_info()
        except ChannelError:
            return  # funding not known yet: nothing can be broadcast
        ledger = data.ledger
        if data.remote_commitment_signature is not None and (
            self.local_current is None or ledger.local_ctn > self.local_current_number
        ):
            record = LocalCommitmentRecord(
                channel.commitment_view(Side.LOCAL, ledger.local_ctn),
                data.remote_commitment_signature,
                tuple(data.remote_htlc_signatures),
            )
            self.archive.add_local(record)
            self.local_current = record
            self.local_current_number = ledger.local_ctn
        if data.remote_current_point is not None:
            self.remote_current = self._remote(channel, ledger.remote_ctn)
            self.remote_current_number = ledger.remote_ctn
        self.remote_next, self.remote_next_number = None, None
        if ledger.remote_pending and data.remote_next_point is not None:
            self.remote_next = self._remote(channel, ledger.remote_ctn + 1)
            self.remote_next_number = ledger.remote_ctn + 1
        self.secret_slots = list(data.remote_secret_slots)
        self.secret_next_index = data.remote_secret_next_index
        for update in ledger.updates:
            if update.payment_preimage is not None:
                self.add_preimage(update.payment_preimage)
        self._prune_preimages()

    def _remote(self, channel: Channel, number: int) -> CommitmentView:
        """Their commitment `number`: the one already held, or built now and archived."""
        for view in (self.remote_current, self.remote_next):
            if view is not None and view.commitment_number == number:
                return view
        view = channel.commitment_view(Side.REMOTE, number)
        self.archive.add_remote(view)
        return view
