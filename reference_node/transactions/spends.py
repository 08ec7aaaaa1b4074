"""The spends BOLT 5 needs, for every output of commitment and HTLC transactions.

Each `spend_*` function returns a signed one-input, one-output transaction paying `destination_script`
(amount minus `fee_sat`). The building blocks (`sweep_tx`, `sign_sweep`, `witness_*`) are public so that
callers can batch inputs or build deliberately wrong spends in tests.
Witness stacks follow BOLT 3 (the witness script is always the last item of a P2WSH spend).
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.bitcoin.address import p2pkh_script
from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.bitcoin.sighash import SighashType
from reference_node.bitcoin.tx import OutPoint, Tx, TxIn, TxOut
from reference_node.transactions.scripts import ANCHOR_ANYONE_CSV
from reference_node.transactions.signing import sign_input, with_sighash
from reference_node.transactions.types import ChannelType, TransactionBuildError

SWEEP_TX_VERSION = 2  # BIP68 relative locktimes (CSV) need version >= 2
# BOLT 3: with option_anchors, to_remote and the remote side's HTLC spends carry a 1-block CSV.
ANCHORS_CSV = 1


@dataclass(frozen=True)
class SpentOutput:
    """An output to spend: where it is, its value and (P2WSH) its witness script."""

    outpoint: OutPoint
    amount_sat: int
    witness_script: bytes | None  # None for P2WPKH


def sweep_tx(
    spent: SpentOutput, destination_script: bytes, fee_sat: int, sequence: int, locktime: int = 0
) -> Tx:
    amount_sat = spent.amount_sat - fee_sat
    if amount_sat < 0:
        raise TransactionBuildError(f"fee {fee_sat} sat exceeds the spent output's {spent.amount_sat} sat")
    return Tx(
        version=SWEEP_TX_VERSION,
        inputs=(TxIn(spent.outpoint, sequence),),
        outputs=(TxOut(amount_sat, destination_script),),
        locktime=locktime,
    )


def sign_sweep(tx: Tx, spent: SpentOutput, privkey: bytes, input_index: int = 0) -> bytes:
    """Witness signature (DER + SIGHASH_ALL byte). For P2WPKH the scriptCode is the P2PKH script."""
    script_code = spent.witness_script or p2pkh_script(public_key_of(privkey))
    der = sign_input(tx, input_index, script_code, spent.amount_sat, privkey, SighashType.ALL)
    return with_sighash(der, SighashType.ALL)


# -- witness stacks (BOLT 3) -----------------------------------------------------------------------
def witness_to_local_delayed(signature: bytes, witness_script: bytes) -> tuple[bytes, ...]:
    """to_local / HTLC-tx output after `to_self_delay`: `<local_delayedsig> <>`."""
    return (signature, b"", witness_script)


def witness_revoked_to_local(signature: bytes, witness_script: bytes) -> tuple[bytes, ...]:
    """to_local / HTLC-tx output with the revocation key: `<revocation_sig> 1`."""
    return (signature, b"\x01", witness_script)


def witness_to_remote_p2wpkh(signature: bytes, remotepubkey: bytes) -> tuple[bytes, ...]:
    return (signature, remotepubkey)


def witness_to_remote_anchors(signature: bytes, witness_script: bytes) -> tuple[bytes, ...]:
    """`<remote_sig>`, spent with nSequence 1."""
    return (signature, witness_script)


def witness_anchor_owner(signature: bytes, witness_script: bytes) -> tuple[bytes, ...]:
    return (signature, witness_script)


def witness_anchor_anyone(witness_script: bytes) -> tuple[bytes, ...]:
    """After 16 blocks anyone may sweep an anchor with `<>`."""
    return (b"", witness_script)


def witness_htlc_revoked(
    signature: bytes, revocation_pubkey: bytes, witness_script: bytes
) -> tuple[bytes, ...]:
    """Offered or received HTLC output of a revoked commitment: `<revocation_sig> <revocationpubkey>`."""
    return (signature, revocation_pubkey, witness_script)


def witness_offered_htlc_preimage(
    signature: bytes, payment_preimage: bytes, witness_script: bytes
) -> tuple[bytes, ...]:
    """The remote node claims an offered HTLC with the preimage: `<remotehtlcsig> <payment_preimage>`."""
    return (signature, payment_preimage, witness_script)


def witness_received_htlc_timeout(signature: bytes, witness_script: bytes) -> tuple[bytes, ...]:
    """The remote node times out a received HTLC: `<remotehtlcsig> <>`, locktime cltv_expiry."""
    return (signature, b"", witness_script)


# -- complete spends -------------------------------------------------------------------------------
def _script(spent: SpentOutput) -> bytes:
    if spent.witness_script is None:
        raise TransactionBuildError(
            f"output {spent.outpoint.txid_hex}:{spent.outpoint.index} needs its witness script"
        )
    return spent.witness_script


def _remote_side_sequence(channel_type: ChannelType) -> int:
    return ANCHORS_CSV if channel_type.option_anchors else 0


def spend_to_local_delayed(
    spent: SpentOutput,
    to_self_delay: int,
    local_delayed_privkey: bytes,
    destination_script: bytes,
    fee_sat: int,
) -> Tx:
    """to_local of our commitment, or the output of our HTLC-timeout/success tx, after the CSV delay."""
    tx = sweep_tx(spent, destination_script, fee_sat, sequence=to_self_delay)
    return tx.with_witness(
        0, witness_to_local_delayed(sign_sweep(tx, spent, local_delayed_privkey), _script(spent))
    )


def spend_revoked_to_local(
    spent: SpentOutput, revocation_privkey: bytes, destination_script: bytes, fee_sat: int
) -> Tx:
    """Penalty: to_local of a revoked commitment, or the output of a revoked HTLC tx."""
    tx = sweep_tx(spent, destination_script, fee_sat, sequence=0xFFFFFFFD)
    return tx.with_witness(
        0, witness_revoked_to_local(sign_sweep(tx, spent, revocation_privkey), _script(spent))
    )


def spend_to_remote(
    spent: SpentOutput,
    remote_privkey: bytes,
    channel_type: ChannelType,
    destination_script: bytes,
    fee_sat: int,
) -> Tx:
    """Our to_remote output on the peer's commitment (P2WPKH, or 1-block CSV P2WSH with anchors)."""
    if channel_type.option_anchors:
        tx = sweep_tx(spent, destination_script, fee_sat, sequence=ANCHORS_CSV)
        return tx.with_witness(
            0, witness_to_remote_anchors(sign_sweep(tx, spent, remote_privkey), _script(spent))
        )
    tx = sweep_tx(spent, destination_script, fee_sat, sequence=0xFFFFFFFD)
    signature = sign_sweep(tx, spent, remote_privkey)
    return tx.with_witness(0, witness_to_remote_p2wpkh(signature, public_key_of(remote_privkey)))


def spend_anchor_by_owner(
    spent: SpentOutput, funding_privkey: bytes, destination_script: bytes, fee_sat: int
) -> Tx:
    tx = sweep_tx(spent, destination_script, fee_sat, sequence=0xFFFFFFFD)
    return tx.with_witness(0, witness_anchor_owner(sign_sweep(tx, spent, funding_privkey), _script(spent)))


def spend_anchor_by_anyone(spent: SpentOutput, destination_script: bytes, fee_sat: int) -> Tx:
    """Anyone, 16 blocks after the commitment confirmed."""
    tx = sweep_tx(spent, destination_script, fee_sat, sequence=ANCHOR_ANYONE_CSV)
    return tx.with_witness(0, witness_anchor_anyone(_script(spent)))


def spend_htlc_revoked(
    spent: SpentOutput, revocation_privkey: bytes, destination_script: bytes, fee_sat: int
) -> Tx:
    """Penalty: an offered or received HTLC output of a revoked commitment."""
    tx = sweep_tx(spent, destination_script, fee_sat, sequence=0xFFFFFFFD)
    signature = sign_sweep(tx, spent, revocation_privkey)
    return tx.with_witness(
        0, witness_htlc_revoked(signature, public_key_of(revocation_privkey), _script(spent))
    )


def spend_offered_htlc_by_preimage(
    spent: SpentOutput,
    remote_htlc_privkey: bytes,
    payment_preimage: bytes,
    channel_type: ChannelType,
    destination_script: bytes,
    fee_sat: int,
) -> Tx:
    """The peer's commitment offered us an HTLC: we claim it with the preimage (BOLT 5)."""
    tx = sweep_tx(spent, destination_script, fee_sat, sequence=_remote_side_sequence(channel_type))
    signature = sign_sweep(tx, spent, remote_htlc_privkey)
    return tx.with_witness(0, witness_offered_htlc_preimage(signature, payment_preimage, _script(spent)))


def spend_received_htlc_by_timeout(
    spent: SpentOutput,
    remote_htlc_privkey: bytes,
    cltv_expiry: int,
    channel_type: ChannelType,
    destination_script: bytes,
    fee_sat: int,
) -> Tx:
    """The peer's commitment received an HTLC from us: we take it back after cltv_expiry (BOLT 5)."""
    tx = sweep_tx(
        spent, destination_script, fee_sat, sequence=_remote_side_sequence(channel_type), locktime=cltv_expiry
    )
    signature = sign_sweep(tx, spent, remote_htlc_privkey)
    return tx.with_witness(0, witness_received_htlc_timeout(signature, _script(spent)))
