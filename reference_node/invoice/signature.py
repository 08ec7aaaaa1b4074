"""BOLT 11 "Data Part" signature: compact secp256k1 ECDSA (R || S) + recovery id, over the SHA-256 of
the human-readable part (UTF-8) and the data part without the signature, zero-padded to a byte."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from coincurve import PrivateKey, PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact
from coincurve.utils import GROUP_ORDER_INT

from reference_node.bitcoin.bech32 import convertbits
from reference_node.invoice.errors import (
    BadRecoveryIdError,
    HighSSignatureError,
    InvalidNodeIdError,
    InvalidSignatureError,
    SignatureError,
    UnrecoverableSignatureError,
)
from reference_node.invoice.words import Words, bytes_to_words, words_to_bytes

SIGNATURE_WORDS = 104  # 520 bits: 64-byte R || S + 1-byte recovery id
_HALF_ORDER = GROUP_ORDER_INT // 2


@dataclass(frozen=True)
class InvoiceSignature:
    compact: bytes  # 32-byte R || 32-byte S
    recovery_id: int

    def __post_init__(self) -> None:
        if len(self.compact) != 64:
            raise SignatureError(f"compact signature of {len(self.compact)} bytes, not 64")
        if self.recovery_id not in (0, 1, 2, 3):
            raise BadRecoveryIdError(f"recovery id {self.recovery_id} is not in {{0,1,2,3}}")

    @property
    def is_low_s(self) -> bool:
        return int.from_bytes(self.compact[32:], "big") <= _HALF_ORDER

    def to_words(self) -> Words:
        return bytes_to_words(self.compact + bytes([self.recovery_id]))

    @classmethod
    def from_words(cls, words: Sequence[int]) -> InvoiceSignature:
        raw = words_to_bytes(words, "signature")
        if raw[64] > 3:
            raise BadRecoveryIdError(f"recovery id {raw[64]} is not in {{0,1,2,3}}")
        return cls(raw[:64], raw[64])


def signing_hash(hrp: str, data_words: Sequence[int]) -> bytes:
    """SHA-256 of hrp (UTF-8) || data part words excluding the signature, "with 0 bits appended to pad
    to a byte boundary"."""
    return hashlib.sha256(hrp.encode("utf-8") + bytes(convertbits(data_words, 5, 8, pad=True))).digest()


def sign(message_hash: bytes, private_key: bytes) -> InvoiceSignature:
    """RFC 6979 deterministic, low-S (libsecp256k1 through coincurve)."""
    recoverable = PrivateKey(private_key).sign_recoverable(message_hash, hasher=None)
    return InvoiceSignature(recoverable[:64], recoverable[64])


def recover_node_id(signature: InvoiceSignature, message_hash: bytes) -> bytes:
    """Public-key recovery; "accept both high-S and low-S signatures"."""
    try:
        public_key = PublicKey.from_signature_and_message(
            signature.compact + bytes([signature.recovery_id]), message_hash, hasher=None
        )
    except (ValueError, TypeError) as exc:
        raise UnrecoverableSignatureError(f"public-key recovery failed: {exc}") from exc
    return public_key.format(compressed=True)


def verify_with_node_id(signature: InvoiceSignature, message_hash: bytes, node_id: bytes) -> None:
    """With a valid `n` field: verify against it, and refuse a signature that is not low-S."""
    if not signature.is_low_s:
        raise HighSSignatureError("signature S is above half the group order while `n` is given")
    try:
        public_key = PublicKey(node_id)
    except (ValueError, TypeError) as exc:
        raise InvalidNodeIdError(f"n field is not a valid public key: {exc}") from exc
    try:
        der = cdata_to_der(deserialize_compact(signature.compact))
    except (ValueError, TypeError) as exc:
        raise InvalidSignatureError(f"signature does not parse: {exc}") from exc
    if not public_key.verify(der, message_hash, hasher=None):
        raise InvalidSignatureError("signature does not verify against the n field's public key")
