"""The harness can fail: a run against `reference:defect=NAME` fails EXACTLY the requirements
suites/defects/NAME.yaml lists (no more, no fewer), and the correct reference node fails none.

One `boltcheck run` with every target at once (`--target reference,reference:defect=a,...`, two workers;
the executor gives each scenario one folder per target). Each defect runs the scenarios it can affect:
those of the `full` suite that evidence a requirement its file lists (the other (scenario, defect) items
are deselected); the correct node runs all of them. A defect the node cannot apply yet (NOT_YET_APPLICABLE)
runs the first of them, which must be a skip (the node refuses to start with it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from harness.paths import project_root, suites_dir
from harness.requirements import load_catalog
from harness.scenarios import load_scenario
from harness.scenarios.manifest import suite_files
from reference_node.faults import NOT_YET_APPLICABLE, Defect

DEFECTS_DIR = suites_dir() / "defects"
CORRECT_TARGET = "reference"
# the one run of every target, two workers: 53 items, measured 186 s wall (33 s CPU) on the shared
# machine; 7 x 30 s of it are withhold-preimage payments running into their timeout
_RUN_TIMEOUT_S = 720


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
class ScenarioFile:
    path: Path
    name: str
    requirements: frozenset[str]


def _scenarios() -> list[ScenarioFile]:
    catalog = load_catalog()
    found = []
    for path in suite_files("full"):
        scenario = load_scenario(path, catalog)
        found.append(ScenarioFile(path, scenario.name, frozenset(scenario.requirements)))
    return found


def affected_scenarios(scenarios: list[ScenarioFile]) -> dict[str, list[ScenarioFile]]:
    """target -> the scenarios it runs: per defect, those evidencing an id its file lists; the correct
    node, all of them."""
    per_target = {e.target: [s for s in scenarios if s.requirements & e.fails] for e in EXPECTATIONS.values()}
    union = [s for s in scenarios if any(s in chosen for chosen in per_target.values())]
    for expectation in EXPECTATIONS.values():
        if not expectation.applicable:
            per_target[expectation.target] = union[:1]
    return {CORRECT_TARGET: union, **per_target}


@dataclass(frozen=True)
class RunResult:
    failed: dict[str, frozenset[str]]  # target -> ids reported "fail"
    statuses: dict[str, set[str]]  # target -> scenario statuses seen
    scenarios_run: dict[str, set[str]]  # target -> scenario names reported
    exit_code: int
    planned: dict[str, list[ScenarioFile]]
    elapsed_s: float


def _node_id(scenario: ScenarioFile, target: str) -> str:
    """pytest's id of the item running `scenario` against `target` (rootdir: the project root)."""
    return f"{scenario.path.relative_to(project_root()).as_posix()}::{scenario.name}[{target}]"


def _run(planned: dict[str, list[ScenarioFile]], report: Path) -> RunResult:
    union = planned[CORRECT_TARGET]
    deselect = [
        arg
        for target, chosen in planned.items()
        for s in union
        if s not in chosen
        for arg in ("--deselect", _node_id(s, target))
    ]
    command = [sys.executable, "-m", "harness.cli", "run", "--target", ",".join(planned)]
    command += ["--suite", ",".join(str(s.path) for s in union)]
    command += ["--report", str(report), "--seed", "6", "-n", "2", "--", *deselect]
    started = time.monotonic()
    completed = subprocess.run(
        command, cwd=project_root(), capture_output=True, text=True, timeout=_RUN_TIMEOUT_S, check=False
    )
    elapsed_s = time.monotonic() - started
    report_json = report / "report.json"
    assert report_json.is_file(), completed.stdout[-4000:] + completed.stderr[-4000:]
    data = json.loads(report_json.read_text(encoding="utf-8"))
    failed = {
        target: frozenset(
            entry["id"]
            for entry in data["requirements"]
            if entry["results"].get(target, {}).get("status") == "fail"
        )
        for target in planned
    }
    statuses: dict[str, set[str]] = {target: set() for target in planned}
    scenarios_run: dict[str, set[str]] = {target: set() for target in planned}
    for scenario in data["scenarios"]:
        statuses[scenario["target"]].add(scenario["status"])
        scenarios_run[scenario["target"]].add(scenario["scenario"])
    return RunResult(failed, statuses, scenarios_run, completed.returncode, planned, elapsed_s)


@pytest.fixture(scope="module")
def defect_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    result = _run(affected_scenarios(_scenarios()), tmp_path_factory.mktemp("report"))
    print(f"defect run: {sum(map(len, result.planned.values()))} items in {result.elapsed_s:.0f} s")
    return result


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


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_every_expected_failure_is_evidenced_by_a_scenario(name: str) -> None:
    # otherwise the defect run would leave it out and could never see it fail
    evidenced = set().union(*(s.requirements for s in _scenarios()))
    assert sorted(EXPECTATIONS[name].fails - evidenced) == []


@pytest.mark.slow
@pytest.mark.timeout(_RUN_TIMEOUT_S + 60)
def test_each_target_runs_exactly_its_planned_scenarios(defect_run: RunResult) -> None:
    for target, chosen in defect_run.planned.items():
        assert defect_run.scenarios_run[target] == {s.name for s in chosen}, target


@pytest.mark.slow
@pytest.mark.timeout(_RUN_TIMEOUT_S + 60)
def test_the_correct_reference_node_fails_nothing(defect_run: RunResult) -> None:
    assert defect_run.failed[CORRECT_TARGET] == frozenset()
    assert defect_run.statuses[CORRECT_TARGET] == {"pass"}


@pytest.mark.slow
@pytest.mark.timeout(_RUN_TIMEOUT_S + 60)
@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_a_defective_target_fails_exactly_the_expected_requirements(name: str, defect_run: RunResult) -> None:
    expectation = EXPECTATIONS[name]
    failed = defect_run.failed[expectation.target]
    assert sorted(failed - expectation.fails) == [], "failed but not expected"
    assert sorted(expectation.fails - failed) == [], "expected to fail but did not"
    if not expectation.applicable:
        # the node refuses to start with a defect it cannot apply: its scenario is skipped
        assert defect_run.statuses[expectation.target] == {"skip"}


@pytest.mark.slow
@pytest.mark.timeout(_RUN_TIMEOUT_S + 60)
def test_a_run_with_failures_exits_nonzero(defect_run: RunResult) -> None:
    assert any(defect_run.failed.values())
    assert defect_run.exit_code == 1
