"""Synthetic scenario results for the report tests: one pass, one fail (with a trace), one skip."""

from __future__ import annotations

from harness.drivers.peer import Direction, TraceEntry
from harness.report import RunInfo, RunReport, build_report
from harness.requirements import load_catalog, spec_commit_of
from harness.scenarios.results import ScenarioResult, Status, StepResult

PASSED_ID = "bolt01-ping-receiver-must-01"
FAILED_ID = "bolt01-lightning_format-receiver-must-02"
SKIPPED_ID = "bolt01-init-receiver-must-05"


def _step(index: int, name: str, status: Status, detail: str, evidences: tuple[str, ...] = ()) -> StepResult:
    return StepResult(index, name, 10 + index, status, detail, 0.01, evidences)


def sample_results() -> list[ScenarioResult]:
    trace = (
        TraceEntry(Direction.EVENT, "connect", 0.0),
        TraceEntry(Direction.SENT, "init", 0.001, {"features": ""}),
        TraceEntry(Direction.RECEIVED, "init", 0.002, {"features": ""}),
        TraceEntry(Direction.SENT, "unknown_32768", 0.003),
    )
    return [
        ScenarioResult(
            "ping-pong",
            "suites/bolt01/ping-pong.yaml",
            "reference",
            11,
            Status.PASS,
            "",
            0.1,
            (
                _step(0, "connect", Status.PASS, "ok"),
                _step(1, "expect", Status.PASS, "received pong", (PASSED_ID,)),
            ),
            {"peer": trace[:3]},
        ),
        ScenarioResult(
            "unknown-even",
            "suites/bolt01/unknown-even.yaml",
            "reference",
            12,
            Status.FAIL,
            "step 1 (expect_disconnect, line 11): the connection is still open after 10s",
            10.2,
            (
                _step(0, "send_unknown", Status.PASS, "sent"),
                _step(
                    1,
                    "expect_disconnect",
                    Status.FAIL,
                    "the connection is still open after 10s",
                    (FAILED_ID,),
                ),
            ),
            {"peer": trace},
        ),
        ScenarioResult(
            "even-feature",
            "suites/bolt01/even-feature.yaml",
            "reference",
            13,
            Status.SKIP,
            "lnd: start is not supported yet",
            0.0,
            (_step(0, "expect_disconnect", Status.NOT_RUN, "not run", (SKIPPED_ID,)),),
        ),
    ]


def sample_report() -> RunReport:
    catalog = load_catalog()
    info = RunInfo(
        7, ("reference",), "2026-01-01T00:00:00+00:00", 10.3, "embedded", "process", spec_commit_of(catalog)
    )
    return build_report(info, sample_results(), catalog)
