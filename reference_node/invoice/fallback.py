"""The `f` field: an on-chain fallback address (BOLT 11 "Tagged Fields").

`version` 0..16 is a witness version followed by a witness program; 17 is P2PKH and 18 is P2SH, each
followed by a 20-byte hash. Versions 19..31 are unknown: the reader skips them.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from reference_node.bitcoin.bech32 import Bech32Error, segwit_encode
from reference_node.invoice.errors import FallbackAddressError
from reference_node.invoice.hrp import ADDRESS_PARAMS, Currency

P2PKH_VERSION = 17
P2SH_VERSION = 18
MAX_WITNESS_VERSION = 16
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class FallbackKind(enum.Enum):
    P2PKH = "p2pkh"
    P2SH = "p2sh"
    P2WPKH = "p2wpkh"
    P2WSH = "p2wsh"
    P2TR = "p2tr"
    WITNESS_UNKNOWN = "witness"  # other witness versions/lengths: valid programs, no named template


@dataclass(frozen=True)
class FallbackAddress:
    version: int  # 0..16 witness version, 17 P2PKH, 18 P2SH
    program: bytes  # witness program, or the 20-byte hash for P2PKH/P2SH

    def __post_init__(self) -> None:
        check_fallback(self.version, self.program)

    @property
    def kind(self) -> FallbackKind:
        if self.version == P2PKH_VERSION:
            return FallbackKind.P2PKH
        if self.version == P2SH_VERSION:
            return FallbackKind.P2SH
        if self.version == 0:
            return FallbackKind.P2WPKH if len(self.program) == 20 else FallbackKind.P2WSH
        if self.version == 1 and len(self.program) == 32:
            return FallbackKind.P2TR
        return FallbackKind.WITNESS_UNKNOWN

    def address(self, currency: Currency) -> str:
        """The address as a wallet shows it on the invoice's chain."""
        params = ADDRESS_PARAMS[currency]
        if self.version == P2PKH_VERSION:
            return base58check_encode(bytes([params.p2pkh_version]) + self.program)
        if self.version == P2SH_VERSION:
            return base58check_encode(bytes([params.p2sh_version]) + self.program)
        return segwit_encode(params.segwit_hrp, self.version, self.program)


def check_fallback(version: int, program: bytes) -> None:
    """A writer "MUST set an `f` field to a valid witness version and program, OR to 17 followed by a
    public key hash, OR to 18 followed by a script hash"; programs follow BIP 141 / BIP 350 rules."""
    if version in (P2PKH_VERSION, P2SH_VERSION):
        if len(program) != 20:
            raise FallbackAddressError(f"fallback version {version} needs a 20-byte hash, got {len(program)}")
        return
    if not 0 <= version <= MAX_WITNESS_VERSION:
        raise FallbackAddressError(f"fallback version {version} is not a known version")
    try:
        segwit_encode("bc", version, program)
    except Bech32Error as exc:
        raise FallbackAddressError(f"fallback witness version {version}: {exc}") from exc


def base58check_encode(payload: bytes) -> str:
    checksum = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    data = payload + checksum
    value = int.from_bytes(data, "big")
    encoded = ""
    while value:
        value, remainder = divmod(value, 58)
        encoded = _BASE58_ALPHABET[remainder] + encoded
    leading_zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * leading_zeros + encoded
