"""Why a BOLT 11 invoice was refused: one exception type per reason, all `InvoiceError`s."""

from __future__ import annotations


class InvoiceError(ValueError):
    """An invoice that BOLT 11 says a reader must refuse, or a writer must not produce."""


class Bech32EncodingError(InvoiceError):
    """The string is not valid bech32 (BOLT 11 "Encoding Overview": MUST parse the address as Bech32)."""


class BadChecksumError(Bech32EncodingError):
    """The bech32 checksum is incorrect ("if the checksum is incorrect: MUST fail the payment")."""


class NoSeparatorError(Bech32EncodingError):
    """No '1' separates the human-readable part from the data part."""


class MixedCaseError(Bech32EncodingError):
    """Upper and lower case are mixed (BIP 173 decoders must refuse it)."""


class InvalidCharacterError(Bech32EncodingError):
    """A character outside the bech32 charset (or outside printable US-ASCII)."""


class UnknownPrefixError(InvoiceError):
    """The human-readable part does not start with `ln` + a currency prefix the reader understands."""


class BadAmountError(InvoiceError):
    """The amount contains a non-digit, is zero, or cannot be encoded."""


class BadMultiplierError(BadAmountError):
    """The amount is followed by something other than a multiplier letter m, u, n or p."""


class SubMillisatoshiAmountError(BadAmountError):
    """A `p` amount whose last decimal is not 0: it would not be an integer number of millisatoshis."""


class BadTimestampError(InvoiceError):
    """A writer-side error: the timestamp does not fit the 35-bit field."""


class TooShortError(InvoiceError):
    """The data part is too short to hold a timestamp and a 520-bit signature."""


class MalformedFieldError(InvoiceError):
    """A tagged field is truncated, has non-zero padding, or content its type does not allow."""


class WrongFieldLengthError(MalformedFieldError):
    """A fixed-length field (`p`, `h`, `s`, `n`) has the wrong `data_length` (52, 52, 52, 53)."""


class NonMinimalFieldError(MalformedFieldError):
    """A `c`, `x` or `9` field begins with 0 field elements ("SHOULD treat the invoice as invalid")."""


class MissingFieldError(InvoiceError):
    """A required field is absent: `p`, `s`, or one of `d`/`h`."""


class ConflictingFieldsError(InvoiceError):
    """Both `d` and `h` are present (a reader MUST fail the payment)."""


class DescriptionHashMismatchError(InvoiceError):
    """The SHA256 in `h` does not match the description it is checked against."""


class UnknownEvenFeatureError(InvoiceError):
    """The `9` field sets an even feature bit the reader does not know ("MUST fail the payment")."""

    def __init__(self, bits: tuple[int, ...]) -> None:
        super().__init__(f"unknown even feature bit(s) {', '.join(map(str, bits))} in the `9` field")
        self.bits = bits


class FallbackAddressError(MalformedFieldError):
    """An `f` field of a known version whose program or hash does not fit that version."""


class SignatureError(InvoiceError):
    """The signature is absent, malformed, or does not match the invoice."""


class BadRecoveryIdError(SignatureError):
    """The recovery id is not in {0, 1, 2, 3}."""


class UnrecoverableSignatureError(SignatureError):
    """Public-key recovery fails: no public key produces this signature."""


class InvalidSignatureError(SignatureError):
    """The signature does not verify against the `n` field's public key."""


class HighSSignatureError(SignatureError):
    """With an `n` field, a signature whose S is not low (BOLT 11: "MUST fail the payment")."""


class InvalidNodeIdError(MalformedFieldError):
    """The `n` field is not a valid compressed secp256k1 public key."""


class FieldTooLongError(InvoiceError):
    """A writer-side error: a field's data would exceed the 10-bit `data_length` (1023 x 5 bits)."""


class InvoiceExpiredError(InvoiceError):
    """`timestamp` + `expiry` has passed at the `now` the caller gave."""


class MissingFeatureDependencyError(InvoiceError):
    """The `9` field sets a feature without one of its BOLT 9 dependencies (payer MUST NOT attempt it)."""
