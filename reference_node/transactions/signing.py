"""Signing and verifying BOLT 3 transactions (BIP143, DER signatures without the sighash byte)."""

from __future__ import annotations

from reference_node.bitcoin.ecdsa import sign_digest, verify_digest
from reference_node.bitcoin.sighash import SighashType, bip143_sighash
from reference_node.bitcoin.tx import Tx
from reference_node.transactions.types import (
    ChannelType,
    CommitmentTx,
    HtlcTx,
    HtlcTxKind,
    TransactionBuildError,
)


def sign_input(
    tx: Tx,
    input_index: int,
    script_code: bytes,
    amount_sat: int,
    privkey: bytes,
    sighash_type: int = SighashType.ALL,
) -> bytes:
    """DER signature (no sighash byte) of a segwit v0 input."""
    return sign_digest(privkey, bip143_sighash(tx, input_index, script_code, amount_sat, sighash_type))


def verify_input(
    tx: Tx,
    input_index: int,
    script_code: bytes,
    amount_sat: int,
    pubkey: bytes,
    der_signature: bytes,
    sighash_type: int = SighashType.ALL,
) -> bool:
    digest = bip143_sighash(tx, input_index, script_code, amount_sat, sighash_type)
    return verify_digest(pubkey, der_signature, digest)


def with_sighash(der_signature: bytes, sighash_type: int) -> bytes:
    """A witness signature: DER followed by the sighash type byte."""
    return der_signature + bytes((sighash_type,))


# -- funding-output spends (commitment and closing transactions) -----------------------------------
def sign_funding_spend(
    tx: Tx, funding_witness_script: bytes, funding_amount_sat: int, funding_privkey: bytes
) -> bytes:
    return sign_input(tx, 0, funding_witness_script, funding_amount_sat, funding_privkey)


def verify_funding_spend(
    tx: Tx,
    funding_witness_script: bytes,
    funding_amount_sat: int,
    funding_pubkey: bytes,
    der_signature: bytes,
) -> bool:
    return verify_input(tx, 0, funding_witness_script, funding_amount_sat, funding_pubkey, der_signature)


def funding_witness(
    funding_witness_script: bytes,
    local_funding_pubkey: bytes,
    local_signature: bytes,
    remote_funding_pubkey: bytes,
    remote_signature: bytes,
) -> tuple[bytes, ...]:
    """`0 <signature_for_pubkey1> <signature_for_pubkey2>`: pubkey1 is the lesser funding key."""
    by_key = {local_funding_pubkey: local_signature, remote_funding_pubkey: remote_signature}
    if len(by_key) != 2:
        raise TransactionBuildError("both funding pubkeys are the same key")
    first, second = sorted(by_key)
    return (
        b"",
        with_sighash(by_key[first], SighashType.ALL),
        with_sighash(by_key[second], SighashType.ALL),
        funding_witness_script,
    )


def sign_commitment(commitment: CommitmentTx, funding_privkey: bytes) -> bytes:
    return sign_funding_spend(
        commitment.tx, commitment.funding_witness_script, commitment.funding_amount_sat, funding_privkey
    )


def verify_commitment_signature(
    commitment: CommitmentTx, funding_pubkey: bytes, der_signature: bytes
) -> bool:
    return verify_funding_spend(
        commitment.tx,
        commitment.funding_witness_script,
        commitment.funding_amount_sat,
        funding_pubkey,
        der_signature,
    )


def finalize_commitment(
    commitment: CommitmentTx,
    local_funding_pubkey: bytes,
    local_signature: bytes,
    remote_funding_pubkey: bytes,
    remote_signature: bytes,
) -> Tx:
    """The broadcastable commitment transaction."""
    witness = funding_witness(
        commitment.funding_witness_script,
        local_funding_pubkey,
        local_signature,
        remote_funding_pubkey,
        remote_signature,
    )
    return commitment.tx.with_witness(0, witness)


# -- HTLC second-stage transactions ----------------------------------------------------------------
def remote_htlc_sighash_type(channel_type: ChannelType) -> SighashType:
    """BOLT 3/5: with option_anchors the counterparty signs HTLC transactions SIGHASH_SINGLE|ANYONECANPAY,
    so the holder can attach inputs and outputs to pay the fee."""
    return SighashType.SINGLE_ANYONECANPAY if channel_type.option_anchors else SighashType.ALL


def sign_htlc_tx(htlc_tx: HtlcTx, htlc_privkey: bytes, sighash_type: int) -> bytes:
    """The holder signs with ALL; the counterparty with `remote_htlc_sighash_type(channel_type)`."""
    return sign_input(
        htlc_tx.tx, 0, htlc_tx.input_witness_script, htlc_tx.input_amount_sat, htlc_privkey, sighash_type
    )


def verify_htlc_signature(
    htlc_tx: HtlcTx, htlc_pubkey: bytes, der_signature: bytes, sighash_type: int
) -> bool:
    return verify_input(
        htlc_tx.tx,
        0,
        htlc_tx.input_witness_script,
        htlc_tx.input_amount_sat,
        htlc_pubkey,
        der_signature,
        sighash_type,
    )


def finalize_htlc_tx(
    htlc_tx: HtlcTx,
    remote_signature: bytes,
    local_signature: bytes,
    channel_type: ChannelType,
    payment_preimage: bytes | None = None,
) -> Tx:
    """Witness `0 <remotehtlcsig> <localhtlcsig> <payment_preimage>` (success) or `... <>` (timeout)."""
    if htlc_tx.kind is HtlcTxKind.SUCCESS:
        if payment_preimage is None or len(payment_preimage) != 32:
            raise TransactionBuildError("an HTLC-success transaction needs the 32-byte payment_preimage")
        last = payment_preimage
    else:
        last = b""
    witness = (
        b"",
        with_sighash(remote_signature, remote_htlc_sighash_type(channel_type)),
        with_sighash(local_signature, SighashType.ALL),
        last,
        htlc_tx.input_witness_script,
    )
    return htlc_tx.tx.with_witness(0, witness)
