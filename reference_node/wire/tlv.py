"""BOLT 1 "Type-Length-Value Format": raw records, typed streams, and their codec.

A typed stream is a frozen dataclass subclassing `TlvStream`; each attribute is one record of the
spec's `tlv_stream` table, annotated with its type number:

    @dataclass(frozen=True)
    class OpenChannelTlvs(TlvStream):
        upfront_shutdown_script: Annotated[UpfrontShutdownScriptTlv | None, TlvType(0)] = None

Absent records are None. Unknown odd records are kept, in order, in `unknown_records` so a decoded
stream re-encodes to the same bytes (signatures over gossip cover them, BOLT 1 Appendix C).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reference_node.wire.bigsize import encode_bigsize
from reference_node.wire.errors import (
    FieldValueError,
    TlvDuplicateError,
    TlvLengthError,
    TlvOrderError,
    TruncatedError,
    UnknownEvenTlvError,
    UnknownFieldError,
)
from reference_node.wire.struct import (
    check_struct,
    read_struct_values,
    struct_fields,
    struct_to_json,
    struct_values_from_json,
    write_struct,
)
from reference_node.wire.types import Codec, Reader, hex_to_bytes

StreamT = TypeVar("StreamT", bound="TlvStream")


@dataclass(frozen=True)
class RawTlv:
    """One `tlv_record` as bytes: its `type` and `value` (the `length` is len(value))."""

    type: int
    value: bytes


@dataclass(frozen=True)
class TlvType:
    """Annotation marker: the record's `type` number in its stream."""

    number: int


class TlvRecord:
    """Base of TLV record value classes (frozen dataclasses of codec-annotated fields)."""


@dataclass(frozen=True)
class TlvStream:
    """Base of typed TLV streams. `unknown_records`: unknown odd records, kept verbatim."""

    unknown_records: tuple[RawTlv, ...] = field(default=(), kw_only=True)


@dataclass(frozen=True)
class StreamEntry:
    number: int
    name: str
    record: type


_ENTRIES: dict[type, tuple[StreamEntry, ...]] = {}
_ENTRIES_BY_TYPE: dict[type, dict[int, StreamEntry]] = {}


def stream_entries(cls: type[TlvStream]) -> tuple[StreamEntry, ...]:
    """The records a stream class knows, by increasing type number."""
    cached = _ENTRIES.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls, include_extras=True)
    entries = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        marker = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, TlvType)), None)
        if marker is None:
            continue
        record = next(a for a in typing.get_args(typing.get_args(hint)[0]) if a is not type(None))
        entries.append(StreamEntry(marker.number, f.name, record))
    entries.sort(key=lambda e: e.number)
    _ENTRIES[cls] = tuple(entries)
    return _ENTRIES[cls]


def _entries_by_type(cls: type[TlvStream]) -> dict[int, StreamEntry]:
    cached = _ENTRIES_BY_TYPE.get(cls)
    if cached is None:
        cached = _ENTRIES_BY_TYPE[cls] = {e.number: e for e in stream_entries(cls)}
    return cached


# --- raw records ---------------------------------------------------------------------------


def decode_tlv_records(data: bytes, *, where: str = "tlv_stream") -> list[RawTlv]:
    """Split a `tlv_stream` into records, enforcing BOLT 1's receiver rules that need no schema:
    minimal `type`/`length` (BigSize), strictly increasing types, `length` within the data."""
    reader = Reader(data)
    records: list[RawTlv] = []
    previous = -1
    while reader.remaining():
        tlv_type = reader.bigsize(f"{where} type")
        if tlv_type <= previous:
            error = TlvDuplicateError if tlv_type == previous else TlvOrderError
            raise error(f"type {tlv_type} after type {previous}", where=where)
        length = reader.bigsize(f"{where} type {tlv_type} length")
        if length > reader.remaining():
            raise TruncatedError(
                f"type {tlv_type} length {length} exceeds the {reader.remaining()} bytes left", where=where
            )
        records.append(RawTlv(tlv_type, reader.take(length, where)))
        previous = tlv_type
    return records


def encode_tlv_records(records: Iterable[RawTlv], *, where: str = "tlv_stream") -> bytes:
    """Concatenate records; types must be strictly increasing (BOLT 1 sender rule)."""
    out = bytearray()
    previous = -1
    for record in records:
        if record.type <= previous:
            raise FieldValueError(
                f"TLV types must strictly increase: {record.type} after {previous}", where=where
            )
        out += encode_bigsize(record.type)
        out += encode_bigsize(len(record.value))
        out += record.value
        previous = record.type
    return bytes(out)


# --- typed streams --------------------------------------------------------------------------


def _decode_record(record_cls: type, value: bytes, where: str) -> Any:
    reader = Reader(value)
    try:
        fields = read_struct_values(record_cls, reader, where)
    except TruncatedError as exc:
        raise TlvLengthError(
            f"length {len(value)} is less than the encoding needs ({exc})", where=where
        ) from exc
    if reader.remaining():
        raise TlvLengthError(
            f"length {len(value)} is greater than the encoding ({reader.remaining()} bytes left over)",
            where=where,
        )
    return record_cls(**fields)


def decode_tlv_stream(cls: type[StreamT], data: bytes, *, where: str = "") -> StreamT:
    """Decode a typed stream: known records by their encoding, unknown odd kept, unknown even rejected."""
    where = where or cls.__name__
    known = _entries_by_type(cls)
    values: dict[str, Any] = {}
    unknown: list[RawTlv] = []
    for raw in decode_tlv_records(data, where=where):
        entry = known.get(raw.type)
        if entry is None:
            if raw.type % 2 == 0:
                raise UnknownEvenTlvError(raw.type, where=where)
            unknown.append(raw)
            continue
        values[entry.name] = _decode_record(entry.record, raw.value, f"{where}.{entry.name}")
    return cls(**values, unknown_records=tuple(unknown))


def tlv_stream_records(stream: TlvStream) -> list[RawTlv]:
    """The stream's records (known and kept unknown ones) as raw records in type order."""
    records = list(stream.unknown_records)
    for entry in stream_entries(type(stream)):
        value = getattr(stream, entry.name)
        if value is not None:
            out = bytearray()
            write_struct(value, out)
            records.append(RawTlv(entry.number, bytes(out)))
    records.sort(key=lambda r: r.type)
    return records


def encode_tlv_stream(stream: TlvStream, *, where: str = "") -> bytes:
    """Encode a typed stream. Unknown records are written as given, of either parity, so faults
    can send unknown even records; a collision with a known type is an error."""
    return encode_tlv_records(tlv_stream_records(stream), where=where or type(stream).__name__)


def check_tlv_stream(stream: TlvStream, where: str) -> None:
    known = _entries_by_type(type(stream))
    seen: set[int] = set()
    for raw in stream.unknown_records:
        if not isinstance(raw, RawTlv):
            raise FieldValueError(f"unknown_records must hold RawTlv, got {type(raw).__name__}", where=where)
        if raw.type in known or raw.type in seen:
            raise FieldValueError(
                f"unknown record type {raw.type} repeats a type of this stream", where=where
            )
        seen.add(raw.type)
    for entry in stream_entries(type(stream)):
        value = getattr(stream, entry.name)
        if value is None:
            continue
        if not isinstance(value, entry.record):
            raise FieldValueError(
                f"expected {entry.record.__name__}, got {type(value).__name__}", where=f"{where}.{entry.name}"
            )
        check_struct(value, f"{where}.{entry.name}")


def tlv_stream_to_json(stream: TlvStream) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for entry in stream_entries(type(stream)):
        value = getattr(stream, entry.name)
        if value is not None:
            result[entry.name] = struct_to_json(value)
    if stream.unknown_records:
        result["unknown_records"] = [{"type": r.type, "value": r.value.hex()} for r in stream.unknown_records]
    return result


def tlv_stream_from_json(cls: type[StreamT], raw: Any, where: str) -> StreamT:
    if raw is None:
        return cls()
    if not isinstance(raw, Mapping):
        raise FieldValueError(f"expected an object of TLV records, got {type(raw).__name__}", where=where)
    entries = {e.name: e for e in stream_entries(cls)}
    values: dict[str, Any] = {}
    for name, record_raw in raw.items():
        if name == "unknown_records":
            continue
        entry = entries.get(name)
        if entry is None:
            raise UnknownFieldError(
                f"unknown TLV record {name!r} (known: {sorted(entries)})", where=f"{where}.{name}"
            )
        if record_raw is None or record_raw is False:
            continue
        if record_raw is True and not struct_fields(entry.record):
            # A record with no data (e.g. `require_confirmed_inputs`): `true` means present.
            values[name] = entry.record()
            continue
        values[name] = entry.record(**struct_values_from_json(entry.record, record_raw, f"{where}.{name}"))
    unknown = tuple(
        _raw_tlv_from_json(item, f"{where}.unknown_records[{i}]")
        for i, item in enumerate(raw.get("unknown_records") or ())
    )
    return cls(**values, unknown_records=unknown)


def _raw_tlv_from_json(item: Any, where: str) -> RawTlv:
    if not isinstance(item, Mapping) or set(item) != {"type", "value"}:
        raise FieldValueError("an unknown record is {'type': int, 'value': hex}", where=where)
    tlv_type = item["type"]
    if type(tlv_type) is not int or not 0 <= tlv_type < 1 << 64:
        raise FieldValueError(f"type must be a 64-bit unsigned int, got {tlv_type!r}", where=where)
    return RawTlv(tlv_type, hex_to_bytes(item["value"], where))


class TlvStreamCodec(Codec[Any]):
    """A message's `tlvs` field: the extension, i.e. everything after the payload's fields."""

    def __init__(self, cls: type[TlvStream]) -> None:
        self.cls = cls
        self.spec_name = cls.__name__

    def consumes_rest(self) -> bool:
        return True

    def read(self, reader: Reader, where: str) -> Any:
        return decode_tlv_stream(self.cls, reader.rest(), where=where)

    def write(self, value: Any, out: bytearray) -> None:
        out += encode_tlv_stream(value)

    def check(self, value: object, where: str) -> None:
        if not isinstance(value, self.cls):
            raise FieldValueError(f"expected {self.cls.__name__}, got {type(value).__name__}", where=where)
        check_tlv_stream(value, where)

    def to_json(self, value: Any) -> Any:
        return tlv_stream_to_json(value)

    def from_json(self, raw: Any, where: str) -> Any:
        return tlv_stream_from_json(self.cls, raw, where)


@dataclass(frozen=True)
class EmptyTlvs(TlvStream):
    """The extension of a message whose spec defines no TLV records: only unknown odd records."""
