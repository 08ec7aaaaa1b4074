"""Regtest address <-> scriptPubKey conversion used by the chain (independent of reference_node/bitcoin)."""

from __future__ import annotations

import pytest
from bitcoin import base58
from bitcoin.core import Hash
from bitcoin.segwit_addr import encode as bech32_v0_encode
from hypothesis import given
from hypothesis import strategies as st

from harness.chain.address import address_to_script, encode_segwit, script_to_address
from harness.chain.errors import InvalidAddress


@given(st.binary(min_size=20, max_size=20) | st.binary(min_size=32, max_size=32))
def test_v0_addresses_match_python_bitcoinlibs_bech32(program: bytes) -> None:
    assert encode_segwit(0, program) == bech32_v0_encode("bcrt", 0, program)


@given(
    st.one_of(
        st.binary(min_size=20, max_size=20).map(lambda h: b"\x76\xa9\x14" + h + b"\x88\xac"),
        st.binary(min_size=20, max_size=20).map(lambda h: b"\xa9\x14" + h + b"\x87"),
        st.binary(min_size=20, max_size=20).map(lambda h: b"\x00\x14" + h),
        st.binary(min_size=32, max_size=32).map(lambda h: b"\x00\x20" + h),
        st.binary(min_size=32, max_size=32).map(lambda h: b"\x51\x20" + h),
        st.binary(min_size=2, max_size=40).map(lambda h: bytes([0x52, len(h)]) + h),
    )
)
def test_every_standard_script_round_trips_through_its_address(script: bytes) -> None:
    address = script_to_address(script)
    assert address is not None
    assert address_to_script(address) == script


def test_regtest_p2pkh_uses_version_byte_111() -> None:
    payload = bytes(range(20))
    body = bytes([111]) + payload
    address = base58.encode(body + Hash(body)[:4])
    assert address_to_script(address) == b"\x76\xa9\x14" + payload + b"\x88\xac"


def test_taproot_address_uses_bech32m() -> None:
    program = bytes(32)
    address = encode_segwit(1, program)
    assert address.startswith("bcrt1p")
    with pytest.raises(InvalidAddress):
        # The same data with a bech32 (not bech32m) checksum must not decode as v1 (BIP 350).
        address_to_script(bech32_v0_encode("bcrt", 1, program) or "bcrt1invalid")


@pytest.mark.parametrize(
    "address",
    [
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # mainnet
        "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt081",  # bad checksum
        "bcrt1Qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",  # mixed case
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",  # mainnet P2PKH
        "not an address",
    ],
)
def test_non_regtest_or_corrupt_addresses_are_refused(address: str) -> None:
    with pytest.raises(InvalidAddress):
        address_to_script(address)


def test_scripts_without_an_address_give_none() -> None:
    assert script_to_address(b"\x6a\x04abcd") is None
    assert script_to_address(b"\x51") is None
