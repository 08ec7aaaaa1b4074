"""Values shared by the BOLT 3 transaction builders."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from reference_node.bitcoin.tx import OutPoint, Tx


class TransactionBuildError(ValueError):
    """Inputs to a BOLT 3 builder are inconsistent (negative balance, wrong key length, ...)."""


class ChannelType(Enum):
    """The commitment formats this project builds (BOLT 2 `channel_type`, BOLT 9 feature names)."""

    STATIC_REMOTEKEY = "option_static_remotekey"
    ANCHORS = "option_anchors"  # zero-fee HTLC transactions (option_anchors_zero_fee_htlc_tx)

    @property
    def option_anchors(self) -> bool:
        return self is ChannelType.ANCHORS


class HtlcDirection(Enum):
    """Seen from the commitment holder: OFFERED = holder -> other side, RECEIVED = other side -> holder."""

    OFFERED = "offered"
    RECEIVED = "received"


@dataclass(frozen=True)
class Htlc:
    id: int
    direction: HtlcDirection
    amount_msat: int
    payment_hash: bytes
    cltv_expiry: int

    @property
    def amount_sat(self) -> int:
        """BOLT 3: HTLC output amounts are rounded down to whole satoshis."""
        return self.amount_msat // 1000


@dataclass(frozen=True)
class ChannelParams:
    """What stays fixed for one side's commitments of a channel.

    `to_self_delay` is the delay the holder must wait (the value the *other* side chose).
    `holder_is_opener` says who pays the commitment fee and the anchors (BOLT 3 "Fee Payment").
    """

    funding_outpoint: OutPoint
    funding_amount_sat: int
    local_funding_pubkey: bytes
    remote_funding_pubkey: bytes
    to_self_delay: int
    dust_limit_sat: int
    holder_is_opener: bool
    obscuring_factor: int
    channel_type: ChannelType


@dataclass(frozen=True)
class CommitmentSpec:
    """One commitment state from the holder's view (balances before fees and anchors)."""

    commitment_number: int
    to_local_msat: int
    to_remote_msat: int
    feerate_per_kw: int
    htlcs: tuple[Htlc, ...]


class OutputKind(Enum):
    TO_LOCAL = "to_local"
    TO_REMOTE = "to_remote"
    LOCAL_ANCHOR = "to_local_anchor"
    REMOTE_ANCHOR = "to_remote_anchor"
    OFFERED_HTLC = "offered_htlc"
    RECEIVED_HTLC = "received_htlc"


@dataclass(frozen=True)
class CommitmentOutput:
    index: int
    kind: OutputKind
    amount_sat: int
    script_pubkey: bytes
    witness_script: bytes | None  # None for the P2WPKH to_remote
    htlc: Htlc | None


class HtlcTxKind(Enum):
    TIMEOUT = "htlc-timeout"
    SUCCESS = "htlc-success"


@dataclass(frozen=True)
class HtlcTx:
    """An unsigned HTLC-timeout/HTLC-success transaction spending one commitment HTLC output."""

    kind: HtlcTxKind
    htlc: Htlc
    tx: Tx
    commitment_output_index: int
    input_amount_sat: int
    input_witness_script: bytes  # the commitment HTLC output's script (the sighash scriptCode)
    output_witness_script: bytes  # to_local-style script of its own output


@dataclass(frozen=True)
class CommitmentTx:
    """An unsigned commitment transaction and everything needed to sign and resolve it."""

    tx: Tx
    outputs: tuple[CommitmentOutput, ...]
    htlc_txs: tuple[HtlcTx, ...]  # in commitment output order: the order of BOLT 2 `htlc_signatures`
    trimmed_htlcs: tuple[Htlc, ...]
    base_fee_sat: int
    fee_sat: int
    funding_witness_script: bytes
    funding_amount_sat: int

    def output_of(self, kind: OutputKind) -> CommitmentOutput | None:
        for output in self.outputs:
            if output.kind is kind:
                return output
        return None

    def htlc_output(self, htlc_id: int, direction: HtlcDirection) -> CommitmentOutput | None:
        for output in self.outputs:
            if output.htlc is not None and output.htlc.id == htlc_id and output.htlc.direction is direction:
                return output
        return None
