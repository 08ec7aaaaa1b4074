"""BOLT 9 feature vectors and the checks BOLT 1 init receipt and BOLT 9 require."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference_node.wire import (
    BothFeatureBitsError,
    FeatureContextError,
    FeatureError,
    MissingFeatureDependencyError,
    UnknownRequiredFeatureError,
    WireError,
)
from reference_node.wire.features import (
    FEATURE_INFO,
    FEATURE_TABLE,
    Context,
    Feature,
    Features,
    check_init_features,
    check_received_features,
    check_sent_features,
    dependencies_closure,
    feature_of_bit,
    negotiated,
)

UNASSIGNED_EVEN = next(bit for bit in range(0, 256, 2) if feature_of_bit(bit) is None)
UNASSIGNED_ODD = UNASSIGNED_EVEN + 1
WITH_DEPENDENCIES = [row.feature for row in FEATURE_TABLE if row.dependencies]


@given(st.integers(min_value=0, max_value=(1 << 600) - 1))
def test_to_bytes_is_minimal_and_round_trips(bits: int) -> None:
    encoded = Features(bits).to_bytes()
    assert Features.from_bytes(encoded) == Features(bits)
    assert encoded[:1] != b"\x00"


def test_from_bytes_accepts_leading_zero_padding() -> None:
    assert Features.from_bytes(
        b"\x00\x00" + Features.of(optional=[Feature.var_onion_optin]).to_bytes()
    ).supports(Feature.var_onion_optin)


def test_set_optional_sets_only_the_odd_bit() -> None:
    features = Features().set(Feature.option_anchors)
    assert features.set_bits() == (Feature.option_anchors.odd_bit,)
    assert features.supports(Feature.option_anchors) and not features.requires(Feature.option_anchors)


def test_set_required_replaces_the_optional_bit() -> None:
    features = Features().set(Feature.option_anchors).set(Feature.option_anchors, required=True)
    assert features.set_bits() == (Feature.option_anchors.even_bit,)
    assert features.requires(Feature.option_anchors)


def test_clear_removes_both_bits() -> None:
    both = Features.from_bits([Feature.option_splice.even_bit, Feature.option_splice.odd_bit])
    assert both.clear(Feature.option_splice) == Features()


def test_both_bits_set_counts_as_required() -> None:
    both = Features.from_bits([Feature.option_quiesce.even_bit, Feature.option_quiesce.odd_bit])
    assert both.requires(Feature.option_quiesce)


def test_init_merges_globalfeatures_and_features() -> None:
    global_part = Features.of(optional=[Feature.option_upfront_shutdown_script]).to_bytes()
    local_part = Features.of(optional=[Feature.option_splice]).to_bytes()
    combined = check_init_features(global_part, local_part)
    assert combined.features() == (Feature.option_upfront_shutdown_script, Feature.option_splice)


def test_init_ignores_unknown_odd_bits() -> None:
    combined = check_init_features(b"", Features.from_bits([UNASSIGNED_ODD]).to_bytes())
    assert combined.unknown_bits() == (UNASSIGNED_ODD,)


@pytest.mark.parametrize("in_globalfeatures", [False, True])
def test_init_rejects_unknown_even_bits_in_either_bitmap(in_globalfeatures: bool) -> None:
    raw = Features.from_bits([UNASSIGNED_EVEN]).to_bytes()
    with pytest.raises(UnknownRequiredFeatureError) as info:
        check_init_features(raw, b"") if in_globalfeatures else check_init_features(b"", raw)
    assert info.value.bits == (UNASSIGNED_EVEN,)


@pytest.mark.parametrize("feature", WITH_DEPENDENCIES, ids=lambda f: f.name)
def test_init_rejects_a_feature_without_its_non_assumed_dependencies(feature: Feature) -> None:
    missing = [d for d in dependencies_closure(feature) if not FEATURE_INFO[d].assumed]
    features = Features.of(optional=[feature])
    if missing:
        with pytest.raises(MissingFeatureDependencyError):
            check_received_features(features)
        check_received_features(Features.of(optional=[feature, *missing]))
    else:
        check_received_features(features)  # dependencies on ASSUMED features are implied


def test_known_even_bits_are_accepted_without_a_context() -> None:
    every_required = Features.of(required=[row.feature for row in FEATURE_TABLE])
    check_received_features(every_required)


def test_every_init_feature_may_be_required_in_init() -> None:
    init_features = [row.feature for row in FEATURE_TABLE if Context.INIT in row.contexts or not row.contexts]
    check_received_features(Features.of(required=init_features), Context.INIT)


def test_feature_errors_are_wire_errors() -> None:
    assert issubclass(FeatureError, WireError)
    with pytest.raises(FeatureError):
        check_init_features(b"", Features.from_bits([UNASSIGNED_EVEN]).to_bytes())


def test_negotiated_when_both_offer_or_local_requires() -> None:
    offered = Features.of(optional=[Feature.option_quiesce])
    assert negotiated(offered, offered, Feature.option_quiesce)
    assert not negotiated(offered, Features(), Feature.option_quiesce)
    assert negotiated(Features.of(required=[Feature.option_quiesce]), Features(), Feature.option_quiesce)


def test_sent_features_reject_both_bits_of_a_pair() -> None:
    both = Features.from_bits([Feature.option_splice.even_bit, Feature.option_splice.odd_bit])
    with pytest.raises(BothFeatureBitsError):
        check_sent_features(both, Context.INIT)


def test_sent_features_reject_a_feature_outside_its_context() -> None:
    invoice_only = next(row.feature for row in FEATURE_TABLE if row.contexts == frozenset({Context.INVOICE}))
    with pytest.raises(FeatureContextError):
        check_sent_features(Features.of(optional=[invoice_only]), Context.INIT)
    check_sent_features(Features.of(optional=[invoice_only]), Context.INVOICE)


def test_sent_features_tolerate_assumed_features_in_init() -> None:
    assumed = [row.feature for row in FEATURE_TABLE if row.assumed]
    check_sent_features(Features.of(optional=assumed), Context.INIT)


def test_init_rejects_a_required_feature_that_is_not_an_init_feature() -> None:
    invoice_only = next(row.feature for row in FEATURE_TABLE if row.contexts == frozenset({Context.INVOICE}))
    with pytest.raises(FeatureContextError):
        check_init_features(b"", Features.of(required=[invoice_only]).to_bytes())


def test_init_ignores_an_optional_feature_that_is_not_an_init_feature() -> None:
    invoice_only = next(row.feature for row in FEATURE_TABLE if row.contexts == frozenset({Context.INVOICE}))
    check_init_features(b"", Features.of(optional=[invoice_only]).to_bytes())


def test_init_accepts_required_assumed_features() -> None:
    assumed = [row.feature for row in FEATURE_TABLE if row.assumed]
    check_init_features(b"", Features.of(required=assumed).to_bytes())
