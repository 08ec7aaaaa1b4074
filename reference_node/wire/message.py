"""BOLT 1 "Lightning Message Format": the message registry and the generic codec.

A message is `type` (u16) + `payload` (the class's fields in order) + `extension` (the `tlvs`
stream). Each message class is a frozen dataclass of codec-annotated fields registered with
`@register`; encode/decode/build/to_fields below work for every class alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from reference_node.wire.errors import (
    EncodeError,
    TruncatedError,
    UnknownEvenMessageError,
    UnknownMessageNameError,
)
from reference_node.wire.struct import (
    check_struct,
    read_struct_values,
    struct_fields,
    struct_to_json,
    struct_values_from_json,
    write_struct,
)
from reference_node.wire.tlv import TlvStream
from reference_node.wire.types import Reader

M = TypeVar("M", bound="Message")

# BOLT 1: "the maximum possible size is 65535 bytes" (the transport's 2-byte length).
MAX_MESSAGE_SIZE = 65535


class Message:
    """Base of every message class (each a frozen dataclass). `TYPE` and `NAME` are the spec's
    type number and name, `BOLT` the BOLT defining it. Not a dataclass itself, so that `tlvs`
    (declared here for typing) stays the last field of every subclass."""

    TYPE: ClassVar[int]
    NAME: ClassVar[str]
    BOLT: ClassVar[int]
    tlvs: TlvStream


@dataclass(frozen=True)
class UnknownMessage:
    """A message of unknown odd type: BOLT 1 says the receiver "MUST ignore" it."""

    type: int
    payload: bytes


_BY_TYPE: dict[int, type[Message]] = {}
_BY_NAME: dict[str, type[Message]] = {}


def register(cls: type[M]) -> type[M]:
    """Class decorator adding a message class to the registry (after @dataclass)."""
    if cls.TYPE in _BY_TYPE or cls.NAME in _BY_NAME:
        raise TypeError(f"message {cls.NAME} ({cls.TYPE}) registered twice")
    fields = struct_fields(cls)  # compile (and validate) the schema now, not on first use
    if not fields or fields[-1].name != "tlvs":
        raise TypeError(f"{cls.__name__}: the last field must be `tlvs`")
    _BY_TYPE[cls.TYPE] = cls
    _BY_NAME[cls.NAME] = cls
    return cls


def message_class(name: str) -> type[Message]:
    """The class of the message called `name` in the spec; UnknownMessageNameError otherwise."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownMessageNameError(name) from None


def message_class_by_type(message_type: int) -> type[Message] | None:
    return _BY_TYPE.get(message_type)


def message_names() -> list[str]:
    return sorted(_BY_NAME, key=lambda name: _BY_NAME[name].TYPE)


def encode_message(msg: Message | UnknownMessage) -> bytes:
    """2-byte type + payload + extension. Values are checked first (FieldValueError names the field);
    a result longer than MAX_MESSAGE_SIZE raises EncodeError (the transport could not carry it)."""
    if isinstance(msg, UnknownMessage):
        if not 0 <= msg.type <= 0xFFFF:
            raise EncodeError(f"message type out of range: {msg.type}")
        out = bytearray(msg.type.to_bytes(2, "big") + msg.payload)
        name = f"message type {msg.type}"
    else:
        check_struct(msg, msg.NAME)
        out = bytearray(msg.TYPE.to_bytes(2, "big"))
        write_struct(msg, out)
        name = msg.NAME
    if len(out) > MAX_MESSAGE_SIZE:
        raise EncodeError(f"{len(out)} bytes exceeds the {MAX_MESSAGE_SIZE}-byte message limit", where=name)
    return bytes(out)


def decode_message(data: bytes) -> Message | UnknownMessage:
    """Decode one message; unknown odd types give UnknownMessage, every failure a WireError."""
    data = bytes(data)
    if len(data) < 2:
        raise TruncatedError(f"message of {len(data)} bytes has no 2-byte type")
    message_type = int.from_bytes(data[:2], "big")
    cls = _BY_TYPE.get(message_type)
    if cls is None:
        if message_type % 2 == 0:
            raise UnknownEvenMessageError(message_type)
        return UnknownMessage(message_type, data[2:])
    values = read_struct_values(cls, Reader(data, 2), cls.NAME)
    return cls(**values)


def build_message(name: str, fields: Mapping[str, Any]) -> Message:
    """Build a message from JSON/YAML values: hex for bytes, ints, "BxTxO" for short_channel_id,
    lists for arrays, and for `tlvs` an object {record_name: {field: value}} (may be omitted)."""
    cls = message_class(name)
    raw = dict(fields)
    raw.setdefault("tlvs", None)
    return cls(**struct_values_from_json(cls, raw, name))


def message_to_fields(msg: Message | UnknownMessage) -> dict[str, Any]:
    """JSON-friendly inverse of build_message; `tlvs` lists only present records.
    An UnknownMessage gives {"type": int, "payload": hex} (for traces)."""
    if isinstance(msg, UnknownMessage):
        return {"type": msg.type, "payload": msg.payload.hex()}
    return struct_to_json(msg)
