"""The `9` field: BOLT 11 "Feature Bits", big-endian 5-bit words, bit 0 the least significant.

A seam over BOLT 9: until reference_node/wire/features.py (the project's `Features` type and table)
lands, the table of known features lives here, so the invoice code depends only on this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reference_node.invoice.errors import NonMinimalFieldError, UnknownEvenFeatureError
from reference_node.invoice.words import Words, int_to_words, words_to_int

# BOLT 9 feature table (names and even bits), at the spec commit the project follows. Every row is a
# "known" feature for the BOLT 11 reader rule on unknown even bits, ASSUMED ones included: the spec's
# examples set bits 8 and 14 (`var_onion_optin`, `payment_secret`), ASSUMED with no context listed.
KNOWN_FEATURES: dict[str, int] = {
    "option_data_loss_protect": 0,
    "option_upfront_shutdown_script": 4,
    "gossip_queries": 6,
    "var_onion_optin": 8,
    "gossip_queries_ex": 10,
    "option_static_remotekey": 12,
    "payment_secret": 14,
    "basic_mpp": 16,
    "option_support_large_channel": 18,
    "option_anchors": 22,
    "option_route_blinding": 24,
    "option_shutdown_anysegwit": 26,
    "option_dual_fund": 28,
    "option_quiesce": 34,
    "option_attribution_data": 36,
    "option_onion_messages": 38,
    "option_provide_storage": 42,
    "option_channel_type": 44,
    "option_scid_alias": 46,
    "option_payment_metadata": 48,
    "option_zeroconf": 50,
    "option_simple_close": 60,
    "option_splice": 62,
}
# BOLT 9 "Dependencies" column.
DEPENDENCIES: dict[str, tuple[str, ...]] = {
    "basic_mpp": ("payment_secret",),
    "option_zeroconf": ("option_scid_alias",),
    "option_simple_close": ("option_shutdown_anysegwit",),
}
_KNOWN_EVEN_BITS = frozenset(KNOWN_FEATURES.values())


@dataclass(frozen=True)
class InvoiceFeatures:
    """The set bits of a `9` field."""

    bits: frozenset[int] = frozenset()

    @classmethod
    def of(cls, bits: Iterable[int]) -> InvoiceFeatures:
        return cls(frozenset(bits))

    @classmethod
    def from_words(cls, words: Words) -> InvoiceFeatures:
        # "if a `c`, `x`, or `9` field is provided which has a non-minimal `data_length`
        # (i.e. begins with 0 field elements): SHOULD treat the invoice as invalid."
        if words and words[0] == 0:
            raise NonMinimalFieldError("`9` field begins with a 0 field element")
        value = words_to_int(words)
        return cls(frozenset(bit for bit in range(value.bit_length()) if value >> bit & 1))

    def to_words(self) -> Words:
        """Minimal encoding; empty when no bit is set (the writer then omits the field)."""
        return int_to_words(sum(1 << bit for bit in self.bits))

    def is_set(self, name: str) -> bool:
        """Whether the feature is offered, as optional (odd bit) or compulsory (even bit)."""
        even = KNOWN_FEATURES[name]
        return even in self.bits or even + 1 in self.bits

    def unknown_even_bits(self) -> tuple[int, ...]:
        return tuple(sorted(bit for bit in self.bits if bit % 2 == 0 and bit not in _KNOWN_EVEN_BITS))

    def check_known(self) -> None:
        """BOLT 11 reader: unknown even bits MUST fail the payment; unknown odd bits are ignored."""
        unknown = self.unknown_even_bits()
        if unknown:
            raise UnknownEvenFeatureError(unknown)

    def missing_dependencies(self) -> tuple[tuple[str, str], ...]:
        """(feature, missing dependency) pairs, following dependencies transitively (BOLT 9)."""
        missing: list[tuple[str, str]] = []
        for name in sorted(KNOWN_FEATURES, key=KNOWN_FEATURES.__getitem__):
            if not self.is_set(name):
                continue
            pending = list(DEPENDENCIES.get(name, ()))
            while pending:
                dependency = pending.pop()
                if not self.is_set(dependency):
                    missing.append((name, dependency))
                pending.extend(DEPENDENCIES.get(dependency, ()))
        return tuple(missing)
