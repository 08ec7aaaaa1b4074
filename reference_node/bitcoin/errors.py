"""Exceptions of the Bitcoin layer, each naming what was wrong."""

from __future__ import annotations


class BitcoinError(ValueError):
    """Base class for malformed Bitcoin data."""


class TxParseError(BitcoinError):
    """A serialized transaction is malformed (truncated, bad marker/flag, trailing bytes...)."""


class ScriptError(BitcoinError):
    """A script cannot be built or parsed (push too large, negative number out of range...)."""


class SignatureError(BitcoinError):
    """A signature or public key is malformed, or a signature does not verify."""


class AddressError(BitcoinError):
    """An address cannot be encoded for the given network or program."""
