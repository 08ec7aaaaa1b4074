"""TLV stream edge cases beyond the BOLT 1 vectors (which run in tests/test_vectors.py)."""

from __future__ import annotations

import itertools

import pytest

from harness.vectors import load_json
from harness.vectors.bolt01_tlv import N1, N2, N1Tlv1, N1Tlv4
from reference_node.wire import (
    FieldValueError,
    RawTlv,
    TlvOrderError,
    TruncatedError,
    UnknownEvenTlvError,
    WireError,
    decode_tlv_records,
    decode_tlv_stream,
    encode_tlv_records,
    encode_tlv_stream,
)
from reference_node.wire.tlv import check_tlv_stream, tlv_stream_from_json, tlv_stream_to_json

FAILURES = load_json("bolt01/tlv-decoding-failures.json")["cases"]
SUCCESSES = load_json("bolt01/tlv-decoding-successes.json")["cases"]


def _first_type(stream_hex: str) -> int:
    return decode_tlv_records(bytes.fromhex(stream_hex))[0].type


NONEMPTY_N1_SUCCESSES = [c for c in SUCCESSES if c["stream"] and "n1" in c["namespaces"]]
N1_FAILURES = [c for c in FAILURES if "n1" in c["namespaces"]]


@pytest.mark.parametrize(
    ("valid", "invalid"),
    list(itertools.product(NONEMPTY_N1_SUCCESSES[:6], N1_FAILURES)),
    ids=lambda case: case["stream"][:16],
)
def test_appending_an_invalid_stream_to_a_valid_stream_fails(
    valid: dict[str, str], invalid: dict[str, str]
) -> None:
    # BOLT 1 Appendix B: "Any appending of an invalid stream to a valid stream should trigger a
    # decoding failure."
    with pytest.raises(WireError):
        decode_tlv_stream(N1, bytes.fromhex(valid["stream"] + invalid["stream"]))


@pytest.mark.parametrize(
    ("low", "high"),
    [
        (a, b)
        for a, b in itertools.permutations(NONEMPTY_N1_SUCCESSES, 2)
        if _first_type(a["stream"]) < _first_type(b["stream"])
    ],
    ids=lambda case: case["stream"][:16],
)
def test_appending_a_higher_numbered_valid_stream_succeeds(low: dict[str, str], high: dict[str, str]) -> None:
    # BOLT 1 Appendix B: "Any appending of a higher-numbered valid stream to a lower-numbered valid
    # stream should not trigger a decoding failure."
    data = bytes.fromhex(low["stream"] + high["stream"])
    assert encode_tlv_stream(decode_tlv_stream(N1, data)) == data


def test_unknown_odd_records_are_kept_in_order() -> None:
    data = encode_tlv_records([RawTlv(1, b"\x05"), RawTlv(33, b"ab"), RawTlv(255, b"")])
    stream = decode_tlv_stream(N1, data)
    assert stream.unknown_records == (RawTlv(33, b"ab"), RawTlv(255, b""))
    assert encode_tlv_stream(stream) == data


def test_unknown_even_record_names_its_type() -> None:
    with pytest.raises(UnknownEvenTlvError) as info:
        decode_tlv_stream(N2, encode_tlv_records([RawTlv(4, b"")]))
    assert info.value.tlv_type == 4


def test_length_beyond_the_data_is_truncation() -> None:
    with pytest.raises(TruncatedError):
        decode_tlv_records(bytes.fromhex("0105aa"))


def test_encoder_refuses_non_increasing_types() -> None:
    with pytest.raises(FieldValueError):
        encode_tlv_records([RawTlv(3, b""), RawTlv(3, b"")])
    with pytest.raises(FieldValueError):
        encode_tlv_records([RawTlv(5, b""), RawTlv(1, b"")])


def test_decoder_reports_order_error_for_decreasing_types() -> None:
    with pytest.raises(TlvOrderError):
        decode_tlv_records(bytes.fromhex("0300" + "0100"))


def test_known_records_encode_minimally_in_type_order() -> None:
    stream = N1(tlv1=N1Tlv1(0), tlv4=N1Tlv4(550), unknown_records=(RawTlv(9, b"z"),))
    records = decode_tlv_records(encode_tlv_stream(stream))
    assert [r.type for r in records] == [1, 9, 254]
    assert records[0].value == b""  # tu64 zero is zero bytes


def test_unknown_record_colliding_with_a_known_type_is_refused() -> None:
    stream = N1(tlv1=N1Tlv1(1), unknown_records=(RawTlv(1, b"\x01"),))
    with pytest.raises(FieldValueError):
        check_tlv_stream(stream, "n1")


def test_stream_json_round_trip() -> None:
    stream = N1(tlv1=N1Tlv1(42), unknown_records=(RawTlv(7, b"\xff"),))
    assert tlv_stream_from_json(N1, tlv_stream_to_json(stream), "n1") == stream


def test_stream_json_rejects_unknown_record_names() -> None:
    with pytest.raises(FieldValueError) as info:
        tlv_stream_from_json(N1, {"tlv9": {}}, "n1")
    assert info.value.where == "n1.tlv9"
