"""BOLT 3 "Key Derivation": per-commitment keys from basepoints and revocation keys.

Every function takes and returns 33-byte compressed points or 32-byte secrets. The elliptic-curve
arithmetic is libsecp256k1's (coincurve); only the tweak hashes are computed here.
"""

from __future__ import annotations

from coincurve import PrivateKey, PublicKey

from reference_node.bitcoin.hashes import sha256


class KeyDerivationError(ValueError):
    """A point or secret is invalid, or a tweak lands outside the curve order (negligibly rare)."""


def _point(data: bytes, what: str) -> PublicKey:
    try:
        return PublicKey(data)
    except ValueError as exc:
        raise KeyDerivationError(f"{what} is not a valid point: {data.hex()}") from exc


def _secret(data: bytes, what: str) -> PrivateKey:
    if len(data) != 32:
        raise KeyDerivationError(f"{what} must be 32 bytes, got {len(data)}")
    try:
        return PrivateKey(data)
    except ValueError as exc:
        raise KeyDerivationError(f"{what} is not a valid secret") from exc


def per_commitment_point(per_commitment_secret: bytes) -> bytes:
    """per_commitment_point = per_commitment_secret * G."""
    return _secret(per_commitment_secret, "per_commitment_secret").public_key.format(compressed=True)


def derive_pubkey(basepoint: bytes, per_commitment_point_: bytes) -> bytes:
    """localpubkey/remotepubkey/htlcpubkey/delayedpubkey (BOLT 3 "localpubkey ... Derivation"):
    pubkey = basepoint + SHA256(per_commitment_point || basepoint) * G."""
    tweak = sha256(per_commitment_point_ + basepoint)
    try:
        return _point(basepoint, "basepoint").add(tweak).format(compressed=True)
    except ValueError as exc:
        raise KeyDerivationError(f"tweak of basepoint {basepoint.hex()} failed: {exc}") from exc


def derive_privkey(basepoint_secret: bytes, per_commitment_point_: bytes) -> bytes:
    """privkey = basepoint_secret + SHA256(per_commitment_point || basepoint)."""
    base = _secret(basepoint_secret, "basepoint_secret")
    tweak = sha256(per_commitment_point_ + base.public_key.format(compressed=True))
    try:
        return base.add(tweak).secret
    except ValueError as exc:
        raise KeyDerivationError(f"tweak of basepoint secret failed: {exc}") from exc


def derive_revocation_pubkey(revocation_basepoint: bytes, per_commitment_point_: bytes) -> bytes:
    """BOLT 3 "revocationpubkey Derivation":
    revocation_basepoint * SHA256(revocation_basepoint || per_commitment_point)
    + per_commitment_point * SHA256(per_commitment_point || revocation_basepoint)."""
    base = _point(revocation_basepoint, "revocation_basepoint")
    point = _point(per_commitment_point_, "per_commitment_point")
    try:
        left = base.multiply(sha256(revocation_basepoint + per_commitment_point_))
        right = point.multiply(sha256(per_commitment_point_ + revocation_basepoint))
        return PublicKey.combine_keys([left, right]).format(compressed=True)
    except ValueError as exc:
        raise KeyDerivationError(f"revocation pubkey derivation failed: {exc}") from exc


def derive_revocation_privkey(revocation_basepoint_secret: bytes, per_commitment_secret: bytes) -> bytes:
    """revocationprivkey = revocation_basepoint_secret * SHA256(revocation_basepoint || per_commitment_point)
    + per_commitment_secret * SHA256(per_commitment_point || revocation_basepoint)."""
    base = _secret(revocation_basepoint_secret, "revocation_basepoint_secret")
    commitment = _secret(per_commitment_secret, "per_commitment_secret")
    revocation_basepoint = base.public_key.format(compressed=True)
    point = commitment.public_key.format(compressed=True)
    try:
        left = base.multiply(sha256(revocation_basepoint + point))
        right = commitment.multiply(sha256(point + revocation_basepoint))
        return left.add(right.secret).secret
    except ValueError as exc:
        raise KeyDerivationError(f"revocation privkey derivation failed: {exc}") from exc
