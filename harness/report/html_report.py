"""report.html: one self-contained file (inline CSS, JS and SVG, nothing fetched).

A requirements-by-implementation matrix filterable by BOLT, level, status and free text, then each
scenario with its steps and a message sequence chart drawn from the scripted peers' traces.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from harness.drivers.peer import Direction, TraceEntry
from harness.report.model import RunReport
from harness.scenarios.results import ScenarioResult, Status

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{margin:0 0 .3em} table{border-collapse:collapse;width:100%} td,th{border:1px solid #ccc;padding:3px 6px;
vertical-align:top;text-align:left} th{background:#f2f2f2;position:sticky;top:0}
.st-pass{background:#d8f5d8}.st-fail{background:#f9d0d0}.st-skip{background:#fff3c4}.st-untested{color:#888}
.st-error{background:#f3c6f3}.st-not_run{color:#888}
#filters{position:sticky;top:0;background:#fff;padding:.5em 0;z-index:2} #filters>*{margin-right:.6em}
.ctx{color:#666;font-size:12px} details{margin:.2em 0} .chart{border:1px solid #ddd;margin:.5em 0}
code{font-size:12px}
"""

_JS = """
function applyFilters(){
  const bolt=document.getElementById('f-bolt').value, level=document.getElementById('f-level').value,
        status=document.getElementById('f-status').value,
        text=document.getElementById('f-text').value.trim().toLowerCase();
  let shown=0;
  for(const row of document.querySelectorAll('#matrix tbody tr')){
    const ok=(!bolt||row.dataset.bolt===bolt)&&(!level||row.dataset.level===level)&&
      (!status||row.dataset.status.split(' ').includes(status))&&(!text||row.dataset.text.includes(text));
    row.style.display=ok?'':'none'; if(ok) shown++;
  }
  document.getElementById('visible-count').textContent=shown;
}
for(const id of ['f-bolt','f-level','f-status','f-text']){
  const el=document.getElementById(id);
  el.addEventListener('input',applyFilters); el.addEventListener('change',applyFilters);
}
applyFilters();
"""

_ROW_H = 24
_CHART_HEAD = 60
_CHART_TAIL = 20
_CHART_W = 640


def _options(element_id: str, label: str, values: list[str]) -> str:
    options = "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)
    return f'<label>{label} <select id="{element_id}"><option value="">all</option>{options}</select></label>'


def _matrix(report: RunReport) -> str:
    targets = report.info.targets
    head = "".join(f"<th>{escape(t)}</th>" for t in targets)
    rows = []
    for row in report.rows:
        req = row.requirement
        cells = []
        for target in targets:
            outcome = row.results[target]
            evidence = "".join(
                f"<li>{escape(e.scenario)} step {e.step_index} <code>{escape(e.step)}</code> "
                f"(line {e.line}, seed {e.seed}): {escape(e.detail)}</li>"
                for e in outcome.evidence
            )
            body = (
                f"<details><summary>{outcome.status.value}</summary><ul>{evidence}</ul></details>"
                if evidence
                else outcome.status.value
            )
            cells.append(f'<td class="st-{outcome.status.value}">{body}</td>')
        statuses = " ".join(sorted({o.status.value for o in row.results.values()}))
        context = "".join(f'<div class="ctx">{escape(c)}</div>' for c in req.context)
        searchable = f"{req.id} {req.section} {req.actor} {' '.join(req.context)} {req.text}".lower()
        rows.append(
            f'<tr data-bolt="{req.bolt}" data-level="{escape(req.level.value)}" data-status="{statuses}" '
            f'data-text="{escape(searchable)}"><td><code>{escape(req.id)}</code></td><td>{req.bolt}</td>'
            f"<td>{escape(req.level.value)}</td><td>{escape(req.section)}</td><td>{context}{escape(req.text)}</td>"
            f"{''.join(cells)}</tr>"
        )
    return (
        '<table id="matrix"><thead><tr><th>id</th><th>BOLT</th><th>level</th><th>section</th>'
        "<th>requirement</th>"
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _interop_matrix(report: RunReport) -> str:
    """The scenario x pair matrix (interop runs): each cell's status, with why it skipped or failed."""
    matrix = report.interop_matrix()
    if matrix is None:
        return ""
    head = "".join(f"<th>{escape(c)}</th>" for c in matrix.columns)
    rows = []
    for scenario, cells in matrix.rows:
        tds = []
        for column in matrix.columns:
            cell = cells.get(column)
            if cell is None:
                tds.append("<td></td>")
                continue
            anchor = f"#scenario-{escape(scenario)}-{escape(column)}"
            label = f'<a href="{anchor}">{cell.status.value}</a>'
            if cell.status is Status.PASS:
                body = f"{label} ({cell.duration_s:.0f}s)"
            else:
                requirements = "".join(f"<li><code>{escape(r)}</code></li>" for r in cell.requirements)
                body = (
                    f"<details><summary>{label}</summary>{escape(cell.why)}"
                    f"{f'<ul>{requirements}</ul>' if requirements else ''}</details>"
                )
            tds.append(f'<td class="st-{cell.status.value}">{body}</td>')
        rows.append(f"<tr><td><code>{escape(scenario)}</code></td>{''.join(tds)}</tr>")
    return (
        '<h2>Interop matrix</h2><table id="interop"><thead><tr><th>scenario</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _elide(entries: list[TraceEntry]) -> list[TraceEntry]:
    """Long traces (thousands of pings) keep their head and tail; the report.json has them whole."""
    if len(entries) <= _CHART_HEAD + _CHART_TAIL + 1:
        return entries
    omitted = len(entries) - _CHART_HEAD - _CHART_TAIL
    label = f"... {omitted} messages omitted ..."
    marker = TraceEntry(Direction.EVENT, label, entries[_CHART_HEAD].elapsed_s)
    return [*entries[:_CHART_HEAD], marker, *entries[-_CHART_TAIL:]]


def sequence_chart(peer: str, entries: tuple[TraceEntry, ...] | list[TraceEntry], other: str) -> str:
    """An SVG message sequence chart: `peer` on the left, the node it talks to on the right."""
    entries = _elide(list(entries))
    left, right = 120, _CHART_W - 120
    height = 50 + _ROW_H * (len(entries) + 1)
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{_CHART_W}" height="{height}" '
        f'role="img" aria-label="message sequence chart of {escape(peer)}">',
        '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto">'
        '<path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>',
        f'<text x="{left}" y="20" text-anchor="middle" font-weight="bold">{escape(peer)}</text>',
        f'<text x="{right}" y="20" text-anchor="middle" font-weight="bold">{escape(other)}</text>',
        f'<line x1="{left}" y1="28" x2="{left}" y2="{height - 5}" stroke="#999" stroke-dasharray="4"/>',
        f'<line x1="{right}" y1="28" x2="{right}" y2="{height - 5}" stroke="#999" stroke-dasharray="4"/>',
    ]
    for i, entry in enumerate(entries):
        y = 50 + _ROW_H * i
        label = f"{escape(entry.name)}"
        time_label = f'<text x="8" y="{y + 4}" font-size="11" fill="#888">{entry.elapsed_s:.3f}s</text>'
        parts.append(time_label)
        if entry.direction is Direction.EVENT:
            parts.append(
                f'<rect x="{left + 40}" y="{y - 12}" width="{right - left - 80}" height="18" '
                'fill="#eef" stroke="#99c"/>'
                f'<text x="{(left + right) // 2}" y="{y + 1}" text-anchor="middle" font-size="12">'
                f"{label}</text>"
            )
            continue
        x1, x2 = (left, right) if entry.direction is Direction.SENT else (right, left)
        parts.append(
            f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#333" marker-end="url(#arrow)"/>'
            f'<text x="{(left + right) // 2}" y="{y - 4}" text-anchor="middle" font-size="12">{label}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _scenario(scenario: ScenarioResult, other: str) -> str:
    steps = "".join(
        f'<tr class="st-{s.status.value}"><td>{s.index}</td><td><code>{escape(s.name)}</code></td>'
        f"<td>{s.line}</td>"
        f"<td>{s.status.value}</td><td>{escape(s.detail)}</td><td>{escape(', '.join(s.evidences))}</td></tr>"
        for s in scenario.steps
    )
    charts = "".join(sequence_chart(node, entries, other) for node, entries in scenario.traces.items())
    reason = f"<p>{escape(scenario.reason)}</p>" if scenario.reason else ""
    return (
        f'<section class="scenario" id="scenario-{escape(scenario.scenario)}-{escape(scenario.target)}">'
        f'<h3 class="st-{scenario.status.value}">{escape(scenario.scenario)} on {escape(scenario.target)}: '
        f"{scenario.status.value}</h3><p><code>{escape(scenario.path)}</code>, seed {scenario.seed}, "
        f"{scenario.duration_s:.2f}s</p>{reason}"
        "<table><thead><tr><th>#</th><th>step</th><th>line</th><th>status</th><th>detail</th><th>evidences</th>"
        f"</tr></thead><tbody>{steps}</tbody></table>{charts}</section>"
    )


def report_to_html(report: RunReport) -> str:
    info = report.info
    bolts = sorted({str(r.requirement.bolt) for r in report.rows}, key=int)
    levels = sorted({r.requirement.level.value for r in report.rows})
    statuses = [s.value for s in (Status.PASS, Status.FAIL, Status.SKIP, Status.UNTESTED)]
    totals = "".join(
        f"<li><b>{escape(t)}</b>: " + ", ".join(f"{n} {s.value}" for s, n in counts.items()) + "</li>"
        for t, counts in report.totals.items()
    )
    verdict = "FAILED" if report.failed else "passed"
    scenarios = "".join(_scenario(s, f"{s.target} (under test)") for s in report.scenarios)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>boltcheck report</title>'
        f"<style>{_CSS}</style></head><body>"
        f"<h1>boltcheck: {verdict}</h1><p>seed {info.run_seed}, chain {escape(info.chain)}, spec "
        f"<code>{escape(info.spec_commit)}</code>, started {escape(info.started_at)}, "
        f"{info.duration_s:.1f}s</p>"
        f"<ul>{totals}</ul>{_interop_matrix(report)}<h2>Requirements by implementation</h2>"
        f'<div id="filters">{_options("f-bolt", "BOLT", bolts)}{_options("f-level", "level", levels)}'
        f'{_options("f-status", "status", statuses)}<label>text <input id="f-text" type="search" '
        'placeholder="id, section or words"></label> '
        '<span><span id="visible-count">0</span> shown</span></div>'
        f"{_matrix(report)}<h2>Scenarios</h2>{scenarios}<script>{_JS}</script></body></html>\n"
    )


def write_html(report: RunReport, path: Path) -> None:
    path.write_text(report_to_html(report), encoding="utf-8")
