"""Segwit scriptPubKeys and addresses (P2WPKH, P2WSH, P2TR key path) for each network, plus P2PKH."""

from __future__ import annotations

from enum import Enum

from reference_node.bitcoin.bech32 import segwit_decode, segwit_encode
from reference_node.bitcoin.errors import AddressError
from reference_node.bitcoin.hashes import hash160, sha256
from reference_node.bitcoin.script import Op, build_script


class Network(Enum):
    """The bech32 human-readable part of each network (BIP173)."""

    MAINNET = "bc"
    TESTNET = "tb"
    REGTEST = "bcrt"


def p2wpkh_script(pubkey: bytes) -> bytes:
    """OP_0 <hash160(pubkey)> (BIP141)."""
    if len(pubkey) != 33:
        raise AddressError(f"P2WPKH needs a 33-byte compressed key, got {len(pubkey)} bytes")
    return b"\x00\x14" + hash160(pubkey)


def p2wsh_script(witness_script: bytes) -> bytes:
    """OP_0 <sha256(witness_script)> (BIP141)."""
    return b"\x00\x20" + sha256(witness_script)


def p2tr_script(output_key_x: bytes) -> bytes:
    """OP_1 <32-byte x-only output key> (BIP341); the caller gives the already-tweaked output key."""
    if len(output_key_x) != 32:
        raise AddressError(f"P2TR needs a 32-byte x-only output key, got {len(output_key_x)} bytes")
    return b"\x51\x20" + output_key_x


def p2pkh_script(pubkey: bytes) -> bytes:
    return build_script(Op.OP_DUP, Op.OP_HASH160, hash160(pubkey), Op.OP_EQUALVERIFY, Op.OP_CHECKSIG)


def script_to_address(script_pubkey: bytes, network: Network) -> str:
    """Bech32/bech32m address of a segwit scriptPubKey (v0 20/32 bytes, v1+ any valid program)."""
    if len(script_pubkey) < 4 or script_pubkey[1] != len(script_pubkey) - 2:
        raise AddressError(f"not a witness program: {script_pubkey.hex()}")
    first = script_pubkey[0]
    if first == 0:
        version = 0
    elif Op.OP_1 <= first <= Op.OP_16:
        version = first - Op.OP_1 + 1
    else:
        raise AddressError(f"not a witness program: {script_pubkey.hex()}")
    return segwit_encode(network.value, version, script_pubkey[2:])


def address_to_script(address: str, network: Network) -> bytes:
    decoded = segwit_decode(address, expected_hrp=network.value)
    version_op = 0 if decoded.witness_version == 0 else Op.OP_1 + decoded.witness_version - 1
    return bytes((version_op, len(decoded.witness_program))) + decoded.witness_program


def p2wpkh_address(pubkey: bytes, network: Network) -> str:
    return script_to_address(p2wpkh_script(pubkey), network)


def p2wsh_address(witness_script: bytes, network: Network) -> str:
    return script_to_address(p2wsh_script(witness_script), network)


def p2tr_address(output_key_x: bytes, network: Network) -> str:
    return script_to_address(p2tr_script(output_key_x), network)
