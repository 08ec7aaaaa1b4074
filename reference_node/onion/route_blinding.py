"""BOLT 4 "Route Blinding": blinded paths, `encrypted_data_tlv`, and unblinding at each hop.

Writer: ss_i = SHA256(e_i * N_i); B_i = HMAC256("blinded_node_id", ss_i) * N_i;
rho_i = HMAC256("rho", ss_i) encrypts `encrypted_data_tlv[i]` with ChaCha20-Poly1305 (zero nonce);
e_{i+1} = SHA256(E_i || ss_i) * e_i.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from reference_node.onion.crypto import (
    KeyType,
    blinding_factor,
    ecdh,
    generate_key,
    multiply_private_key,
    multiply_public_key,
    public_key_of,
)
from reference_node.onion.wire_adapter import (
    BYTE,
    POINT,
    SHORT_CHANNEL_ID,
    TU32,
    TU64,
    U16,
    U32,
    ShortChannelId,
    TlvRecord,
    TlvStream,
    TlvType,
    WireError,
    decode_tlv_stream,
    encode_tlv_stream,
    rest,
)

_ZERO_NONCE = bytes(12)
_MILLION = 1_000_000


class BlindingError(ValueError):
    """`encrypted_recipient_data` that does not decrypt, or decrypts to an invalid `encrypted_data_tlv`."""


@dataclass(frozen=True)
class Padding(TlvRecord):
    padding: Annotated[bytes, rest(BYTE)]


@dataclass(frozen=True)
class ShortChannelIdTlv(TlvRecord):
    short_channel_id: Annotated[ShortChannelId, SHORT_CHANNEL_ID]


@dataclass(frozen=True)
class NextNodeId(TlvRecord):
    node_id: Annotated[bytes, POINT]


@dataclass(frozen=True)
class PathId(TlvRecord):
    data: Annotated[bytes, rest(BYTE)]


@dataclass(frozen=True)
class NextPathKeyOverride(TlvRecord):
    path_key: Annotated[bytes, POINT]


@dataclass(frozen=True)
class PaymentRelay(TlvRecord):
    cltv_expiry_delta: Annotated[int, U16]
    fee_proportional_millionths: Annotated[int, U32]
    fee_base_msat: Annotated[int, TU32]


@dataclass(frozen=True)
class PaymentConstraints(TlvRecord):
    max_cltv_expiry: Annotated[int, U32]
    htlc_minimum_msat: Annotated[int, TU64]


@dataclass(frozen=True)
class AllowedFeatures(TlvRecord):
    features: Annotated[bytes, rest(BYTE)]


@dataclass(frozen=True)
class EncryptedDataTlv(TlvStream):
    """`tlv_stream`: `encrypted_data_tlv`."""

    padding: Annotated[Padding | None, TlvType(1)] = None
    short_channel_id: Annotated[ShortChannelIdTlv | None, TlvType(2)] = None
    next_node_id: Annotated[NextNodeId | None, TlvType(4)] = None
    path_id: Annotated[PathId | None, TlvType(6)] = None
    next_path_key_override: Annotated[NextPathKeyOverride | None, TlvType(8)] = None
    payment_relay: Annotated[PaymentRelay | None, TlvType(10)] = None
    payment_constraints: Annotated[PaymentConstraints | None, TlvType(12)] = None
    allowed_features: Annotated[AllowedFeatures | None, TlvType(14)] = None

    def to_bytes(self) -> bytes:
        return encode_tlv_stream(self)

    @classmethod
    def from_bytes(cls, raw: bytes) -> EncryptedDataTlv:
        try:
            return decode_tlv_stream(cls, raw)
        except WireError as exc:
            raise BlindingError(f"encrypted_data_tlv: {exc}") from exc


@dataclass(frozen=True)
class BlindedHop:
    """`blinded_path_hop`."""

    blinded_node_id: bytes
    encrypted_recipient_data: bytes


@dataclass(frozen=True)
class BlindedPath:
    """`blinded_path`, with `first_node_id` as a node id (the `pubkey` form of `sciddir_or_pubkey`)."""

    first_node_id: bytes
    first_path_key: bytes
    hops: tuple[BlindedHop, ...]

    def to_bytes(self) -> bytes:
        out = bytearray(self.first_node_id + self.first_path_key + bytes([len(self.hops)]))
        for hop in self.hops:
            out += hop.blinded_node_id + len(hop.encrypted_recipient_data).to_bytes(2, "big")
            out += hop.encrypted_recipient_data
        return bytes(out)


@dataclass(frozen=True)
class BlindedHopTrace:
    """What the writer derives for one hop (the values route-blinding-test.json lists)."""

    path_key: bytes
    shared_secret: bytes
    rho: bytes
    blinded_node_id: bytes
    encrypted_recipient_data: bytes


@dataclass(frozen=True)
class CreatedBlindedPath:
    path: BlindedPath
    trace: tuple[BlindedHopTrace, ...]
    last_path_key: bytes


@dataclass(frozen=True)
class UnblindedHop:
    """The reader's view of one hop: its blinded private key, the decrypted data, and the next
    `path_key` (`next_path_key_override` when present, else SHA256(E_i || ss_i) * E_i)."""

    blinded_private_key: bytes
    decrypted_data: bytes
    encrypted_data_tlv: EncryptedDataTlv
    derived_next_path_key: bytes
    next_path_key: bytes


def encrypt_recipient_data(rho: bytes, plaintext: bytes) -> bytes:
    return ChaCha20Poly1305(rho).encrypt(_ZERO_NONCE, plaintext, None)


def decrypt_recipient_data(rho: bytes, ciphertext: bytes) -> bytes:
    try:
        return ChaCha20Poly1305(rho).decrypt(_ZERO_NONCE, ciphertext, None)
    except InvalidTag as exc:
        raise BlindingError("encrypted_recipient_data does not decrypt with this path_key") from exc


def create_blinded_path(
    session_key: bytes, node_ids: Sequence[bytes], encrypted_data_tlvs: Sequence[bytes]
) -> CreatedBlindedPath:
    """ "The writer of a blinded_path": one hop per node id, each with its serialized encrypted_data_tlv."""
    if len(node_ids) != len(encrypted_data_tlvs) or not node_ids:
        raise BlindingError(f"{len(node_ids)} node ids for {len(encrypted_data_tlvs)} encrypted_data_tlvs")
    ephemeral_key = session_key
    trace: list[BlindedHopTrace] = []
    path_key = public_key_of(ephemeral_key)
    for node_id, plaintext in zip(node_ids, encrypted_data_tlvs, strict=True):
        path_key = public_key_of(ephemeral_key)
        shared_secret = ecdh(ephemeral_key, node_id)
        rho = generate_key(KeyType.RHO, shared_secret)
        blinded_node_id = multiply_public_key(node_id, generate_key(KeyType.BLINDED_NODE_ID, shared_secret))
        trace.append(
            BlindedHopTrace(
                path_key, shared_secret, rho, blinded_node_id, encrypt_recipient_data(rho, plaintext)
            )
        )
        ephemeral_key = multiply_private_key(ephemeral_key, blinding_factor(path_key, shared_secret))
    path = BlindedPath(
        first_node_id=node_ids[0],
        first_path_key=trace[0].path_key,
        hops=tuple(BlindedHop(t.blinded_node_id, t.encrypted_recipient_data) for t in trace),
    )
    return CreatedBlindedPath(path, tuple(trace), public_key_of(ephemeral_key))


def next_path_key(path_key: bytes, shared_secret: bytes) -> bytes:
    """E_{i+1} = SHA256(E_i || ss_i) * E_i."""
    return multiply_public_key(path_key, blinding_factor(path_key, shared_secret))


def unblind_hop(node_private_key: bytes, path_key: bytes, encrypted_recipient_data: bytes) -> UnblindedHop:
    """ "The reader of the encrypted_recipient_data": decrypt and find the next path key."""
    shared_secret = ecdh(node_private_key, path_key)
    blinded_private_key = multiply_private_key(
        node_private_key, generate_key(KeyType.BLINDED_NODE_ID, shared_secret)
    )
    decrypted = decrypt_recipient_data(generate_key(KeyType.RHO, shared_secret), encrypted_recipient_data)
    tlvs = EncryptedDataTlv.from_bytes(decrypted)
    derived = next_path_key(path_key, shared_secret)
    override = tlvs.next_path_key_override
    return UnblindedHop(
        blinded_private_key, decrypted, tlvs, derived, derived if override is None else override.path_key
    )


@dataclass(frozen=True)
class BlindedPayInfo:
    """Aggregate relay parameters the recipient communicates to the sender (BOLT 4 requirements)."""

    fee_base_msat: int
    fee_proportional_millionths: int
    cltv_expiry_delta: int


def aggregate_payment_relay(
    relays: Sequence[PaymentRelay], min_final_cltv_expiry_delta: int
) -> BlindedPayInfo:
    """`total_fee_base_msat`, `total_fee_proportional_millionths` and `total_cltv_delta` over the
    non-final hops, folding from the hop nearest the recipient back to the introduction node."""
    base = proportional = 0
    for relay in reversed(relays):
        base = (
            relay.fee_base_msat * _MILLION
            + base * (_MILLION + relay.fee_proportional_millionths)
            + _MILLION
            - 1
        ) // _MILLION
        proportional = (
            (proportional + relay.fee_proportional_millionths) * _MILLION
            + proportional * relay.fee_proportional_millionths
            + _MILLION
            - 1
        ) // _MILLION
    cltv = sum(relay.cltv_expiry_delta for relay in relays) + min_final_cltv_expiry_delta
    return BlindedPayInfo(base, proportional, cltv)


def blinded_amt_to_forward(amount_msat: int, relay: PaymentRelay) -> int:
    """A blinded non-final node's `amt_to_forward` from its incoming `amount_msat` (rounded up)."""
    numerator = (
        (amount_msat - relay.fee_base_msat) * _MILLION + _MILLION + relay.fee_proportional_millionths - 1
    )
    return numerator // (_MILLION + relay.fee_proportional_millionths)


def blinded_outgoing_cltv_value(cltv_expiry: int, relay: PaymentRelay) -> int:
    return cltv_expiry - relay.cltv_expiry_delta
