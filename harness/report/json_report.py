"""report.json: every requirement's status per target with evidence; every scenario with its trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.report.model import TRACE_TAIL, RunReport
from harness.scenarios.results import ScenarioResult

FORMAT_VERSION = 1


def _trace_tail(scenario: ScenarioResult) -> dict[str, list[str]]:
    return {
        node: [f"{e.elapsed_s:8.3f}s {e.direction.value:<8} {e.name}" for e in entries[-TRACE_TAIL:]]
        for node, entries in scenario.traces.items()
    }


def _interop_matrix(report: RunReport) -> dict[str, Any]:
    matrix = report.interop_matrix()
    if matrix is None:
        return {}
    return {
        "interop_matrix": {
            "columns": list(matrix.columns),
            "rows": [
                {
                    "scenario": scenario,
                    "cells": {
                        column: {
                            "status": cell.status.value,
                            "why": cell.why,
                            "duration_s": round(cell.duration_s, 3),
                            "requirements": list(cell.requirements),
                        }
                        for column, cell in cells.items()
                    },
                }
                for scenario, cells in matrix.rows
            ],
        }
    }


def report_to_json(report: RunReport) -> dict[str, Any]:
    by_name = {(s.scenario, s.target): s for s in report.scenarios}
    info = report.info
    return {
        "format": "boltcheck-report",
        "version": FORMAT_VERSION,
        "run": {
            "seed": info.run_seed,
            "targets": list(info.targets),
            "started_at": info.started_at,
            "duration_s": round(info.duration_s, 3),
            "chain": info.chain,
            "launcher": info.launcher,
            "spec_commit": info.spec_commit,
            "workers": info.workers,
        },
        "totals": {
            target: {status.value: count for status, count in counts.items()}
            for target, counts in report.totals.items()
        },
        "scenario_totals": {status.value: count for status, count in report.scenario_counts().items()},
        "failed": report.failed,
        "scenarios": [s.to_json() for s in report.scenarios],
        **_interop_matrix(report),
        "requirements": [
            {
                "id": row.requirement.id,
                "bolt": row.requirement.bolt,
                "section": row.requirement.section,
                "level": row.requirement.level.value,
                "actor": row.requirement.actor,
                "text": row.requirement.text,
                "context": list(row.requirement.context),
                "results": {
                    target: {
                        "status": outcome.status.value,
                        "evidence": [
                            {
                                "scenario": e.scenario,
                                "path": e.path,
                                "step_index": e.step_index,
                                "step": e.step,
                                "line": e.line,
                                "status": e.status.value,
                                "detail": e.detail,
                                "seed": e.seed,
                                "txids": list(e.txids),
                                **(
                                    {"trace": _trace_tail(by_name[(e.scenario, target)])}
                                    if e.status.value == "fail" and (e.scenario, target) in by_name
                                    else {}
                                ),
                            }
                            for e in outcome.evidence
                        ],
                    }
                    for target, outcome in row.results.items()
                },
            }
            for row in report.rows
        ],
    }


def write_json(report: RunReport, path: Path) -> None:
    path.write_text(json.dumps(report_to_json(report), indent=1) + "\n", encoding="utf-8")
