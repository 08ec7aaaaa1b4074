"""BigSize, fundamental types and short_channel_id beyond the BOLT 1 vectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_node.wire import (
    FieldValueError,
    InvalidPointError,
    InvalidUtf8Error,
    NonCanonicalBigSizeError,
    NonMinimalTruncatedIntError,
    ShortChannelId,
    TlvLengthError,
    TruncatedError,
    decode_bigsize,
    encode_bigsize,
)
from reference_node.wire.errors import EncodeError
from reference_node.wire.types import (
    POINT,
    S16,
    SCIDDIR_OR_PUBKEY,
    TU32,
    TU64,
    U16,
    UTF8,
    Reader,
    ShortChannelIdDir,
    counted,
    fixed,
    rest,
)

UINT64 = st.integers(min_value=0, max_value=(1 << 64) - 1)


@given(UINT64)
def test_bigsize_round_trips(value: int) -> None:
    encoded = encode_bigsize(value)
    assert decode_bigsize(encoded) == (value, len(encoded))


@given(UINT64)
def test_bigsize_is_minimal(value: int) -> None:
    # BOLT 1 Appendix A: 1, 3, 5 or 9 bytes, whichever is the smallest that holds the value.
    size = len(encode_bigsize(value))
    assert size == next(
        s for s, limit in ((1, 0xFD), (3, 1 << 16), (5, 1 << 32), (9, 1 << 64)) if value < limit
    )


@given(st.sampled_from([(0xFD, 2, 0xFD), (0xFE, 4, 1 << 16), (0xFF, 8, 1 << 32)]), st.data())
def test_bigsize_rejects_every_non_minimal_encoding(wide: tuple[int, int, int], data: st.DataObject) -> None:
    prefix, width, minimum = wide
    value = data.draw(st.integers(0, minimum - 1))
    with pytest.raises(NonCanonicalBigSizeError):
        decode_bigsize(bytes([prefix]) + value.to_bytes(width, "big"))


@pytest.mark.parametrize("value", [-1, 1 << 64])
def test_bigsize_encode_rejects_out_of_range(value: int) -> None:
    with pytest.raises(EncodeError):
        encode_bigsize(value)


def test_bigsize_respects_the_end_bound() -> None:
    with pytest.raises(TruncatedError):
        decode_bigsize(b"\xfd\x01\x00", end=2)


@given(st.integers(0, (1 << 64) - 1))
def test_tu64_round_trips_with_no_leading_zero(value: int) -> None:
    out = bytearray()
    TU64.write(value, out)
    assert out[:1] != b"\x00"
    assert TU64.read(Reader(bytes(out)), "tu64") == value


def test_truncated_int_rejects_leading_zero() -> None:
    with pytest.raises(NonMinimalTruncatedIntError):
        TU32.read(Reader(b"\x00\x01"), "tu32")


def test_truncated_int_rejects_too_many_bytes() -> None:
    with pytest.raises(TlvLengthError):
        TU32.read(Reader(b"\x01" * 5), "tu32")


def test_point_must_be_compressed_and_on_the_curve() -> None:
    with pytest.raises(InvalidPointError):
        POINT.read(Reader(b"\x04" + bytes(32)), "point")
    # x = 5 is not the x coordinate of any secp256k1 point (5^3 + 7 = 132 is not a square mod p).
    with pytest.raises(InvalidPointError):
        POINT.read(Reader(b"\x02" + (5).to_bytes(32, "big")), "point")


@pytest.mark.parametrize("value", [True, 1.0, "1", 1 << 16, -1])
def test_u16_check_refuses_non_u16_values(value: object) -> None:
    with pytest.raises(FieldValueError):
        U16.check(value, "u16")


@pytest.mark.parametrize("value", [-(1 << 15) - 1, 1 << 15])
def test_s16_check_refuses_out_of_range(value: int) -> None:
    with pytest.raises(FieldValueError):
        S16.check(value, "s16")


def test_fixed_array_needs_exact_length() -> None:
    with pytest.raises(FieldValueError):
        fixed(32, U16).check((0,) * 31, "x")
    with pytest.raises(FieldValueError):
        fixed(3, U16).check(b"\x00" * 6, "x")  # a tuple of u16, not bytes


def test_counted_array_count_must_fit_its_count_field() -> None:
    with pytest.raises(FieldValueError):
        counted("len", U16, U16).check((0,) * (1 << 16), "x")


def test_rest_array_reads_whole_elements_only() -> None:
    with pytest.raises(TruncatedError):
        rest(U16).read(Reader(b"\x00\x01\x02"), "x")


@given(st.integers(0, (1 << 24) - 1), st.integers(0, (1 << 24) - 1), st.integers(0, (1 << 16) - 1))
def test_short_channel_id_forms_agree(block: int, tx: int, output: int) -> None:
    scid = ShortChannelId(block, tx, output)
    assert ShortChannelId.from_int(scid.to_int()) == scid
    assert ShortChannelId.from_bytes(scid.to_bytes()) == scid
    assert ShortChannelId.from_str(str(scid)) == scid


@pytest.mark.parametrize("text", ["1x2", "1x2x3x4", "ax1x2", "16777216x0x0"])
def test_short_channel_id_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ValueError):
        ShortChannelId.from_str(text)


def test_utf8_array_is_a_str_counted_in_bytes() -> None:
    codec = counted("len", UTF8, U16)
    out = bytearray()
    codec.check("héllo", "x")
    codec.write("héllo", out)
    assert bytes(out) == len("héllo".encode()).to_bytes(2, "big") + "héllo".encode()
    assert codec.read(Reader(bytes(out)), "x") == "héllo"
    assert rest(UTF8).read(Reader(b"ok"), "x") == "ok"


def test_utf8_array_rejects_invalid_utf8() -> None:
    with pytest.raises(InvalidUtf8Error):
        rest(UTF8).read(Reader(b"\xff\xfe"), "x")


def test_fixed_utf8_array_counts_bytes() -> None:
    with pytest.raises(FieldValueError):
        fixed(2, UTF8).check("é!", "x")  # 3 bytes
    fixed(2, UTF8).check("é", "x")


@pytest.mark.parametrize(
    "value",
    [ShortChannelIdDir(0, ShortChannelId(1, 2, 3)), ShortChannelIdDir(1, ShortChannelId(4, 5, 6)), "point"],
)
def test_sciddir_or_pubkey_round_trips(value: object) -> None:
    if value == "point":
        value = bytes.fromhex("02" + "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
    out = bytearray()
    SCIDDIR_OR_PUBKEY.check(value, "x")
    SCIDDIR_OR_PUBKEY.write(value, out)
    assert len(out) == (9 if isinstance(value, ShortChannelIdDir) else 33)
    assert SCIDDIR_OR_PUBKEY.read(Reader(bytes(out)), "x") == value
    assert SCIDDIR_OR_PUBKEY.from_json(SCIDDIR_OR_PUBKEY.to_json(value), "x") == value


def test_sciddir_or_pubkey_rejects_other_first_bytes() -> None:
    with pytest.raises(InvalidPointError):
        SCIDDIR_OR_PUBKEY.read(Reader(b"\x04" + bytes(32)), "x")
