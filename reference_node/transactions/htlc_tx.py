"""BOLT 3 "HTLC-Timeout and HTLC-Success Transactions"."""

from __future__ import annotations

from reference_node.bitcoin.address import p2wsh_script
from reference_node.bitcoin.tx import OutPoint, Tx, TxIn, TxOut
from reference_node.keys.channel_keys import CommitmentKeys
from reference_node.transactions.fees import htlc_tx_fee_sat
from reference_node.transactions.scripts import to_local_script
from reference_node.transactions.types import (
    ChannelParams,
    CommitmentOutput,
    HtlcDirection,
    HtlcTx,
    HtlcTxKind,
    TransactionBuildError,
)

HTLC_TX_VERSION = 2


def build_htlc_tx(
    commitment_txid: bytes,
    output: CommitmentOutput,
    params: ChannelParams,
    feerate_per_kw: int,
    keys: CommitmentKeys,
    output_witness_script: bytes | None = None,
) -> HtlcTx:
    """The unsigned second-stage transaction for one HTLC output of the holder's commitment.

    `output_witness_script` (the to_local-style script, the same for every HTLC of a commitment) may be
    passed in to avoid rebuilding it per HTLC.

    locktime is cltv_expiry for HTLC-timeout and 0 for HTLC-success; sequence is 0, or 1 with option_anchors.
    """
    htlc = output.htlc
    if htlc is None or output.witness_script is None:
        raise TransactionBuildError(f"commitment output {output.index} is not an HTLC output")
    channel_type = params.channel_type
    offered = htlc.direction is HtlcDirection.OFFERED
    amount_sat = htlc.amount_sat - htlc_tx_fee_sat(htlc.direction, feerate_per_kw, channel_type)
    script = output_witness_script or to_local_script(
        keys.revocation_pubkey, params.to_self_delay, keys.local_delayedpubkey
    )
    tx = Tx(
        version=HTLC_TX_VERSION,
        inputs=(TxIn(OutPoint(commitment_txid, output.index), 1 if channel_type.option_anchors else 0),),
        outputs=(TxOut(amount_sat, p2wsh_script(script)),),
        locktime=htlc.cltv_expiry if offered else 0,
    )
    return HtlcTx(
        kind=HtlcTxKind.TIMEOUT if offered else HtlcTxKind.SUCCESS,
        htlc=htlc,
        tx=tx,
        commitment_output_index=output.index,
        input_amount_sat=output.amount_sat,
        input_witness_script=output.witness_script,
        output_witness_script=script,
    )
