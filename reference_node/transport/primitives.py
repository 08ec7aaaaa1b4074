"""The BOLT 8 building blocks ("Handshake State"): ECDH, HKDF, encryptWithAD/decryptWithAD, SHA-256.

Everything delegates to coincurve (libsecp256k1), `cryptography` and hashlib; nothing here is a primitive
of our own.
"""

from __future__ import annotations

import hashlib
import struct

from coincurve import PrivateKey, PublicKey
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# BOLT 8 "Noise Protocol Instantiation" and "Handshake State Initialization".
PROTOCOL_NAME = b"Noise_XK_secp256k1_ChaChaPoly_SHA256"
PROLOGUE = b"lightning"
MAC_LEN = 16
KEY_LEN = 32


class DecryptionFailed(Exception):
    """The ChaCha20-Poly1305 tag did not verify (callers turn this into a specific transport error)."""


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ecdh(private_key: PrivateKey, public_key: PublicKey) -> bytes:
    """BOLT 8 `ECDH(k, rk)`: SHA-256 of the compressed shared point.

    libsecp256k1's default ECDH hash is exactly that (SHA-256 over the 33-byte compressed point).
    """
    return private_key.ecdh(public_key.format(compressed=True))


def hkdf(salt: bytes, ikm: bytes) -> tuple[bytes, bytes]:
    """BOLT 8 `HKDF(salt, ikm)`: RFC 5869 with an empty `info`, 64 bytes split into two 32-byte keys."""
    okm = HKDF(algorithm=hashes.SHA256(), length=2 * KEY_LEN, salt=salt, info=b"").derive(ikm)
    return okm[:KEY_LEN], okm[KEY_LEN:]


def nonce_bytes(n: int) -> bytes:
    """BOLT 8: the nonce is 32 zero bits followed by a little-endian 64-bit value (the Noise convention)."""
    return b"\x00\x00\x00\x00" + struct.pack("<Q", n)


def encrypt_with_ad(key: bytes, n: int, ad: bytes, plaintext: bytes) -> bytes:
    """BOLT 8 `encryptWithAD(k, n, ad, plaintext)`: ChaCha20-Poly1305, IETF variant (RFC 8439)."""
    return ChaCha20Poly1305(key).encrypt(nonce_bytes(n), plaintext, ad)


def decrypt_with_ad(key: bytes, n: int, ad: bytes, ciphertext: bytes) -> bytes:
    """BOLT 8 `decryptWithAD(k, n, ad, ciphertext)`; raises DecryptionFailed on a bad MAC."""
    try:
        return ChaCha20Poly1305(key).decrypt(nonce_bytes(n), ciphertext, ad)
    except InvalidTag as exc:
        raise DecryptionFailed(f"bad MAC (nonce {n})") from exc


def parse_public_key(data: bytes) -> PublicKey | None:
    """A compressed secp256k1 point, or None when `data` is not one (BOLT 8 acts carry compressed keys)."""
    if len(data) != 33 or data[0] not in (2, 3):
        return None
    try:
        return PublicKey(data)
    except ValueError:
        return None
