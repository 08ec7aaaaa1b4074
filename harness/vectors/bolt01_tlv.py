"""BOLT 1 Appendix B (TLV decoding failures 33, successes 19, stream failures 5) and Appendix C
(message extension 5).

Appendix B's test namespaces n1 and n2 are defined here with the project's TLV machinery, exactly
as the appendix writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from harness.vectors import VectorCase, VectorMismatch, expect_equal, load_json
from reference_node.wire import (
    InvalidPointError,
    NonCanonicalBigSizeError,
    NonMinimalTruncatedIntError,
    ShortChannelId,
    TlvDuplicateError,
    TlvLengthError,
    TlvOrderError,
    TlvRecord,
    TlvStream,
    TlvType,
    TruncatedError,
    UnknownEvenTlvError,
    WireError,
    decode_message,
    decode_tlv_stream,
    encode_message,
    encode_tlv_stream,
)
from reference_node.wire.messages_bolt01 import Init
from reference_node.wire.tlv import tlv_stream_to_json
from reference_node.wire.types import POINT, SHORT_CHANNEL_ID, TU32, TU64, U16, U64

BOLT = 1


# --- namespace n1 ---------------------------------------------------------------------------
@dataclass(frozen=True)
class N1Tlv1(TlvRecord):
    amount_msat: Annotated[int, TU64]


@dataclass(frozen=True)
class N1Tlv2(TlvRecord):
    scid: Annotated[ShortChannelId, SHORT_CHANNEL_ID]


@dataclass(frozen=True)
class N1Tlv3(TlvRecord):
    node_id: Annotated[bytes, POINT]
    amount_msat_1: Annotated[int, U64]
    amount_msat_2: Annotated[int, U64]


@dataclass(frozen=True)
class N1Tlv4(TlvRecord):
    cltv_delta: Annotated[int, U16]


@dataclass(frozen=True)
class N1(TlvStream):
    tlv1: Annotated[N1Tlv1 | None, TlvType(1)] = None
    tlv2: Annotated[N1Tlv2 | None, TlvType(2)] = None
    tlv3: Annotated[N1Tlv3 | None, TlvType(3)] = None
    tlv4: Annotated[N1Tlv4 | None, TlvType(254)] = None


# --- namespace n2 ---------------------------------------------------------------------------
@dataclass(frozen=True)
class N2Tlv1(TlvRecord):
    amount_msat: Annotated[int, TU64]


@dataclass(frozen=True)
class N2Tlv2(TlvRecord):
    cltv_expiry: Annotated[int, TU32]


@dataclass(frozen=True)
class N2(TlvStream):
    tlv1: Annotated[N2Tlv1 | None, TlvType(0)] = None
    tlv2: Annotated[N2Tlv2 | None, TlvType(11)] = None


NAMESPACES: dict[str, type[TlvStream]] = {"n1": N1, "n2": N2}

# Appendix B's "Reason" phrases, mapped to the specific error this codec raises for each.
_REASONS: tuple[tuple[str, type[WireError]], ...] = (
    ("unknown even", UnknownEvenTlvError),
    ("not minimally encoded", NonCanonicalBigSizeError),
    ("truncated", TruncatedError),
    ("missing", TruncatedError),
    ("encoding length", TlvLengthError),
    ("is not minimal", NonMinimalTruncatedIntError),
    ("not a valid point", InvalidPointError),
    ("duplicate", TlvDuplicateError),
    ("invalid ordering", TlvOrderError),
)

FAILURES_FILE = "bolt01/tlv-decoding-failures.json"
SUCCESSES_FILE = "bolt01/tlv-decoding-successes.json"
STREAM_FAILURES_FILE = "bolt01/tlv-stream-decoding-failures.json"
EXTENSION_FILE = "bolt01/message-extension.json"


def expected_error(reason: str) -> type[WireError]:
    for phrase, error in _REASONS:
        if phrase in reason:
            return error
    raise VectorMismatch(f"no error type known for reason {reason!r}")


def _check_failure(file: str, index: int) -> str:
    case = load_json(file)["cases"][index]
    data = bytes.fromhex(case["stream"])
    error = expected_error(case["reason"])
    details = []
    for namespace in case["namespaces"]:
        try:
            decoded = decode_tlv_stream(NAMESPACES[namespace], data, where=namespace)
        except WireError as exc:
            if not isinstance(exc, error):
                raise VectorMismatch(
                    f"{namespace}: raised {type(exc).__name__} ({exc}), expected {error.__name__}"
                ) from exc
            details.append(f"{namespace}: {type(exc).__name__}")
            continue
        raise VectorMismatch(f"{namespace}: decoded {decoded}, expected {error.__name__} ({case['reason']})")
    return "; ".join(details)


def _check_success(index: int) -> str:
    case = load_json(SUCCESSES_FILE)["cases"][index]
    data = bytes.fromhex(case["stream"])
    for namespace in case["namespaces"]:
        stream = decode_tlv_stream(NAMESPACES[namespace], data, where=namespace)
        known = {k: v for k, v in tlv_stream_to_json(stream).items() if k != "unknown_records"}
        expect_equal(f"{namespace} values", known, case["values"] or {})
        expect_equal(f"{namespace} re-encoding", encode_tlv_stream(stream), data)
    return f"{case['stream'] or '<empty>'} decodes in {'/'.join(case['namespaces'])}"


def _check_extension(index: int) -> str:
    case = load_json(EXTENSION_FILE)["cases"][index]
    data = bytes.fromhex(case["message"])
    if case["valid"]:
        msg = decode_message(data)
        if not isinstance(msg, Init):
            raise VectorMismatch(f"decoded {type(msg).__name__}, expected init")
        expect_equal("re-encoding", encode_message(msg), data)
        return f"init with {len(msg.tlvs.unknown_records)} unknown odd records"
    try:
        msg = decode_message(data)
    except WireError as exc:
        return f"rejected: {type(exc).__name__}"
    raise VectorMismatch(f"decoded {msg}, expected a failure ({case['explanation']})")


def cases() -> Iterator[VectorCase]:
    for file, label in (
        (FAILURES_FILE, "tlv-decoding-failure"),
        (STREAM_FAILURES_FILE, "tlv-stream-failure"),
    ):
        for index, case in enumerate(load_json(file)["cases"]):
            yield VectorCase(
                BOLT, f"{label}/{index}-{case['stream'][:24]}", partial(_check_failure, file, index)
            )
    for index, case in enumerate(load_json(SUCCESSES_FILE)["cases"]):
        yield VectorCase(
            BOLT, f"tlv-decoding-success/{index}-{case['stream'][:24]}", partial(_check_success, index)
        )
    for index, case in enumerate(load_json(EXTENSION_FILE)["cases"]):
        yield VectorCase(BOLT, f"message-extension/{case['message']}", partial(_check_extension, index))
