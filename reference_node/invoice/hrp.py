"""BOLT 11 "Human-Readable Part": `ln` + currency prefix, then an optional amount and multiplier."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from reference_node.invoice.errors import (
    BadAmountError,
    BadMultiplierError,
    SubMillisatoshiAmountError,
    UnknownPrefixError,
)


class Currency(enum.Enum):
    """BOLT 11 `prefix` after `ln`: the BIP 173 currency prefix; `sb` is simnet (used by lnd)."""

    BITCOIN = "bc"
    TESTNET = "tb"
    SIGNET = "tbs"
    REGTEST = "bcrt"
    SIMNET = "sb"


@dataclass(frozen=True)
class AddressParams:
    """How fallback addresses are rendered on a currency's chain."""

    segwit_hrp: str
    p2pkh_version: int
    p2sh_version: int


# Base58 version bytes per chain (Bitcoin Core chainparams; simnet as btcd defines it).
ADDRESS_PARAMS = {
    Currency.BITCOIN: AddressParams("bc", 0x00, 0x05),
    Currency.TESTNET: AddressParams("tb", 0x6F, 0xC4),
    Currency.SIGNET: AddressParams("tb", 0x6F, 0xC4),
    Currency.REGTEST: AddressParams("bcrt", 0x6F, 0xC4),
    Currency.SIMNET: AddressParams("sb", 0x3F, 0x7B),
}

MSAT_PER_BTC = 100_000_000_000
# BOLT 11: m = 0.001, u = 0.000001, n = 0.000000001, p = 0.000000000001 bitcoin; here in tenths of a msat
# so that `p` (0.1 msat) stays an integer.
_DECI_MSAT_PER_UNIT = {
    "": MSAT_PER_BTC * 10,
    "m": MSAT_PER_BTC * 10 // 1_000,
    "u": MSAT_PER_BTC * 10 // 1_000_000,
    "n": MSAT_PER_BTC * 10 // 1_000_000_000,
    "p": 1,
}
_HRP = re.compile(r"^ln([a-z]+)(.*)$")
_AMOUNT = re.compile(r"^([0-9]+)(.?)$")


@dataclass(frozen=True)
class HumanReadablePart:
    currency: Currency
    amount_msat: int | None  # None: "amount is unspecified"


def parse_hrp(hrp: str) -> HumanReadablePart:
    """Split a (lower case) human-readable part into currency and amount, per the reader rules."""
    match = _HRP.match(hrp)
    if match is None:
        raise UnknownPrefixError(f"human-readable part {hrp!r} does not start with 'ln' and a currency")
    letters, amount_text = match.groups()
    try:
        currency = Currency(letters)
    except ValueError:
        raise UnknownPrefixError(f"unknown currency prefix {letters!r} in {hrp!r}") from None
    if not amount_text:
        return HumanReadablePart(currency, None)
    return HumanReadablePart(currency, parse_amount(amount_text))


def parse_amount(amount_text: str) -> int:
    """`amount` + optional `multiplier` to millisatoshis."""
    match = _AMOUNT.match(amount_text)
    if match is None:
        raise BadAmountError(f"amount {amount_text!r} is not a decimal number with an optional multiplier")
    digits, multiplier = match.groups()
    if multiplier not in _DECI_MSAT_PER_UNIT:
        raise BadMultiplierError(f"{multiplier!r} after amount {digits} is not one of m, u, n, p")
    # "if multiplier is `p` and the last decimal of `amount` is not 0: MUST fail the payment."
    if multiplier == "p" and not digits.endswith("0"):
        raise SubMillisatoshiAmountError(f"{digits}p is not an integer number of millisatoshis")
    amount_msat = int(digits) * _DECI_MSAT_PER_UNIT[multiplier] // 10
    if amount_msat == 0:
        raise BadAmountError(f"amount {amount_text!r} is zero (a writer encodes a positive amount)")
    return amount_msat


def format_amount(amount_msat: int) -> str:
    """The shortest representation: the largest multiplier (or none) giving an integer amount."""
    if amount_msat <= 0:
        raise BadAmountError(f"amount_msat {amount_msat} is not positive")
    deci_msat = amount_msat * 10
    for multiplier, unit in _DECI_MSAT_PER_UNIT.items():
        if deci_msat % unit == 0:
            return f"{deci_msat // unit}{multiplier}"
    raise AssertionError("unreachable: the `p` unit divides every amount")


def format_hrp(currency: Currency, amount_msat: int | None) -> str:
    return "ln" + currency.value + ("" if amount_msat is None else format_amount(amount_msat))
