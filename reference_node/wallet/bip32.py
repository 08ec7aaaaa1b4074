"""BIP32 private derivation (hardened and normal) over coincurve: no curve arithmetic written here."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from coincurve import PrivateKey, PublicKey

HARDENED = 0x8000_0000


class Bip32Error(ValueError):
    """A derivation step produced an invalid key (probability ~2^-127: BIP32 says skip the index)."""


@dataclass(frozen=True)
class ExtendedPrivateKey:
    secret: bytes = field(repr=False)
    chain_code: bytes = field(repr=False)

    @classmethod
    def from_seed(cls, seed: bytes) -> ExtendedPrivateKey:
        """BIP32 "Master key generation": I = HMAC-SHA512(Key = "Bitcoin seed", Data = S)."""
        digest = hmac.new(b"Bitcoin seed", seed, hashlib.sha512).digest()
        try:
            PrivateKey(digest[:32])
        except ValueError as exc:
            raise Bip32Error("master key out of range") from exc
        return cls(digest[:32], digest[32:])

    @property
    def public_key(self) -> bytes:
        return PrivateKey(self.secret).public_key.format(compressed=True)

    def child(self, index: int) -> ExtendedPrivateKey:
        """BIP32 CKDpriv: hardened children hash the private key, normal ones the public key."""
        if not 0 <= index < 1 << 32:
            raise Bip32Error(f"child index {index} out of range")
        data = (b"\x00" + self.secret if index >= HARDENED else self.public_key) + index.to_bytes(4, "big")
        digest = hmac.new(self.chain_code, data, hashlib.sha512).digest()
        try:
            tweaked = PrivateKey(self.secret).add(digest[:32])
        except ValueError as exc:
            raise Bip32Error(f"child {index} is invalid") from exc
        return ExtendedPrivateKey(tweaked.secret, digest[32:])

    def derive(self, path: str) -> ExtendedPrivateKey:
        """`m/84'/1'/0'/0/5`-style path (an apostrophe or h marks a hardened index)."""
        parts = path.split("/")
        if parts[0] != "m":
            raise Bip32Error(f"path must start with m: {path!r}")
        key = self
        for part in parts[1:]:
            hardened = part.endswith(("'", "h"))
            number = part[:-1] if hardened else part
            if not number.isdigit():
                raise Bip32Error(f"bad path element {part!r} in {path!r}")
            key = key.child(int(number) + (HARDENED if hardened else 0))
        return key


def public_key_matches(secret: bytes, public_key: bytes) -> bool:
    return PrivateKey(secret).public_key == PublicKey(public_key)
