"""BOLT 3 key derivation: each derived private key matches its derived public key (independently of the
Appendix E vectors, which test_vectors.py runs), and bad input raises KeyDerivationError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.keys.channel_keys import ChannelKeys, CommitmentKeys
from reference_node.keys.derivation import (
    KeyDerivationError,
    derive_privkey,
    derive_pubkey,
    derive_revocation_privkey,
    derive_revocation_pubkey,
    per_commitment_point,
)

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
secrets = st.integers(min_value=1, max_value=SECP256K1_ORDER - 1).map(lambda n: n.to_bytes(32, "big"))


@given(secrets, secrets)
def test_derived_privkey_matches_derived_pubkey(
    basepoint_secret: bytes, per_commitment_secret: bytes
) -> None:
    point = per_commitment_point(per_commitment_secret)
    privkey = derive_privkey(basepoint_secret, point)
    assert public_key_of(privkey) == derive_pubkey(public_key_of(basepoint_secret), point)


@given(secrets, secrets)
def test_revocation_privkey_matches_revocation_pubkey(
    revocation_secret: bytes, per_commitment_secret: bytes
) -> None:
    privkey = derive_revocation_privkey(revocation_secret, per_commitment_secret)
    pubkey = derive_revocation_pubkey(
        public_key_of(revocation_secret), per_commitment_point(per_commitment_secret)
    )
    assert public_key_of(privkey) == pubkey


def test_invalid_basepoint_is_rejected() -> None:
    with pytest.raises(KeyDerivationError, match="basepoint"):
        derive_pubkey(b"\x02" + bytes(32), per_commitment_point(b"\x01" * 32))


def test_short_secret_is_rejected() -> None:
    with pytest.raises(KeyDerivationError, match="32 bytes"):
        derive_privkey(b"\x01" * 31, per_commitment_point(b"\x01" * 32))


def test_commitment_keys_of_both_sides_agree() -> None:
    alice, bob = ChannelKeys.from_seed(b"\x0a" * 32), ChannelKeys.from_seed(b"\x0b" * 32)
    point = alice.per_commitment_point(5)
    keys = CommitmentKeys.derive(point, alice.basepoints(), bob.basepoints())
    assert public_key_of(alice.delayed_privkey(point)) == keys.local_delayedpubkey
    assert public_key_of(alice.htlc_privkey(point)) == keys.local_htlcpubkey
    assert public_key_of(bob.htlc_privkey(point)) == keys.remote_htlcpubkey
    assert public_key_of(bob.revocation_privkey(alice.per_commitment_secret(5))) == keys.revocation_pubkey
    assert keys.remotepubkey == bob.basepoints().payment_basepoint


def test_channel_keys_repr_hides_secrets() -> None:
    keys = ChannelKeys.from_seed(b"\x0c" * 32)
    assert keys.funding_privkey.hex() not in repr(keys)
    assert keys.shachain_seed.hex() not in repr(keys)
