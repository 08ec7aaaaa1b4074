"""BOLT 1 wire layer: BigSize, fundamental types, TLV streams, every BOLT 1/2/7 message, BOLT 9 features.

Public API (import from `reference_node.wire`):

Messages
    Message                 base class; every message is a frozen dataclass subclass with
                            ``TYPE`` (int), ``NAME`` (spec name, e.g. "open_channel"), ``BOLT``, and
                            attributes named exactly as the spec's fields (``msg.funding_satoshis``).
                            bytes for byte fields, int for integers, ShortChannelId for
                            short_channel_id, tuples for arrays. Length/count fields (``len``,
                            ``num_htlcs``...) are not attributes: they are derived from the array.
                            ``msg.tlvs`` is the message's TLV extension: a typed TlvStream whose
                            attributes are the spec's record names (None when absent), each a record
                            object with the spec's field names (``msg.tlvs.channel_type.type``), plus
                            ``unknown_records`` (unknown odd records kept verbatim, as RawTlv).
                            Messages whose spec defines no TLV stream have ``tlvs: EmptyTlvs``.
    UnknownMessage          (type, payload) for an unknown odd message type: callers ignore it.
    encode_message(msg) -> bytes                   2-byte type + payload + TLV extension
    decode_message(data) -> Message | UnknownMessage
                            raises a WireError subclass on any bad input; UnknownEvenMessageError
                            for unknown even types; bytes after the fields are parsed as the
                            message's TLV stream (BOLT 1 "extension").
                            Invariant: if decode_message(b) succeeds, encode_message(...) == b.
    message_class(name) -> type[Message]           UnknownMessageNameError (a KeyError) if unknown
    message_names() -> list[str]                   by type number
    build_message(name, fields) -> Message         from scenario JSON/YAML: hex strings for bytes,
                            ints, "BxTxO" (or int) for short_channel_id, lists for arrays, and
                            ``tlvs`` as {record_name: {field: value}, "unknown_records":
                            [{"type": n, "value": hex}]}. Unknown or missing fields and bad values
                            raise FieldValueError/UnknownFieldError whose ``where`` names the field.
    message_to_fields(msg) -> dict                 JSON-friendly inverse of build_message
                            (an UnknownMessage gives {"type": n, "payload": hex}).
    The message classes themselves (Init, ErrorMessage, WarningMessage, Ping, Pong, OpenChannel,
    ..., GossipTimestampFilter) are importable from here for isinstance checks.

BigSize and TLV
    encode_bigsize(value) -> bytes; decode_bigsize(data, offset=0) -> (value, next_offset)
    RawTlv(type, value); decode_tlv_records(data) -> list[RawTlv]; encode_tlv_records(records)
    TlvStream, TlvRecord, TlvType: define a typed stream (see tlv.py);
    decode_tlv_stream(StreamClass, data); encode_tlv_stream(stream)

Types
    ShortChannelId(block_height, tx_index, output_index): from_int/from_str/to_bytes, str "BxTxO".
    Codecs of the fundamental types live in reference_node.wire.types (BYTE, U16, S64, TU64,
    BIGSIZE, CHAIN_HASH, SHA256, SIGNATURE, BIP340SIG, POINT, SHORT_CHANNEL_ID,
    SCIDDIR_OR_PUBKEY -> ShortChannelIdDir | point bytes, UTF8; fixed(n, T), counted("len", T),
    rest(T) for arrays: bytes for byte arrays, str for utf8 arrays, tuples otherwise).

Errors (all subclasses of WireError; see errors.py)
    DecodeError > TruncatedError, NonCanonicalBigSizeError, NonMinimalTruncatedIntError,
    InvalidPointError, InvalidUtf8Error, TlvError (> TlvOrderError > TlvDuplicateError,
    TlvLengthError, UnknownEvenTlvError), UnknownEvenMessageError, ForbiddenEncodingError.
    EncodeError > FieldValueError > UnknownFieldError. UnknownMessageNameError. FeatureError > ...

Features (BOLT 9), in reference_node.wire.features (Feature, Features, Context also exported here)
    Feature                 IntEnum of assigned features named as in BOLT 9; value = even bit.
    FEATURE_TABLE / FEATURE_INFO   the BOLT 9 table: contexts (I, N, C, C-, C+, 9, B, T),
                            dependencies, ASSUMED flag.
    Features(bits)          immutable bit vector: from_bytes/to_bytes (minimal), of(required=,
                            optional=), set/clear, supports/requires, merge_init, unknown_bits.
    check_init_features(globalfeatures, features) -> Features   BOLT 1 init receipt; raises
                            UnknownRequiredFeatureError, MissingFeatureDependencyError,
                            FeatureContextError (a required feature with no meaning in init).
    check_received_features(features, context=None), check_sent_features(features, context)
                            (BOLT 9 origin rules, to judge what a node under test sends),
                            negotiated(local, remote, feature).
Gossip query encodings (BOLT 7 encoded_short_ids etc.): reference_node.wire.gossip_encoding.
"""

from __future__ import annotations

from reference_node.wire.bigsize import decode_bigsize, encode_bigsize
from reference_node.wire.errors import (
    BothFeatureBitsError,
    DecodeError,
    EncodeError,
    FeatureContextError,
    FeatureError,
    FieldValueError,
    ForbiddenEncodingError,
    InvalidPointError,
    InvalidUtf8Error,
    MissingFeatureDependencyError,
    NonCanonicalBigSizeError,
    NonMinimalTruncatedIntError,
    TlvDuplicateError,
    TlvError,
    TlvLengthError,
    TlvOrderError,
    TruncatedError,
    UnknownEvenMessageError,
    UnknownEvenTlvError,
    UnknownFieldError,
    UnknownMessageNameError,
    UnknownRequiredFeatureError,
    WireError,
)
from reference_node.wire.features import Context, Feature, Features
from reference_node.wire.message import (
    MAX_MESSAGE_SIZE,
    Message,
    UnknownMessage,
    build_message,
    decode_message,
    encode_message,
    message_class,
    message_class_by_type,
    message_names,
    message_to_fields,
)
from reference_node.wire.messages_bolt01 import (
    ErrorMessage,
    Init,
    InitTlvs,
    NetworksTlv,
    PeerStorage,
    PeerStorageRetrieval,
    Ping,
    Pong,
    RemoteAddrTlv,
    WarningMessage,
)
from reference_node.wire.messages_bolt02_open import (
    AcceptChannel,
    AcceptChannel2,
    ChannelReady,
    FundingCreated,
    FundingSigned,
    OpenChannel,
    OpenChannel2,
    SpliceAck,
    SpliceInit,
    SpliceLocked,
    Stfu,
    TxAbort,
    TxAckRbf,
    TxAddInput,
    TxAddOutput,
    TxComplete,
    TxInitRbf,
    TxRemoveInput,
    TxRemoveOutput,
    TxSignatures,
)
from reference_node.wire.messages_bolt02_update import (
    ChannelReestablish,
    ClosingComplete,
    ClosingSig,
    ClosingSigned,
    CommitmentSigned,
    RevokeAndAck,
    Shutdown,
    StartBatch,
    UpdateAddHtlc,
    UpdateFailHtlc,
    UpdateFailMalformedHtlc,
    UpdateFee,
    UpdateFulfillHtlc,
)
from reference_node.wire.messages_bolt07 import (
    AnnouncementSignatures,
    ChannelAnnouncement,
    ChannelUpdate,
    ChannelUpdateChecksums,
    ChannelUpdateTimestamps,
    ChecksumsTlv,
    GossipTimestampFilter,
    NodeAnnouncement,
    QueryChannelRange,
    QueryChannelRangeTlvs,
    QueryFlagsTlv,
    QueryOptionTlv,
    QueryShortChannelIds,
    QueryShortChannelIdsTlvs,
    ReplyChannelRange,
    ReplyChannelRangeTlvs,
    ReplyShortChannelIdsEnd,
    TimestampsTlv,
)
from reference_node.wire.scid import ShortChannelId
from reference_node.wire.tlv import (
    EmptyTlvs,
    RawTlv,
    TlvRecord,
    TlvStream,
    TlvType,
    decode_tlv_records,
    decode_tlv_stream,
    encode_tlv_records,
    encode_tlv_stream,
)
from reference_node.wire.tlvs_bolt02 import (
    AcceptChannelTlvs,
    AcceptTlvs,
    AttributionDataTlv,
    BlindedPathTlv,
    ChannelReadyTlvs,
    ChannelReestablishTlvs,
    ChannelTypeTlv,
    CloseeOutputOnlyTlv,
    CloserAndCloseeOutputsTlv,
    CloserOutputOnlyTlv,
    ClosingSignedTlvs,
    ClosingTlvs,
    CommitmentSignedTlvs,
    FeeRangeTlv,
    FundingOutputContributionTlv,
    FundingTxidTlv,
    MessageTypeTlv,
    MyCurrentFundingLockedTlv,
    NextFundingTlv,
    OpenChannelTlvs,
    OpeningTlvs,
    RequireConfirmedInputsTlv,
    SharedInputSignatureTlv,
    SharedInputTxidTlv,
    ShortChannelIdTlv,
    SpliceAckTlvs,
    SpliceInitTlvs,
    StartBatchTlvs,
    TxAckRbfTlvs,
    TxAddInputTlvs,
    TxInitRbfTlvs,
    TxSignaturesTlvs,
    UpdateAddHtlcTlvs,
    UpdateFailHtlcTlvs,
    UpdateFulfillHtlcTlvs,
    UpfrontShutdownScriptTlv,
    Witness,
)

__all__ = [
    "MAX_MESSAGE_SIZE",
    "AcceptChannel",
    "AcceptChannel2",
    "AcceptChannelTlvs",
    "AcceptTlvs",
    "AnnouncementSignatures",
    "AttributionDataTlv",
    "BlindedPathTlv",
    "BothFeatureBitsError",
    "ChannelAnnouncement",
    "ChannelReady",
    "ChannelReadyTlvs",
    "ChannelReestablish",
    "ChannelReestablishTlvs",
    "ChannelTypeTlv",
    "ChannelUpdate",
    "ChannelUpdateChecksums",
    "ChannelUpdateTimestamps",
    "ChecksumsTlv",
    "CloseeOutputOnlyTlv",
    "CloserAndCloseeOutputsTlv",
    "CloserOutputOnlyTlv",
    "ClosingComplete",
    "ClosingSig",
    "ClosingSigned",
    "ClosingSignedTlvs",
    "ClosingTlvs",
    "CommitmentSigned",
    "CommitmentSignedTlvs",
    "Context",
    "DecodeError",
    "EmptyTlvs",
    "EncodeError",
    "ErrorMessage",
    "Feature",
    "FeatureContextError",
    "FeatureError",
    "Features",
    "FeeRangeTlv",
    "FieldValueError",
    "ForbiddenEncodingError",
    "FundingCreated",
    "FundingOutputContributionTlv",
    "FundingSigned",
    "FundingTxidTlv",
    "GossipTimestampFilter",
    "Init",
    "InitTlvs",
    "InvalidPointError",
    "InvalidUtf8Error",
    "Message",
    "MessageTypeTlv",
    "MissingFeatureDependencyError",
    "MyCurrentFundingLockedTlv",
    "NetworksTlv",
    "NextFundingTlv",
    "NodeAnnouncement",
    "NonCanonicalBigSizeError",
    "NonMinimalTruncatedIntError",
    "OpenChannel",
    "OpenChannel2",
    "OpenChannelTlvs",
    "OpeningTlvs",
    "PeerStorage",
    "PeerStorageRetrieval",
    "Ping",
    "Pong",
    "QueryChannelRange",
    "QueryChannelRangeTlvs",
    "QueryFlagsTlv",
    "QueryOptionTlv",
    "QueryShortChannelIds",
    "QueryShortChannelIdsTlvs",
    "RawTlv",
    "RemoteAddrTlv",
    "ReplyChannelRange",
    "ReplyChannelRangeTlvs",
    "ReplyShortChannelIdsEnd",
    "RequireConfirmedInputsTlv",
    "RevokeAndAck",
    "SharedInputSignatureTlv",
    "SharedInputTxidTlv",
    "ShortChannelId",
    "ShortChannelIdTlv",
    "Shutdown",
    "SpliceAck",
    "SpliceAckTlvs",
    "SpliceInit",
    "SpliceInitTlvs",
    "SpliceLocked",
    "StartBatch",
    "StartBatchTlvs",
    "Stfu",
    "TimestampsTlv",
    "TlvDuplicateError",
    "TlvError",
    "TlvLengthError",
    "TlvOrderError",
    "TlvRecord",
    "TlvStream",
    "TlvType",
    "TruncatedError",
    "TxAbort",
    "TxAckRbf",
    "TxAckRbfTlvs",
    "TxAddInput",
    "TxAddInputTlvs",
    "TxAddOutput",
    "TxComplete",
    "TxInitRbf",
    "TxInitRbfTlvs",
    "TxRemoveInput",
    "TxRemoveOutput",
    "TxSignatures",
    "TxSignaturesTlvs",
    "UnknownEvenMessageError",
    "UnknownEvenTlvError",
    "UnknownFieldError",
    "UnknownMessage",
    "UnknownMessageNameError",
    "UnknownRequiredFeatureError",
    "UpdateAddHtlc",
    "UpdateAddHtlcTlvs",
    "UpdateFailHtlc",
    "UpdateFailHtlcTlvs",
    "UpdateFailMalformedHtlc",
    "UpdateFee",
    "UpdateFulfillHtlc",
    "UpdateFulfillHtlcTlvs",
    "UpfrontShutdownScriptTlv",
    "WarningMessage",
    "WireError",
    "Witness",
    "build_message",
    "decode_bigsize",
    "decode_message",
    "decode_tlv_records",
    "decode_tlv_stream",
    "encode_bigsize",
    "encode_message",
    "encode_tlv_records",
    "encode_tlv_stream",
    "message_class",
    "message_class_by_type",
    "message_names",
    "message_to_fields",
]
