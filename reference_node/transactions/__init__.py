"""BOLT 3 transactions: funding output, commitment (static_remotekey and option_anchors), HTLC-timeout /
HTLC-success, closing transactions, and the BOLT 5 spends of every output. Pure functions over frozen values.

Typical use by the channel state machine (all amounts in the spec's units, `_sat` / `_msat`)::

    params = ChannelParams(funding_outpoint, funding_amount_sat, local_funding_pubkey,
                           remote_funding_pubkey, to_self_delay, dust_limit_sat, holder_is_opener,
                           obscuring_factor(opener_pb, accepter_pb), ChannelType.ANCHORS)
    keys = CommitmentKeys.derive(per_commitment_point, holder_basepoints, counterparty_basepoints)  # keys/
    spec = CommitmentSpec(commitment_number, to_local_msat, to_remote_msat, feerate_per_kw,
                          htlcs=(Htlc(id, HtlcDirection.OFFERED, amount_msat, payment_hash, cltv), ...))
    commitment = build_commitment(params, spec, keys)      # -> CommitmentTx
    commitment.tx                  # unsigned Tx;  commitment.outputs: index -> kind/amount/script/htlc
    commitment.htlc_txs            # unsigned HtlcTx, in output order (= order of `htlc_signatures`)
    sig = sign_commitment(commitment, funding_privkey)            # DER, SIGHASH_ALL
    ok = verify_commitment_signature(commitment, their_funding_pubkey, their_sig)
    htlc_sig = sign_htlc_tx(htlc_tx, htlc_privkey, remote_htlc_sighash_type(channel_type))  # for the peer
    ok = verify_htlc_signature(htlc_tx, their_htlc_pubkey, their_sig, remote_htlc_sighash_type(channel_type))
    signed = finalize_commitment(commitment, local_funding_pubkey, local_sig,
                                 remote_funding_pubkey, remote_sig)
    signed_htlc = finalize_htlc_tx(htlc_tx, remote_sig, local_sig, channel_type, payment_preimage_or_None)

The "holder" is the side whose commitment it is (it can broadcast it); `local_*` in CommitmentKeys is the
holder. To build the peer's commitment, swap roles: holder = peer, to_local = peer's balance, HTLC directions
as seen by the peer, `to_self_delay` = the delay we imposed on the peer, dust limit = peer's.

Modules: types (values), scripts (witness scripts), fees (weights, fees, trimming), commitment, htlc_tx,
signing, funding (funding output, simple funding tx), interactive (v2 dual-funded tx: serial_id order,
per-side weight and fee), closing (legacy and option_simple_close), spends (BOLT 5: every output of
commitment and HTLC transactions, including penalties and anchors).
"""

from reference_node.transactions.commitment import (
    build_commitment,
    commitment_number_from_tx,
    obscured_commitment_number,
    obscuring_factor,
)
from reference_node.transactions.signing import (
    finalize_commitment,
    finalize_htlc_tx,
    remote_htlc_sighash_type,
    sign_commitment,
    sign_htlc_tx,
    verify_commitment_signature,
    verify_htlc_signature,
)
from reference_node.transactions.types import (
    ChannelParams,
    ChannelType,
    CommitmentOutput,
    CommitmentSpec,
    CommitmentTx,
    Htlc,
    HtlcDirection,
    HtlcTx,
    HtlcTxKind,
    OutputKind,
    TransactionBuildError,
)

__all__ = [
    "ChannelParams",
    "ChannelType",
    "CommitmentOutput",
    "CommitmentSpec",
    "CommitmentTx",
    "Htlc",
    "HtlcDirection",
    "HtlcTx",
    "HtlcTxKind",
    "OutputKind",
    "TransactionBuildError",
    "build_commitment",
    "commitment_number_from_tx",
    "finalize_commitment",
    "finalize_htlc_tx",
    "obscured_commitment_number",
    "obscuring_factor",
    "remote_htlc_sighash_type",
    "sign_commitment",
    "sign_htlc_tx",
    "verify_commitment_signature",
    "verify_htlc_signature",
]
