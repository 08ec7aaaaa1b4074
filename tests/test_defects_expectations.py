"""The harness can fail: a run of the default suite against `reference:defect=NAME` fails EXACTLY the
requirements suites/defects/NAME.yaml lists (no more, no fewer), and the correct reference node fails
none. One `boltcheck run` covers every target (the plugin runs each scenario once per target)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.paths import suites_dir
from harness.requirements import load_catalog
from reference_node.faults import NOT_YET_APPLICABLE, Defect

DEFECTS_DIR = suites_dir() / "defects"
# one run of the default suite per target (the correct node and each defect), two workers
_RUN_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Expectation:
    defect: str
    fails: frozenset[str]
    applicable: bool

    @property
    def target(self) -> str:
        return f"reference:defect={self.defect}"


def _load(path: Path) -> Expectation:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Expectation(str(data["defect"]), frozenset(data["fails"]), bool(data.get("applicable", True)))


EXPECTATIONS = {path.stem: _load(path) for path in sorted(DEFECTS_DIR.glob("*.yaml"))}


@dataclass(frozen=True)
class RunResult:
    failed: dict[str, frozenset[str]]  # target -> ids reported "fail"
    statuses: dict[str, set[str]]  # target -> scenario statuses seen
    exit_code: int


@pytest.fixture(scope="module")
def defect_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    report = tmp_path_factory.mktemp("defects-report")
    targets = ["reference", *(e.target for e in EXPECTATIONS.values())]
    command = [sys.executable, "-m", "harness.cli", "run", "--target", ",".join(targets)]
    command += ["--report", str(report), "--seed", "6", "-n", "2"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=_RUN_TIMEOUT_S - 60, check=False)
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    failed: dict[str, set[str]] = {t: set() for t in targets}
    for entry in data["requirements"]:
        for target, result in entry["results"].items():
            if result["status"] == "fail":
                failed[target].add(entry["id"])
    statuses: dict[str, set[str]] = {t: set() for t in targets}
    for scenario in data["scenarios"]:
        statuses[scenario["target"]].add(scenario["status"])
    return RunResult({t: frozenset(ids) for t, ids in failed.items()}, statuses, completed.returncode)


def test_every_named_defect_has_an_expectation() -> None:
    assert set(EXPECTATIONS) == {d.value for d in Defect}


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_expectation_names_its_defect_and_catalog_ids(name: str) -> None:
    expectation = EXPECTATIONS[name]
    catalog_ids = set(load_catalog().requirements)
    assert expectation.defect == name
    assert expectation.fails <= catalog_ids
    assert expectation.applicable == (Defect(name) not in NOT_YET_APPLICABLE)
    if not expectation.applicable:
        assert expectation.fails == frozenset()


@pytest.mark.slow
@pytest.mark.timeout(_RUN_TIMEOUT_S)
def test_the_correct_reference_node_fails_nothing(defect_run: RunResult) -> None:
    assert defect_run.failed["reference"] == frozenset()


@pytest.mark.slow
@pytest.mark.timeout(_RUN_TIMEOUT_S)
@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_a_defective_target_fails_exactly_the_expected_requirements(name: str, defect_run: RunResult) -> None:
    expectation = EXPECTATIONS[name]
    failed = defect_run.failed[expectation.target]
    assert sorted(failed - expectation.fails) == [], "failed but not expected"
    assert sorted(expectation.fails - failed) == [], "expected to fail but did not"
    if not expectation.applicable:
        # the node refuses to start with a defect it cannot apply: every scenario is skipped
        assert defect_run.statuses[expectation.target] == {"skip"}


@pytest.mark.slow
@pytest.mark.timeout(_RUN_TIMEOUT_S)
def test_a_run_with_failures_exits_nonzero(defect_run: RunResult) -> None:
    assert defect_run.exit_code == 1
