"""BOLT 4 key derivation and stream helpers, built on coincurve, cryptography and hmac/hashlib.

Nothing here implements a primitive: ECDH and scalar multiplication are libsecp256k1 (coincurve),
ChaCha20 is `cryptography`, HMAC-SHA256 and SHA256 are the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum

import coincurve
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

# BOLT 4 "Key Generation" and "Returning Errors": the key types, without a C-style terminator.
_ZERO_CHACHA_NONCE = bytes(16)  # cryptography's ChaCha20 nonce: 4-byte counter + 96-bit zero nonce


class KeyType(Enum):
    """The HMAC key ("key type") each BOLT 4 key is derived with."""

    RHO = b"rho"
    MU = b"mu"
    UM = b"um"
    PAD = b"pad"
    AMMAG = b"ammag"
    AMMAGEXT = b"ammagext"
    BLINDED_NODE_ID = b"blinded_node_id"


class InvalidPublicKey(ValueError):
    """A 33-byte string that is not a valid compressed secp256k1 point."""

    def __init__(self, raw: bytes) -> None:
        super().__init__(f"not a valid secp256k1 public key: {raw.hex()}")
        self.raw = raw


def generate_key(key_type: KeyType, secret: bytes) -> bytes:
    """BOLT 4 "Key Generation": HMAC-SHA256 keyed with the key type over the 32-byte secret."""
    return hmac.digest(key_type.value, secret, "sha256")


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def chacha20_stream(key: bytes, length: int) -> bytes:
    """BOLT 4 "Pseudo Random Byte Stream": ChaCha20 over zero bytes with a 96-bit zero nonce."""
    encryptor = Cipher(algorithms.ChaCha20(key, _ZERO_CHACHA_NONCE), mode=None).encryptor()
    return encryptor.update(bytes(length))


def xor(data: bytes, stream: bytes) -> bytes:
    """XOR `data` with the first len(data) bytes of `stream`."""
    length = len(data)
    if len(stream) < length:
        raise ValueError(f"stream of {len(stream)} bytes is shorter than data of {length} bytes")
    mixed = int.from_bytes(data, "big") ^ int.from_bytes(stream[:length], "big")
    return mixed.to_bytes(length, "big")


def parse_public_key(raw: bytes) -> coincurve.PublicKey:
    """A compressed point, or InvalidPublicKey."""
    if len(raw) != 33 or raw[0] not in (2, 3):
        raise InvalidPublicKey(raw)
    try:
        return coincurve.PublicKey(raw)
    except ValueError as exc:
        raise InvalidPublicKey(raw) from exc


def ecdh(private_key: bytes, public_key: bytes) -> bytes:
    """BOLT 4 "Shared Secret": SHA256 of the compressed ECDH point (libsecp256k1's default hash)."""
    return coincurve.PrivateKey(private_key).ecdh(public_key)


def public_key_of(private_key: bytes) -> bytes:
    return coincurve.PrivateKey(private_key).public_key.format(compressed=True)


def multiply_public_key(public_key: bytes, scalar: bytes) -> bytes:
    return parse_public_key(public_key).multiply(scalar).format(compressed=True)


def multiply_private_key(private_key: bytes, scalar: bytes) -> bytes:
    return coincurve.PrivateKey(private_key).multiply(scalar).secret


def blinding_factor(public_key: bytes, shared_secret: bytes) -> bytes:
    """BOLT 4 "Blinding Ephemeral Onion Keys": SHA256(compressed public key || shared secret)."""
    return sha256(public_key + shared_secret)
