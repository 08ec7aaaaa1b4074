"""The narrow interface between the channel machine and BOLT 3 (keys, secrets, transactions, signatures).

The machine only decides WHAT each commitment contains (`CommitmentView`) and WHEN to sign or verify; building
the transactions, deriving keys and producing signatures is the signer's job. `bolt3_signer.Bolt3Signer`
implements this over reference_node.keys / reference_node.transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from reference_node.channel.params import Basepoints, ChannelParams, ChannelType, Side


@dataclass(frozen=True)
class FundingInfo:
    """Everything about a channel fixed once funding_created is sent/received."""

    funding_txid: bytes  # internal byte order, as in funding_created
    funding_output_index: int
    funding_satoshis: int
    opener: Side
    channel_type: ChannelType
    local_params: ChannelParams
    remote_params: ChannelParams
    local_basepoints: Basepoints
    remote_basepoints: Basepoints


@dataclass(frozen=True)
class HtlcOutput:
    """One HTLC of a commitment, from the holder's point of view."""

    htlc_id: int
    offered: bool  # offered by the commitment's holder
    amount_msat: int
    payment_hash: bytes
    cltv_expiry: int


@dataclass(frozen=True)
class CommitmentView:
    """One side's commitment transaction, as a spec: BOLT 3 turns it into a transaction."""

    holder: Side
    commitment_number: int
    per_commitment_point: bytes  # the holder's
    to_local_msat: int  # the holder's balance, before the funder pays fees and anchors
    to_remote_msat: int
    feerate_per_kw: int
    htlcs: tuple[HtlcOutput, ...]


@dataclass(frozen=True)
class CommitmentSignatures:
    signature: bytes  # 64-byte compact, over the commitment transaction
    htlc_signatures: tuple[bytes, ...]  # one per untrimmed HTLC, in commitment output order


@dataclass(frozen=True)
class ClosingOutput:
    scriptpubkey: bytes
    amount_sat: int


@dataclass(frozen=True)
class ClosingTxSpec:
    """A mutual closing transaction (BOLT 3 "Legacy Closing Transaction" / "Closing Transaction")."""

    outputs: tuple[ClosingOutput, ...]
    locktime: int
    sequence: int


class CommitmentSignatureError(Exception):
    """The commitment signature does not verify."""


class HtlcSignatureError(Exception):
    def __init__(self, index: int) -> None:
        super().__init__(f"htlc_signature #{index} does not verify")
        self.index = index


class ChannelSigner(Protocol):
    def basepoints(self) -> Basepoints: ...

    def per_commitment_point(self, commitment_number: int) -> bytes: ...

    def per_commitment_secret(self, commitment_number: int) -> bytes: ...

    def funding_scriptpubkey(self, local_funding_pubkey: bytes, remote_funding_pubkey: bytes) -> bytes: ...

    def sign_commitment(self, funding: FundingInfo, view: CommitmentView) -> CommitmentSignatures:
        """Sign the REMOTE holder's commitment (and its HTLC transactions)."""
        ...

    def verify_commitment(
        self, funding: FundingInfo, view: CommitmentView, sigs: CommitmentSignatures
    ) -> None:
        """Check the peer's signatures on OUR commitment; raise CommitmentSignatureError or
        HtlcSignatureError."""
        ...

    def signed_local_commitment(
        self, funding: FundingInfo, view: CommitmentView, remote: CommitmentSignatures
    ) -> bytes:
        """Our latest commitment, fully signed, serialized (for a unilateral close)."""
        ...

    def sign_closing(self, funding: FundingInfo, closing: ClosingTxSpec) -> bytes: ...

    def verify_closing(self, funding: FundingInfo, closing: ClosingTxSpec, signature: bytes) -> bool: ...

    def signed_closing(
        self, funding: FundingInfo, closing: ClosingTxSpec, local_sig: bytes, remote_sig: bytes
    ) -> bytes: ...


class RevocationStore(Protocol):
    """The receiver's store of the peer's per-commitment secrets (BOLT 3 "Efficient Per-commitment Secret
    Storage"); `add` raises ValueError when a secret is inconsistent with earlier ones."""

    def add(self, commitment_number: int, secret: bytes) -> None: ...

    def get(self, commitment_number: int) -> bytes | None: ...

    def to_json(self) -> object: ...
