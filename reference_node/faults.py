"""Deliberate defects and adversarial controls of the reference node, for the harness.

Two kinds:
- `Defect`s are chosen when the node starts (`--target reference:defect=NAME`) and never change: a frozen
  `Faults` value is passed into the node and down to where each applies. Each defect acts at a boundary
  the node owns (the channel signer, the channel `Policy`, the final-node HTLC checks), never by patching
  the channel machine.
- `Controls` are switched at run time by the harness (`dev-*` RPC methods or the in-process driver):
  drop or delay an outgoing message type, withhold preimages, go offline; plus one-shot actions the node
  exposes directly (send a raw message).

A defect that needs a hook the code does not have yet is refused at start with `UnsupportedDefect`, so a
scenario is never run against a node that silently lacks its defect.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field

from reference_node.channel.params import Basepoints, Policy
from reference_node.channel.signer import (
    ChannelSigner,
    ClosingTxSpec,
    CommitmentSignatures,
    CommitmentView,
    FundingInfo,
)


class Defect(enum.Enum):
    # accept a `commitment_signed` whose signatures do not verify (BOLT 2: "MUST send an `error`")
    ACCEPT_BAD_COMMITMENT_SIG = "accept-bad-commitment-sig"
    # send `htlc_signature`s in the reverse of BOLT 3's commitment output order
    WRONG_HTLC_ORDERING = "wrong-htlc-ordering"
    # final node: fulfil an HTLC whatever its `payment_secret` (BOLT 4: "MUST fail the HTLC")
    IGNORE_PAYMENT_SECRET = "ignore-payment-secret"
    # final node: fulfil an HTLC paying less than the invoice amount
    ACCEPT_UNDERPAYMENT = "accept-underpayment"
    # never reveal a preimage: incoming HTLCs stay until they time out
    WITHHOLD_PREIMAGE = "withhold-preimage"
    # BOLT 2 update_add_htlc: ignore the channel reserve, as sender (offer HTLCs that leave us below the
    # reserve the peer asked for, the commitment fee still paid) and as receiver (accept HTLCs the peer
    # cannot afford while keeping the reserve we asked for): channel Policy enforce_sender_reserve and
    # enforce_receiver_reserve off
    SKIP_RESERVE_CHECK = "skip-reserve-check"
    # BOLT 5 (reference_node/onchain): never punish a revoked commitment
    NO_PENALTY = "no-penalty"
    # BOLT 5: never time out an HTLC we offered on chain (no HTLC-timeout, no timeout claim)
    NO_HTLC_TIMEOUT = "no-htlc-timeout"
    # BOLT 7 (reference_node/gossip): store gossip without verifying its signatures
    TRUST_GOSSIP_SIGNATURES = "trust-gossip-signatures"
    # BOLT 7: store a channel_announcement whatever the output it points to (script, spent, confirmations)
    TRUST_GOSSIP_FUNDING = "trust-gossip-funding"


# Defects the node cannot apply yet, and why (checked at start): none at present; a new defect whose
# hook is not written yet is listed here so the node refuses to start with it.
NOT_YET_APPLICABLE: dict[Defect, str] = {}


class UnknownDefect(ValueError):
    def __init__(self, name: str) -> None:
        known = ", ".join(d.value for d in Defect)
        super().__init__(f"unknown defect {name!r} (known: {known})")


class UnsupportedDefect(ValueError):
    def __init__(self, defect: Defect) -> None:
        super().__init__(f"defect {defect.value!r} cannot be applied yet: {NOT_YET_APPLICABLE[defect]}")
        self.defect = defect


@dataclass(frozen=True)
class Faults:
    """The defects a node runs with (empty: a correct node)."""

    defects: frozenset[Defect] = frozenset()

    @classmethod
    def parse(cls, names: list[str] | tuple[str, ...]) -> Faults:
        defects = set()
        for name in names:
            try:
                defects.add(Defect(name))
            except ValueError as exc:
                raise UnknownDefect(name) from exc
        return cls(frozenset(defects))

    def check_applicable(self) -> None:
        for defect in sorted(self.defects, key=lambda d: d.value):
            if defect in NOT_YET_APPLICABLE:
                raise UnsupportedDefect(defect)

    def has(self, defect: Defect) -> bool:
        return defect in self.defects

    def channel_policy(self, policy: Policy) -> Policy:
        """The `Policy` every channel of the node gets: `policy` with the defects' switches off."""
        if self.has(Defect.SKIP_RESERVE_CHECK):
            return dataclasses.replace(policy, enforce_sender_reserve=False, enforce_receiver_reserve=False)
        return policy

    def wrap_signer(self, signer: ChannelSigner) -> ChannelSigner:
        if self.has(Defect.ACCEPT_BAD_COMMITMENT_SIG) or self.has(Defect.WRONG_HTLC_ORDERING):
            return DefectiveSigner(signer, self)
        return signer


# BOLT 2 "Channel Close": the messages of a mutual close negotiation (legacy and option_simple_close)
CLOSE_NEGOTIATION_MESSAGES = frozenset({"shutdown", "closing_signed", "closing_complete", "closing_sig"})


@dataclass
class Controls:
    """Run-time adversarial switches (mutable state, changed by the harness while the node runs)."""

    drop_message_types: set[str] = field(default_factory=set)
    delay_message_types_s: dict[str, float] = field(default_factory=dict)
    withhold_preimages: bool = False
    offline: bool = False

    @property
    def refuse_mutual_close(self) -> bool:
        """Never answer a mutual close: every close negotiation message we would send is dropped, so the
        peer's `shutdown` goes unanswered and it has to close unilaterally."""
        return self.drop_message_types >= CLOSE_NEGOTIATION_MESSAGES

    @refuse_mutual_close.setter
    def refuse_mutual_close(self, refuse: bool) -> None:
        # in place: the harness may have installed a recording set subclass
        if refuse:
            self.drop_message_types |= CLOSE_NEGOTIATION_MESSAGES
        else:
            self.drop_message_types -= CLOSE_NEGOTIATION_MESSAGES


class DefectiveSigner:
    """A `ChannelSigner` that misbehaves as the chosen defects say and delegates everything else."""

    def __init__(self, inner: ChannelSigner, faults: Faults) -> None:
        self._inner = inner
        self._faults = faults

    def basepoints(self) -> Basepoints:
        return self._inner.basepoints()

    def per_commitment_point(self, commitment_number: int) -> bytes:
        return self._inner.per_commitment_point(commitment_number)

    def per_commitment_secret(self, commitment_number: int) -> bytes:
        return self._inner.per_commitment_secret(commitment_number)

    def funding_scriptpubkey(self, local_funding_pubkey: bytes, remote_funding_pubkey: bytes) -> bytes:
        return self._inner.funding_scriptpubkey(local_funding_pubkey, remote_funding_pubkey)

    def sign_commitment(self, funding: FundingInfo, view: CommitmentView) -> CommitmentSignatures:
        sigs = self._inner.sign_commitment(funding, view)
        if self._faults.has(Defect.WRONG_HTLC_ORDERING) and len(sigs.htlc_signatures) > 1:
            return CommitmentSignatures(sigs.signature, tuple(reversed(sigs.htlc_signatures)))
        return sigs

    def verify_commitment(
        self, funding: FundingInfo, view: CommitmentView, sigs: CommitmentSignatures
    ) -> None:
        if self._faults.has(Defect.ACCEPT_BAD_COMMITMENT_SIG):
            return  # the defect: whatever the peer signed is accepted
        self._inner.verify_commitment(funding, view, sigs)

    def signed_local_commitment(
        self, funding: FundingInfo, view: CommitmentView, remote: CommitmentSignatures
    ) -> bytes:
        return self._inner.signed_local_commitment(funding, view, remote)

    def sign_closing(self, funding: FundingInfo, closing: ClosingTxSpec) -> bytes:
        return self._inner.sign_closing(funding, closing)

    def verify_closing(self, funding: FundingInfo, closing: ClosingTxSpec, signature: bytes) -> bool:
        return self._inner.verify_closing(funding, closing, signature)

    def signed_closing(
        self, funding: FundingInfo, closing: ClosingTxSpec, local_sig: bytes, remote_sig: bytes
    ) -> bytes:
        return self._inner.signed_closing(funding, closing, local_sig, remote_sig)
