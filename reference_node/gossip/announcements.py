"""Building the three gossip messages as their origin node (BOLT 7 origin requirements).

- `unsigned_channel_announcement` orders the two nodes ("`node_id_1` is the lexicographically-lesser")
  and their `bitcoin_key`s; signatures are filled by `announcement_signatures` (two parties) or
  `signing.sign_channel_announcement`.
- `build_node_announcement`: alias UTF-8 zero-padded to 32 bytes, addresses per `addresses.py`.
- `build_channel_update` from a `ChannelPolicy`, with the `direction`/`disable` and `must_be_one`/
  `dont_forward` bits.
- `channel_update_checksum`: CRC32C (RFC 3720) of the update without `signature` and `timestamp`.
"""

from __future__ import annotations

from dataclasses import dataclass

import google_crc32c

from reference_node.gossip.addresses import AddressDescriptor, encode_addresses
from reference_node.gossip.errors import OriginError
from reference_node.gossip.flags import ChannelFlag, Direction, MessageFlag
from reference_node.gossip.signing import (
    channel_update_digest,
    node_announcement_digest,
    sign,
)
from reference_node.wire import (
    ChannelAnnouncement,
    ChannelUpdate,
    NodeAnnouncement,
    ShortChannelId,
    encode_message,
)
from reference_node.wire.features import Features

_EMPTY_SIGNATURE = bytes(64)
_ALIAS_LEN = 32


@dataclass(frozen=True)
class ChannelPolicy:
    """The forwarding parameters one side announces in `channel_update`."""

    cltv_expiry_delta: int
    htlc_minimum_msat: int
    htlc_maximum_msat: int
    fee_base_msat: int
    fee_proportional_millionths: int

    def fee_msat(self, amount_to_forward_msat: int) -> int:
        """BOLT 7 "HTLC Fees": fee_base_msat + ( amount_to_forward * fee_proportional_millionths / 1000000 ),
        rounded down as implementations do (the Routing Example: 200 + 4999999 * 2000 / 1000000 = 10199)."""
        return self.fee_base_msat + amount_to_forward_msat * self.fee_proportional_millionths // 1_000_000

    @classmethod
    def of_update(cls, update: ChannelUpdate) -> ChannelPolicy:
        return cls(
            cltv_expiry_delta=update.cltv_expiry_delta,
            htlc_minimum_msat=update.htlc_minimum_msat,
            htlc_maximum_msat=update.htlc_maximum_msat,
            fee_base_msat=update.fee_base_msat,
            fee_proportional_millionths=update.fee_proportional_millionths,
        )


def order_nodes(node_id_a: bytes, node_id_b: bytes) -> tuple[bytes, bytes]:
    """(node_id_1, node_id_2): "the lexicographically-lesser of the two compressed keys" first."""
    if node_id_a == node_id_b:
        raise OriginError("a channel needs two different node_ids")
    return (node_id_a, node_id_b) if node_id_a < node_id_b else (node_id_b, node_id_a)


def direction_of(node_id: bytes, other_node_id: bytes) -> Direction:
    """The `direction` bit `node_id` uses in its `channel_update`s for a channel with `other_node_id`."""
    return (
        Direction.FROM_NODE_1 if order_nodes(node_id, other_node_id)[0] == node_id else Direction.FROM_NODE_2
    )


def unsigned_channel_announcement(
    *,
    chain_hash: bytes,
    short_channel_id: ShortChannelId,
    node_id_a: bytes,
    node_id_b: bytes,
    bitcoin_key_a: bytes,
    bitcoin_key_b: bytes,
    features: Features,
) -> ChannelAnnouncement:
    """The announcement with zeroed signatures; `bitcoin_key_a` is `node_id_a`'s `funding_pubkey`.
    "MUST set `len` to the minimum length required": Features.to_bytes is minimal."""
    keys = {node_id_a: bitcoin_key_a, node_id_b: bitcoin_key_b}
    node_id_1, node_id_2 = order_nodes(node_id_a, node_id_b)
    return ChannelAnnouncement(
        node_signature_1=_EMPTY_SIGNATURE,
        node_signature_2=_EMPTY_SIGNATURE,
        bitcoin_signature_1=_EMPTY_SIGNATURE,
        bitcoin_signature_2=_EMPTY_SIGNATURE,
        features=features.to_bytes(),
        chain_hash=chain_hash,
        short_channel_id=short_channel_id,
        node_id_1=node_id_1,
        node_id_2=node_id_2,
        bitcoin_key_1=keys[node_id_1],
        bitcoin_key_2=keys[node_id_2],
    )


def encode_alias(alias: str) -> bytes:
    """ "MUST set `alias` to a valid UTF-8 string, with any `alias` trailing-bytes equal to 0"."""
    raw = alias.encode("utf-8")
    if len(raw) > _ALIAS_LEN:
        raise OriginError(f"alias is {len(raw)} bytes of UTF-8, more than {_ALIAS_LEN}")
    if b"\x00" in raw:
        raise OriginError("alias may not contain NUL (trailing bytes are the padding)")
    return raw.ljust(_ALIAS_LEN, b"\x00")


def decode_alias(alias: bytes) -> str:
    """The alias text (trailing zero bytes removed); invalid UTF-8 is shown with replacement characters
    since receivers only display it."""
    return alias.rstrip(b"\x00").decode("utf-8", errors="replace")


def build_node_announcement(
    *,
    node_secret: bytes,
    node_id: bytes,
    timestamp: int,
    features: Features,
    rgb_color: bytes = b"\x00\x00\x00",
    alias: str = "",
    addresses: tuple[AddressDescriptor, ...] = (),
) -> NodeAnnouncement:
    """A signed `node_announcement`. The caller keeps `timestamp` increasing ("MUST set `timestamp` to be
    greater than that of any previous `node_announcement` it has previously created")."""
    if len(rgb_color) != 3:
        raise OriginError("rgb_color is 3 bytes: red, green, blue")
    unsigned = NodeAnnouncement(
        signature=_EMPTY_SIGNATURE,
        features=features.to_bytes(),
        timestamp=timestamp,
        node_id=node_id,
        rgb_color=rgb_color,
        alias=encode_alias(alias),
        addresses=encode_addresses(addresses),
    )
    signature = sign(node_secret, node_announcement_digest(unsigned))
    return NodeAnnouncement(
        signature=signature,
        features=unsigned.features,
        timestamp=unsigned.timestamp,
        node_id=unsigned.node_id,
        rgb_color=unsigned.rgb_color,
        alias=unsigned.alias,
        addresses=unsigned.addresses,
    )


def build_channel_update(
    *,
    node_secret: bytes,
    chain_hash: bytes,
    short_channel_id: ShortChannelId,
    timestamp: int,
    direction: Direction,
    policy: ChannelPolicy,
    disabled: bool = False,
    dont_forward: bool = False,
    capacity_msat: int | None = None,
    max_htlc_value_in_flight_msat: int | None = None,
) -> ChannelUpdate:
    """A signed `channel_update`, checking the origin requirements: `timestamp` > 0; `htlc_maximum_msat`
    <= capacity, <= the peer's `max_htlc_value_in_flight_msat` (when given) and >= `htlc_minimum_msat`;
    `must_be_one` set; unassigned bits 0. `dont_forward` is for updates sent to the peer only."""
    if timestamp <= 0:
        raise OriginError("channel_update timestamp must be greater than 0")
    if policy.htlc_maximum_msat < policy.htlc_minimum_msat:
        raise OriginError("htlc_maximum_msat must be >= htlc_minimum_msat")
    if capacity_msat is not None and policy.htlc_maximum_msat > capacity_msat:
        raise OriginError(f"htlc_maximum_msat {policy.htlc_maximum_msat} exceeds capacity {capacity_msat}")
    if max_htlc_value_in_flight_msat is not None and policy.htlc_maximum_msat > max_htlc_value_in_flight_msat:
        raise OriginError("htlc_maximum_msat exceeds the peer's max_htlc_value_in_flight_msat")
    message_flags = MessageFlag.MUST_BE_ONE | (MessageFlag.DONT_FORWARD if dont_forward else 0)
    channel_flags = ChannelFlag(int(direction)) | (ChannelFlag.DISABLE if disabled else 0)
    fields = {
        "chain_hash": chain_hash,
        "short_channel_id": short_channel_id,
        "timestamp": timestamp,
        "message_flags": int(message_flags),
        "channel_flags": int(channel_flags),
        "cltv_expiry_delta": policy.cltv_expiry_delta,
        "htlc_minimum_msat": policy.htlc_minimum_msat,
        "fee_base_msat": policy.fee_base_msat,
        "fee_proportional_millionths": policy.fee_proportional_millionths,
        "htlc_maximum_msat": policy.htlc_maximum_msat,
    }
    unsigned = ChannelUpdate(signature=_EMPTY_SIGNATURE, **fields)  # type: ignore[arg-type]
    return ChannelUpdate(signature=sign(node_secret, channel_update_digest(unsigned)), **fields)  # type: ignore[arg-type]


def update_direction(update: ChannelUpdate) -> Direction:
    return Direction(update.channel_flags & ChannelFlag.DIRECTION)


def update_disabled(update: ChannelUpdate) -> bool:
    return bool(update.channel_flags & ChannelFlag.DISABLE)


def update_dont_forward(update: ChannelUpdate) -> bool:
    return bool(update.message_flags & MessageFlag.DONT_FORWARD)


# channel_update payload layout: signature(64) chain_hash(32) short_channel_id(8) timestamp(4) ...
_TYPE_LEN = 2
_SIGNATURE_END = _TYPE_LEN + 64
_TIMESTAMP_START = _SIGNATURE_END + 32 + 8
_TIMESTAMP_END = _TIMESTAMP_START + 4


def channel_update_checksum(update: ChannelUpdate) -> int:
    """BOLT 7: "the CRC32C checksum as specified in RFC3720 of this `channel_update` without its
    `signature` and `timestamp` fields" (over the payload: the 2-byte type is not part of the fields;
    any fields appended after `htlc_maximum_msat` are included)."""
    raw = encode_message(update)
    return int(google_crc32c.value(raw[_SIGNATURE_END:_TIMESTAMP_START] + raw[_TIMESTAMP_END:]))


def same_fields_below_timestamp(a: ChannelUpdate, b: ChannelUpdate) -> bool:
    """BOLT 7 "if the fields below `timestamp` differ" (everything after `timestamp`)."""
    return encode_message(a)[_TIMESTAMP_END:] == encode_message(b)[_TIMESTAMP_END:]
