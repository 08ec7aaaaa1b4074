"""junit.xml: one testcase per scenario and target; a failure names the failing step and its evidence."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.report.model import TRACE_TAIL, RunReport
from harness.scenarios.results import ScenarioResult, Status


def evidence_text(scenario: ScenarioResult) -> str:
    lines = [
        f"scenario {scenario.scenario} ({scenario.path}), target {scenario.target}, seed {scenario.seed}"
    ]
    for step in scenario.steps:
        mark = step.status.value.upper()
        ids = f" evidences {', '.join(step.evidences)}" if step.evidences else ""
        lines.append(f"  [{mark}] step {step.index} {step.name} (line {step.line}){ids}: {step.detail}")
    for node, entries in scenario.traces.items():
        lines.append(f"  trace of {node} (last {TRACE_TAIL}):")
        lines.extend(
            f"    {e.elapsed_s:8.3f}s {e.direction.value:<8} {e.name}" for e in entries[-TRACE_TAIL:]
        )
    return "\n".join(lines)


def report_to_junit(report: RunReport) -> ET.ElementTree:
    counts = report.scenario_counts()
    suites = ET.Element("testsuites", name="boltcheck", time=f"{report.info.duration_s:.3f}")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="boltcheck",
        tests=str(len(report.scenarios)),
        failures=str(counts[Status.FAIL]),
        errors=str(counts[Status.ERROR]),
        skipped=str(counts[Status.SKIP]),
        time=f"{report.info.duration_s:.3f}",
        timestamp=report.info.started_at,
    )
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="seed", value=str(report.info.run_seed))
    ET.SubElement(properties, "property", name="spec_commit", value=report.info.spec_commit)
    for scenario in report.scenarios:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"boltcheck.{Path(scenario.path).stem}",
            name=f"{scenario.scenario}[{scenario.target}]",
            file=scenario.path,
            time=f"{scenario.duration_s:.3f}",
        )
        failing = scenario.failing_step()
        if scenario.status is Status.FAIL:
            where = f"step {failing.index} {failing.name} (line {failing.line})" if failing else "scenario"
            element = ET.SubElement(
                case, "failure", message=f"{where}: {scenario.reason}", type="RequirementFailed"
            )
            element.text = evidence_text(scenario)
        elif scenario.status is Status.ERROR:
            element = ET.SubElement(case, "error", message=scenario.reason, type="HarnessError")
            element.text = evidence_text(scenario)
        elif scenario.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=scenario.reason)
        out = ET.SubElement(case, "system-out")
        out.text = evidence_text(scenario)
    tree = ET.ElementTree(suites)
    ET.indent(tree)
    return tree


def write_junit(report: RunReport, path: Path) -> None:
    report_to_junit(report).write(path, encoding="utf-8", xml_declaration=True)
