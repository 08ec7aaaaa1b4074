"""report.json, junit.xml, report.md and report.html from one synthetic run (pass, fail, skip)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.report import REPORT_FILES, report_to_html, report_to_json, report_to_markdown, write_reports
from harness.report.html_report import sequence_chart
from harness.scenarios.results import Status
from tests.report_fixtures import FAILED_ID, PASSED_ID, SKIPPED_ID, sample_report, sample_results


def test_every_catalogued_requirement_has_a_status_per_target() -> None:
    data = report_to_json(sample_report())
    statuses = {entry["id"]: entry["results"]["reference"]["status"] for entry in data["requirements"]}
    assert statuses[PASSED_ID] == "pass"
    assert statuses[FAILED_ID] == "fail"
    assert statuses[SKIPPED_ID] == "skip"
    assert sum(1 for s in statuses.values() if s == "untested") == len(statuses) - 3
    assert data["totals"]["reference"] == {"pass": 1, "fail": 1, "skip": 1, "untested": len(statuses) - 3}


def test_a_failure_carries_its_evidence() -> None:
    data = report_to_json(sample_report())
    (entry,) = [e for e in data["requirements"] if e["id"] == FAILED_ID]
    (evidence,) = entry["results"]["reference"]["evidence"]
    assert evidence["scenario"] == "unknown-even"
    assert evidence["step"] == "expect_disconnect" and evidence["step_index"] == 1 and evidence["line"] == 11
    assert evidence["seed"] == 12
    assert "still open" in evidence["detail"]
    assert any("unknown_32768" in line for line in evidence["trace"]["peer"])


def test_the_run_records_its_seed_and_fails() -> None:
    data = report_to_json(sample_report())
    assert data["run"]["seed"] == 7
    assert data["failed"] is True
    assert json.loads(json.dumps(data)) == data


def test_a_failing_requirement_in_any_scenario_fails_it() -> None:
    results = sample_results()
    passing, failing, _ = results
    both_steps = (*passing.steps, failing.steps[1])
    merged = [passing.__class__(**{**passing.__dict__, "steps": both_steps}), failing]
    from harness.report import RunInfo, build_report
    from harness.requirements import load_catalog

    info = RunInfo(1, ("reference",), "t", 1.0, "embedded", "process", "c")
    report = build_report(info, merged, load_catalog())
    (row,) = [r for r in report.rows if r.requirement.id == FAILED_ID]
    assert row.results["reference"].status is Status.FAIL
    assert len(row.results["reference"].evidence) == 2


def test_junit_has_one_testcase_per_scenario_and_the_failing_step() -> None:
    report = sample_report()
    from harness.report import report_to_junit

    root = report_to_junit(report).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    failure = cases["unknown-even[reference]"].find("failure")
    assert failure is not None
    assert failure.get("message", "").startswith("step 1 expect_disconnect (line 11)")
    assert FAILED_ID in (failure.text or "")
    assert cases["even-feature[reference]"].find("skipped") is not None
    assert cases["ping-pong[reference]"].find("failure") is None


def test_markdown_summarizes_totals_failures_and_coverage() -> None:
    text = report_to_markdown(sample_report())
    assert text.startswith("# boltcheck: FAILED")
    assert "Scenarios: 1 passed, 1 failed, 0 errors, 1 skipped." in text
    assert "### `unknown-even` on `reference` (fail)" in text
    assert f"`{FAILED_ID}`" in text
    assert "## Coverage per BOLT" in text
    assert "| 1 | " in text


def test_html_is_self_contained_with_filters_and_charts() -> None:
    html = report_to_html(sample_report())
    assert html.startswith("<!DOCTYPE html>")
    assert (
        "<script src" not in html
        and "<link" not in html
        and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    )
    for element_id in ("f-bolt", "f-level", "f-status", "f-text", "visible-count", "matrix"):
        assert f'id="{element_id}"' in html
    assert html.count("<svg") == 2  # two scenarios have traces


def test_sequence_chart_draws_an_arrow_per_message_and_a_box_per_event() -> None:
    (_, failing, _) = sample_results()
    svg = sequence_chart("peer", failing.traces["peer"], "target")
    assert svg.count("<line") == 2 + 3  # two lifelines, three messages
    assert svg.count("<rect") == 1  # the connect event
    assert ">unknown_32768<" in svg


def test_write_reports_writes_the_four_files(tmp_path: Path) -> None:
    paths = write_reports(sample_report(), tmp_path / "out")
    assert [p.name for p in paths] == list(REPORT_FILES)
    assert all(p.stat().st_size > 0 for p in paths)
    json.loads(paths[0].read_text())
    ET.parse(paths[1])


def test_a_long_trace_is_shortened_in_the_chart() -> None:
    from harness.drivers.peer import Direction, TraceEntry

    entries = [TraceEntry(Direction.SENT, f"ping{i}", float(i)) for i in range(1000)]
    svg = sequence_chart("peer", entries, "target")
    assert ">ping0<" in svg and ">ping999<" in svg and ">ping500<" not in svg
    assert "920 messages omitted" in svg
