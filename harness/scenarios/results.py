"""What running scenarios produces: per-step and per-scenario results with their evidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from harness.drivers.peer import Direction, TraceEntry


class Status(Enum):
    """Outcome of a step, a scenario, or a requirement.

    ERROR means the harness could not evaluate (a bug or broken environment), never that the node
    under test misbehaved; UNTESTED is for catalog requirements nothing checked.
    """

    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"
    NOT_RUN = "not_run"
    UNTESTED = "untested"


@dataclass(frozen=True)
class StepResult:
    index: int
    name: str
    line: int
    status: Status
    detail: str
    duration_s: float
    evidences: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class ScenarioResult:
    scenario: str
    path: str
    target: str
    seed: int
    status: Status
    reason: str
    duration_s: float
    steps: tuple[StepResult, ...]
    traces: Mapping[str, tuple[TraceEntry, ...]] = field(default_factory=dict)
    txids: tuple[str, ...] = ()
    #: interop runs: the implementations of the pair (`${target}`, `${peer}`); `target` is then the
    #: pair's label ("ldk->electrum") under `--impls`
    pair: tuple[str, str] | None = None

    def failing_step(self) -> StepResult | None:
        return next((s for s in self.steps if s.status in (Status.FAIL, Status.ERROR)), None)

    def requirement_statuses(self) -> dict[str, tuple[Status, StepResult]]:
        """Each requirement a step of this run evidences -> the status that step gives it.

        A step that ran and passed passes its requirements; one that failed fails them; one that was
        skipped, errored or never ran leaves them skipped (not evaluated). A requirement evidenced by
        several steps takes the worst.
        """
        order = {Status.FAIL: 0, Status.SKIP: 1, Status.PASS: 2}
        statuses: dict[str, tuple[Status, StepResult]] = {}
        for step in self.steps:
            status = {Status.PASS: Status.PASS, Status.FAIL: Status.FAIL}.get(step.status, Status.SKIP)
            for rid in step.evidences:
                previous = statuses.get(rid)
                if previous is None or order[status] < order[previous[0]]:
                    statuses[rid] = (status, step)
        return statuses

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "path": self.path,
            "target": self.target,
            "seed": self.seed,
            "status": self.status.value,
            "reason": self.reason,
            "duration_s": round(self.duration_s, 4),
            "steps": [
                {
                    "index": s.index,
                    "name": s.name,
                    "line": s.line,
                    "status": s.status.value,
                    "detail": s.detail,
                    "duration_s": round(s.duration_s, 4),
                    "evidences": list(s.evidences),
                    "note": s.note,
                }
                for s in self.steps
            ],
            "traces": {
                node: [
                    {
                        "direction": e.direction.value,
                        "name": e.name,
                        "elapsed_s": round(e.elapsed_s, 4),
                        "fields": dict(e.fields),
                        "raw_hex": e.raw_hex,
                    }
                    for e in entries
                ]
                for node, entries in self.traces.items()
            },
            "txids": list(self.txids),
            **({"pair": list(self.pair)} if self.pair is not None else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScenarioResult:
        return cls(
            scenario=data["scenario"],
            path=data["path"],
            target=data["target"],
            seed=int(data["seed"]),
            status=Status(data["status"]),
            reason=data["reason"],
            duration_s=float(data["duration_s"]),
            steps=tuple(
                StepResult(
                    index=s["index"],
                    name=s["name"],
                    line=s["line"],
                    status=Status(s["status"]),
                    detail=s["detail"],
                    duration_s=float(s["duration_s"]),
                    evidences=tuple(s["evidences"]),
                    note=s.get("note", ""),
                )
                for s in data["steps"]
            ),
            traces={
                node: tuple(
                    TraceEntry(
                        direction=Direction(e["direction"]),
                        name=e["name"],
                        elapsed_s=float(e["elapsed_s"]),
                        fields=e.get("fields", {}),
                        raw_hex=e.get("raw_hex", ""),
                    )
                    for e in entries
                )
                for node, entries in data.get("traces", {}).items()
            },
            txids=tuple(data.get("txids", ())),
            pair=(str(data["pair"][0]), str(data["pair"][1])) if data.get("pair") else None,
        )
