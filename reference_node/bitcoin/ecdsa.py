"""ECDSA over secp256k1 through coincurve (libsecp256k1): RFC6979 deterministic nonces, low-S, DER.

libsecp256k1 always produces low-S signatures and its verifier rejects high-S ones, as BIP62/BIP146
policy and the BOLTs (BOLT 2 `commitment_signed`) expect.
"""

from __future__ import annotations

from functools import lru_cache

from coincurve import PrivateKey, PublicKey
from coincurve.ecdsa import cdata_to_der, der_to_cdata, deserialize_compact, serialize_compact

from reference_node.bitcoin.errors import SignatureError


@lru_cache(maxsize=1024)
def private_key(secret: bytes) -> PrivateKey:
    """A coincurve key; cached because building one computes its public key and keypair (about 2/3 of the
    cost of a signature), and a commitment with 483 HTLCs signs with the same key 483 times."""
    if len(secret) != 32:
        raise SignatureError(f"private key must be 32 bytes, got {len(secret)}")
    try:
        return PrivateKey(secret)
    except ValueError as exc:
        raise SignatureError(f"invalid private key: {exc}") from exc


def public_key_of(secret: bytes) -> bytes:
    """The 33-byte compressed public key of a 32-byte secret."""
    return private_key(secret).public_key.format(compressed=True)


def parse_public_key(pubkey: bytes) -> PublicKey:
    try:
        return PublicKey(pubkey)
    except ValueError as exc:
        raise SignatureError(f"invalid public key {pubkey.hex()}: {exc}") from exc


def sign_digest(secret: bytes, digest: bytes) -> bytes:
    """DER signature (no sighash byte) of a 32-byte digest, RFC6979 nonce, low-S."""
    if len(digest) != 32:
        raise SignatureError(f"digest must be 32 bytes, got {len(digest)}")
    return private_key(secret).sign(digest, hasher=None)


def verify_digest(pubkey: bytes, der_signature: bytes, digest: bytes) -> bool:
    """True iff the DER signature is valid (and low-S) for digest under pubkey."""
    key = parse_public_key(pubkey)
    try:
        return bool(key.verify(der_signature, digest, hasher=None))
    except ValueError as exc:
        raise SignatureError(f"malformed DER signature {der_signature.hex()}: {exc}") from exc


def der_to_compact(der_signature: bytes) -> bytes:
    """64-byte r||s, the form BOLT 2 sends on the wire."""
    try:
        return serialize_compact(der_to_cdata(der_signature))
    except ValueError as exc:
        raise SignatureError(f"malformed DER signature {der_signature.hex()}: {exc}") from exc


def compact_to_der(compact_signature: bytes) -> bytes:
    if len(compact_signature) != 64:
        raise SignatureError(f"compact signature must be 64 bytes, got {len(compact_signature)}")
    try:
        return cdata_to_der(deserialize_compact(compact_signature))
    except ValueError as exc:
        raise SignatureError(f"invalid compact signature {compact_signature.hex()}: {exc}") from exc
