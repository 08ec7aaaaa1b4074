"""`boltcheck requirements coverage`: checked/total per BOLT and per level, with a report's results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.paths import suites_dir
from harness.report import write_reports
from harness.requirements import Level, load_catalog
from harness.requirements.coverage import checked_requirement_ids, compute_coverage
from harness.scenarios import load_scenario, scenario_files
from tests.report_fixtures import FAILED_ID, PASSED_ID, sample_report

CATALOG = load_catalog()


def test_checked_means_named_by_a_step_of_some_scenario() -> None:
    expected = {rid for p in scenario_files(suites_dir()) for rid in load_scenario(p, CATALOG).evidenced()}
    assert checked_requirement_ids(CATALOG) == expected
    assert "bolt01-ping-receiver-must-01" in expected


def test_totals_add_up_per_bolt_and_per_level() -> None:
    coverage = compute_coverage(CATALOG, None, None)
    assert coverage.overall.total == len(CATALOG)
    assert sum(row.total for row in coverage.by_bolt.values()) == len(CATALOG)
    assert sum(row.total for row in coverage.by_level.values()) == len(CATALOG)
    assert coverage.overall.checked == len(coverage.checked_ids)
    assert coverage.by_level[Level.MUST].checked >= 1


def test_a_report_adds_passed_and_failed(tmp_path: Path) -> None:
    write_reports(sample_report(), tmp_path)
    coverage = compute_coverage(CATALOG, None, tmp_path / "report.json")
    assert coverage.overall.passed == 1 and coverage.overall.failed == 1
    data = json.loads((tmp_path / "report.json").read_text())
    status = {e["id"]: e["results"]["reference"]["status"] for e in data["requirements"]}
    assert {rid for rid, s in status.items() if s == "pass"} == {PASSED_ID}
    assert {rid for rid, s in status.items() if s == "fail"} == {FAILED_ID}


def test_the_command_prints_each_bolt_and_level(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    write_reports(sample_report(), tmp_path)
    assert main(["requirements", "coverage", "--report", str(tmp_path / "report.json")]) == 0
    out = capsys.readouterr().out
    for label in ("BOLT 1 ", "BOLT 8 ", "MUST NOT", "SHOULD", "MAY", "total"):
        assert label in out
    assert "passed    1  failed    1" in out.splitlines()[-1]
