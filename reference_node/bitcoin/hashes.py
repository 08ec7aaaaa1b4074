"""Bitcoin hash functions: sha256, double-sha256 and hash160.

RIPEMD-160 comes from hashlib when the linked OpenSSL still offers it (OpenSSL 3 moved it to the
"legacy" provider, so it may be missing); otherwise python-bitcoinlib's implementation is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sha256d(data: bytes) -> bytes:
    """SHA256(SHA256(data)): Bitcoin's txid and sighash hash."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _pick_ripemd160() -> Callable[[bytes], bytes]:
    try:
        hashlib.new("ripemd160", b"")
    except ValueError:
        from bitcoin.core.contrib.ripemd160 import ripemd160 as fallback

        return lambda data: bytes(fallback(data))
    return lambda data: hashlib.new("ripemd160", data).digest()


ripemd160: Callable[[bytes], bytes] = _pick_ripemd160()


def hash160(data: bytes) -> bytes:
    """RIPEMD160(SHA256(data)): the hash in P2PKH, P2WPKH and BOLT 3 HTLC scripts' revocation key."""
    return ripemd160(hashlib.sha256(data).digest())
