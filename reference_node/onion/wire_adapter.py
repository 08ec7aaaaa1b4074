"""The onion package's view of reference_node.wire (BOLT 1 BigSize, TLV streams, types).

One place to adapt if the wire API moves: the onion code imports these names from here.
"""

from __future__ import annotations

from reference_node.wire.bigsize import decode_bigsize, encode_bigsize
from reference_node.wire.errors import DecodeError, WireError
from reference_node.wire.scid import ShortChannelId
from reference_node.wire.tlv import (
    RawTlv,
    TlvRecord,
    TlvStream,
    TlvType,
    decode_tlv_records,
    decode_tlv_stream,
    encode_tlv_records,
    encode_tlv_stream,
)
from reference_node.wire.types import BYTE, POINT, SHORT_CHANNEL_ID, TU32, TU64, U16, U32, fixed, rest

# BigSize decoding failures (truncated or non-canonical) are wire DecodeErrors.
BigSizeError = DecodeError

__all__ = [
    "BYTE",
    "POINT",
    "SHORT_CHANNEL_ID",
    "TU32",
    "TU64",
    "U16",
    "U32",
    "BigSizeError",
    "DecodeError",
    "RawTlv",
    "ShortChannelId",
    "TlvRecord",
    "TlvStream",
    "TlvType",
    "WireError",
    "decode_bigsize",
    "decode_tlv_records",
    "decode_tlv_stream",
    "encode_bigsize",
    "encode_tlv_records",
    "encode_tlv_stream",
    "fixed",
    "rest",
]
