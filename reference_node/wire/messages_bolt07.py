"""BOLT 7 messages (announcements, channel_update, gossip queries): one class per message, with
its TLV streams and subtypes.

Generated once from 07-routing-gossip.md and kept in sync by tests/test_wire_schema_matches_spec.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, ClassVar

from reference_node.wire.message import Message, register
from reference_node.wire.scid import ShortChannelId
from reference_node.wire.struct import SubtypeCodec
from reference_node.wire.tlv import EmptyTlvs, TlvRecord, TlvStream, TlvStreamCodec, TlvType
from reference_node.wire.types import (
    BIGSIZE,
    BYTE,
    CHAIN_HASH,
    CHANNEL_ID,
    POINT,
    SHORT_CHANNEL_ID,
    SIGNATURE,
    U16,
    U32,
    U64,
    counted,
    fixed,
    rest,
)


@dataclass(frozen=True)
class ChannelUpdateTimestamps:
    """BOLT 7 subtype `channel_update_timestamps`."""

    timestamp_node_id_1: Annotated[int, U32]
    timestamp_node_id_2: Annotated[int, U32]


CHANNEL_UPDATE_TIMESTAMPS = SubtypeCodec(ChannelUpdateTimestamps, "channel_update_timestamps")


@dataclass(frozen=True)
class ChannelUpdateChecksums:
    """BOLT 7 subtype `channel_update_checksums`."""

    checksum_node_id_1: Annotated[int, U32]
    checksum_node_id_2: Annotated[int, U32]


CHANNEL_UPDATE_CHECKSUMS = SubtypeCodec(ChannelUpdateChecksums, "channel_update_checksums")


@dataclass(frozen=True)
class QueryFlagsTlv(TlvRecord):
    """TLV record `query_flags`."""

    encoding_type: Annotated[int, BYTE]
    encoded_query_flags: Annotated[bytes, rest(BYTE)]


@dataclass(frozen=True)
class QueryOptionTlv(TlvRecord):
    """TLV record `query_option`."""

    query_option_flags: Annotated[int, BIGSIZE]


@dataclass(frozen=True)
class TimestampsTlv(TlvRecord):
    """TLV record `timestamps_tlv`."""

    encoding_type: Annotated[int, BYTE]
    encoded_timestamps: Annotated[bytes, rest(BYTE)]


@dataclass(frozen=True)
class ChecksumsTlv(TlvRecord):
    """TLV record `checksums_tlv`."""

    checksums: Annotated[tuple[ChannelUpdateChecksums, ...], rest(CHANNEL_UPDATE_CHECKSUMS)]


@dataclass(frozen=True)
class QueryShortChannelIdsTlvs(TlvStream):
    """BOLT 7 `tlv_stream` `query_short_channel_ids_tlvs`."""

    query_flags: Annotated[QueryFlagsTlv | None, TlvType(1)] = None


@dataclass(frozen=True)
class QueryChannelRangeTlvs(TlvStream):
    """BOLT 7 `tlv_stream` `query_channel_range_tlvs`."""

    query_option: Annotated[QueryOptionTlv | None, TlvType(1)] = None


@dataclass(frozen=True)
class ReplyChannelRangeTlvs(TlvStream):
    """BOLT 7 `tlv_stream` `reply_channel_range_tlvs`."""

    timestamps_tlv: Annotated[TimestampsTlv | None, TlvType(1)] = None
    checksums_tlv: Annotated[ChecksumsTlv | None, TlvType(3)] = None


@register
@dataclass(frozen=True)
class AnnouncementSignatures(Message):
    """BOLT 7 `announcement_signatures` (type 259)."""

    TYPE: ClassVar[int] = 259
    NAME: ClassVar[str] = "announcement_signatures"
    BOLT: ClassVar[int] = 7
    channel_id: Annotated[bytes, CHANNEL_ID]
    short_channel_id: Annotated[ShortChannelId, SHORT_CHANNEL_ID]
    node_signature: Annotated[bytes, SIGNATURE]
    bitcoin_signature: Annotated[bytes, SIGNATURE]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class ChannelAnnouncement(Message):
    """BOLT 7 `channel_announcement` (type 256)."""

    TYPE: ClassVar[int] = 256
    NAME: ClassVar[str] = "channel_announcement"
    BOLT: ClassVar[int] = 7
    node_signature_1: Annotated[bytes, SIGNATURE]
    node_signature_2: Annotated[bytes, SIGNATURE]
    bitcoin_signature_1: Annotated[bytes, SIGNATURE]
    bitcoin_signature_2: Annotated[bytes, SIGNATURE]
    features: Annotated[bytes, counted("len", BYTE, U16)]
    chain_hash: Annotated[bytes, CHAIN_HASH]
    short_channel_id: Annotated[ShortChannelId, SHORT_CHANNEL_ID]
    node_id_1: Annotated[bytes, POINT]
    node_id_2: Annotated[bytes, POINT]
    bitcoin_key_1: Annotated[bytes, POINT]
    bitcoin_key_2: Annotated[bytes, POINT]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class NodeAnnouncement(Message):
    """BOLT 7 `node_announcement` (type 257)."""

    TYPE: ClassVar[int] = 257
    NAME: ClassVar[str] = "node_announcement"
    BOLT: ClassVar[int] = 7
    signature: Annotated[bytes, SIGNATURE]
    features: Annotated[bytes, counted("flen", BYTE, U16)]
    timestamp: Annotated[int, U32]
    node_id: Annotated[bytes, POINT]
    rgb_color: Annotated[bytes, fixed(3, BYTE)]
    alias: Annotated[bytes, fixed(32, BYTE)]
    addresses: Annotated[bytes, counted("addrlen", BYTE, U16)]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class ChannelUpdate(Message):
    """BOLT 7 `channel_update` (type 258)."""

    TYPE: ClassVar[int] = 258
    NAME: ClassVar[str] = "channel_update"
    BOLT: ClassVar[int] = 7
    signature: Annotated[bytes, SIGNATURE]
    chain_hash: Annotated[bytes, CHAIN_HASH]
    short_channel_id: Annotated[ShortChannelId, SHORT_CHANNEL_ID]
    timestamp: Annotated[int, U32]
    message_flags: Annotated[int, BYTE]
    channel_flags: Annotated[int, BYTE]
    cltv_expiry_delta: Annotated[int, U16]
    htlc_minimum_msat: Annotated[int, U64]
    fee_base_msat: Annotated[int, U32]
    fee_proportional_millionths: Annotated[int, U32]
    htlc_maximum_msat: Annotated[int, U64]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class QueryShortChannelIds(Message):
    """BOLT 7 `query_short_channel_ids` (type 261)."""

    TYPE: ClassVar[int] = 261
    NAME: ClassVar[str] = "query_short_channel_ids"
    BOLT: ClassVar[int] = 7
    chain_hash: Annotated[bytes, CHAIN_HASH]
    encoded_short_ids: Annotated[bytes, counted("len", BYTE, U16)]
    tlvs: Annotated[QueryShortChannelIdsTlvs, TlvStreamCodec(QueryShortChannelIdsTlvs)] = field(
        default_factory=QueryShortChannelIdsTlvs
    )


@register
@dataclass(frozen=True)
class ReplyShortChannelIdsEnd(Message):
    """BOLT 7 `reply_short_channel_ids_end` (type 262)."""

    TYPE: ClassVar[int] = 262
    NAME: ClassVar[str] = "reply_short_channel_ids_end"
    BOLT: ClassVar[int] = 7
    chain_hash: Annotated[bytes, CHAIN_HASH]
    full_information: Annotated[int, BYTE]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)


@register
@dataclass(frozen=True)
class QueryChannelRange(Message):
    """BOLT 7 `query_channel_range` (type 263)."""

    TYPE: ClassVar[int] = 263
    NAME: ClassVar[str] = "query_channel_range"
    BOLT: ClassVar[int] = 7
    chain_hash: Annotated[bytes, CHAIN_HASH]
    first_blocknum: Annotated[int, U32]
    number_of_blocks: Annotated[int, U32]
    tlvs: Annotated[QueryChannelRangeTlvs, TlvStreamCodec(QueryChannelRangeTlvs)] = field(
        default_factory=QueryChannelRangeTlvs
    )


@register
@dataclass(frozen=True)
class ReplyChannelRange(Message):
    """BOLT 7 `reply_channel_range` (type 264)."""

    TYPE: ClassVar[int] = 264
    NAME: ClassVar[str] = "reply_channel_range"
    BOLT: ClassVar[int] = 7
    chain_hash: Annotated[bytes, CHAIN_HASH]
    first_blocknum: Annotated[int, U32]
    number_of_blocks: Annotated[int, U32]
    sync_complete: Annotated[int, BYTE]
    encoded_short_ids: Annotated[bytes, counted("len", BYTE, U16)]
    tlvs: Annotated[ReplyChannelRangeTlvs, TlvStreamCodec(ReplyChannelRangeTlvs)] = field(
        default_factory=ReplyChannelRangeTlvs
    )


@register
@dataclass(frozen=True)
class GossipTimestampFilter(Message):
    """BOLT 7 `gossip_timestamp_filter` (type 265)."""

    TYPE: ClassVar[int] = 265
    NAME: ClassVar[str] = "gossip_timestamp_filter"
    BOLT: ClassVar[int] = 7
    chain_hash: Annotated[bytes, CHAIN_HASH]
    first_timestamp: Annotated[int, U32]
    timestamp_range: Annotated[int, U32]
    tlvs: Annotated[EmptyTlvs, TlvStreamCodec(EmptyTlvs)] = field(default_factory=EmptyTlvs)
