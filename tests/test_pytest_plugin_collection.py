"""The pytest plugin: scenario files are items, results reach the reports, bad files fail collection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.paths import project_root, suites_dir
from harness.scenarios import scenario_files


def run_pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOLTCHECK_HOME": str(project_root())}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def test_each_scenario_file_is_one_item_and_the_catalog_is_not_collected() -> None:
    result = run_pytest(str(suites_dir()), "--collect-only", "-q", cwd=project_root())
    assert result.returncode == 0, result.stdout + result.stderr
    items = [line for line in result.stdout.splitlines() if ".yaml::" in line]
    # suites/interop/ runs only when named or with --impls (the interop matrix): not in the default run
    interop = suites_dir() / "interop"
    default_files = [p for p in scenario_files(suites_dir()) if not p.is_relative_to(interop)]
    assert len(items) == len(default_files)
    assert not any("requirements" in line for line in items)


def test_pytest_suites_writes_the_reports_with_the_seed(tmp_path: Path) -> None:
    result = run_pytest(
        str(suites_dir() / "bolt01"),
        f"--boltcheck-report={tmp_path}",
        "--boltcheck-seed=9",
        cwd=project_root(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["run"]["seed"] == 9
    assert {s["status"] for s in data["scenarios"]} == {"pass"}


def test_a_failing_scenario_shows_its_evidence(tmp_path: Path) -> None:
    scenario = (suites_dir() / "bolt01" / "unknown-odd-message.yaml").read_text()
    failing = scenario.replace(
        "expect_no_disconnect: {peer: peer}", "expect_disconnect: {peer: peer, timeout_s: 0.5}"
    )
    (tmp_path / "odd.yaml").write_text(failing)
    result = run_pytest(
        str(tmp_path / "odd.yaml"), f"--boltcheck-report={tmp_path / 'out'}", cwd=project_root()
    )
    assert result.returncode == 1
    assert "[FAIL] step 2 expect_disconnect" in result.stdout
    assert "trace of peer" in result.stdout
    junit = (tmp_path / "out" / "junit.xml").read_text()
    assert "<failure" in junit and "bolt01-lightning_format-receiver-must-01" in junit


def test_an_invalid_scenario_fails_collection_with_file_and_line(tmp_path: Path) -> None:
    scenario = (suites_dir() / "bolt01" / "unknown-odd-message.yaml").read_text()
    (tmp_path / "bad.yaml").write_text(scenario.replace("send_unknown:", "send_unknwn:"))
    result = run_pytest(str(tmp_path / "bad.yaml"), cwd=project_root())
    assert result.returncode == 2  # interrupted: collection error
    assert f"{tmp_path / 'bad.yaml'}:12: unknown step 'send_unknwn'" in result.stdout
