"""BOLT 4 Sphinx: "Packet Construction", "Filler Generation" and "Onion Decryption".

Sans-I/O: pure functions over bytes. The same code builds and peels payment onions (1300-byte
`hop_payloads`) and onion messages (any `onionmsg_payloads` size, BOLT 4 "Onion Messages").
"""

from __future__ import annotations

import hmac as _hmac
from collections.abc import Sequence
from dataclasses import dataclass

from reference_node.onion.crypto import (
    InvalidPublicKey,
    KeyType,
    blinding_factor,
    chacha20_stream,
    ecdh,
    generate_key,
    hmac_sha256,
    multiply_private_key,
    multiply_public_key,
    parse_public_key,
    public_key_of,
    sha256,
    xor,
)
from reference_node.onion.failure_messages import FailureCode
from reference_node.onion.wire_adapter import BigSizeError, decode_bigsize, encode_bigsize

# BOLT 4 "Packet Structure"
ONION_VERSION = 0
HOP_PAYLOADS_LEN = 1300
HMAC_LEN = 32
PUBLIC_KEY_LEN = 33
ONION_PACKET_LEN = 1 + PUBLIC_KEY_LEN + HOP_PAYLOADS_LEN + HMAC_LEN  # 1366
# "Since no payload TLV value can ever be shorter than 2 bytes, length values of 0 and 1 are reserved."
MIN_PAYLOAD_LEN = 2
_ZERO_HMAC = bytes(HMAC_LEN)


class OnionProcessingError(Exception):
    """The onion could not be processed; `failure_code` is the BOLT 4 code to return."""

    failure_code: FailureCode

    def __init__(self, message: str, sha256_of_onion: bytes) -> None:
        super().__init__(message)
        # update_fail_malformed_htlc / the BADONION failure data carry the hash of the onion received.
        self.sha256_of_onion = sha256_of_onion


class InvalidOnionVersion(OnionProcessingError):
    """`version` is not 0: BADONION|PERM|4 (`invalid_onion_version`)."""

    failure_code = FailureCode.invalid_onion_version


class InvalidOnionHmac(OnionProcessingError):
    """The packet `hmac` does not match: BADONION|PERM|5 (`invalid_onion_hmac`)."""

    failure_code = FailureCode.invalid_onion_hmac


class InvalidOnionKey(OnionProcessingError):
    """`public_key` is not a valid point: BADONION|PERM|6 (`invalid_onion_key`)."""

    failure_code = FailureCode.invalid_onion_key


class InvalidOnionPayloadFraming(OnionProcessingError):
    """Authenticated, but the `hop_payload` framing is malformed: PERM|22 (`invalid_onion_payload`)."""

    failure_code = FailureCode.invalid_onion_payload


class MalformedOnionPacket(ValueError):
    """A byte string that cannot even be split into the four packet fields."""


class OnionConstructionError(ValueError):
    """The route or payloads cannot make a packet (for example, they do not fit)."""


@dataclass(frozen=True)
class OnionPacket:
    """BOLT 4 `onion_packet` (or `onion_message_packet` when `hop_payloads` is not 1300 bytes)."""

    version: int
    public_key: bytes
    hop_payloads: bytes
    hmac: bytes

    def to_bytes(self) -> bytes:
        return bytes([self.version]) + self.public_key + self.hop_payloads + self.hmac

    @classmethod
    def from_bytes(cls, raw: bytes) -> OnionPacket:
        """Split a packet; the payload size is implied by the total length (as for onion messages)."""
        if len(raw) < 1 + PUBLIC_KEY_LEN + HMAC_LEN:
            raise MalformedOnionPacket(f"onion packet of {len(raw)} bytes is too short")
        return cls(
            version=raw[0],
            public_key=raw[1 : 1 + PUBLIC_KEY_LEN],
            hop_payloads=raw[1 + PUBLIC_KEY_LEN : -HMAC_LEN],
            hmac=raw[-HMAC_LEN:],
        )


@dataclass(frozen=True)
class HopSecrets:
    """What the origin derives for one hop: the ephemeral key it sees and the shared secret."""

    ephemeral_public_key: bytes
    shared_secret: bytes


@dataclass(frozen=True)
class PeeledOnion:
    """The result of "Onion Decryption" at one hop.

    `next_onion` is None at the final destination (an all-zero `next_hmac`).
    """

    payload: bytes
    shared_secret: bytes
    next_onion: OnionPacket | None

    @property
    def is_final(self) -> bool:
        return self.next_onion is None


def derive_hop_secrets(session_key: bytes, hop_public_keys: Sequence[bytes]) -> list[HopSecrets]:
    """BOLT 4 "Packet Construction": ss_k by ECDH, then ek_{k+1} = ek_k * SHA256(epk_k || ss_k)."""
    secrets: list[HopSecrets] = []
    ephemeral_private_key = session_key
    for hop_public_key in hop_public_keys:
        ephemeral_public_key = public_key_of(ephemeral_private_key)
        shared_secret = ecdh(ephemeral_private_key, hop_public_key)
        secrets.append(HopSecrets(ephemeral_public_key, shared_secret))
        ephemeral_private_key = multiply_private_key(
            ephemeral_private_key, blinding_factor(ephemeral_public_key, shared_secret)
        )
    return secrets


def frame_payload(payload: bytes) -> bytes:
    """`hop_payload` framing without its HMAC: the bigsize length, then the payload."""
    return encode_bigsize(len(payload)) + payload


def generate_filler(
    shared_secrets: Sequence[bytes], shift_sizes: Sequence[int], hop_payloads_len: int
) -> bytes:
    """BOLT 4 "Filler Generation", computed directly for variable-size hops.

    After hop i peels, the bytes it appended (obfuscated zeros) sit at the tail of what hop i+1
    sees. Track only those tail bytes: append hop i's zeros, XOR with hop i's rho stream at the
    matching offset. The final hop does not forward, so it adds nothing.
    """
    filler = b""
    for shared_secret, shift_size in zip(shared_secrets[:-1], shift_sizes[:-1], strict=True):
        start = hop_payloads_len - len(filler)
        stream = chacha20_stream(generate_key(KeyType.RHO, shared_secret), hop_payloads_len + shift_size)
        filler = xor(filler + bytes(shift_size), stream[start:])
    return filler


def construct_onion(
    session_key: bytes,
    hop_public_keys: Sequence[bytes],
    payloads: Sequence[bytes],
    associated_data: bytes = b"",
    hop_payloads_len: int = HOP_PAYLOADS_LEN,
) -> OnionPacket:
    """BOLT 4 "Packet Construction" for N hops with variable-size payloads (TLV streams, unframed)."""
    if len(hop_public_keys) != len(payloads):
        raise OnionConstructionError(f"{len(hop_public_keys)} hops but {len(payloads)} payloads")
    if not hop_public_keys:
        raise OnionConstructionError("a route needs at least one hop")
    framed = [frame_payload(payload) for payload in payloads]
    shift_sizes = [len(frame) + HMAC_LEN for frame in framed]
    if sum(shift_sizes) > hop_payloads_len:
        raise OnionConstructionError(
            f"hop payloads need {sum(shift_sizes)} bytes, only {hop_payloads_len} available"
        )
    secrets = derive_hop_secrets(session_key, hop_public_keys)
    shared_secrets = [s.shared_secret for s in secrets]
    filler = generate_filler(shared_secrets, shift_sizes, hop_payloads_len)

    # "The packet is initialized with 1300 random bytes" from the pad key's ChaCha20 stream.
    mix_header = chacha20_stream(generate_key(KeyType.PAD, session_key), hop_payloads_len)
    next_hmac = _ZERO_HMAC
    for index in reversed(range(len(secrets))):
        shared_secret = shared_secrets[index]
        shift_size = shift_sizes[index]
        shifted = framed[index] + next_hmac + mix_header[: hop_payloads_len - shift_size]
        mix_header = xor(shifted, chacha20_stream(generate_key(KeyType.RHO, shared_secret), hop_payloads_len))
        if index == len(secrets) - 1 and filler:
            mix_header = mix_header[: hop_payloads_len - len(filler)] + filler
        next_hmac = hmac_sha256(generate_key(KeyType.MU, shared_secret), mix_header + associated_data)
    return OnionPacket(ONION_VERSION, secrets[0].ephemeral_public_key, mix_header, next_hmac)


def blinded_node_private_key(node_private_key: bytes, path_key: bytes) -> bytes:
    """BOLT 4 "Onion Decryption" with a `path_key`: tweak the node key by HMAC("blinded_node_id", ss)."""
    blinding_ss = ecdh(node_private_key, path_key)
    return multiply_private_key(node_private_key, generate_key(KeyType.BLINDED_NODE_ID, blinding_ss))


def process_onion(
    packet: OnionPacket | bytes,
    node_private_key: bytes,
    associated_data: bytes = b"",
    path_key: bytes | None = None,
) -> PeeledOnion:
    """BOLT 4 "Onion Decryption": check, decrypt and shift one layer.

    Raises InvalidOnionVersion / InvalidOnionKey / InvalidOnionHmac (BADONION codes, reported in
    update_fail_malformed_htlc) or InvalidOnionPayloadFraming; each carries `sha256_of_onion`.
    """
    raw = packet.to_bytes() if isinstance(packet, OnionPacket) else bytes(packet)
    onion = packet if isinstance(packet, OnionPacket) else OnionPacket.from_bytes(raw)
    onion_hash = sha256(raw)
    if onion.version != ONION_VERSION:
        raise InvalidOnionVersion(f"onion version {onion.version} is not {ONION_VERSION}", onion_hash)
    try:
        parse_public_key(onion.public_key)
    except InvalidPublicKey as exc:
        raise InvalidOnionKey(str(exc), onion_hash) from exc
    if path_key is not None:
        try:
            node_private_key = blinded_node_private_key(node_private_key, path_key)
        except InvalidPublicKey as exc:
            raise InvalidOnionKey(f"path_key: {exc}", onion_hash) from exc
    shared_secret = ecdh(node_private_key, onion.public_key)
    expected_hmac = hmac_sha256(generate_key(KeyType.MU, shared_secret), onion.hop_payloads + associated_data)
    # "MUST use a constant time comparison of the computed HMAC and hmac."
    if not _hmac.compare_digest(expected_hmac, onion.hmac):
        raise InvalidOnionHmac("onion hmac does not match", onion_hash)

    size = len(onion.hop_payloads)
    stream = chacha20_stream(generate_key(KeyType.RHO, shared_secret), 2 * size)
    unwrapped = xor(onion.hop_payloads + bytes(size), stream)
    try:
        payload_length, prefix_length = decode_bigsize(unwrapped)  # offset 0: end == prefix size
    except BigSizeError as exc:
        raise InvalidOnionPayloadFraming(f"payload length: {exc}", onion_hash) from exc
    if payload_length < MIN_PAYLOAD_LEN:
        raise InvalidOnionPayloadFraming(f"payload length {payload_length} is reserved", onion_hash)
    payload_end = prefix_length + payload_length
    if payload_end + HMAC_LEN > size:
        raise InvalidOnionPayloadFraming(
            f"payload of {payload_length} bytes and its hmac overrun {size} bytes", onion_hash
        )
    payload = unwrapped[prefix_length:payload_end]
    next_hmac = unwrapped[payload_end : payload_end + HMAC_LEN]
    if next_hmac == _ZERO_HMAC:
        return PeeledOnion(payload, shared_secret, None)
    next_public_key = multiply_public_key(onion.public_key, blinding_factor(onion.public_key, shared_secret))
    next_hop_payloads = unwrapped[payload_end + HMAC_LEN : payload_end + HMAC_LEN + size]
    return PeeledOnion(
        payload, shared_secret, OnionPacket(ONION_VERSION, next_public_key, next_hop_payloads, next_hmac)
    )
