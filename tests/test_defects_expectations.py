"""The harness can fail: a run of the default suite against `reference:defect=NAME` fails EXACTLY the
requirements suites/defects/NAME.yaml lists (no more, no fewer), and the correct reference node fails
none. One `boltcheck run` per target: a run with several targets reuses each scenario's data directory
across targets (harness/scenarios/executor.py names it by scenario and seed only), which would mix
their nodes' stores."""

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
_RUN_TIMEOUT_S = 900  # one target's run


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
    exit_codes: dict[str, int]


def _run(target: str, report: Path) -> tuple[frozenset[str], set[str], int]:
    """One `boltcheck run` of the default suite against one target (its own process, so its own
    scenario data directories): the requirement ids it reports failed, the scenario statuses, the
    exit code."""
    command = [sys.executable, "-m", "harness.cli", "run", "--target", target]
    command += ["--report", str(report), "--seed", "6", "-n", "2"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=_RUN_TIMEOUT_S, check=False)
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    failed = {
        entry["id"]
        for entry in data["requirements"]
        if any(result["status"] == "fail" for result in entry["results"].values())
    }
    statuses = {scenario["status"] for scenario in data["scenarios"]}
    return frozenset(failed), statuses, completed.returncode


@pytest.fixture(scope="module")
def defect_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    failed, statuses, exit_codes = {}, {}, {}
    for target in ["reference", *(e.target for e in EXPECTATIONS.values())]:
        report = tmp_path_factory.mktemp("report")
        failed[target], statuses[target], exit_codes[target] = _run(target, report)
    return RunResult(failed, statuses, exit_codes)


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
@pytest.mark.timeout(_RUN_TIMEOUT_S * (len(EXPECTATIONS) + 1))
def test_the_correct_reference_node_fails_nothing(defect_run: RunResult) -> None:
    assert defect_run.failed["reference"] == frozenset()


@pytest.mark.slow
@pytest.mark.timeout(_RUN_TIMEOUT_S * (len(EXPECTATIONS) + 1))
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
@pytest.mark.timeout(_RUN_TIMEOUT_S * (len(EXPECTATIONS) + 1))
def test_only_runs_with_failures_exit_nonzero(defect_run: RunResult) -> None:
    for target, code in defect_run.exit_codes.items():
        assert code == (1 if defect_run.failed[target] else 0), target
