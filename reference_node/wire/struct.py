"""Generic encoding of a frozen dataclass whose fields are annotated with codecs.

Messages, TLV records and subtypes are all "structs": an ordered list of spec fields. A class
declares `field_name: Annotated[python_type, CODEC]`; `struct_fields(cls)` reads those annotations
once and the functions here encode, decode, check and convert any such class. Nothing here is
specific to one message: this is the "one schema table" the codecs are driven by.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from reference_node.wire.errors import FieldValueError, UnknownFieldError
from reference_node.wire.types import Codec, Reader

S = TypeVar("S")


@dataclass(frozen=True)
class StructField:
    name: str
    codec: Codec[Any]


_FIELDS: dict[type, tuple[StructField, ...]] = {}


def struct_fields(cls: type) -> tuple[StructField, ...]:
    """The codec-annotated fields of `cls`, in declaration (= wire) order."""
    cached = _FIELDS.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls, include_extras=True)
    found = []
    for field in dataclasses.fields(cls):
        codec = next(
            (m for m in getattr(hints[field.name], "__metadata__", ()) if isinstance(m, Codec)), None
        )
        if codec is not None:
            found.append(StructField(field.name, codec))
    for earlier in found[:-1]:
        if earlier.codec.consumes_rest():
            raise TypeError(f"{cls.__name__}.{earlier.name} takes all remaining bytes but is not last")
    result = tuple(found)
    _FIELDS[cls] = result
    return result


def write_struct(value: Any, out: bytearray) -> None:
    for field in struct_fields(type(value)):
        field.codec.write(getattr(value, field.name), out)


def read_struct_values(cls: type, reader: Reader, where: str) -> dict[str, Any]:
    return {f.name: f.codec.read(reader, f"{where}.{f.name}") for f in struct_fields(cls)}


def check_struct(value: Any, where: str) -> None:
    for field in struct_fields(type(value)):
        field.codec.check(getattr(value, field.name), f"{where}.{field.name}")


def struct_to_json(value: Any) -> dict[str, Any]:
    return {f.name: f.codec.to_json(getattr(value, f.name)) for f in struct_fields(type(value))}


def struct_values_from_json(
    cls: type, raw: Any, where: str, *, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Convert a JSON-like mapping to constructor arguments; names in `extra` are left for the caller."""
    if not isinstance(raw, Mapping):
        raise FieldValueError(f"expected an object of fields, got {type(raw).__name__}", where=where)
    fields = struct_fields(cls)
    known = {f.name for f in fields}
    for name in raw:
        if name not in known and name not in extra:
            raise UnknownFieldError(
                f"unknown field {name!r} (known: {sorted(known)})", where=f"{where}.{name}"
            )
    values = {}
    for field in fields:
        if field.name not in raw:
            raise FieldValueError("missing field", where=f"{where}.{field.name}")
        values[field.name] = field.codec.from_json(raw[field.name], f"{where}.{field.name}")
    return values


class SubtypeCodec(Codec[Any]):
    """A BOLT `subtype` (e.g. `witness`) used as an array element."""

    def __init__(self, cls: type, spec_name: str) -> None:
        self.cls = cls
        self.spec_name = spec_name
        sizes = [f.codec.size for f in struct_fields(cls)]
        self.size = None if None in sizes else sum(s for s in sizes if s is not None)

    def read(self, reader: Reader, where: str) -> Any:
        return self.cls(**read_struct_values(self.cls, reader, where))

    def write(self, value: Any, out: bytearray) -> None:
        write_struct(value, out)

    def check(self, value: object, where: str) -> None:
        if not isinstance(value, self.cls):
            raise FieldValueError(f"expected {self.cls.__name__}, got {type(value).__name__}", where=where)
        check_struct(value, where)

    def to_json(self, value: Any) -> Any:
        return struct_to_json(value)

    def from_json(self, raw: Any, where: str) -> Any:
        return self.cls(**struct_values_from_json(self.cls, raw, where))
