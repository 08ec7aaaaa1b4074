"""Message fields for message-level steps: fill in what a scenario leaves out, match what it expects.

Values use reference_node.wire's JSON form (`build_message` / `message_to_fields`): ints, hex strings
for bytes, lists for arrays, `tlvs` as {record: {field: value}}.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference_node.wire import build_message, message_class
from reference_node.wire.message import Message
from reference_node.wire.struct import struct_fields
from reference_node.wire.types import Codec, PointCodec, Reader

# A valid compressed point (secp256k1's generator G) for point fields a scenario leaves out:
# BOLT 1 messages have none; channel-level steps give their own points.
_GENERATOR_POINT_HEX = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
# Larger than any fixed-size field, so reading a field's default from zeros never runs short.
_ZERO_BUFFER_SIZE = 4096


def default_value(codec: Codec[Any], where: str) -> Any:
    """The neutral value for a field the scenario does not give: what all-zero bytes decode to
    (0, zero bytes, empty counted arrays), a valid point for points, empty for trailing fields."""
    if isinstance(codec, PointCodec):
        return _GENERATOR_POINT_HEX
    if codec.consumes_rest():
        return codec.to_json(codec.read(Reader(b"", 0), where))
    return codec.to_json(codec.read(Reader(bytes(_ZERO_BUFFER_SIZE), 0), where))


def complete_fields(message: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """`given` plus neutral values for every other field of `message` (UnknownMessageNameError if no such)."""
    cls = message_class(message)
    result = dict(given)
    for spec_field in struct_fields(cls):
        if spec_field.name not in result and spec_field.name != "tlvs":
            result[spec_field.name] = default_value(spec_field.codec, f"{message}.{spec_field.name}")
    return result


def build_complete(message: str, given: Mapping[str, Any]) -> Message:
    """Build `message` from the scenario's fields plus neutral defaults (wire errors propagate)."""
    return build_message(message, complete_fields(message, given))


def _normalize(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, list | tuple):
        return [_normalize(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _normalize(v) for k, v in value.items()}
    return value


def mismatches(expected: Mapping[str, Any], actual: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Each expected field that the actual message lacks or holds a different value for.

    Nested mappings (`tlvs`) match field by field; `{present: true}` matches any non-empty value,
    `{present: false}` an absent or empty one.
    """
    problems = []
    for key, want in expected.items():
        where = f"{prefix}{key}"
        if key not in actual:
            if not (isinstance(want, Mapping) and want == {"present": False}):
                problems.append(f"{where}: absent, expected {want!r}")
            continue
        got = actual[key]
        if isinstance(want, Mapping) and set(want) == {"present"}:
            if bool(got) != bool(want["present"]):
                problems.append(
                    f"{where}: expected {'present' if want['present'] else 'absent'}, got {got!r}"
                )
        elif isinstance(want, Mapping) and isinstance(got, Mapping):
            problems.extend(mismatches(want, got, f"{where}."))
        elif _normalize(want) != _normalize(got):
            problems.append(f"{where}: expected {want!r}, got {got!r}")
    return problems
