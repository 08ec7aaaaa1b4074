"""BOLT 7 bolt07/extended-queries.json (10): gossip query messages, byte for byte.

Every case decodes and re-encodes to the same bytes (encoded arrays are kept raw). The decoded
fields are compared with the vector's. Five cases use zlib (encoding type 1), which the spec now
says "MUST NOT be used": for those the check also requires that processing-mode decoding of each
zlib array raises ForbiddenEncodingError, and reads the contents only in inspection mode. For the
uncompressed cases the message is also built from the vector's fields and must encode to the hex.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import partial
from typing import Any

from harness.vectors import VectorCase, VectorMismatch, expect_equal, load_json
from reference_node.wire import (
    ChannelUpdateChecksums,
    ForbiddenEncodingError,
    Message,
    QueryChannelRange,
    QueryShortChannelIds,
    ReplyChannelRange,
    ShortChannelId,
    decode_message,
    encode_message,
)
from reference_node.wire.gossip_encoding import (
    EncodingType,
    QueryOptionFlag,
    decode_query_flags,
    decode_short_ids,
    decode_timestamps,
    encode_query_flags,
    encode_short_ids,
    encode_timestamps,
)
from reference_node.wire.messages_bolt07 import (
    ChannelUpdateTimestamps,
    ChecksumsTlv,
    QueryChannelRangeTlvs,
    QueryFlagsTlv,
    QueryOptionTlv,
    QueryShortChannelIdsTlvs,
    ReplyChannelRangeTlvs,
    TimestampsTlv,
)

BOLT = 7
FILE = "bolt07/extended-queries.json"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


class _Arrays:
    """Decodes a case's encoded arrays, counting those refused in processing mode (zlib)."""

    def __init__(self) -> None:
        self.refused = 0

    def decode(self, decode: Any, *args: Any) -> Any:
        try:
            return decode(*args)
        except ForbiddenEncodingError:
            self.refused += 1
            return decode(*args, allow_zlib=True)


def _scids(expected: dict[str, Any]) -> tuple[ShortChannelId, ...]:
    return tuple(ShortChannelId.from_str(s) for s in expected["array"])


def _check_short_ids(arrays: _Arrays, encoded: bytes, expected: dict[str, Any]) -> None:
    expect_equal("encoded_short_ids encoding", EncodingType(encoded[0]).name, expected["encoding"])
    expect_equal("short_channel_ids", arrays.decode(decode_short_ids, encoded), _scids(expected))


def _query_option_flags(records: list[str]) -> int:
    flags = 0
    for record in records:
        for name in record.split("|"):
            flags |= QueryOptionFlag[name.strip()]
    return flags


def _check_query_channel_range(arrays: _Arrays, msg: QueryChannelRange, v: dict[str, Any]) -> None:
    expect_equal("first_blocknum", msg.first_blocknum, v["firstBlockNum"])
    expect_equal("number_of_blocks", msg.number_of_blocks, v["numberOfBlocks"])
    records = v["tlvStream"]["records"]
    option = msg.tlvs.query_option
    expect_equal("query_option present", option is not None, bool(records))
    if option is not None:
        expect_equal("query_option_flags", option.query_option_flags, _query_option_flags(records))


def _check_query_short_channel_ids(arrays: _Arrays, msg: QueryShortChannelIds, v: dict[str, Any]) -> None:
    _check_short_ids(arrays, msg.encoded_short_ids, v["shortChannelIds"])
    records = v["tlvStream"]["records"]
    flags = msg.tlvs.query_flags
    expect_equal("query_flags present", flags is not None, bool(records))
    if flags is not None:
        expect_equal("query_flags encoding", EncodingType(flags.encoding_type).name, records[0]["encoding"])
        decoded = arrays.decode(decode_query_flags, flags.encoding_type, flags.encoded_query_flags)
        expect_equal("query_flags", list(decoded), records[0]["array"])


def _check_reply_channel_range(arrays: _Arrays, msg: ReplyChannelRange, v: dict[str, Any]) -> None:
    expect_equal("first_blocknum", msg.first_blocknum, v["firstBlockNum"])
    expect_equal("number_of_blocks", msg.number_of_blocks, v["numberOfBlocks"])
    expect_equal("sync_complete", msg.sync_complete, v["complete"])
    _check_short_ids(arrays, msg.encoded_short_ids, v["shortChannelIds"])
    timestamps = msg.tlvs.timestamps_tlv
    expect_equal("timestamps_tlv present", timestamps is not None, "timestamps" in v)
    if timestamps is not None:
        expect_equal(
            "timestamps encoding", EncodingType(timestamps.encoding_type).name, v["timestamps"]["encoding"]
        )
        decoded = arrays.decode(decode_timestamps, timestamps.encoding_type, timestamps.encoded_timestamps)
        expect_equal(
            "timestamps",
            [(t.timestamp_node_id_1, t.timestamp_node_id_2) for t in decoded],
            [(t["timestamp1"], t["timestamp2"]) for t in v["timestamps"]["timestamps"]],
        )
    checksums = msg.tlvs.checksums_tlv
    expect_equal("checksums_tlv present", checksums is not None, "checksums" in v)
    if checksums is not None:
        expect_equal(
            "checksums",
            [(c.checksum_node_id_1, c.checksum_node_id_2) for c in checksums.checksums],
            [(c["checksum1"], c["checksum2"]) for c in v["checksums"]["checksums"]],
        )


def _build(v: dict[str, Any]) -> Message:
    """The message built from the vector's fields (uncompressed cases only)."""
    chain_hash = bytes.fromhex(v["chainHash"])
    if v["type"] == "QueryChannelRange":
        records = v["tlvStream"]["records"]
        option = QueryOptionTlv(_query_option_flags(records)) if records else None
        return QueryChannelRange(
            chain_hash, v["firstBlockNum"], v["numberOfBlocks"], QueryChannelRangeTlvs(query_option=option)
        )
    short_ids = encode_short_ids(_scids(v["shortChannelIds"]))
    if v["type"] == "QueryShortChannelIds":
        records = v["tlvStream"]["records"]
        flags = QueryFlagsTlv(*encode_query_flags(records[0]["array"])) if records else None
        return QueryShortChannelIds(chain_hash, short_ids, QueryShortChannelIdsTlvs(query_flags=flags))
    timestamps = None
    if "timestamps" in v:
        items = [
            ChannelUpdateTimestamps(t["timestamp1"], t["timestamp2"]) for t in v["timestamps"]["timestamps"]
        ]
        timestamps = TimestampsTlv(*encode_timestamps(items))
    checksums = None
    if "checksums" in v:
        checksums = ChecksumsTlv(
            tuple(ChannelUpdateChecksums(c["checksum1"], c["checksum2"]) for c in v["checksums"]["checksums"])
        )
    tlvs = ReplyChannelRangeTlvs(timestamps_tlv=timestamps, checksums_tlv=checksums)
    return ReplyChannelRange(
        chain_hash, v["firstBlockNum"], v["numberOfBlocks"], v["complete"], short_ids, tlvs
    )


def _check(index: int) -> str:
    case = load_json(FILE)["cases"][index]
    data = bytes.fromhex(case["hex"])
    v = case["msg"]
    msg = decode_message(data)
    if not isinstance(msg, Message) or _snake(v["type"]) != msg.NAME:
        raise VectorMismatch(f"decoded {type(msg).__name__}, expected {v['type']}")
    expect_equal("re-encoding", encode_message(msg), data)
    expect_equal("chain_hash", getattr(msg, "chain_hash", None), bytes.fromhex(v["chainHash"]))
    arrays = _Arrays()
    if isinstance(msg, QueryChannelRange):
        _check_query_channel_range(arrays, msg, v)
    elif isinstance(msg, QueryShortChannelIds):
        _check_query_short_channel_ids(arrays, msg, v)
    elif isinstance(msg, ReplyChannelRange):
        _check_reply_channel_range(arrays, msg, v)
    expect_equal("some array refused as zlib", arrays.refused > 0, case["uses_zlib"])
    if case["uses_zlib"]:
        return f"{msg.NAME}: decodes/re-encodes; {arrays.refused} zlib array(s) refused, inspected only"
    expect_equal("encoding from the vector's fields", encode_message(_build(v)), data)
    return f"{msg.NAME}: byte for byte both ways"


def cases() -> Iterator[VectorCase]:
    for index, case in enumerate(load_json(FILE)["cases"]):
        yield VectorCase(BOLT, f"extended-queries/{index}-{case['msg']['type']}", partial(_check, index))
