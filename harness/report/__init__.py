"""Reports of a run: report.json, junit.xml, report.md, report.html.

Public API: `build_report(RunInfo, scenario_results, catalog)` -> `RunReport`; `write_reports(report, dir)`
writes the four files and returns their paths.
"""

from __future__ import annotations

from pathlib import Path

from harness.report.html_report import report_to_html, write_html
from harness.report.json_report import report_to_json, write_json
from harness.report.junit import report_to_junit, write_junit
from harness.report.markdown import report_to_markdown, write_markdown
from harness.report.model import (
    Evidence,
    RequirementOutcome,
    RequirementRow,
    RunInfo,
    RunReport,
    build_report,
)

REPORT_FILES = ("report.json", "junit.xml", "report.md", "report.html")


def write_reports(report: RunReport, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / name for name in REPORT_FILES]
    write_json(report, paths[0])
    write_junit(report, paths[1])
    write_markdown(report, paths[2])
    write_html(report, paths[3])
    return paths


__all__ = [
    "REPORT_FILES",
    "Evidence",
    "RequirementOutcome",
    "RequirementRow",
    "RunInfo",
    "RunReport",
    "build_report",
    "report_to_html",
    "report_to_json",
    "report_to_junit",
    "report_to_markdown",
    "write_reports",
]
