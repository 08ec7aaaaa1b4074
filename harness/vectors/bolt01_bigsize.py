"""BOLT 1 Appendix A: BigSize decoding (18) and encoding (8) vectors."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

from harness.vectors import VectorCase, VectorMismatch, expect_equal, load_json
from reference_node.wire import (
    NonCanonicalBigSizeError,
    TruncatedError,
    WireError,
    decode_bigsize,
    encode_bigsize,
)

BOLT = 1
DECODING_FILE = "bolt01/bigsize-decoding.json"
ENCODING_FILE = "bolt01/bigsize-encoding.json"

# The vectors' Go error strings, mapped to the error types this codec raises for them.
_ERROR_TYPES: dict[str, type[WireError]] = {
    "decoded bigsize is not canonical": NonCanonicalBigSizeError,
    "unexpected EOF": TruncatedError,
    "EOF": TruncatedError,
}


def _check_decoding(index: int) -> str:
    case = load_json(DECODING_FILE)["cases"][index]
    data = bytes.fromhex(case["bytes"])
    expected_error = case.get("exp_error")
    if expected_error:
        try:
            value, _ = decode_bigsize(data)
        except WireError as exc:
            expect_equal("error type", type(exc).__name__, _ERROR_TYPES[expected_error].__name__)
            if not str(exc).endswith(f": {expected_error}"):
                raise VectorMismatch(
                    f"error message {str(exc)!r} does not end with {expected_error!r}"
                ) from exc
            return f"rejected: {exc}"
        raise VectorMismatch(f"decoded {value}, expected error {expected_error!r}")
    value, end = decode_bigsize(data)
    expect_equal("value", value, case["value"])
    expect_equal("bytes consumed", end, len(data))
    return f"{case['bytes']} -> {value}"


def _check_encoding(index: int) -> str:
    case = load_json(ENCODING_FILE)["cases"][index]
    expect_equal("bytes", encode_bigsize(case["value"]), bytes.fromhex(case["bytes"]))
    return f"{case['value']} -> {case['bytes']}"


def cases() -> Iterator[VectorCase]:
    for index, case in enumerate(load_json(DECODING_FILE)["cases"]):
        yield VectorCase(BOLT, f"bigsize-decoding/{case['name']}", partial(_check_decoding, index))
    for index, case in enumerate(load_json(ENCODING_FILE)["cases"]):
        yield VectorCase(BOLT, f"bigsize-encoding/{case['name']}", partial(_check_encoding, index))
