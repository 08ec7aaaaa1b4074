"""`boltcheck run`: the default suite end to end, the same results with -n 2, argument handling."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli import main
from harness.commands.run import SuiteNotFound, resolve_suite, select_suite
from harness.drivers.targets import TargetSpec, TargetSpecError
from harness.paths import project_root, suites_dir
from harness.report import REPORT_FILES
from harness.scenarios.loader import scenario_files
from harness.scenarios.manifest import DEFAULT_SUITE, SuiteManifestError, load_manifest, suite_files


def boltcheck(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOLTCHECK_HOME": str(project_root())}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # a hang guard only: the suite's speed is measured by benchmarks, not asserted
    )


def statuses(report_dir: Path) -> dict[str, str]:
    data = json.loads((report_dir / "report.json").read_text())
    return {entry["id"]: entry["results"]["reference"]["status"] for entry in data["requirements"]}


@dataclass(frozen=True)
class DefaultRun:
    """`boltcheck run` without arguments, once per module: two tests read it (a run of the default suite
    costs about 40 s of CPU)."""

    result: subprocess.CompletedProcess[str]
    report_dir: Path


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> DefaultRun:
    cwd = tmp_path_factory.mktemp("default-run")
    result = boltcheck("run", cwd=cwd)
    return DefaultRun(result, cwd / "boltcheck-report")


def test_run_without_arguments_runs_the_default_suite_and_writes_four_reports(
    default_run: DefaultRun,
) -> None:
    result = default_run.result
    assert result.returncode == 0, result.stdout + result.stderr
    report_dir = default_run.report_dir
    assert sorted(p.name for p in report_dir.iterdir()) == sorted(REPORT_FILES)
    data = json.loads((report_dir / "report.json").read_text())
    assert data["failed"] is False
    assert data["scenario_totals"]["pass"] == len(suite_files(DEFAULT_SUITE))
    assert data["totals"]["reference"]["fail"] == 0


def test_two_workers_give_the_same_results(default_run: DefaultRun, tmp_path: Path) -> None:
    # the sequential run is the default run (one worker); its seed, recorded in its report, is replayed on two
    sequential_dir = default_run.report_dir
    seed = json.loads((sequential_dir / "report.json").read_text())["run"]["seed"]
    parallel = boltcheck("run", "--seed", str(seed), "--report", "two", "-n", "2", cwd=tmp_path)
    assert default_run.result.returncode == 0, default_run.result.stdout
    assert parallel.returncode == 0, parallel.stdout
    assert statuses(sequential_dir) == statuses(tmp_path / "two")
    seeds = [
        sorted((s["scenario"], s["seed"]) for s in json.loads((d / "report.json").read_text())["scenarios"])
        for d in (sequential_dir, tmp_path / "two")
    ]
    assert seeds[0] == seeds[1]


def test_a_failing_scenario_makes_the_exit_code_non_zero(tmp_path: Path) -> None:
    scenario = (suites_dir() / "bolt01" / "ping-pong.yaml").read_text()
    (tmp_path / "wrong-pong.yaml").write_text(
        scenario.replace("{ignored: {zeros: 4}}", "{ignored: {zeros: 5}}")
    )
    result = boltcheck("run", "--suite", str(tmp_path / "wrong-pong.yaml"), "--report", "out", cwd=tmp_path)
    assert result.returncode == 1
    assert statuses(tmp_path / "out")["bolt01-ping-receiver-must-01"] == "fail"
    assert "scenarios: 0 passed, 1 failed" in result.stdout


def test_an_unknown_target_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--target", "eclair"]) == 2
    assert "unknown implementation 'eclair'" in capsys.readouterr().err


def test_an_unknown_suite_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--suite", "no-such-suite"]) == 2
    assert "no suite 'no-such-suite'" in capsys.readouterr().err


def test_run_without_a_suite_runs_the_manifest_default_suite(default_run: DefaultRun) -> None:
    data = json.loads((default_run.report_dir / "report.json").read_text())
    ran = {Path(s["path"]).resolve() for s in data["scenarios"]}
    assert ran == {p.resolve() for p in suite_files(DEFAULT_SUITE)}


def test_the_manifest_names_the_documented_suites() -> None:
    assert {"default", "full", "interop", "onchain", "multihop"} <= set(load_manifest())


def test_the_full_suite_is_every_scenario_but_interop() -> None:
    every = scenario_files(suites_dir())
    assert suite_files("full") == [p.resolve() for p in every if "interop" not in p.parts]
    assert set(suite_files(DEFAULT_SUITE)) < set(suite_files("full"))


def test_a_manifest_name_runs_as_the_pytest_suite_option() -> None:
    selection = select_suite("onchain")
    assert selection.pytest_arguments() == [str(suites_dir()), "--boltcheck-suite=onchain"]
    assert select_suite(None).pytest_arguments() == [str(suites_dir()), "--boltcheck-suite=default"]


def test_comma_separated_suites_run_together() -> None:
    selection = select_suite("bolt08,onchain,bolt11_underpayment")
    assert selection.name is None
    assert set(selection.paths) == {
        suites_dir() / "bolt08",
        *suite_files("onchain"),
        suites_dir() / "bolt11_underpayment.yaml",
    }


def test_a_manifest_entry_matching_nothing_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: a\n")
    (tmp_path / "suites.yaml").write_text("suites:\n  s: {include: [a.yaml, gone_*.yaml]}\n")
    with pytest.raises(SuiteManifestError, match=re.escape("'gone_*.yaml' matches no scenario file")):
        suite_files("s", tmp_path)


def test_pytest_with_the_suite_option_collects_the_default_suite(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pytest", str(suites_dir()), "--boltcheck-suite", DEFAULT_SUITE]
    command += ["--collect-only", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(command, cwd=project_root(), capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    collected = {line.split("::")[0] for line in result.stdout.splitlines() if "::" in line}
    assert collected == {p.relative_to(project_root()).as_posix() for p in suite_files(DEFAULT_SUITE)}


def test_a_suite_name_resolves_under_suites() -> None:
    assert resolve_suite("bolt01") == suites_dir() / "bolt01"
    assert resolve_suite(None) == suites_dir()
    with pytest.raises(SuiteNotFound):
        resolve_suite("bolt99")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reference", TargetSpec("reference")),
        ("reference:defect=no_pong", TargetSpec("reference", "no_pong")),
        ("cln", TargetSpec("cln")),
        ("lnd", TargetSpec("lnd")),
    ],
)
def test_targets_parse(text: str, expected: TargetSpec) -> None:
    assert TargetSpec.parse(text) == expected
    assert str(TargetSpec.parse(text)) == text


@pytest.mark.parametrize("text", ["eclair", "cln:defect=x", "reference:defect=", "reference:bug=x", ""])
def test_bad_targets_are_rejected(text: str) -> None:
    with pytest.raises(TargetSpecError):
        TargetSpec.parse(text)


def test_several_targets_run_side_by_side(tmp_path: Path) -> None:
    args = ("run", "--suite", "bolt08", "--target", "reference,lnd", "--report", "out")
    result = boltcheck(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["run"]["targets"] == ["reference", "lnd"]
    by_target = {t: [s for s in data["scenarios"] if s["target"] == t] for t in ("reference", "lnd")}
    assert [s["scenario"] for s in by_target["reference"]] == [s["scenario"] for s in by_target["lnd"]]
    assert {s["status"] for s in by_target["reference"]} == {"pass"}
    # Without an lnd binary here the lnd runs skip, each with the reason its driver gave.
    assert all(s["reason"] for s in by_target["lnd"] if s["status"] == "skip")
    assert set(data["requirements"][0]["results"]) == {"reference", "lnd"}
