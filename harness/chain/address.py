"""Regtest addresses <-> scriptPubKeys, independent of the reference node's own address code.

Base58Check through python-bitcoinlib (version bytes passed explicitly, so its global network selection is
never touched); segwit addresses through python-bitcoinlib's bech32 polymod, with the BIP 350 bech32m
constant for witness versions 1..16 (python-bitcoinlib 0.12 only knows BIP 173 bech32).
"""

from __future__ import annotations

from bitcoin import base58
from bitcoin.core import Hash
from bitcoin.segwit_addr import bech32_hrp_expand, bech32_polymod, convertbits

from harness.chain.errors import InvalidAddress

# chainparams.cpp, CRegTestParams: base58Prefixes and bech32_hrp
REGTEST_PUBKEY_ADDRESS_VERSION = 111
REGTEST_SCRIPT_ADDRESS_VERSION = 196
REGTEST_BECH32_HRP = "bcrt"

_BECH32_CONST = 1  # BIP 173
_BECH32M_CONST = 0x2BC830A3  # BIP 350
_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

OP_0 = 0x00
OP_1 = 0x51
OP_DUP = 0x76
OP_HASH160 = 0xA9
OP_EQUAL = 0x87
OP_EQUALVERIFY = 0x88
OP_CHECKSIG = 0xAC


def script_for(address_or_script: str | bytes) -> bytes:
    """The scriptPubKey for an address string, or the bytes unchanged when given a script."""
    if isinstance(address_or_script, bytes | bytearray):
        return bytes(address_or_script)
    return address_to_script(address_or_script)


def address_to_script(address: str) -> bytes:
    if address.lower().startswith(REGTEST_BECH32_HRP + "1"):
        version, program = _decode_segwit(address)
        op = OP_0 if version == 0 else OP_1 + version - 1
        return bytes([op, len(program)]) + program
    try:
        data = base58.CBase58Data(address)
    except (base58.Base58Error, ValueError, IndexError) as exc:
        raise InvalidAddress(f"invalid address {address!r}: {exc}") from exc
    payload = data.to_bytes()
    if len(payload) != 20:
        raise InvalidAddress(f"invalid address {address!r}: payload is {len(payload)} bytes, not 20")
    if data.nVersion == REGTEST_PUBKEY_ADDRESS_VERSION:
        return bytes([OP_DUP, OP_HASH160, 20]) + payload + bytes([OP_EQUALVERIFY, OP_CHECKSIG])
    if data.nVersion == REGTEST_SCRIPT_ADDRESS_VERSION:
        return bytes([OP_HASH160, 20]) + payload + bytes([OP_EQUAL])
    raise InvalidAddress(f"invalid address {address!r}: version byte {data.nVersion} is not regtest's")


def script_to_address(script_pubkey: bytes) -> str | None:
    """The regtest address of a standard scriptPubKey, or None (bare scripts, OP_RETURN...)."""
    s = script_pubkey
    if (
        len(s) == 25
        and s[:3] == bytes([OP_DUP, OP_HASH160, 20])
        and s[23:] == bytes([OP_EQUALVERIFY, OP_CHECKSIG])
    ):
        return _base58check(REGTEST_PUBKEY_ADDRESS_VERSION, s[3:23])
    if len(s) == 23 and s[:2] == bytes([OP_HASH160, 20]) and s[22] == OP_EQUAL:
        return _base58check(REGTEST_SCRIPT_ADDRESS_VERSION, s[2:22])
    witness = witness_program(s)
    if witness is not None:
        return encode_segwit(witness[0], witness[1])
    return None


def witness_program(script_pubkey: bytes) -> tuple[int, bytes] | None:
    """(version, program) when the script is a BIP 141 witness program."""
    s = script_pubkey
    if not 4 <= len(s) <= 42:
        return None
    if s[0] != OP_0 and not OP_1 <= s[0] <= OP_1 + 15:
        return None
    if s[1] + 2 != len(s):
        return None
    return (0 if s[0] == OP_0 else s[0] - OP_1 + 1), bytes(s[2:])


def encode_segwit(version: int, program: bytes) -> str:
    data = [version, *convertbits(program, 8, 5)]
    const = _BECH32_CONST if version == 0 else _BECH32M_CONST
    polymod = bech32_polymod(bech32_hrp_expand(REGTEST_BECH32_HRP) + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return REGTEST_BECH32_HRP + "1" + "".join(_CHARSET[d] for d in data + checksum)


def _decode_segwit(address: str) -> tuple[int, bytes]:
    if address != address.lower() and address != address.upper():
        raise InvalidAddress(f"invalid address {address!r}: mixed case")
    text = address.lower()
    hrp, _, rest = text.rpartition("1")
    if hrp != REGTEST_BECH32_HRP or len(rest) < 7 or len(text) > 90:
        raise InvalidAddress(f"invalid address {address!r}: not a regtest segwit address")
    if any(c not in _CHARSET for c in rest):
        raise InvalidAddress(f"invalid address {address!r}: character outside the bech32 charset")
    data = [_CHARSET.index(c) for c in rest]
    const = bech32_polymod(bech32_hrp_expand(hrp) + data)
    version = data[0]
    expected = _BECH32_CONST if version == 0 else _BECH32M_CONST
    if const != expected:
        raise InvalidAddress(f"invalid address {address!r}: bad checksum for witness version {version}")
    program = convertbits(data[1:-6], 5, 8, False)
    if version > 16 or program is None or not 2 <= len(program) <= 40:
        raise InvalidAddress(f"invalid address {address!r}: bad witness program")
    if version == 0 and len(program) not in (20, 32):
        raise InvalidAddress(f"invalid address {address!r}: v0 program must be 20 or 32 bytes")
    return version, bytes(program)


def _base58check(version: int, payload: bytes) -> str:
    body = bytes([version]) + payload
    encoded: str = base58.encode(body + Hash(body)[:4])
    return encoded
