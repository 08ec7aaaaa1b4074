"""Which transaction spent the funding output (BOLT 5 "General Nomenclature"): a mutual close, our latest
commitment, their current or next commitment, or a revoked commitment.

A commitment transaction carries its obscured commitment number in locktime and sequence (BOLT 3), so the
candidate record is found without trying them all; it is then rebuilt and must match byte for byte (txid).
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.bitcoin.tx import Tx
from reference_node.channel.bolt3_signer import Bolt3Signer
from reference_node.channel.params import Side
from reference_node.channel.signer import CommitmentView, FundingInfo
from reference_node.keys.channel_keys import CommitmentKeys
from reference_node.onchain.model import CloseKind
from reference_node.onchain.records import ChannelRecords
from reference_node.transactions import CommitmentTx, commitment_number_from_tx, obscuring_factor


@dataclass(frozen=True)
class BuiltCommitment:
    """A commitment rebuilt from its record: outputs, scripts, keys and unsigned HTLC transactions."""

    view: CommitmentView
    commitment: CommitmentTx
    keys: CommitmentKeys


@dataclass(frozen=True)
class Classified:
    kind: CloseKind
    tx: Tx
    built: BuiltCommitment | None  # None for a mutual close
    revocation_secret: bytes | None  # the peer's per-commitment secret, for REVOKED

    @property
    def commitment_number(self) -> int | None:
        return None if self.built is None else self.built.view.commitment_number


def funding_obscuring_factor(funding: FundingInfo) -> int:
    opener = funding.local_basepoints if funding.opener is Side.LOCAL else funding.remote_basepoints
    accepter = funding.remote_basepoints if funding.opener is Side.LOCAL else funding.local_basepoints
    return obscuring_factor(opener.payment_basepoint, accepter.payment_basepoint)


def build(builder: Bolt3Signer, funding: FundingInfo, view: CommitmentView) -> BuiltCommitment:
    commitment, keys = builder.build(funding, view)
    return BuiltCommitment(view, commitment, keys)


def spends_funding(tx: Tx, funding: FundingInfo) -> bool:
    return any(
        i.prevout.txid == funding.funding_txid and i.prevout.index == funding.funding_output_index
        for i in tx.inputs
    )


def classify(tx: Tx, records: ChannelRecords, builder: Bolt3Signer) -> Classified:
    """Identify a transaction spending the funding output."""
    funding = records.funding
    if funding is None or len(tx.inputs) != 1:
        return Classified(CloseKind.MUTUAL, tx, None, None)
    number = commitment_number_from_tx(tx, funding_obscuring_factor(funding))
    txid = tx.txid()
    local = records.local_record(number)
    if local is not None:
        built = build(builder, funding, local.view)
        if built.commitment.tx.txid() == txid:
            kind = CloseKind.LOCAL if number == records.local_current_number else CloseKind.LOCAL_REVOKED
            return Classified(kind, tx, built, None)
    remote = records.remote_view(number)
    if remote is not None:
        built = build(builder, funding, remote)
        if built.commitment.tx.txid() == txid:
            secret = records.secret_of(number)
            if secret is not None:
                return Classified(CloseKind.REVOKED, tx, built, secret)
            kind = CloseKind.REMOTE_NEXT if number == records.remote_next_number else CloseKind.REMOTE
            return Classified(kind, tx, built, None)
    return Classified(CloseKind.MUTUAL, tx, None, None)
