"""BOLT 3 witness scripts: funding, to_local, to_remote (anchors), anchors, offered and received HTLCs."""

from __future__ import annotations

from reference_node.bitcoin.hashes import hash160, ripemd160
from reference_node.bitcoin.script import Op, build_script

# BOLT 3 "to_local_anchor and to_remote_anchor Output": anyone may sweep an anchor after 16 blocks.
ANCHOR_ANYONE_CSV = 16


def funding_script(funding_pubkey_a: bytes, funding_pubkey_b: bytes) -> bytes:
    """BOLT 3 "Funding Transaction Output": `2 <pubkey1> <pubkey2> 2 OP_CHECKMULTISIG`, pubkey1 the
    lexicographically lesser compressed key."""
    pubkey1, pubkey2 = sorted((funding_pubkey_a, funding_pubkey_b))
    return build_script(2, pubkey1, pubkey2, 2, Op.OP_CHECKMULTISIG)


def to_local_script(revocation_pubkey: bytes, to_self_delay: int, local_delayedpubkey: bytes) -> bytes:
    """BOLT 3 "to_local Output", also the output of HTLC-timeout/HTLC-success transactions."""
    return build_script(
        Op.OP_IF,
        revocation_pubkey,
        Op.OP_ELSE,
        to_self_delay,
        Op.OP_CHECKSEQUENCEVERIFY,
        Op.OP_DROP,
        local_delayedpubkey,
        Op.OP_ENDIF,
        Op.OP_CHECKSIG,
    )


def to_remote_anchors_script(remotepubkey: bytes) -> bytes:
    """BOLT 3 "to_remote Output" with option_anchors: `<remotepubkey> OP_CHECKSIGVERIFY 1 OP_CSV`."""
    return build_script(remotepubkey, Op.OP_CHECKSIGVERIFY, 1, Op.OP_CHECKSEQUENCEVERIFY)


def anchor_script(funding_pubkey: bytes) -> bytes:
    """BOLT 3 "to_local_anchor and to_remote_anchor Output (option_anchors)"."""
    return build_script(
        funding_pubkey,
        Op.OP_CHECKSIG,
        Op.OP_IFDUP,
        Op.OP_NOTIF,
        ANCHOR_ANYONE_CSV,
        Op.OP_CHECKSEQUENCEVERIFY,
        Op.OP_ENDIF,
    )


def _anchors_csv(option_anchors: bool) -> tuple[Op | int, ...]:
    # option_anchors adds `1 OP_CHECKSEQUENCEVERIFY OP_DROP` so the HTLC cannot be spent in the
    # commitment's block (carve-out for CPFP) by the remote side.
    return (1, Op.OP_CHECKSEQUENCEVERIFY, Op.OP_DROP) if option_anchors else ()


def offered_htlc_script(
    revocation_pubkey: bytes,
    local_htlcpubkey: bytes,
    remote_htlcpubkey: bytes,
    payment_hash: bytes,
    option_anchors: bool,
) -> bytes:
    """BOLT 3 "Offered HTLC Outputs"."""
    return build_script(
        Op.OP_DUP,
        Op.OP_HASH160,
        hash160(revocation_pubkey),
        Op.OP_EQUAL,
        Op.OP_IF,
        Op.OP_CHECKSIG,
        Op.OP_ELSE,
        remote_htlcpubkey,
        Op.OP_SWAP,
        Op.OP_SIZE,
        32,
        Op.OP_EQUAL,
        Op.OP_NOTIF,
        Op.OP_DROP,
        2,
        Op.OP_SWAP,
        local_htlcpubkey,
        2,
        Op.OP_CHECKMULTISIG,
        Op.OP_ELSE,
        Op.OP_HASH160,
        ripemd160(payment_hash),
        Op.OP_EQUALVERIFY,
        Op.OP_CHECKSIG,
        Op.OP_ENDIF,
        *_anchors_csv(option_anchors),
        Op.OP_ENDIF,
    )


def received_htlc_script(
    revocation_pubkey: bytes,
    local_htlcpubkey: bytes,
    remote_htlcpubkey: bytes,
    payment_hash: bytes,
    cltv_expiry: int,
    option_anchors: bool,
) -> bytes:
    """BOLT 3 "Received HTLC Outputs"."""
    return build_script(
        Op.OP_DUP,
        Op.OP_HASH160,
        hash160(revocation_pubkey),
        Op.OP_EQUAL,
        Op.OP_IF,
        Op.OP_CHECKSIG,
        Op.OP_ELSE,
        remote_htlcpubkey,
        Op.OP_SWAP,
        Op.OP_SIZE,
        32,
        Op.OP_EQUAL,
        Op.OP_IF,
        Op.OP_HASH160,
        ripemd160(payment_hash),
        Op.OP_EQUALVERIFY,
        2,
        Op.OP_SWAP,
        local_htlcpubkey,
        2,
        Op.OP_CHECKMULTISIG,
        Op.OP_ELSE,
        Op.OP_DROP,
        cltv_expiry,
        Op.OP_CHECKLOCKTIMEVERIFY,
        Op.OP_DROP,
        Op.OP_CHECKSIG,
        Op.OP_ENDIF,
        *_anchors_csv(option_anchors),
        Op.OP_ENDIF,
    )
