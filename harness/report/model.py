"""A run's results, requirement by requirement and target by target, ready for every report format."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from harness.requirements import Catalog, Requirement
from harness.scenarios.results import ScenarioResult, Status

# How many trace lines a failure's evidence quotes (the full trace stays in the scenario entry).
TRACE_TAIL = 20


@dataclass(frozen=True)
class Evidence:
    scenario: str
    path: str
    step_index: int
    step: str
    line: int
    status: Status
    detail: str
    seed: int
    txids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequirementOutcome:
    status: Status
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class RequirementRow:
    requirement: Requirement
    results: Mapping[str, RequirementOutcome]  # target -> outcome


@dataclass(frozen=True)
class RunInfo:
    run_seed: int
    targets: tuple[str, ...]
    started_at: str  # ISO 8601, UTC
    duration_s: float
    chain: str
    launcher: str
    spec_commit: str
    workers: int = 1


@dataclass(frozen=True)
class RunReport:
    info: RunInfo
    scenarios: tuple[ScenarioResult, ...]
    rows: tuple[RequirementRow, ...]
    totals: Mapping[str, Mapping[Status, int]] = field(default_factory=dict)  # target -> status -> n

    @property
    def failed(self) -> bool:
        """True when anything failed or errored: the run's exit code is then non-zero."""
        return any(s.status in (Status.FAIL, Status.ERROR) for s in self.scenarios)

    def interop_matrix(self) -> InteropMatrix | None:
        """The scenario x pair matrix of an interop run (`--impls`), None when no scenario ran as a pair."""
        if not any(s.pair is not None for s in self.scenarios):
            return None
        return build_interop_matrix(self.info.targets, self.scenarios)

    def scenario_counts(self) -> dict[Status, int]:
        counts = {status: 0 for status in (Status.PASS, Status.FAIL, Status.SKIP, Status.ERROR)}
        for scenario in self.scenarios:
            counts[scenario.status] = counts.get(scenario.status, 0) + 1
        return counts


@dataclass(frozen=True)
class MatrixCell:
    """One scenario on one pair (or one implementation): its status and why."""

    status: Status
    why: str  # skip: the missing capability; fail/error: the failing step and its requirements
    duration_s: float
    requirements: tuple[str, ...] = ()  # the failing step's requirement ids


@dataclass(frozen=True)
class InteropMatrix:
    """Rows: scenarios (in path order); columns: pair labels ("ldk->electrum") and implementations."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, Mapping[str, MatrixCell]], ...]


def _cell(result: ScenarioResult) -> MatrixCell:
    step = result.failing_step()
    if result.status in (Status.FAIL, Status.ERROR) and step is not None:
        why = f"step {step.index} {step.name} (line {step.line}): {step.detail}"
        return MatrixCell(result.status, why, result.duration_s, step.evidences)
    return MatrixCell(result.status, result.reason, result.duration_s)


def build_interop_matrix(targets: Sequence[str], scenarios: Sequence[ScenarioResult]) -> InteropMatrix:
    by_scenario: dict[str, dict[str, MatrixCell]] = {}
    for result in sorted(scenarios, key=lambda s: (s.path, s.scenario)):
        by_scenario.setdefault(result.scenario, {})[result.target] = _cell(result)
    columns = [t for t in targets if any(t in cells for cells in by_scenario.values())]
    return InteropMatrix(tuple(columns), tuple(by_scenario.items()))


_RANK = {Status.FAIL: 0, Status.PASS: 1, Status.SKIP: 2, Status.UNTESTED: 3}


def _combine(statuses: Iterable[Status]) -> Status:
    """Any failure fails a requirement; else any pass passes it; else skipped, or untested."""
    return min(statuses, key=_RANK.__getitem__, default=Status.UNTESTED)


def build_report(info: RunInfo, scenarios: Sequence[ScenarioResult], catalog: Catalog) -> RunReport:
    ordered = tuple(sorted(scenarios, key=lambda s: (s.target, s.path, s.scenario)))
    gathered: dict[tuple[str, str], list[tuple[Status, Evidence]]] = {}
    for scenario in ordered:
        for rid, (status, step) in scenario.requirement_statuses().items():
            evidence = Evidence(
                scenario=scenario.scenario,
                path=scenario.path,
                step_index=step.index,
                step=step.name,
                line=step.line,
                status=status,
                detail=step.detail,
                seed=scenario.seed,
                txids=scenario.txids,
            )
            gathered.setdefault((rid, scenario.target), []).append((status, evidence))
    rows = []
    totals: dict[str, dict[Status, int]] = {
        t: {s: 0 for s in (Status.PASS, Status.FAIL, Status.SKIP, Status.UNTESTED)} for t in info.targets
    }
    for requirement in catalog:
        results = {}
        for target in info.targets:
            found = gathered.get((requirement.id, target), [])
            status = _combine(s for s, _ in found)
            results[target] = RequirementOutcome(status, tuple(e for _, e in found))
            totals[target][status] += 1
        rows.append(RequirementRow(requirement, results))
    return RunReport(info, ordered, tuple(rows), totals)
