"""`ChannelSigner` over reference_node.keys and reference_node.transactions (BOLT 3).

All our channel secrets come from one channel seed (`ChannelKeys.from_seed`); the node keeps the seed in its
key store and rebuilds the signer after a restart. Signatures cross the wire as 64-byte compact values
(BOLT 1 `signature`); the transactions package works in DER.
"""

from __future__ import annotations

from reference_node.bitcoin.ecdsa import compact_to_der, der_to_compact
from reference_node.bitcoin.errors import SignatureError
from reference_node.bitcoin.tx import OutPoint, Tx, TxIn, TxOut
from reference_node.channel.fees import tx_channel_type
from reference_node.channel.params import Basepoints, Side
from reference_node.channel.signer import (
    ClosingTxSpec,
    CommitmentSignatureError,
    CommitmentSignatures,
    CommitmentView,
    FundingInfo,
    HtlcSignatureError,
)
from reference_node.keys.channel_keys import ChannelBasepoints, ChannelKeys, CommitmentKeys
from reference_node.transactions import (
    ChannelParams,
    CommitmentSpec,
    CommitmentTx,
    Htlc,
    HtlcDirection,
    build_commitment,
    finalize_commitment,
    obscuring_factor,
    remote_htlc_sighash_type,
    sign_commitment,
    sign_htlc_tx,
    verify_commitment_signature,
    verify_htlc_signature,
)
from reference_node.transactions.funding import funding_script_pubkey
from reference_node.transactions.scripts import funding_script
from reference_node.transactions.signing import funding_witness, sign_funding_spend, verify_funding_spend

CLOSING_TX_VERSION = 2


def _tx_basepoints(bp: Basepoints) -> ChannelBasepoints:
    return ChannelBasepoints(
        bp.funding_pubkey,
        bp.revocation_basepoint,
        bp.payment_basepoint,
        bp.delayed_payment_basepoint,
        bp.htlc_basepoint,
    )


class Bolt3Signer:
    def __init__(self, channel_seed: bytes) -> None:
        self._keys = ChannelKeys.from_seed(channel_seed)

    def __repr__(self) -> str:
        return f"Bolt3Signer({self._keys!r})"

    def basepoints(self) -> Basepoints:
        bp = self._keys.basepoints()
        return Basepoints(
            bp.funding_pubkey,
            bp.revocation_basepoint,
            bp.payment_basepoint,
            bp.delayed_payment_basepoint,
            bp.htlc_basepoint,
        )

    def per_commitment_point(self, commitment_number: int) -> bytes:
        return self._keys.per_commitment_point(commitment_number)

    def per_commitment_secret(self, commitment_number: int) -> bytes:
        return self._keys.per_commitment_secret(commitment_number)

    def funding_scriptpubkey(self, local_funding_pubkey: bytes, remote_funding_pubkey: bytes) -> bytes:
        return funding_script_pubkey(local_funding_pubkey, remote_funding_pubkey)

    # -- commitments ---------------------------------------------------------------------------------

    def build(self, funding: FundingInfo, view: CommitmentView) -> tuple[CommitmentTx, CommitmentKeys]:
        """The holder's commitment transaction for `view` (BOLT 3 "Commitment Transaction Construction")."""
        holder_local = view.holder is Side.LOCAL
        holder_bp = funding.local_basepoints if holder_local else funding.remote_basepoints
        other_bp = funding.remote_basepoints if holder_local else funding.local_basepoints
        holder_params = funding.local_params if holder_local else funding.remote_params
        other_params = funding.remote_params if holder_local else funding.local_params
        opener_bp = funding.local_basepoints if funding.opener is Side.LOCAL else funding.remote_basepoints
        accepter_bp = funding.remote_basepoints if funding.opener is Side.LOCAL else funding.local_basepoints
        params = ChannelParams(
            funding_outpoint=OutPoint(funding.funding_txid, funding.funding_output_index),
            funding_amount_sat=funding.funding_satoshis,
            local_funding_pubkey=holder_bp.funding_pubkey,
            remote_funding_pubkey=other_bp.funding_pubkey,
            # the delay the holder waits is the one the other side imposed
            to_self_delay=other_params.to_self_delay,
            dust_limit_sat=holder_params.dust_limit_satoshis,
            holder_is_opener=funding.opener is view.holder,
            obscuring_factor=obscuring_factor(opener_bp.payment_basepoint, accepter_bp.payment_basepoint),
            channel_type=tx_channel_type(funding.channel_type.anchors),
        )
        keys = CommitmentKeys.derive(
            view.per_commitment_point, _tx_basepoints(holder_bp), _tx_basepoints(other_bp)
        )
        spec = CommitmentSpec(
            commitment_number=view.commitment_number,
            to_local_msat=view.to_local_msat,
            to_remote_msat=view.to_remote_msat,
            feerate_per_kw=view.feerate_per_kw,
            htlcs=tuple(
                Htlc(
                    h.htlc_id,
                    HtlcDirection.OFFERED if h.offered else HtlcDirection.RECEIVED,
                    h.amount_msat,
                    h.payment_hash,
                    h.cltv_expiry,
                )
                for h in view.htlcs
            ),
        )
        return build_commitment(params, spec, keys), keys

    def sign_commitment(self, funding: FundingInfo, view: CommitmentView) -> CommitmentSignatures:
        commitment, _ = self.build(funding, view)
        signature = sign_commitment(commitment, self._keys.funding_privkey)
        # our HTLC key for the peer's commitment is derived with the peer's per-commitment point
        htlc_privkey = self._keys.htlc_privkey(view.per_commitment_point)
        sighash = remote_htlc_sighash_type(tx_channel_type(funding.channel_type.anchors))
        htlc_signatures = tuple(
            der_to_compact(sign_htlc_tx(htlc_tx, htlc_privkey, sighash)) for htlc_tx in commitment.htlc_txs
        )
        return CommitmentSignatures(der_to_compact(signature), htlc_signatures)

    def verify_commitment(
        self, funding: FundingInfo, view: CommitmentView, sigs: CommitmentSignatures
    ) -> None:
        commitment, keys = self.build(funding, view)
        remote_funding_pubkey = funding.remote_basepoints.funding_pubkey
        der = _der_or_none(sigs.signature)
        if der is None or not verify_commitment_signature(commitment, remote_funding_pubkey, der):
            raise CommitmentSignatureError(f"signature invalid for commitment {view.commitment_number}")
        if len(sigs.htlc_signatures) != len(commitment.htlc_txs):
            raise HtlcSignatureError(len(commitment.htlc_txs))
        sighash = remote_htlc_sighash_type(tx_channel_type(funding.channel_type.anchors))
        for index, (htlc_tx, signature) in enumerate(
            zip(commitment.htlc_txs, sigs.htlc_signatures, strict=True)
        ):
            der = _der_or_none(signature)
            if der is None or not verify_htlc_signature(htlc_tx, keys.remote_htlcpubkey, der, sighash):
                raise HtlcSignatureError(index)

    def signed_local_commitment(
        self, funding: FundingInfo, view: CommitmentView, remote: CommitmentSignatures
    ) -> bytes:
        commitment, _ = self.build(funding, view)
        local_signature = sign_commitment(commitment, self._keys.funding_privkey)
        tx = finalize_commitment(
            commitment,
            funding.local_basepoints.funding_pubkey,
            local_signature,
            funding.remote_basepoints.funding_pubkey,
            compact_to_der(remote.signature),
        )
        return tx.serialize()

    # -- closing -------------------------------------------------------------------------------------

    def closing_tx(self, funding: FundingInfo, closing: ClosingTxSpec) -> Tx:
        """BOLT 3 closing transaction: version 2, one funding input, outputs in BIP69 order."""
        outputs = sorted(
            (TxOut(o.amount_sat, o.scriptpubkey) for o in closing.outputs),
            key=lambda o: (o.amount_sat, o.script_pubkey),
        )
        return Tx(
            CLOSING_TX_VERSION,
            (TxIn(OutPoint(funding.funding_txid, funding.funding_output_index), closing.sequence),),
            tuple(outputs),
            closing.locktime,
        )

    def _witness_script(self, funding: FundingInfo) -> bytes:
        return funding_script(
            funding.local_basepoints.funding_pubkey, funding.remote_basepoints.funding_pubkey
        )

    def sign_closing(self, funding: FundingInfo, closing: ClosingTxSpec) -> bytes:
        tx = self.closing_tx(funding, closing)
        der = sign_funding_spend(
            tx, self._witness_script(funding), funding.funding_satoshis, self._keys.funding_privkey
        )
        return der_to_compact(der)

    def verify_closing(self, funding: FundingInfo, closing: ClosingTxSpec, signature: bytes) -> bool:
        tx = self.closing_tx(funding, closing)
        der = _der_or_none(signature)
        if der is None:
            return False
        return verify_funding_spend(
            tx,
            self._witness_script(funding),
            funding.funding_satoshis,
            funding.remote_basepoints.funding_pubkey,
            der,
        )

    def signed_closing(
        self, funding: FundingInfo, closing: ClosingTxSpec, local_sig: bytes, remote_sig: bytes
    ) -> bytes:
        tx = self.closing_tx(funding, closing)
        witness = funding_witness(
            self._witness_script(funding),
            funding.local_basepoints.funding_pubkey,
            compact_to_der(local_sig),
            funding.remote_basepoints.funding_pubkey,
            compact_to_der(remote_sig),
        )
        return tx.with_witness(0, witness).serialize()


def _der_or_none(signature: bytes) -> bytes | None:
    """A compact signature as DER, or None if it is not a valid (r, s) pair."""
    try:
        return compact_to_der(signature)
    except SignatureError:
        return None
