"""`--impls` expands each interop scenario into ordered pairs (items `name[a->b]`), other scenarios into
one item per implementation; without `--impls` the default run collects no interop scenario."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.drivers.targets import TargetSpec
from harness.paths import project_root
from harness.pytest_plugin import interop_pairs


def specs(*names: str) -> tuple[TargetSpec, ...]:
    return tuple(TargetSpec(n) for n in names)


def collected(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=project_root(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_pairs_are_ordered_and_distinct_by_default() -> None:
    labels = [p.label for p in interop_pairs(specs("reference", "ldk", "electrum"))]
    assert labels == [
        "reference->ldk",
        "reference->electrum",
        "ldk->reference",
        "ldk->electrum",
        "electrum->reference",
        "electrum->ldk",
    ]


def test_same_implementation_pairs_are_added_for_all_but_the_reference() -> None:
    labels = [p.label for p in interop_pairs(specs("reference", "ldk"), same_impl=True)]
    assert labels == ["reference->ldk", "ldk->reference", "ldk->ldk"]


def test_an_interop_scenario_is_one_item_per_pair() -> None:
    items = collected("suites/interop/open_pay_close.yaml", "--boltcheck-impls=ldk,electrum")
    assert items == [
        "suites/interop/open_pay_close.yaml::interop_open_pay_close[ldk->electrum]",
        "suites/interop/open_pay_close.yaml::interop_open_pay_close[electrum->ldk]",
    ]


def test_a_single_implementation_scenario_is_one_item_per_implementation() -> None:
    items = collected("suites/interop/deviation_ping_oversized.yaml", "--boltcheck-impls=ldk,electrum")
    assert items == [
        "suites/interop/deviation_ping_oversized.yaml::interop_ping_oversized[ldk]",
        "suites/interop/deviation_ping_oversized.yaml::interop_ping_oversized[electrum]",
    ]


def test_the_default_run_collects_no_interop_scenario() -> None:
    items = collected("suites/")
    assert items and not [i for i in items if "interop" in i]


def test_naming_the_interop_folder_runs_it_against_the_reference_without_impls() -> None:
    items = collected("suites/interop/")
    scenarios = sorted(Path(p).stem for p in (project_root() / "suites" / "interop").glob("*.yaml"))
    assert len(items) == len(scenarios)
    assert not [i for i in items if "[" in i]
