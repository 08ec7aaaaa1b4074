"""report.md: the summary a CI comment shows: totals, failures with evidence, coverage per BOLT."""

from __future__ import annotations

from pathlib import Path

from harness.report.model import TRACE_TAIL, RunReport
from harness.scenarios.results import Status


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_to_markdown(report: RunReport) -> str:
    info = report.info
    counts = report.scenario_counts()
    verdict = "FAILED" if report.failed else "passed"
    out = [
        f"# boltcheck: {verdict}\n",
        f"Targets: {', '.join(f'`{t}`' for t in info.targets)}; chain `{info.chain}`; "
        f"seed `{info.run_seed}`; "
        f"spec `{info.spec_commit[:12]}`; {info.duration_s:.1f}s.\n",
        f"Scenarios: {counts[Status.PASS]} passed, {counts[Status.FAIL]} failed, "
        f"{counts[Status.ERROR]} errors, {counts[Status.SKIP]} skipped.\n",
        "## Requirements\n",
        "| target | pass | fail | skip | untested |",
        "|---|---:|---:|---:|---:|",
    ]
    for target, totals in report.totals.items():
        out.append(
            f"| `{target}` | {totals[Status.PASS]} | {totals[Status.FAIL]} | {totals[Status.SKIP]} "
            f"| {totals[Status.UNTESTED]} |"
        )
    out.append("")
    out.extend(interop_matrix_markdown(report))
    problems = [s for s in report.scenarios if s.status in (Status.FAIL, Status.ERROR)]
    if problems:
        out.append("## Failures\n")
    for scenario in problems:
        step = scenario.failing_step()
        out.append(f"### `{scenario.scenario}` on `{scenario.target}` ({scenario.status.value})\n")
        out.append(
            f"- file: `{scenario.path}`"
            + (f", step {step.index} `{step.name}` (line {step.line})" if step else "")
        )
        out.append(f"- reason: {_escape(scenario.reason)}")
        out.append(f"- seed: `{scenario.seed}` (replay: `boltcheck run --seed {info.run_seed}`)")
        if step and step.evidences:
            out.append(f"- requirements: {', '.join(f'`{rid}`' for rid in step.evidences)}")
        for node, entries in scenario.traces.items():
            out.append(f"\n<details><summary>trace of {node}</summary>\n\n```")
            out.extend(f"{e.elapsed_s:8.3f}s {e.direction.value:<8} {e.name}" for e in entries[-TRACE_TAIL:])
            out.append("```\n</details>\n")
        out.append("")
    skipped = [s for s in report.scenarios if s.status is Status.SKIP]
    if skipped:
        out.append("## Skipped\n")
        out.extend(f"- `{s.scenario}` on `{s.target}`: {_escape(s.reason)}" for s in skipped)
        out.append("")
    out.append("## Coverage per BOLT\n")
    header = "| BOLT | requirements | checked |" + "".join(
        f" `{t}` pass | `{t}` fail |" for t in info.targets
    )
    out.append(header)
    out.append("|---|---:|---:|" + "---:|---:|" * len(info.targets))
    bolts = sorted({row.requirement.bolt for row in report.rows})
    for bolt in bolts:
        rows = [r for r in report.rows if r.requirement.bolt == bolt]
        checked = sum(1 for r in rows if any(o.status is not Status.UNTESTED for o in r.results.values()))
        cells = "".join(
            f" {sum(r.results[t].status is Status.PASS for r in rows)} | "
            f"{sum(r.results[t].status is Status.FAIL for r in rows)} |"
            for t in info.targets
        )
        out.append(f"| {bolt} | {len(rows)} | {checked} |{cells}")
    return "\n".join(out) + "\n"


_SYMBOL = {Status.PASS: "pass", Status.FAIL: "**FAIL**", Status.ERROR: "**ERROR**", Status.SKIP: "skip"}


def interop_matrix_markdown(report: RunReport) -> list[str]:
    """The scenario x pair table (each cell: status, and why for a skip or a failure), then the reasons
    in full under it, numbered."""
    matrix = report.interop_matrix()
    if matrix is None:
        return []
    out = [
        "## Interop matrix\n",
        "| scenario | " + " | ".join(f"`{c}`" for c in matrix.columns) + " |",
        "|---|" + "---|" * len(matrix.columns),
    ]
    notes: list[str] = []
    for scenario, cells in matrix.rows:
        row = []
        for column in matrix.columns:
            cell = cells.get(column)
            if cell is None:
                row.append("")
                continue
            text = _SYMBOL.get(cell.status, cell.status.value)
            if cell.status is Status.PASS:
                text += f" ({cell.duration_s:.0f}s)"
            elif cell.why:
                requirements = ", ".join(f"`{r}`" for r in cell.requirements)
                notes.append(
                    f"{len(notes) + 1}. `{scenario}` on `{column}`: {_escape(cell.why)}"
                    + (f" (requirements: {requirements})" if requirements else "")
                )
                short = cell.why if cell.status is Status.SKIP else ", ".join(cell.requirements) or cell.why
                text += f" [{len(notes)}]: {_escape(short[:90])}"
            row.append(text)
        out.append(f"| `{scenario}` | " + " | ".join(row) + " |")
    out.append("")
    if notes:
        out.extend(notes)
        out.append("")
    return out


def write_markdown(report: RunReport, path: Path) -> None:
    path.write_text(report_to_markdown(report), encoding="utf-8")
