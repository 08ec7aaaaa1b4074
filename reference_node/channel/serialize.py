"""Dataclasses <-> plain JSON-compatible values, driven by type hints (bytes as hex, enums by value).

Used to persist the whole channel state (`Channel.to_json` / `Channel.from_json`); every type that appears
in `ChannelData` must be one this module handles, which the round-trip tests check.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from typing import Any, TypeVar

T = TypeVar("T")


class StateDecodeError(ValueError):
    """A persisted channel state does not match the expected shape."""


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def to_jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, bytes):
        return value.hex()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_jsonable(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, frozenset):
        return sorted((to_jsonable(item) for item in value), key=repr)
    if value is None or isinstance(value, bool | int | str):
        return value
    raise TypeError(f"cannot serialize {type(value).__name__}")


def from_jsonable(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if data is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return from_jsonable(option, data)
            except (StateDecodeError, TypeError, ValueError, KeyError) as exc:
                errors.append(str(exc))
        raise StateDecodeError(f"{data!r} matches none of {options}: {errors}")
    if origin is list:
        (item_type,) = typing.get_args(tp)
        return [from_jsonable(item_type, item) for item in _expect(list, data)]
    if origin is tuple:
        args = typing.get_args(tp)
        return tuple(from_jsonable(args[0], item) for item in _expect(list, data))
    if origin is frozenset:
        (item_type,) = typing.get_args(tp)
        return frozenset(from_jsonable(item_type, item) for item in _expect(list, data))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        fields = _expect(dict, data)
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name not in fields:
                raise StateDecodeError(f"{tp.__name__}: missing field {f.name}")
            kwargs[f.name] = from_jsonable(hints[f.name], fields[f.name])
        return tp(**kwargs)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(data)
    if tp is bytes:
        return bytes.fromhex(_expect(str, data))
    if tp is bool:
        return _expect(bool, data)
    if tp is int:
        if isinstance(data, bool):
            raise StateDecodeError(f"expected int, got {data!r}")
        return _expect(int, data)
    if tp is str:
        return _expect(str, data)
    raise StateDecodeError(f"unsupported type {tp!r}")


def _expect(kind: type[T], data: Any) -> T:
    if not isinstance(data, kind):
        raise StateDecodeError(f"expected {kind.__name__}, got {type(data).__name__}")
    return data


def load(tp: type[T], data: Any) -> T:
    value: T = from_jsonable(tp, data)
    return value
