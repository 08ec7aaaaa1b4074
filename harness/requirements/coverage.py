"""Coverage: how many catalogued requirements some scenario checks, per BOLT and per level.

A requirement is checked when a step of a scenario in the suites names it in `evidences`. Given a
report.json, passed and failed counts come from the run it records.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from harness.paths import suites_dir
from harness.requirements.catalog import Catalog
from harness.requirements.model import Level


@dataclass
class CoverageRow:
    total: int = 0
    checked: int = 0
    passed: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Coverage:
    by_bolt: dict[int, CoverageRow]
    by_level: dict[Level, CoverageRow]
    overall: CoverageRow
    with_report: bool
    checked_ids: frozenset[str] = field(default_factory=frozenset)


def checked_requirement_ids(catalog: Catalog, suites: Path | None = None) -> frozenset[str]:
    """Ids named by the steps of every scenario under `suites` (default suites/)."""
    # Imported here: the scenario loader imports the catalog, not the other way round.
    from harness.scenarios.loader import load_scenario, scenario_files

    root = suites or suites_dir()
    return frozenset(rid for path in scenario_files(root) for rid in load_scenario(path, catalog).evidenced())


def report_statuses(report_path: Path) -> dict[str, str]:
    """Requirement id -> worst status over the targets of a report.json ("pass", "fail", ...)."""
    data = json.loads(report_path.read_text(encoding="utf-8"))
    order = ["fail", "skip", "pass", "untested"]
    statuses = {}
    for entry in data["requirements"]:
        per_target = [result["status"] for result in entry["results"].values()]
        statuses[entry["id"]] = min(per_target, key=order.index) if per_target else "untested"
    return statuses


def compute_coverage(catalog: Catalog, suites: Path | None, report: Path | None) -> Coverage:
    checked = checked_requirement_ids(catalog, suites)
    statuses = report_statuses(report) if report is not None else {}
    by_bolt: dict[int, CoverageRow] = {}
    by_level: dict[Level, CoverageRow] = {level: CoverageRow() for level in Level}
    overall = CoverageRow()
    for requirement in catalog:
        rows: Iterable[CoverageRow] = (
            by_bolt.setdefault(requirement.bolt, CoverageRow()),
            by_level[requirement.level],
            overall,
        )
        for row in rows:
            row.total += 1
            row.checked += requirement.id in checked
            row.passed += statuses.get(requirement.id) == "pass"
            row.failed += statuses.get(requirement.id) == "fail"
    return Coverage(dict(sorted(by_bolt.items())), by_level, overall, report is not None, checked)


def _line(label: str, row: CoverageRow, with_report: bool) -> str:
    percent = 100.0 * row.checked / row.total if row.total else 0.0
    text = f"{label:<12} {row.checked:>5}/{row.total:<5} checked ({percent:5.1f}%)"
    if with_report:
        text += f"  passed {row.passed:>4}  failed {row.failed:>4}"
    return text + "\n"


def format_coverage(coverage: Coverage) -> str:
    out = ["Requirement coverage (checked = named by a check in some scenario)\n"]
    out.extend(_line(f"BOLT {bolt}", row, coverage.with_report) for bolt, row in coverage.by_bolt.items())
    out.append("\n")
    out.extend(_line(level.value, row, coverage.with_report) for level, row in coverage.by_level.items())
    out.append("\n")
    out.append(_line("total", coverage.overall, coverage.with_report))
    return "".join(out)
