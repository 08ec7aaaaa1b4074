"""BOLT 9 feature bits: the assigned-features table, a `Features` value, and the checks on a peer's.

Bits are numbered from the least-significant bit of the big-endian byte string (bit 0 = 0x01 of the
last byte). Each feature owns an even ("compulsory") bit and the odd bit above it ("optional").
The table below is BOLT 9's "Assigned Feature Flags" table; tests/test_features_table_matches_spec.py
compares it with the markdown so it cannot drift from the spec.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from reference_node.wire.errors import (
    BothFeatureBitsError,
    FeatureContextError,
    MissingFeatureDependencyError,
    UnknownRequiredFeatureError,
)


class Context(enum.Enum):
    """BOLT 9 "Context" column letters."""

    INIT = "I"
    NODE_ANNOUNCEMENT = "N"
    CHANNEL_ANNOUNCEMENT = "C"
    CHANNEL_ANNOUNCEMENT_ODD = "C-"  # presented in channel_announcement, always odd
    CHANNEL_ANNOUNCEMENT_EVEN = "C+"  # presented in channel_announcement, always even
    INVOICE = "9"  # BOLT 11
    BLINDED_PATH = "B"  # allowed_features of a blinded path
    CHANNEL_TYPE = "T"  # channel_type when opening channels


class Feature(enum.IntEnum):
    """Every assigned feature; the value is its even (compulsory) bit, the odd bit is value + 1."""

    option_data_loss_protect = 0
    option_upfront_shutdown_script = 4
    gossip_queries = 6
    var_onion_optin = 8
    gossip_queries_ex = 10
    option_static_remotekey = 12
    payment_secret = 14
    basic_mpp = 16
    option_support_large_channel = 18
    option_anchors = 22
    option_route_blinding = 24
    option_shutdown_anysegwit = 26
    option_dual_fund = 28
    option_quiesce = 34
    option_attribution_data = 36
    option_onion_messages = 38
    option_provide_storage = 42
    option_channel_type = 44
    option_scid_alias = 46
    option_payment_metadata = 48
    option_zeroconf = 50
    option_simple_close = 60
    option_splice = 62

    @property
    def even_bit(self) -> int:
        return int(self.value)

    @property
    def odd_bit(self) -> int:
        return int(self.value) + 1


@dataclass(frozen=True)
class FeatureInfo:
    """One row of BOLT 9's table."""

    feature: Feature
    contexts: frozenset[Context]
    dependencies: tuple[Feature, ...]
    assumed: bool  # "ASSUMED": present in every node, semantics only in earlier spec revisions


def _row(
    feature: Feature, contexts: str = "", deps: tuple[Feature, ...] = (), assumed: bool = False
) -> FeatureInfo:
    parsed: set[Context] = set()
    text = contexts
    while text:
        for ctx in sorted(Context, key=lambda c: -len(c.value)):  # "C-" before "C"
            if text.startswith(ctx.value):
                parsed.add(ctx)
                text = text[len(ctx.value) :]
                break
        else:
            raise ValueError(f"unknown BOLT 9 context letter in {contexts!r}")
    return FeatureInfo(feature, frozenset(parsed), deps, assumed)


F = Feature
# BOLT 9 "Assigned Feature Flags": Bits, Name, Context, Dependencies (Description "ASSUMED" -> assumed).
FEATURE_TABLE: tuple[FeatureInfo, ...] = (
    _row(F.option_data_loss_protect, assumed=True),
    _row(F.option_upfront_shutdown_script, "IN"),
    _row(F.gossip_queries),
    _row(F.var_onion_optin, assumed=True),
    _row(F.gossip_queries_ex, "IN"),
    _row(F.option_static_remotekey, assumed=True),
    _row(F.payment_secret, assumed=True),
    _row(F.basic_mpp, "IN9", (F.payment_secret,)),
    _row(F.option_support_large_channel, "IN"),
    _row(F.option_anchors, "INT"),
    _row(F.option_route_blinding, "IN9"),
    _row(F.option_shutdown_anysegwit, "IN"),
    _row(F.option_dual_fund, "IN"),
    _row(F.option_quiesce, "IN"),
    _row(F.option_attribution_data, "IN9"),
    _row(F.option_onion_messages, "IN"),
    _row(F.option_provide_storage, "IN"),
    _row(F.option_channel_type, assumed=True),
    _row(F.option_scid_alias, "INT"),
    _row(F.option_payment_metadata, "9"),
    _row(F.option_zeroconf, "INT", (F.option_scid_alias,)),
    _row(F.option_simple_close, "IN", (F.option_shutdown_anysegwit,)),
    _row(F.option_splice, "IN"),
)
FEATURE_INFO: dict[Feature, FeatureInfo] = {row.feature: row for row in FEATURE_TABLE}
del F


def feature_of_bit(bit: int) -> Feature | None:
    """The assigned feature owning `bit` (even or odd), or None when the bit is unassigned."""
    try:
        return Feature(bit & ~1)
    except ValueError:
        return None


@dataclass(frozen=True)
class Features:
    """An immutable feature bit vector (`bits` is the integer the big-endian bytes encode)."""

    bits: int = 0

    def __post_init__(self) -> None:
        if self.bits < 0:
            raise ValueError("feature bits cannot be negative")

    @classmethod
    def from_bytes(cls, data: bytes) -> Features:
        return cls(int.from_bytes(data, "big"))

    @classmethod
    def from_bits(cls, bits: Iterable[int]) -> Features:
        value = 0
        for bit in bits:
            value |= 1 << bit
        return cls(value)

    @classmethod
    def of(cls, *, required: Iterable[Feature] = (), optional: Iterable[Feature] = ()) -> Features:
        return cls.from_bits([f.even_bit for f in required] + [f.odd_bit for f in optional])

    @classmethod
    def merge_init(cls, globalfeatures: bytes, features: bytes) -> Features:
        """BOLT 1 init receipt: "MUST combine (bitwise OR) the two feature bitmaps"."""
        return cls(int.from_bytes(globalfeatures, "big") | int.from_bytes(features, "big"))

    def to_bytes(self) -> bytes:
        """Minimal big-endian encoding ("SHOULD use the minimum length"; empty when no bit is set)."""
        return self.bits.to_bytes((self.bits.bit_length() + 7) // 8, "big")

    def has_bit(self, bit: int) -> bool:
        return bool(self.bits >> bit & 1)

    def set_bits(self) -> tuple[int, ...]:
        return tuple(bit for bit in range(self.bits.bit_length()) if self.bits >> bit & 1)

    def set(self, feature: Feature, *, required: bool = False) -> Features:
        """A copy with `feature` offered: the even bit if `required`, else the odd bit (not both)."""
        cleared = self.clear(feature).bits
        return Features(cleared | 1 << (feature.even_bit if required else feature.odd_bit))

    def clear(self, feature: Feature) -> Features:
        return Features(self.bits & ~(0b11 << feature.even_bit))

    def supports(self, feature: Feature) -> bool:
        """Offered, as either bit (BOLT 1: "offered if a peer set it ... (as either even or odd)")."""
        return self.has_bit(feature.even_bit) or self.has_bit(feature.odd_bit)

    def requires(self, feature: Feature) -> bool:
        """The even bit is set (BOLT 9: both bits set counts as mandatory)."""
        return self.has_bit(feature.even_bit)

    def unknown_bits(self) -> tuple[int, ...]:
        return tuple(bit for bit in self.set_bits() if feature_of_bit(bit) is None)

    def features(self) -> tuple[Feature, ...]:
        return tuple(f for f in Feature if self.supports(f))

    def __or__(self, other: Features) -> Features:
        return Features(self.bits | other.bits)

    def __and__(self, other: Features) -> Features:
        return Features(self.bits & other.bits)


def negotiated(local: Features, remote: Features, feature: Feature) -> bool:
    """BOLT 1: negotiated if both peers offered it, or the local node offered it as even."""
    return (local.supports(feature) and remote.supports(feature)) or local.requires(feature)


def dependencies_closure(feature: Feature) -> frozenset[Feature]:
    """Every transitive dependency of `feature` (BOLT 9 "transitive feature dependencies")."""
    result: set[Feature] = set()
    pending = list(FEATURE_INFO[feature].dependencies)
    while pending:
        dep = pending.pop()
        if dep not in result:
            result.add(dep)
            pending.extend(FEATURE_INFO[dep].dependencies)
    return frozenset(result)


def check_dependencies(features: Features, *, where: str = "features") -> None:
    """Raise MissingFeatureDependencyError if a set feature lacks a transitive dependency.

    A dependency on an ASSUMED feature is satisfied even when its bits are absent: BOLT 9 says
    ASSUMED features "can be safely ignored" (e.g. basic_mpp -> payment_secret).
    """
    for feature in features.features():
        for dep in sorted(dependencies_closure(feature)):
            if not features.supports(dep) and not FEATURE_INFO[dep].assumed:
                raise MissingFeatureDependencyError(
                    f"{feature.name} is set but its dependency {dep.name} is not", where=where
                )


def check_received_features(
    features: Features, context: Context | None = None, *, where: str = "features"
) -> None:
    """The receiver's checks of BOLT 1 (init) and BOLT 9 that close the connection.

    - unknown even bit -> UnknownRequiredFeatureError (unknown odd bits: "MUST ignore the bit");
    - with `context`: the even bit of a feature that BOLT 9's table does not present in that context
      -> FeatureContextError. The receiver cannot honour a requirement that has no meaning there, so
      it is treated like an unknown even bit; odd bits of such features are ignored. ASSUMED features
      and ones with no context at this commit are never refused on context;
    - a set feature without all its transitive dependencies -> MissingFeatureDependencyError.
    """
    unknown_even = tuple(bit for bit in features.unknown_bits() if bit % 2 == 0)
    if unknown_even:
        raise UnknownRequiredFeatureError(unknown_even, where=where)
    if context is not None:
        for feature in features.features():
            info = FEATURE_INFO[feature]
            if features.requires(feature) and info.contexts and not _allowed_in(info, context, features):
                raise FeatureContextError(
                    f"{feature.name} is required but BOLT 9 does not present it in context {context.value}",
                    where=where,
                )
    check_dependencies(features, where=where)


def check_init_features(globalfeatures: bytes, features: bytes) -> Features:
    """BOLT 1 receipt of `init`: OR the two bitmaps, then apply the receiver's checks in context I.

    Returns the combined Features; raises a FeatureError subclass when the connection must close.
    """
    combined = Features.merge_init(globalfeatures, features)
    check_received_features(combined, Context.INIT, where="init")
    return combined


def check_sent_features(features: Features, context: Context, *, where: str = "features") -> None:
    """BOLT 9's origin rules, to judge what a node under test sends in `context`:
    no bit outside the feature's Context column (ASSUMED features and ones with no context at
    this spec commit are tolerated: older nodes still set them), never both bits of a pair, and
    all transitive dependencies set. Unknown bits are allowed (they may be newer features)."""
    for feature in features.features():
        info = FEATURE_INFO[feature]
        if features.has_bit(feature.even_bit) and features.has_bit(feature.odd_bit):
            raise BothFeatureBitsError(f"both bits of {feature.name} are set", where=where)
        if info.contexts and not _allowed_in(info, context, features):
            raise FeatureContextError(
                f"{feature.name} is not presented in context {context.value}", where=where
            )
    check_dependencies(features, where=where)


def _allowed_in(info: FeatureInfo, context: Context, features: Features) -> bool:
    if context in info.contexts:
        return True
    if context is Context.CHANNEL_ANNOUNCEMENT:
        # C- and C+ are channel_announcement contexts that also fix which bit may be used.
        if Context.CHANNEL_ANNOUNCEMENT_ODD in info.contexts:
            return not features.has_bit(info.feature.even_bit)
        if Context.CHANNEL_ANNOUNCEMENT_EVEN in info.contexts:
            return not features.has_bit(info.feature.odd_bit)
    return False
