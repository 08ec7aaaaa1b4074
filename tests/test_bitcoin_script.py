"""Script building, ECDSA and addresses, checked against python-bitcoinlib (an independent implementation)."""

from __future__ import annotations

import bitcoin
import pytest
from bitcoin.core.script import CScript
from bitcoin.wallet import CBech32BitcoinAddress
from hypothesis import given
from hypothesis import strategies as st

from reference_node.bitcoin.address import (
    Network,
    address_to_script,
    p2tr_address,
    p2tr_script,
    p2wpkh_address,
    p2wpkh_script,
    p2wsh_address,
    p2wsh_script,
)
from reference_node.bitcoin.ecdsa import (
    compact_to_der,
    der_to_compact,
    public_key_of,
    sign_digest,
    verify_digest,
)
from reference_node.bitcoin.errors import AddressError, ScriptError, SignatureError
from reference_node.bitcoin.hashes import sha256
from reference_node.bitcoin.script import Op, build_script, parse_pushes, push_data, push_int

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
secrets = st.integers(min_value=1, max_value=SECP256K1_ORDER - 1).map(lambda n: n.to_bytes(32, "big"))


@given(st.integers(min_value=-(2**39), max_value=2**39))
def test_number_push_matches_bitcoinlib(n: int) -> None:
    assert push_int(n) == bytes(CScript([n]))


@given(st.binary(max_size=70_000))
def test_data_push_is_minimal_and_matches_bitcoinlib(data: bytes) -> None:
    if len(data) == 1 and (data[0] == 0 or 1 <= data[0] <= 16 or data[0] == 0x81):
        return  # bitcoinlib encodes these single bytes as data pushes too; BIP62 minimality concerns numbers
    assert push_data(data) == bytes(CScript([data]))
    assert parse_pushes(push_data(data)) == [data]


def test_truncated_push_is_a_script_error() -> None:
    with pytest.raises(ScriptError, match="truncated"):
        parse_pushes(push_data(bytes(40))[:-1])


def test_build_script_rejects_other_types() -> None:
    with pytest.raises(ScriptError):
        build_script(Op.OP_DUP, "text")  # type: ignore[arg-type]


@given(secrets, st.binary(min_size=32, max_size=32))
def test_signatures_are_low_s_der_and_verify(secret: bytes, digest: bytes) -> None:
    signature = sign_digest(secret, digest)
    s = int.from_bytes(der_to_compact(signature)[32:], "big")
    assert s <= SECP256K1_ORDER // 2
    assert compact_to_der(der_to_compact(signature)) == signature
    assert verify_digest(public_key_of(secret), signature, digest)
    assert not verify_digest(public_key_of(secret), signature, sha256(digest))


def test_signing_is_deterministic() -> None:
    secret, digest = sha256(b"key"), sha256(b"message")
    assert sign_digest(secret, digest) == sign_digest(secret, digest)


def test_high_s_signature_does_not_verify() -> None:
    secret, digest = sha256(b"key"), sha256(b"message")
    compact = der_to_compact(sign_digest(secret, digest))
    high_s = SECP256K1_ORDER - int.from_bytes(compact[32:], "big")
    flipped = compact_to_der(compact[:32] + high_s.to_bytes(32, "big"))
    assert not verify_digest(public_key_of(secret), flipped, digest)


def test_bad_private_key_is_a_signature_error() -> None:
    with pytest.raises(SignatureError):
        sign_digest(bytes(32), sha256(b"x"))


@pytest.mark.parametrize("network", list(Network), ids=lambda n: n.name)
@given(secret=secrets)
def test_p2wpkh_and_p2wsh_addresses_match_bitcoinlib(network: Network, secret: bytes) -> None:
    bitcoin.SelectParams({"bc": "mainnet", "tb": "testnet", "bcrt": "regtest"}[network.value])
    pubkey = public_key_of(secret)
    script = build_script(pubkey, Op.OP_CHECKSIG)
    assert p2wpkh_address(pubkey, network) == str(
        CBech32BitcoinAddress.from_bytes(0, p2wpkh_script(pubkey)[2:])
    )
    assert p2wsh_address(script, network) == str(
        CBech32BitcoinAddress.from_bytes(0, p2wsh_script(script)[2:])
    )
    assert address_to_script(p2wsh_address(script, network), network) == p2wsh_script(script)


@pytest.mark.parametrize("network", list(Network), ids=lambda n: n.name)
def test_p2tr_address_is_bech32m_and_round_trips(network: Network) -> None:
    output_key = public_key_of(sha256(b"taproot"))[1:]
    address = p2tr_address(output_key, network)
    assert address.startswith(network.value + "1p")
    assert address_to_script(address, network) == p2tr_script(output_key)


def test_address_of_another_network_is_rejected() -> None:
    address = p2wpkh_address(public_key_of(sha256(b"k")), Network.MAINNET)
    with pytest.raises(ValueError, match="human-readable"):
        address_to_script(address, Network.REGTEST)


def test_p2wpkh_needs_a_compressed_key() -> None:
    with pytest.raises(AddressError):
        p2wpkh_script(bytes(65))
