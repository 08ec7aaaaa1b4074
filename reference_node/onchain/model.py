"""Values of BOLT 5 on-chain handling: what the monitor is told, what it reports, and its errors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from reference_node.bitcoin.tx import OutPoint

# BOLT 5 "General Nomenclature": an output is *irrevocably resolved* once its resolving transaction is
# "included in a block at least 100 deep".
IRREVOCABLE_DEPTH = 100
# BOLT 2 "cltv_expiry_delta Selection": G, "1 or 2 blocks is reasonable" (deadline for offered HTLCs).
DEFAULT_GRACE_BLOCKS = 2
# BOLT 2: the fulfillment deadline, `2R+G+S` blocks before cltv_expiry, "18 blocks is reasonable".
DEFAULT_FULFILLMENT_DEADLINE_BLOCKS = 18
# The smallest wallet coin worth handing over for fees: a zero-fee HTLC transaction or an anchor child at a
# high feerate, plus a change output above dust.
FEE_INPUT_MIN_SAT = 20_000


class OnchainError(Exception):
    """Base class of the on-chain monitor's errors."""


class UnknownCommitment(OnchainError):
    """A commitment number was asked for that the monitor never recorded."""

    def __init__(self, holder: str, commitment_number: int) -> None:
        super().__init__(f"no {holder} commitment number {commitment_number} recorded")
        self.holder = holder
        self.commitment_number = commitment_number


class NotRevoked(OnchainError):
    """A revoked commitment was asked for, but that commitment is still current (or never existed)."""


class FeeInputError(OnchainError):
    """A fee input cannot pay what a zero-fee HTLC transaction or an anchor spend needs."""


class CloseKind(Enum):
    """Which transaction spent the funding output (BOLT 5 "General Nomenclature")."""

    MUTUAL = "mutual"  # a closing transaction (or anything that is not a commitment we know)
    LOCAL = "local"  # our latest commitment
    LOCAL_REVOKED = "local_revoked"  # one of our own revoked commitments (a dev-breach of this node)
    REMOTE = "remote"  # their current commitment
    REMOTE_NEXT = "remote_next"  # their next commitment (signed by us, not yet revoked the previous)
    REVOKED = "revoked"  # one of their revoked commitments: a breach


class ClaimKind(Enum):
    """How one output is resolved by us (each names the BOLT 5 rule it follows)."""

    TO_LOCAL_DELAYED = "to_local_delayed"  # our to_local after to_self_delay
    HTLC_TIMEOUT_TX = "htlc_timeout_tx"  # our offered HTLC on our commitment: HTLC-timeout tx
    HTLC_SUCCESS_TX = "htlc_success_tx"  # their offered HTLC on our commitment: HTLC-success tx
    HTLC_TX_OUTPUT = "htlc_tx_output"  # output of our HTLC-timeout/success tx after to_self_delay
    TO_REMOTE = "to_remote"  # our main output on their commitment
    REMOTE_OFFERED_PREIMAGE = "remote_offered_preimage"  # their offered HTLC on their commitment
    REMOTE_RECEIVED_TIMEOUT = "remote_received_timeout"  # our offered HTLC on their commitment
    REVOKED_TO_LOCAL = "revoked_to_local"  # penalty: their to_local
    REVOKED_HTLC = "revoked_htlc"  # penalty: an HTLC output of a revoked commitment
    REVOKED_HTLC_TX_OUTPUT = "revoked_htlc_tx_output"  # penalty: output of their second-stage tx
    ANCHOR = "anchor"  # either anchor: ours with our key, theirs by anyone after 16 blocks
    NONE = "none"  # not ours to claim (resolved by the commitment itself)


@dataclass(frozen=True)
class FeeInput:
    """A P2WPKH wallet coin the node hands the monitor to pay for zero-fee HTLC transactions and anchor
    CPFP (BOLT 5: they "MUST be combined with other inputs to arrive at a reasonable fee")."""

    outpoint: OutPoint
    amount_sat: int
    privkey: bytes  # P2WPKH key of the coin; never logged
    change_script: bytes

    def __repr__(self) -> str:
        return f"FeeInput({self.outpoint.txid_hex}:{self.outpoint.index}, {self.amount_sat} sat)"


# -- what the monitor asks its caller to do, and what it reports -------------------------------------------
@dataclass(frozen=True)
class OnchainAction:
    pass


@dataclass(frozen=True)
class BroadcastTx(OnchainAction):
    """Broadcast (again: rebroadcasting an already known transaction is harmless)."""

    tx: bytes
    description: str
    requirements: tuple[str, ...]  # BOLT 5 requirement ids this transaction carries out


@dataclass(frozen=True)
class FeeInputNeeded(OnchainAction):
    """A zero-fee HTLC transaction or an anchor spend waits for a wallet coin (`add_fee_input`)."""

    min_amount_sat: int
    purpose: str


@dataclass(frozen=True)
class ChannelCloseSeen(OnchainAction):
    kind: CloseKind
    txid: bytes
    commitment_number: int | None


@dataclass(frozen=True)
class PreimageLearned(OnchainAction):
    """A preimage seen in a witness on chain: settle the upstream HTLC with it (BOLT 5: "MUST extract
    the payment preimage from the transaction input witness")."""

    payment_hash: bytes
    payment_preimage: bytes


@dataclass(frozen=True)
class HtlcResolvedOnchain(OnchainAction):
    """An HTLC of the closed channel is settled on chain: `offered_by_us` HTLCs that timed out (or were
    trimmed) fail upstream; received ones we claimed are paid."""

    htlc_id: int
    offered_by_us: bool
    payment_hash: bytes
    fulfilled: bool


@dataclass(frozen=True)
class ChannelResolved(OnchainAction):
    """Every output is irrevocably resolved: the channel may be forgotten."""

    closing_txid: bytes
    kind: CloseKind


@dataclass(frozen=True)
class GoOnchain(OnchainAction):
    """An HTLC is past its BOLT 2 deadline: fail the channel (broadcast our commitment)."""

    reason: str
    requirement: str
