"""`f` field addresses, rendered per chain, checked against python-bitcoinlib (an independent encoder)."""

from __future__ import annotations

import bitcoin
from bitcoin.base58 import CBase58Data
from bitcoin.wallet import CBitcoinAddress
from hypothesis import given
from hypothesis import strategies as st

from reference_node.invoice import Currency, FallbackAddress, FallbackKind
from reference_node.invoice.hrp import ADDRESS_PARAMS

hashes_20 = st.binary(min_size=20, max_size=20)
# python-bitcoinlib's chain parameter names for the chains it knows.
BITCOINLIB_CHAINS = {Currency.BITCOIN: "mainnet", Currency.TESTNET: "testnet", Currency.REGTEST: "regtest"}


@given(st.sampled_from(list(Currency)), st.sampled_from([17, 18]), hashes_20)
def test_base58_fallback_matches_python_bitcoinlib(currency: Currency, version: int, hash160: bytes) -> None:
    params = ADDRESS_PARAMS[currency]
    prefix = params.p2pkh_version if version == 17 else params.p2sh_version
    expected = str(CBase58Data.from_bytes(hash160, prefix))
    assert FallbackAddress(version, hash160).address(currency) == expected


@given(
    st.sampled_from(list(BITCOINLIB_CHAINS)),
    st.one_of(
        st.tuples(st.just(0), st.binary(min_size=20, max_size=20)),
        st.tuples(st.just(0), st.binary(min_size=32, max_size=32)),
    ),
)
def test_segwit_v0_fallback_matches_python_bitcoinlib(currency: Currency, witness: tuple[int, bytes]) -> None:
    version, program = witness
    bitcoin.SelectParams(BITCOINLIB_CHAINS[currency])
    try:
        address = FallbackAddress(version, program).address(currency)
        script = CBitcoinAddress(address).to_scriptPubKey()
    finally:
        bitcoin.SelectParams("mainnet")
    assert bytes(script) == bytes([0, len(program)]) + program


@given(hashes_20, st.binary(min_size=32, max_size=32))
def test_fallback_kinds_follow_version_and_length(hash160: bytes, hash256: bytes) -> None:
    assert FallbackAddress(17, hash160).kind is FallbackKind.P2PKH
    assert FallbackAddress(18, hash160).kind is FallbackKind.P2SH
    assert FallbackAddress(0, hash160).kind is FallbackKind.P2WPKH
    assert FallbackAddress(0, hash256).kind is FallbackKind.P2WSH
    assert FallbackAddress(1, hash256).kind is FallbackKind.P2TR
    assert FallbackAddress(2, hash256).kind is FallbackKind.WITNESS_UNKNOWN
