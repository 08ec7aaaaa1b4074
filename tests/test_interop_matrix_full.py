"""Acceptance: the whole interop matrix, `boltcheck run --suite interop --impls reference,ldk,electrum`,
run once (two workers), cell by cell: every scenario x ordered pair (and every single-implementation
`deviation_*` scenario x implementation) passes, is skipped for the capability the pair lacks (with that
reason), or, for a known deviation of LDK 0.1 or Electrum 4.3.4, fails with the requirement it breaks
evidenced by the failing step. The reference node passes everything it runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.drivers.ldk import ldk_missing
from harness.paths import project_root, suites_dir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(2400),
    pytest.mark.skipif(ldk_missing() is not None, reason=f"LDK node unavailable: {ldk_missing()}"),
    pytest.mark.skipif(
        shutil.which("electrum") is None, reason="Electrum is not installed (scripts/install-electrum.sh)"
    ),
]

IMPLEMENTATIONS = ("reference", "ldk", "electrum")
PAIRS = tuple(f"{a}->{b}" for a in IMPLEMENTATIONS for b in IMPLEMENTATIONS if a != b)
PAIR_SCENARIOS = (
    "interop_connect",
    "interop_open_pay_close",
    "interop_open_pay_close_anchors",
    "interop_reestablish",
    "interop_force_close_by_opener",
    "interop_force_close_by_accepter",
    "interop_breach",
)
DEVIATION_SCENARIOS = {
    "interop_init_feature_pairs": "deviation_init_feature_pairs.yaml",
    "interop_ping_oversized": "deviation_ping_oversized.yaml",
    "interop_revoke_after_force_close": "deviation_revoke_after_force_close.yaml",
    "interop_init_assumed_features": "deviation_init_assumed_features.yaml",
    "interop_open_channel_bad_funding_pubkey": "deviation_open_channel_bad_funding_pubkey.yaml",
}
CELLS = [(s, p) for s in PAIR_SCENARIOS for p in PAIRS] + [
    (s, i) for s in DEVIATION_SCENARIOS for i in IMPLEMENTATIONS
]

_NO_FAULTS_LDK = "ldk: no fault controls"
_NO_FAULTS_ELECTRUM = "electrum: no fault controls"
_NO_ANCHORS = "electrum: no anchors channels"
_NO_DISCONNECT = "electrum: no disconnect command"
#: cell -> the start of its skip reason (harness/drivers/capabilities.py): the reference node's fault
#: controls (withhold preimages, breach) must be on the node the scenario names
SKIPS = {
    **{("interop_breach", p): _NO_FAULTS_LDK for p in ("ldk->reference", "ldk->electrum")},
    **{("interop_breach", p): _NO_FAULTS_ELECTRUM for p in ("electrum->reference", "electrum->ldk")},
    **{("interop_force_close_by_accepter", p): _NO_FAULTS_LDK for p in ("ldk->reference", "ldk->electrum")},
    **{
        ("interop_force_close_by_accepter", p): _NO_FAULTS_ELECTRUM
        for p in ("electrum->reference", "electrum->ldk")
    },
    **{("interop_force_close_by_opener", p): _NO_FAULTS_LDK for p in ("reference->ldk", "electrum->ldk")},
    **{
        ("interop_force_close_by_opener", p): _NO_FAULTS_ELECTRUM
        for p in ("reference->electrum", "ldk->electrum")
    },
    **{("interop_open_pay_close_anchors", p): _NO_ANCHORS for p in PAIRS if "electrum" in p},
    **{("interop_reestablish", p): _NO_DISCONNECT for p in ("electrum->reference", "electrum->ldk")},
}
#: cell -> the requirement the failing step evidences (the evidence: that step's detail and trace)
KNOWN_DEVIATIONS = {
    # Electrum sets both bits of option_data_loss_protect (and other pairs) in init
    ("interop_init_feature_pairs", "electrum"): "bolt09-bolt_9_assigned_feature_flags-origin-must_not-03",
    # Electrum answers a ping asking for 65532 bytes, then drops the connection
    ("interop_ping_oversized", "electrum"): "bolt01-ping-receiver-must-02",
    # Electrum sends revoke_and_ack for the commitment it has just broadcast
    (
        "interop_revoke_after_force_close",
        "electrum",
    ): "bolt05-revoked_transaction_close_handling-local-must_not-01",
    # LDK: "We require features unknown to our peer ...: [0, 8, 12, 14]"; Electrum: "remote does not
    # support OPTION_DATA_LOSS_PROTECT_REQ"; both close the connection
    ("interop_init_assumed_features", "ldk"): "bolt01-init-receiver-must-03",
    ("interop_init_assumed_features", "electrum"): "bolt01-init-receiver-must-03",
    # LDK: "Got an invalid value while deserializing message"; Electrum: an exception in its main loop
    # ("invalid pubkey in channel config"); both close the connection without error or warning
    ("interop_open_channel_bad_funding_pubkey", "ldk"): "bolt02-open_channel-receiver-must-11",
    ("interop_open_channel_bad_funding_pubkey", "electrum"): "bolt02-open_channel-receiver-must-11",
}


@dataclass(frozen=True)
class MatrixRun:
    cells: dict[tuple[str, str], dict[str, Any]]  # (scenario, pair or implementation) -> report.json entry
    wall_s: float
    stdout: str


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> MatrixRun:
    root = tmp_path_factory.mktemp("interop-matrix")
    report = root / "report"
    # the run keeps its work folder (the nodes' logs) when a cell fails, as the deviation cells do: under
    # pytest's tmp_path it goes with the test's other files (pytest keeps the last three runs)
    work = root / "work"
    work.mkdir()
    command = [sys.executable, "-m", "harness.cli", "run", "--suite", "interop"]
    command += ["--impls", ",".join(IMPLEMENTATIONS), "--report", str(report), "-n", "2"]
    started = time.monotonic()
    completed = subprocess.run(
        command,
        cwd=project_root(),
        env={**os.environ, "TMPDIR": str(work)},
        capture_output=True,
        text=True,
        check=False,
        timeout=2300,
    )
    wall_s = time.monotonic() - started
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    cells = {(s["scenario"], s["target"]): s for s in data["scenarios"]}
    print(f"interop matrix: {len(cells)} cells in {wall_s:.0f} s wall (two workers)")
    return MatrixRun(cells, wall_s, completed.stdout)


@pytest.mark.parametrize(
    ("scenario", "label"), [c for c in CELLS if c not in SKIPS and c not in KNOWN_DEVIATIONS]
)
def test_the_cell_passes(matrix: MatrixRun, scenario: str, label: str) -> None:
    outcome = matrix.cells[(scenario, label)]
    assert outcome["status"] == "pass", outcome.get("reason")


@pytest.mark.parametrize(("scenario", "label"), sorted(SKIPS))
def test_the_cell_is_skipped_for_the_missing_capability(matrix: MatrixRun, scenario: str, label: str) -> None:
    outcome = matrix.cells[(scenario, label)]
    assert outcome["status"] == "skip", outcome.get("reason")
    assert outcome["reason"].startswith(SKIPS[(scenario, label)]), outcome["reason"]


@pytest.mark.parametrize(("scenario", "label"), sorted(KNOWN_DEVIATIONS))
def test_a_known_deviation_is_a_failed_requirement(matrix: MatrixRun, scenario: str, label: str) -> None:
    outcome = matrix.cells[(scenario, label)]
    assert outcome["status"] == "fail", outcome.get("reason")
    failed = [step for step in outcome["steps"] if step["status"] == "fail"]
    assert KNOWN_DEVIATIONS[(scenario, label)] in failed[0]["evidences"], failed


def test_the_run_has_exactly_the_expected_cells(matrix: MatrixRun) -> None:
    assert set(matrix.cells) == set(CELLS)


def test_every_scenario_of_the_interop_suite_is_in_the_table() -> None:
    files = {path.name for path in (suites_dir() / "interop").glob("*.yaml")}
    deviation_files = {name for name in files if name.startswith("deviation_")}
    assert deviation_files == set(DEVIATION_SCENARIOS.values())
    assert len(files - deviation_files) == len(PAIR_SCENARIOS)
    for name, file in DEVIATION_SCENARIOS.items():
        assert f"name: {name}\n" in Path(suites_dir() / "interop" / file).read_text(encoding="utf-8")
