"""Channel key material: the funding key, the four basepoints and the per-commitment seed, from one seed.

The split of a channel seed into secrets is this project's own choice (BOLT 3 leaves it to the node):
secret = SHA256(channel_seed || label). It is deterministic so that a recorded seed replays a run.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference_node.bitcoin.ecdsa import public_key_of
from reference_node.bitcoin.hashes import sha256
from reference_node.keys.derivation import (
    derive_privkey,
    derive_pubkey,
    derive_revocation_privkey,
    derive_revocation_pubkey,
    per_commitment_point,
)
from reference_node.keys.shachain import per_commitment_secret


@dataclass(frozen=True)
class ChannelBasepoints:
    """The public half a peer sends in open_channel/accept_channel (BOLT 2)."""

    funding_pubkey: bytes
    revocation_basepoint: bytes
    payment_basepoint: bytes
    delayed_payment_basepoint: bytes
    htlc_basepoint: bytes


@dataclass(frozen=True)
class ChannelKeys:
    """Our secrets for one channel. Never log an instance: repr hides the secrets."""

    funding_privkey: bytes
    revocation_basepoint_secret: bytes
    payment_basepoint_secret: bytes
    delayed_payment_basepoint_secret: bytes
    htlc_basepoint_secret: bytes
    shachain_seed: bytes

    def __repr__(self) -> str:
        return f"ChannelKeys(funding_pubkey={self.basepoints().funding_pubkey.hex()}, <secrets hidden>)"

    @classmethod
    def from_seed(cls, channel_seed: bytes) -> ChannelKeys:
        def secret(label: bytes) -> bytes:
            return sha256(channel_seed + label)

        return cls(
            funding_privkey=secret(b"funding"),
            revocation_basepoint_secret=secret(b"revocation"),
            payment_basepoint_secret=secret(b"payment"),
            delayed_payment_basepoint_secret=secret(b"delayed_payment"),
            htlc_basepoint_secret=secret(b"htlc"),
            shachain_seed=secret(b"shachain"),
        )

    def basepoints(self) -> ChannelBasepoints:
        return ChannelBasepoints(
            funding_pubkey=public_key_of(self.funding_privkey),
            revocation_basepoint=public_key_of(self.revocation_basepoint_secret),
            payment_basepoint=public_key_of(self.payment_basepoint_secret),
            delayed_payment_basepoint=public_key_of(self.delayed_payment_basepoint_secret),
            htlc_basepoint=public_key_of(self.htlc_basepoint_secret),
        )

    def per_commitment_secret(self, commitment_number: int) -> bytes:
        return per_commitment_secret(self.shachain_seed, commitment_number)

    def per_commitment_point(self, commitment_number: int) -> bytes:
        return per_commitment_point(self.per_commitment_secret(commitment_number))

    # Secrets for the keys of a given commitment (BOLT 3 "Key Derivation").
    def delayed_privkey(self, per_commitment_point_: bytes) -> bytes:
        return derive_privkey(self.delayed_payment_basepoint_secret, per_commitment_point_)

    def htlc_privkey(self, per_commitment_point_: bytes) -> bytes:
        return derive_privkey(self.htlc_basepoint_secret, per_commitment_point_)

    def payment_privkey(self, per_commitment_point_: bytes) -> bytes:
        """Only for channels without option_static_remotekey; with it, remotepubkey is the basepoint."""
        return derive_privkey(self.payment_basepoint_secret, per_commitment_point_)

    def revocation_privkey(self, their_per_commitment_secret: bytes) -> bytes:
        """Penalty key for a revoked commitment of the peer, once they revealed its secret."""
        return derive_revocation_privkey(self.revocation_basepoint_secret, their_per_commitment_secret)


@dataclass(frozen=True)
class CommitmentKeys:
    """The keys one commitment transaction uses (BOLT 3 "Commitment Transaction"), from the holder's view.

    `local_*` belongs to the commitment's holder (the side that would broadcast it), `remote_*` to the other.
    """

    per_commitment_point: bytes
    revocation_pubkey: bytes
    local_delayedpubkey: bytes
    local_htlcpubkey: bytes
    remote_htlcpubkey: bytes
    remotepubkey: bytes

    @classmethod
    def derive(
        cls,
        per_commitment_point_: bytes,
        holder: ChannelBasepoints,
        counterparty: ChannelBasepoints,
    ) -> CommitmentKeys:
        """Keys of the holder's commitment: revocation from the counterparty's revocation basepoint, the
        holder's delayed/htlc keys, and (option_static_remotekey) the counterparty's payment basepoint."""
        return cls(
            per_commitment_point=per_commitment_point_,
            revocation_pubkey=derive_revocation_pubkey(
                counterparty.revocation_basepoint, per_commitment_point_
            ),
            local_delayedpubkey=derive_pubkey(holder.delayed_payment_basepoint, per_commitment_point_),
            local_htlcpubkey=derive_pubkey(holder.htlc_basepoint, per_commitment_point_),
            remote_htlcpubkey=derive_pubkey(counterparty.htlc_basepoint, per_commitment_point_),
            remotepubkey=counterparty.payment_basepoint,
        )
