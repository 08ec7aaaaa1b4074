"""Bech32 (BIP 173) and bech32m (BIP 350) encoding, and segwit address helpers.

BOLT 11 invoices use bech32 without the 90-character limit of BIP 173 ("Human-readable part ...
the data part ... does not have a length limit"), so every decoder here takes an explicit
`max_length`; segwit addresses keep BIP 173's 90.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX = {char: index for index, char in enumerate(CHARSET)}

# BIP 173: "The data-part ... at most 90 characters" (for segwit addresses).
SEGWIT_ADDRESS_MAX_LENGTH = 90
CHECKSUM_LENGTH = 6
# BIP 173 / BIP 350 checksum constants.
_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


class Encoding(enum.Enum):
    """Which checksum constant a string uses (BIP 350)."""

    BECH32 = _BECH32_CONST
    BECH32M = _BECH32M_CONST


class Bech32Error(ValueError):
    """A string is not valid bech32/bech32m, or data cannot be encoded."""


class Bech32LengthError(Bech32Error):
    """The string is longer than the limit the caller allows, or shorter than hrp + '1' + checksum."""


class Bech32CharacterError(Bech32Error):
    """A character outside US-ASCII 33..126, or a data character outside the bech32 charset."""


class Bech32MixedCaseError(Bech32Error):
    """Upper and lower case are mixed (BIP 173: decoders MUST NOT accept mixed case)."""


class Bech32SeparatorError(Bech32Error):
    """No '1' separator, an empty human-readable part, or a data part too short for the checksum."""


class Bech32ChecksumError(Bech32Error):
    """The checksum matches neither bech32 nor bech32m (or not the expected one)."""


class ConvertBitsError(Bech32Error):
    """A value does not fit its width, or regrouping leaves non-zero or too many padding bits."""


class SegwitAddressError(Bech32Error):
    """A bech32 string decodes, but is not a valid segwit address (BIP 173 / BIP 350 rules)."""


@dataclass(frozen=True)
class Bech32Decoded:
    hrp: str
    data: tuple[int, ...]  # 5-bit values, checksum removed
    encoding: Encoding


@dataclass(frozen=True)
class SegwitAddress:
    hrp: str
    witness_version: int
    witness_program: bytes


def _polymod(values: Iterable[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_GENERATOR):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(char) >> 5 for char in hrp] + [0] + [ord(char) & 31 for char in hrp]


def _create_checksum(hrp: str, data: Sequence[int], encoding: Encoding) -> list[int]:
    polymod = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ encoding.value
    return [(polymod >> 5 * (5 - index)) & 31 for index in range(CHECKSUM_LENGTH)]


def bech32_encode(
    hrp: str, data: Sequence[int], encoding: Encoding, max_length: int | None = SEGWIT_ADDRESS_MAX_LENGTH
) -> str:
    """Encode 5-bit `data` under `hrp` (lower case output). `max_length=None` means no limit."""
    if not hrp:
        raise Bech32SeparatorError("empty human-readable part")
    if any(ord(char) < 33 or ord(char) > 126 for char in hrp):
        raise Bech32CharacterError(f"human-readable part {hrp!r} has a character outside US-ASCII 33..126")
    if hrp.lower() != hrp and hrp.upper() != hrp:
        raise Bech32MixedCaseError(f"human-readable part {hrp!r} mixes case")
    hrp = hrp.lower()
    for index, value in enumerate(data):
        if not 0 <= value < 32:
            raise ConvertBitsError(f"data value {value} at index {index} is not a 5-bit value")
    combined = [*data, *_create_checksum(hrp, data, encoding)]
    result = hrp + "1" + "".join(CHARSET[value] for value in combined)
    if max_length is not None and len(result) > max_length:
        raise Bech32LengthError(f"encoded length {len(result)} exceeds the limit {max_length}")
    return result


def bech32_decode(text: str, max_length: int | None = SEGWIT_ADDRESS_MAX_LENGTH) -> Bech32Decoded:
    """Decode a bech32 or bech32m string; the checksum constant found is reported in `encoding`.

    `max_length=None` means no limit (BOLT 11 invoices).
    """
    if any(ord(char) < 33 or ord(char) > 126 for char in text):
        raise Bech32CharacterError("character outside US-ASCII 33..126")
    if text.lower() != text and text.upper() != text:
        raise Bech32MixedCaseError("string mixes upper and lower case")
    if max_length is not None and len(text) > max_length:
        raise Bech32LengthError(f"length {len(text)} exceeds the limit {max_length}")
    text = text.lower()
    separator = text.rfind("1")
    if separator < 0:
        raise Bech32SeparatorError("no '1' separator")
    if separator == 0:
        raise Bech32SeparatorError("empty human-readable part")
    if len(text) - separator - 1 < CHECKSUM_LENGTH:
        raise Bech32SeparatorError("data part shorter than the 6-character checksum")
    hrp = text[:separator]
    data: list[int] = []
    for position, char in enumerate(text[separator + 1 :], start=separator + 1):
        value = _CHARSET_INDEX.get(char)
        if value is None:
            raise Bech32CharacterError(f"character {char!r} at position {position} is not in the charset")
        data.append(value)
    constant = _polymod([*_hrp_expand(hrp), *data])
    if constant == _BECH32_CONST:
        encoding = Encoding.BECH32
    elif constant == _BECH32M_CONST:
        encoding = Encoding.BECH32M
    else:
        raise Bech32ChecksumError("checksum is neither bech32 nor bech32m")
    return Bech32Decoded(hrp=hrp, data=tuple(data[:-CHECKSUM_LENGTH]), encoding=encoding)


def convertbits(data: Iterable[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    """Regroup `from_bits`-wide values into `to_bits`-wide values (BIP 173 reference semantics).

    With `pad`, a final partial group is zero-padded; without it, leftover bits must be fewer than
    `from_bits` and all zero.
    """
    accumulator = 0
    bits = 0
    result: list[int] = []
    max_value = (1 << to_bits) - 1
    max_accumulator = (1 << (from_bits + to_bits - 1)) - 1
    for index, value in enumerate(data):
        if value < 0 or value >> from_bits:
            raise ConvertBitsError(f"value {value} at index {index} does not fit in {from_bits} bits")
        accumulator = ((accumulator << from_bits) | value) & max_accumulator
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            result.append((accumulator >> bits) & max_value)
    if pad:
        if bits:
            result.append((accumulator << (to_bits - bits)) & max_value)
    elif bits >= from_bits:
        raise ConvertBitsError(f"{bits} leftover bits: a whole {from_bits}-bit group of padding")
    elif (accumulator << (to_bits - bits)) & max_value:
        raise ConvertBitsError("non-zero padding bits")
    return result


def segwit_encode(hrp: str, witness_version: int, witness_program: bytes) -> str:
    """A segwit address: bech32 for version 0, bech32m for versions 1..16 (BIP 350)."""
    _check_witness(witness_version, witness_program)
    encoding = Encoding.BECH32 if witness_version == 0 else Encoding.BECH32M
    data = [witness_version, *convertbits(witness_program, 8, 5, pad=True)]
    return bech32_encode(hrp, data, encoding, SEGWIT_ADDRESS_MAX_LENGTH)


def segwit_decode(address: str, expected_hrp: str | None = None) -> SegwitAddress:
    """Decode and validate a segwit address (BIP 173 + BIP 350 rules), optionally checking its hrp."""
    decoded = bech32_decode(address, SEGWIT_ADDRESS_MAX_LENGTH)
    if expected_hrp is not None and decoded.hrp != expected_hrp.lower():
        raise SegwitAddressError(f"human-readable part {decoded.hrp!r}, expected {expected_hrp!r}")
    if not decoded.data:
        raise SegwitAddressError("no witness version")
    witness_version = decoded.data[0]
    if witness_version > 16:
        raise SegwitAddressError(f"witness version {witness_version} above 16")
    program = bytes(convertbits(decoded.data[1:], 5, 8, pad=False))
    _check_witness(witness_version, program)
    expected_encoding = Encoding.BECH32 if witness_version == 0 else Encoding.BECH32M
    if decoded.encoding is not expected_encoding:
        raise Bech32ChecksumError(
            f"witness version {witness_version} needs {expected_encoding.name}, got {decoded.encoding.name}"
        )
    return SegwitAddress(hrp=decoded.hrp, witness_version=witness_version, witness_program=program)


def _check_witness(witness_version: int, witness_program: bytes) -> None:
    if not 0 <= witness_version <= 16:
        raise SegwitAddressError(f"witness version {witness_version} outside 0..16")
    if not 2 <= len(witness_program) <= 40:
        raise SegwitAddressError(f"witness program of {len(witness_program)} bytes, not 2..40")
    if witness_version == 0 and len(witness_program) not in (20, 32):
        raise SegwitAddressError(f"version 0 witness program of {len(witness_program)} bytes, not 20 or 32")
