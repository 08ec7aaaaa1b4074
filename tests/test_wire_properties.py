"""Property tests of the message codec: every message type round-trips; hostile bytes raise only WireError."""

from __future__ import annotations

from typing import Any

import coincurve
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_node.wire import (
    Message,
    RawTlv,
    ShortChannelId,
    UnknownMessage,
    WireError,
    build_message,
    decode_message,
    encode_message,
    message_class,
    message_names,
    message_to_fields,
)
from reference_node.wire.struct import SubtypeCodec, struct_fields
from reference_node.wire.tlv import TlvStream, TlvStreamCodec, stream_entries
from reference_node.wire.types import (
    ArrayCodec,
    BigSizeCodec,
    Codec,
    FixedBytesCodec,
    PointCodec,
    ShortChannelIdCodec,
    SIntCodec,
    UIntCodec,
    Utf8Codec,
)

# Valid points, precomputed: deriving one per example would dominate the run time.
POINTS = [coincurve.PrivateKey((i + 1).to_bytes(32, "big")).public_key.format() for i in range(8)]
MAX_ITEMS = 6


def codec_values(codec: Codec[Any]) -> st.SearchStrategy[Any]:
    """Values a codec must accept and round-trip."""
    if isinstance(codec, PointCodec):
        return st.sampled_from(POINTS)
    if isinstance(codec, FixedBytesCodec):
        return st.binary(min_size=codec.size or 0, max_size=codec.size or 0)
    if isinstance(codec, SIntCodec):
        size = codec.size or 0
        return st.integers(min_value=-(1 << (8 * size - 1)), max_value=(1 << (8 * size - 1)) - 1)
    if isinstance(codec, UIntCodec):
        return st.integers(min_value=0, max_value=(1 << (8 * (codec.size or 0))) - 1)
    if isinstance(codec, BigSizeCodec):
        return st.integers(min_value=0, max_value=(1 << 64) - 1)
    if isinstance(codec, ShortChannelIdCodec):
        return st.builds(
            ShortChannelId,
            st.integers(0, (1 << 24) - 1),
            st.integers(0, (1 << 24) - 1),
            st.integers(0, (1 << 16) - 1),
        )
    if isinstance(codec, Utf8Codec):
        return st.text(max_size=MAX_ITEMS)
    if isinstance(codec, ArrayCodec):
        fixed = codec.count if isinstance(codec.count, int) else None
        low, high = (
            (fixed, fixed) if fixed is not None else (0, MAX_ITEMS * 8 if codec.is_bytes else MAX_ITEMS)
        )
        if codec.is_bytes:
            return st.binary(min_size=low, max_size=high)
        return st.lists(codec_values(codec.element), min_size=low, max_size=high).map(tuple)
    if isinstance(codec, SubtypeCodec):
        return struct_values(codec.cls)
    if isinstance(codec, TlvStreamCodec):
        return stream_values(codec.cls)
    raise AssertionError(f"no strategy for {codec!r}")


def struct_values(cls: type) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({f.name: codec_values(f.codec) for f in struct_fields(cls)}).map(
        lambda values: cls(**values)
    )


def stream_values(cls: type[TlvStream]) -> st.SearchStrategy[TlvStream]:
    entries = stream_entries(cls)
    known = {e.number for e in entries}
    records = {e.name: st.none() | struct_values(e.record) for e in entries}
    unknown = st.lists(
        st.tuples(st.integers(0, (1 << 63) - 1).map(lambda n: 2 * n + 1), st.binary(max_size=8)),
        max_size=3,
        unique_by=lambda pair: pair[0],
    ).map(lambda pairs: tuple(RawTlv(t, v) for t, v in sorted(pairs) if t not in known))
    return st.builds(
        lambda values, extra: cls(**values, unknown_records=extra), st.fixed_dictionaries(records), unknown
    )


NAMES = message_names()


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_message_round_trips_through_bytes(name: str, data: st.DataObject) -> None:
    msg = data.draw(struct_values(message_class(name)))
    encoded = encode_message(msg)
    assert int.from_bytes(encoded[:2], "big") == msg.TYPE
    assert decode_message(encoded) == msg


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_message_round_trips_through_fields(name: str, data: st.DataObject) -> None:
    msg = data.draw(struct_values(message_class(name)))
    assert build_message(name, message_to_fields(msg)) == msg


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_wire_errors(data: bytes) -> None:
    try:
        decoded = decode_message(data)
    except WireError:
        return
    assert encode_message(decoded) == data


def _valid_message_bytes() -> st.SearchStrategy[bytes]:
    return st.sampled_from(NAMES).flatmap(lambda name: struct_values(message_class(name))).map(encode_message)


@st.composite
def mutated_messages(draw: st.DrawFn) -> bytes:
    """A valid message with one of: bytes flipped, truncated, bytes inserted, or a suffix appended."""
    raw = bytearray(draw(_valid_message_bytes()))
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "append"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            position = draw(st.integers(0, len(raw) - 1))
            raw[position] ^= draw(st.integers(1, 255))
    elif kind == "truncate":
        del raw[draw(st.integers(0, len(raw) - 1)) :]
    elif kind == "insert":
        position = draw(st.integers(0, len(raw)))
        raw[position:position] = draw(st.binary(min_size=1, max_size=8))
    else:
        raw += draw(st.binary(min_size=1, max_size=12))
    return bytes(raw)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_messages())
def test_mutated_messages_raise_only_wire_errors(data: bytes) -> None:
    try:
        decoded = decode_message(data)
    except WireError:
        return
    # Whatever decodes is canonical: it re-encodes to exactly the bytes received.
    assert isinstance(decoded, Message | UnknownMessage)
    assert encode_message(decoded) == data
