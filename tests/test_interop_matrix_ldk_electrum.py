"""Acceptance: LDK against Electrum (neither is ours) through the harness, both orders: open a
static_remotekey channel, ten payments each way, mutual close, final balances to the satoshi
(`boltcheck run --suite interop/open_pay_close.yaml --impls ldk,electrum`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.paths import project_root, suites_dir
from tests.test_ldk_support import requires_ldk

pytestmark = [
    requires_ldk,
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        shutil.which("electrum") is None, reason="Electrum is not installed (scripts/install-electrum.sh)"
    ),
]


def test_ldk_and_electrum_open_pay_and_close_in_both_orders(tmp_path: Path) -> None:
    suite = suites_dir() / "interop" / "open_pay_close.yaml"
    report = tmp_path / "report"
    command = [sys.executable, "-m", "harness.cli", "run", "--suite", str(suite), "--impls", "ldk,electrum"]
    completed = subprocess.run(
        [*command, "--report", str(report), "-n", "2"],
        cwd=project_root(),
        capture_output=True,
        text=True,
        timeout=850,
        check=False,
    )
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    (row,) = data["interop_matrix"]["rows"]
    assert row["scenario"] == "interop_open_pay_close"
    cells = row["cells"]
    assert {pair: cell["status"] for pair, cell in cells.items()} == {
        "ldk->electrum": "pass",
        "electrum->ldk": "pass",
    }, [cell["why"] for cell in cells.values()]
    assert completed.returncode == 0, completed.stdout[-2000:]
    assert "| `interop_open_pay_close` | pass" in (report / "report.md").read_text(encoding="utf-8")
