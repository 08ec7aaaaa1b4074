"""The interop matrix decides up front which pairs can run which scenario of suites/interop/: a missing
capability is a skip naming the implementation and what it lacks, and no node is started for it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from harness.drivers.capabilities import CAPABILITIES, Capability, capabilities_of
from harness.drivers.registry import BUILTIN_IMPLEMENTATIONS
from harness.drivers.targets import TargetSpec
from harness.paths import suites_dir
from harness.requirements import load_catalog
from harness.scenarios import RunSettings, Scenario, Status, load_scenario, run_scenario
from harness.scenarios.executor import _options_for_counterparts
from harness.scenarios.needs import scenario_needs, unmet_needs


def interop(name: str) -> Scenario:
    return load_scenario(suites_dir() / "interop" / f"{name}.yaml", load_catalog())


def pair(a: str, b: str) -> dict[str, str]:
    return {"a": a, "b": b}


def test_every_builtin_implementation_declares_its_capabilities() -> None:
    assert set(BUILTIN_IMPLEMENTATIONS) <= set(CAPABILITIES)
    assert capabilities_of("reference").capabilities == frozenset(Capability)


@pytest.mark.parametrize(
    ("scenario", "a", "b", "reason"),
    [
        ("open_pay_close_anchors", "ldk", "electrum", "electrum: no anchors channels"),
        ("open_pay_close_anchors", "electrum", "reference", "electrum: no anchors channels"),
        ("reestablish", "electrum", "ldk", "electrum: no disconnect command"),
        ("breach", "ldk", "reference", "ldk: no fault controls"),
        ("force_close_by_opener", "ldk", "electrum", "electrum: no fault controls"),
        ("force_close_by_accepter", "electrum", "reference", "electrum: no fault controls"),
    ],
)
def test_a_pair_lacking_a_capability_gets_the_reason(scenario: str, a: str, b: str, reason: str) -> None:
    (found,) = unmet_needs(interop(scenario), pair(a, b))
    assert found.startswith(reason)


@pytest.mark.parametrize(
    ("scenario", "a", "b"),
    [
        ("open_pay_close", "ldk", "electrum"),
        ("open_pay_close", "electrum", "ldk"),
        ("open_pay_close_anchors", "ldk", "reference"),
        ("reestablish", "ldk", "electrum"),
        ("breach", "reference", "electrum"),
        ("force_close_by_opener", "electrum", "reference"),
        ("force_close_by_accepter", "reference", "ldk"),
    ],
)
def test_a_capable_pair_has_no_unmet_need(scenario: str, a: str, b: str) -> None:
    assert unmet_needs(interop(scenario), pair(a, b)) == []


def test_needs_are_read_from_the_steps() -> None:
    needs = {(n.node, n.capability) for n in scenario_needs(interop("force_close_by_opener"))}
    assert needs == {
        ("a", Capability.CHANNEL_STATIC_REMOTEKEY),
        ("b", Capability.CHANNEL_STATIC_REMOTEKEY),
        ("a", Capability.FORCE_CLOSE),
        ("b", Capability.FAULT_CONTROLS),
    }


def test_an_unrunnable_pair_is_skipped_before_any_node_starts(tmp_path: Path) -> None:
    settings = RunSettings(
        target=TargetSpec("ldk"), seed=1, workdir=tmp_path, peer=TargetSpec("electrum"), label="ldk->electrum"
    )
    result = asyncio.run(run_scenario(interop("open_pay_close_anchors"), settings))
    assert result.status is Status.SKIP
    assert result.reason.startswith("electrum: no anchors channels")
    assert result.target == "ldk->electrum" and result.pair == ("ldk", "electrum")
    assert {s.status for s in result.steps} == {Status.NOT_RUN}
    assert list(tmp_path.iterdir()) == []  # nothing was started, not even a chain


def test_a_reference_node_facing_electrum_offers_gossip_queries() -> None:
    from reference_node.wire.features import Feature, Features

    options = _options_for_counterparts("b", "reference", {}, pair("electrum", "reference"))
    features = Features.from_bytes(bytes.fromhex(str(options["features"])))
    assert features.supports(Feature.gossip_queries)


def test_a_scenario_set_option_wins_over_a_counterpart_option() -> None:
    given = {"features": "02"}
    assert _options_for_counterparts("b", "reference", given, pair("electrum", "reference")) == given


def test_ldk_facing_electrum_gets_a_fixed_dust_exposure_limit() -> None:
    options = _options_for_counterparts("a", "ldk", {}, pair("ldk", "electrum"))
    assert options == {"max_dust_htlc_exposure_msat": 1_000_000_000}
    assert _options_for_counterparts("a", "ldk", {}, pair("ldk", "reference")) == {}
