"""The signed parts of the three gossip messages, and signing/verification (BOLT 7).

- `channel_announcement`: "double-SHA256 hash `h` of the message, beginning at offset 256" (after the
  four 64-byte signatures; offsets are into the message payload, after the 2-byte type).
- `node_announcement` and `channel_update`: "the double-SHA256 of the entire remaining packet after
  `signature`".
All three hash "any future fields appended to the end" too: we hash the encoded message as received,
so TLV extensions are covered.

Signatures are 64-byte compact (r||s), low-S; libsecp256k1 (coincurve) does the curve work.
"""

from __future__ import annotations

from reference_node.bitcoin.ecdsa import compact_to_der, der_to_compact, sign_digest, verify_digest
from reference_node.bitcoin.errors import SignatureError
from reference_node.bitcoin.hashes import sha256d
from reference_node.gossip.errors import InvalidSignatureError
from reference_node.wire import ChannelAnnouncement, ChannelUpdate, NodeAnnouncement, encode_message

_TYPE_LEN = 2
_SIGNATURE_LEN = 64


def channel_announcement_digest(msg: ChannelAnnouncement) -> bytes:
    """`h` of BOLT 7 `channel_announcement`: sha256d of the payload from offset 256 (after 4 signatures)."""
    return sha256d(encode_message(msg)[_TYPE_LEN + 4 * _SIGNATURE_LEN :])


def node_announcement_digest(msg: NodeAnnouncement) -> bytes:
    return sha256d(encode_message(msg)[_TYPE_LEN + _SIGNATURE_LEN :])


def channel_update_digest(msg: ChannelUpdate) -> bytes:
    return sha256d(encode_message(msg)[_TYPE_LEN + _SIGNATURE_LEN :])


def sign(secret: bytes, digest: bytes) -> bytes:
    """64-byte compact low-S signature of `digest`."""
    return der_to_compact(sign_digest(secret, digest))


# secp256k1 group order.
_CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _low_s(compact_signature: bytes) -> bytes:
    """(r, s) with s replaced by n - s when s is high. BOLT 7 (channel_update rationale): "ECDSA signatures
    are malleable. So, an intermediate node ... can rebroadcast it just by changing the `s` component of
    signature with `-s`". Unlike BOLT 2's transaction signatures, gossip has no LOW-S rule, so both forms
    are valid; libsecp256k1 verifies only the low-S one."""
    s = int.from_bytes(compact_signature[32:], "big")
    if s <= _CURVE_ORDER // 2:
        return compact_signature
    return compact_signature[:32] + (_CURVE_ORDER - s).to_bytes(32, "big")


def signature_valid(pubkey: bytes, compact_signature: bytes, digest: bytes) -> bool:
    """True iff the compact signature verifies (in either s form); a malformed signature or key is simply
    invalid."""
    if len(compact_signature) != 64:
        return False
    try:
        return verify_digest(pubkey, compact_to_der(_low_s(compact_signature)), digest)
    except SignatureError:
        return False


def sign_channel_announcement(
    msg: ChannelAnnouncement,
    *,
    node_secret_1: bytes,
    node_secret_2: bytes,
    bitcoin_secret_1: bytes,
    bitcoin_secret_2: bytes,
) -> ChannelAnnouncement:
    """`msg` with all four signatures set (used by tests and by a node holding every key)."""
    h = channel_announcement_digest(msg)
    return ChannelAnnouncement(
        node_signature_1=sign(node_secret_1, h),
        node_signature_2=sign(node_secret_2, h),
        bitcoin_signature_1=sign(bitcoin_secret_1, h),
        bitcoin_signature_2=sign(bitcoin_secret_2, h),
        features=msg.features,
        chain_hash=msg.chain_hash,
        short_channel_id=msg.short_channel_id,
        node_id_1=msg.node_id_1,
        node_id_2=msg.node_id_2,
        bitcoin_key_1=msg.bitcoin_key_1,
        bitcoin_key_2=msg.bitcoin_key_2,
        tlvs=msg.tlvs,
    )


def verify_channel_announcement(msg: ChannelAnnouncement) -> None:
    """BOLT 7 receiver: "MUST verify the integrity AND authenticity of the message by verifying the
    signatures". Raises InvalidSignatureError naming the first bad signature."""
    h = channel_announcement_digest(msg)
    for which, key, signature in (
        ("node_signature_1", msg.node_id_1, msg.node_signature_1),
        ("node_signature_2", msg.node_id_2, msg.node_signature_2),
        ("bitcoin_signature_1", msg.bitcoin_key_1, msg.bitcoin_signature_1),
        ("bitcoin_signature_2", msg.bitcoin_key_2, msg.bitcoin_signature_2),
    ):
        if not signature_valid(key, signature, h):
            raise InvalidSignatureError(msg.NAME, which)


def verify_node_announcement(msg: NodeAnnouncement) -> None:
    if not signature_valid(msg.node_id, msg.signature, node_announcement_digest(msg)):
        raise InvalidSignatureError(msg.NAME, "signature", f"not signed by node_id {msg.node_id.hex()}")


def verify_channel_update(msg: ChannelUpdate, node_id: bytes) -> None:
    """`node_id` is `node_id_1` or `node_id_2` of the channel's announcement, per the direction bit."""
    if not signature_valid(node_id, msg.signature, channel_update_digest(msg)):
        raise InvalidSignatureError(msg.NAME, "signature", f"not signed by node_id {node_id.hex()}")
