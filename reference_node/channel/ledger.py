"""Both commitment transactions' contents, kept as one ordered log of updates (BOLT 2 "Normal Operation").

Every update (`update_add_htlc`, the three removals, `update_fee`) is logged once, in the order it was sent or
received, with the commitment number at which it first appears in each side's commitment (`local_ctn`,
`remote_ctn`; None while not yet included). The spec's update/ack rules then reduce to two eligibility rules:

- a `commitment_signed` we send covers every update we proposed, plus every update the peer proposed that we
  have already acknowledged (it is in a commitment of ours we revoked the predecessor of);
- a `commitment_signed` we receive covers every update the peer proposed, plus every update of ours the
  peer has acknowledged with `revoke_and_ack`.

Once an HTLC's removal is in both sides' current commitments it can never be needed again: its
effect is folded into the base balances and both log entries are dropped,
so the log stays as small as what is in flight.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from reference_node.channel.errors import ChannelError
from reference_node.channel.params import Side


class UpdateKind(Enum):
    ADD = "add"
    FULFILL = "fulfill"
    FAIL = "fail"
    FAIL_MALFORMED = "fail_malformed"
    FEE = "fee"


REMOVALS = frozenset({UpdateKind.FULFILL, UpdateKind.FAIL, UpdateKind.FAIL_MALFORMED})


@dataclass
class LoggedUpdate:
    proposer: Side
    kind: UpdateKind
    htlc_id: int = 0
    amount_msat: int = 0
    payment_hash: bytes = b""
    cltv_expiry: int = 0
    onion_routing_packet: bytes = b""
    path_key: bytes | None = None
    payment_preimage: bytes | None = None
    reason: bytes | None = None
    sha256_of_onion: bytes | None = None
    failure_code: int | None = None
    feerate_per_kw: int = 0
    local_ctn: int | None = None
    remote_ctn: int | None = None
    # an incoming HTLC already reported to the payment layer (HtlcReceived)
    reported: bool = False

    def __deepcopy__(self, memo: dict[int, object]) -> LoggedUpdate:
        # every field is immutable (ints, bytes, enums): a shallow copy is a deep one, and much faster
        return dataclasses.replace(self)

    def ctn(self, holder: Side) -> int | None:
        return self.local_ctn if holder is Side.LOCAL else self.remote_ctn

    @property
    def htlc_offerer(self) -> Side:
        """The side that offered the HTLC this update adds or removes (only the other side removes)."""
        return self.proposer if self.kind is UpdateKind.ADD else self.proposer.other


@dataclass(frozen=True)
class HtlcInView:
    offerer: Side
    htlc_id: int
    amount_msat: int
    payment_hash: bytes
    cltv_expiry: int


@dataclass(frozen=True)
class LedgerView:
    """The contents of one commitment: balances before fees, feerate, HTLCs."""

    local_msat: int
    remote_msat: int
    feerate_per_kw: int
    htlcs: tuple[HtlcInView, ...]

    def balance_msat(self, side: Side) -> int:
        return self.local_msat if side is Side.LOCAL else self.remote_msat


class LedgerError(ChannelError):
    """An internal inconsistency of the update log (a bug, never a peer's fault)."""


@dataclass
class Ledger:
    base_local_msat: int
    base_remote_msat: int
    base_feerate_per_kw: int
    # current (latest, unrevoked) commitment numbers; both start at 0 after funding
    local_ctn: int = 0
    remote_ctn: int = 0
    # we sent commitment_signed for remote_ctn + 1 and wait for its revoke_and_ack
    remote_pending: bool = False
    next_local_htlc_id: int = 0
    next_remote_htlc_id: int = 0
    updates: list[LoggedUpdate] = field(default_factory=list)

    # -- queries ---------------------------------------------------------------------------------------------

    def find_add(self, offerer: Side, htlc_id: int) -> LoggedUpdate | None:
        for update in self.updates:
            if update.kind is UpdateKind.ADD and update.proposer is offerer and update.htlc_id == htlc_id:
                return update
        return None

    def find_removal(self, offerer: Side, htlc_id: int) -> LoggedUpdate | None:
        for update in self.updates:
            if update.kind in REMOVALS and update.htlc_offerer is offerer and update.htlc_id == htlc_id:
                return update
        return None

    def eligible(self, update: LoggedUpdate, holder: Side) -> bool:
        """Would the next commitment_signed for `holder`'s commitment include this update?"""
        if update.ctn(holder) is not None:
            return True
        if holder is Side.REMOTE:
            # ours always; theirs once we acknowledged them (they are in our local commitment)
            return update.proposer is Side.LOCAL or update.local_ctn is not None
        # theirs always; ours once they revoked the commitment that first had them
        return update.proposer is Side.REMOTE or (
            update.remote_ctn is not None and update.remote_ctn <= self.remote_ctn
        )

    def view(self, holder: Side, ctn: int) -> LedgerView:
        return self._view(u for u in self.updates if (c := u.ctn(holder)) is not None and c <= ctn)

    def next_view(self, holder: Side) -> LedgerView:
        """The commitment the next commitment_signed for `holder` would sign."""
        return self._view(u for u in self.updates if self.eligible(u, holder))

    def all_view(self) -> LedgerView:
        """Every logged update applied: the most demanding state either commitment can reach."""
        return self._view(self.updates)

    def current_view(self, holder: Side) -> LedgerView:
        return self.view(holder, self.local_ctn if holder is Side.LOCAL else self.remote_ctn)

    def _view(self, included: Iterable[LoggedUpdate]) -> LedgerView:
        balances = {Side.LOCAL: self.base_local_msat, Side.REMOTE: self.base_remote_msat}
        feerate = self.base_feerate_per_kw
        live: dict[tuple[Side, int], HtlcInView] = {}
        for update in included:
            if update.kind is UpdateKind.FEE:
                feerate = update.feerate_per_kw
            elif update.kind is UpdateKind.ADD:
                balances[update.proposer] -= update.amount_msat
                live[(update.proposer, update.htlc_id)] = HtlcInView(
                    update.proposer,
                    update.htlc_id,
                    update.amount_msat,
                    update.payment_hash,
                    update.cltv_expiry,
                )
            else:
                htlc = live.pop((update.htlc_offerer, update.htlc_id), None)
                if htlc is None:
                    raise LedgerError(f"removal of HTLC {update.htlc_id} not present in the same commitment")
                # a fulfilled HTLC pays the side that received it; a failed one returns to its offerer
                winner = htlc.offerer.other if update.kind is UpdateKind.FULFILL else htlc.offerer
                balances[winner] += htlc.amount_msat
        return LedgerView(balances[Side.LOCAL], balances[Side.REMOTE], feerate, tuple(live.values()))

    def unsettled_remote_signed(self) -> list[LoggedUpdate]:
        """Our updates included in the pending (not yet revoked-for) remote commitment, in sending order."""
        pending_ctn = self.remote_ctn + 1
        return [u for u in self.updates if u.proposer is Side.LOCAL and u.remote_ctn == pending_ctn]

    def unsigned_local_updates(self) -> list[LoggedUpdate]:
        return [u for u in self.updates if u.proposer is Side.LOCAL and u.remote_ctn is None]

    def has_changes_for(self, holder: Side) -> bool:
        return any(u.ctn(holder) is None and self.eligible(u, holder) for u in self.updates)

    # -- transitions -----------------------------------------------------------------------------------------

    def append(self, update: LoggedUpdate) -> None:
        if update.kind is UpdateKind.ADD:
            expected = self.next_local_htlc_id if update.proposer is Side.LOCAL else self.next_remote_htlc_id
            if update.htlc_id != expected:
                raise LedgerError(f"HTLC id {update.htlc_id} out of sequence (expected {expected})")
            if update.proposer is Side.LOCAL:
                self.next_local_htlc_id += 1
            else:
                self.next_remote_htlc_id += 1
        self.updates.append(update)

    def assign(self, holder: Side, ctn: int) -> int:
        """Include every eligible, not yet included update in `holder`'s commitment number `ctn`."""
        count = 0
        for update in self.updates:
            if update.ctn(holder) is None and self.eligible(update, holder):
                if holder is Side.LOCAL:
                    update.local_ctn = ctn
                else:
                    update.remote_ctn = ctn
                count += 1
        return count

    def drop_uncommitted_remote(self) -> list[LoggedUpdate]:
        """BOLT 2: "upon disconnection: MUST reverse any uncommitted updates sent by the other side"."""
        dropped = [u for u in self.updates if u.proposer is Side.REMOTE and u.local_ctn is None]
        self.updates = [u for u in self.updates if not (u.proposer is Side.REMOTE and u.local_ctn is None)]
        dropped_adds = [u.htlc_id for u in dropped if u.kind is UpdateKind.ADD]
        if dropped_adds:
            self.next_remote_htlc_id = min(dropped_adds)
        return dropped

    def settled(self, update: LoggedUpdate) -> bool:
        return (
            update.local_ctn is not None
            and update.local_ctn <= self.local_ctn
            and update.remote_ctn is not None
            and update.remote_ctn <= self.remote_ctn
        )

    def compact(self) -> list[tuple[LoggedUpdate, LoggedUpdate]]:
        """Fold every HTLC whose removal is irrevocably in both commitments into the base; returns the
        (removal, add) pairs folded, so the caller can report resolved HTLCs."""
        folded: list[tuple[LoggedUpdate, LoggedUpdate]] = []
        keep: list[LoggedUpdate] = []
        done: set[tuple[Side, int]] = set()
        for update in self.updates:
            if update.kind in REMOVALS and self.settled(update):
                done.add((update.htlc_offerer, update.htlc_id))
        last_settled_fee = None
        for update in self.updates:
            if update.kind is UpdateKind.FEE and self.settled(update):
                last_settled_fee = update
        for update in self.updates:
            if update.kind is UpdateKind.FEE:
                if last_settled_fee is not None and self.settled(update):
                    continue
                keep.append(update)
                continue
            key = (update.htlc_offerer, update.htlc_id)
            if key not in done:
                keep.append(update)
                continue
            if update.kind is UpdateKind.ADD:
                if update.proposer is Side.LOCAL:
                    self.base_local_msat -= update.amount_msat
                else:
                    self.base_remote_msat -= update.amount_msat
            else:
                add = self.find_add(update.htlc_offerer, update.htlc_id)
                if add is None:
                    raise LedgerError(f"removal of unknown HTLC {update.htlc_id}")
                winner = add.proposer.other if update.kind is UpdateKind.FULFILL else add.proposer
                if winner is Side.LOCAL:
                    self.base_local_msat += add.amount_msat
                else:
                    self.base_remote_msat += add.amount_msat
                folded.append((update, add))
        if last_settled_fee is not None:
            self.base_feerate_per_kw = last_settled_fee.feerate_per_kw
        self.updates = keep
        return folded
