"""BOLT 1 Appendix D: signed integers (s8/s16/s32/s64) in big-endian two's complement (23)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from harness.vectors import VectorCase, VectorMismatch, expect_equal, load_json
from reference_node.wire.errors import FieldValueError
from reference_node.wire.types import S8, S16, S32, S64, Reader, SIntCodec

BOLT = 1
FILE = "bolt01/signed-integers.json"
_BY_SIZE: dict[int, SIntCodec] = {codec.size or 0: codec for codec in (S8, S16, S32, S64)}
_SMALLER: dict[int, SIntCodec | None] = {1: None, 2: S8, 4: S16, 8: S32}


def _check(index: int) -> str:
    case = load_json(FILE)["cases"][index]
    data = bytes.fromhex(case["bytes"])
    codec = _BY_SIZE[len(data)]
    expect_equal(f"{codec.spec_name} decode", codec.read(Reader(data), codec.spec_name), case["value"])
    out = bytearray()
    codec.check(case["value"], codec.spec_name)
    codec.write(case["value"], out)
    expect_equal(f"{codec.spec_name} encode", bytes(out), data)
    smaller = _SMALLER[len(data)]
    if smaller is not None:  # the vector uses the smallest type that holds the value
        try:
            smaller.check(case["value"], smaller.spec_name)
        except FieldValueError:
            pass
        else:
            raise VectorMismatch(
                f"{case['value']} also fits {smaller.spec_name}; the vector says {codec.spec_name}"
            )
    return f"{codec.spec_name} {case['value']} <-> {case['bytes']}"


def cases() -> Iterator[VectorCase]:
    for index, case in enumerate(load_json(FILE)["cases"]):
        yield VectorCase(BOLT, f"signed-integers/{case['value']}", partial(_check, index))
