"""The `9` field: BOLT 11 "Feature Bits", as the project's BOLT 9 `Features` value (reference_node.wire).

"The field is big-endian. The least-significant bit is numbered 0": the 5-bit words are the same
integer the wire's big-endian bytes encode, so only the word/byte framing differs.
"""

from __future__ import annotations

from reference_node.invoice.errors import (
    MissingFeatureDependencyError,
    NonMinimalFieldError,
    UnknownEvenFeatureError,
)
from reference_node.invoice.words import Words, int_to_words, words_to_int
from reference_node.wire import errors as wire_errors
from reference_node.wire.features import Feature, Features, check_dependencies

# What `create_invoice` offers unless told otherwise: the bits every BOLT 11 example sets
# (`var_onion_optin` and `payment_secret`, compulsory).
DEFAULT_INVOICE_FEATURES = Features.of(required=(Feature.var_onion_optin, Feature.payment_secret))


def features_from_words(words: Words) -> Features:
    # "if a `c`, `x`, or `9` field is provided which has a non-minimal `data_length`
    # (i.e. begins with 0 field elements): SHOULD treat the invoice as invalid."
    if words and words[0] == 0:
        raise NonMinimalFieldError("`9` field begins with a 0 field element")
    return Features(words_to_int(words))


def features_to_words(features: Features) -> Words:
    """Minimal encoding; empty when no bit is set (the writer then omits the field)."""
    return int_to_words(features.bits)


def check_known_features(features: Features) -> None:
    """BOLT 11 reader: unknown even bits MUST fail the payment; unknown odd bits are ignored.

    "Known" is every row of the BOLT 9 table, ASSUMED ones included: the spec's examples set bits 8
    and 14, ASSUMED features with no context listed at this commit.
    """
    unknown_even = tuple(bit for bit in features.unknown_bits() if bit % 2 == 0)
    if unknown_even:
        raise UnknownEvenFeatureError(unknown_even)


def check_feature_dependencies(features: Features) -> None:
    """BOLT 11 payer: "if the feature vector does not set all known, transitive feature dependencies:
    MUST NOT attempt the payment" (dependencies on ASSUMED features count as set, as in BOLT 9)."""
    try:
        check_dependencies(features, where="invoice `9` field")
    except wire_errors.MissingFeatureDependencyError as exc:
        raise MissingFeatureDependencyError(str(exc)) from exc
