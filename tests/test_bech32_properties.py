"""Round-trip properties of bech32/bech32m, convertbits and segwit addresses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_node.bitcoin import bech32
from reference_node.bitcoin.bech32 import Encoding

HRPS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)


@given(HRPS, st.lists(st.integers(0, 31), max_size=300), st.sampled_from(list(Encoding)))
def test_decode_inverts_encode(hrp: str, data: list[int], encoding: Encoding) -> None:
    text = bech32.bech32_encode(hrp, data, encoding, max_length=None)
    decoded = bech32.bech32_decode(text, max_length=None)
    assert (decoded.hrp, decoded.data, decoded.encoding) == (hrp, tuple(data), encoding)


@given(st.binary(max_size=200))
def test_convertbits_8_to_5_and_back_is_identity(data: bytes) -> None:
    five_bit = bech32.convertbits(data, 8, 5, pad=True)
    assert bytes(bech32.convertbits(five_bit, 5, 8, pad=False)) == data


@given(
    st.sampled_from(["bc", "tb", "bcrt"]),
    st.one_of(
        st.tuples(st.just(0), st.sampled_from([20, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n))),
        st.tuples(st.integers(1, 16), st.binary(min_size=2, max_size=40)),
    ),
)
def test_segwit_decode_inverts_encode(hrp: str, witness: tuple[int, bytes]) -> None:
    version, program = witness
    decoded = bech32.segwit_decode(bech32.segwit_encode(hrp, version, program), hrp)
    assert (decoded.witness_version, decoded.witness_program) == (version, program)


@given(HRPS, st.lists(st.integers(0, 31), min_size=1, max_size=80), st.data())
def test_single_substitution_is_detected(hrp: str, data: list[int], draw: st.DataObject) -> None:
    text = bech32.bech32_encode(hrp, data, Encoding.BECH32M, max_length=None)
    position = draw.draw(st.integers(len(hrp) + 1, len(text) - 1))
    replacement = draw.draw(st.sampled_from([c for c in bech32.CHARSET if c != text[position]]))
    corrupted = text[:position] + replacement + text[position + 1 :]
    with pytest.raises(bech32.Bech32ChecksumError):
        bech32.bech32_decode(corrupted, max_length=None)
