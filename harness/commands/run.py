"""`boltcheck run`: run scenario suites through pytest with the boltcheck plugin, write the reports.

With no arguments: the `default` suite of suites/suites.yaml (fast conformance, in seconds), reference
node against reference node, embedded chain, reports in ./boltcheck-report/. Exit code 0 only if nothing
failed. `--suite NAME` resolves a suite name of suites/suites.yaml first (`full`, `onchain`, ...), then a
path, a folder or file stem under suites/; several, comma-separated, run together.

`--impls A,B,C` is the interop matrix: each interop scenario (suites/interop/) runs for every ordered
pair of the implementations that can run it (the others are skips with the reason), and the reports
show a scenario x pair matrix.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.drivers.targets import CHAINS, LAUNCHERS, TargetSpec, TargetSpecError
from harness.launchers import options as launch_options
from harness.paths import suites_dir
from harness.scenarios.manifest import DEFAULT_SUITE, SuiteManifestError, load_manifest, suite_files


class SuiteNotFound(ValueError):
    """--suite names neither a file or folder nor a suite under suites/."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("run", help="run scenario suites against a target; write the reports")
    parser.add_argument(
        "--suite",
        default=None,
        help="a suite of suites/suites.yaml, a path, or a name under suites/; comma-separated: several "
        f"(default: {DEFAULT_SUITE})",
    )
    parser.add_argument(
        "--target",
        default="reference",
        help="reference | reference:defect=NAME | cln | lnd (comma-separated: several)",
    )
    parser.add_argument(
        "--impls",
        default=None,
        help="interop matrix: implementations (e.g. reference,ldk,electrum); interop scenarios run per pair",
    )
    parser.add_argument(
        "--same-impl-pairs",
        action="store_true",
        help="with --impls: also run each implementation (but the reference) against itself",
    )
    parser.add_argument("--chain", default=None, choices=CHAINS, help="default: embedded")
    parser.add_argument("--launcher", default=None, choices=LAUNCHERS, help="for cln/lnd; default: process")
    parser.add_argument("--report", type=Path, default=Path("boltcheck-report"), help="report folder")
    parser.add_argument("-n", "--workers", default=None, help="pytest-xdist workers (a number or auto)")
    parser.add_argument("--seed", type=int, default=None, help="run seed (default: random, recorded)")
    launch_options.add_arguments(parser)  # --cln-bin, --lnd-rest, ... (harness/launchers/options.py)
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: passed to pytest")
    parser.set_defaults(func=run)


@dataclass(frozen=True)
class SuiteSelection:
    """What pytest collects: a named suite of the manifest (collected from suites/ with
    --boltcheck-suite, exactly as `pytest suites/ --boltcheck-suite NAME`) or paths."""

    name: str | None
    paths: tuple[Path, ...]

    def pytest_arguments(self) -> list[str]:
        if self.name is not None:
            return [str(suites_dir()), f"--boltcheck-suite={self.name}"]
        return [str(p) for p in self.paths]


def select_suite(suite: str | None) -> SuiteSelection:
    """No --suite: the default suite; one manifest name: that suite; otherwise each comma-separated
    item is a manifest name (expanded to its files), a path, or a folder or file stem under suites/."""
    items = [item.strip() for item in (suite or DEFAULT_SUITE).split(",") if item.strip()]
    try:
        manifest = load_manifest()
        if len(items) == 1 and items[0] in manifest:
            return SuiteSelection(items[0], ())
        paths: list[Path] = []
        for item in items:
            found = suite_files(item) if item in manifest else [resolve_suite(item)]
            paths += [p for p in found if p not in paths]
    except SuiteManifestError as exc:
        raise SuiteNotFound(str(exc)) from exc
    return SuiteSelection(None, tuple(paths))


def resolve_suite(suite: str | None) -> Path:
    """One path: as given, or a folder or file stem under suites/ (None: the whole suites/ folder)."""
    if suite is None:
        return suites_dir()
    path = Path(suite)
    if path.exists():
        return path
    for candidate in (suites_dir() / suite, suites_dir() / f"{suite}.yaml"):
        if candidate.exists():
            return candidate
    raise SuiteNotFound(f"no suite {suite!r}: not a path, nor suites/{suite}/ nor suites/{suite}.yaml")


def _plugin_installed() -> bool:
    return any(ep.name == "boltcheck" for ep in importlib.metadata.entry_points(group="pytest11"))


def pytest_arguments(args: argparse.Namespace) -> list[str]:
    selection = select_suite(args.suite)
    # The CLI has imported harness already, so pytest cannot rewrite its asserts: nothing to warn about.
    # Scenario items report through ScenarioFailed, not assert: --assert=plain spares rewriting (parsing
    # and recompiling) every module imported during the run, a fifth of a short run's CPU when bytecode
    # is not cached (PYTHONDONTWRITEBYTECODE).
    argv = [*selection.pytest_arguments(), "-p", "no:cacheprovider", "-q", "--assert=plain"]
    argv += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    if not _plugin_installed():
        argv += ["-p", "harness.pytest_plugin"]
    argv += [f"--boltcheck-target={args.target}", f"--boltcheck-report={args.report}"]
    if getattr(args, "impls", None):
        argv.append(f"--boltcheck-impls={args.impls}")
        if getattr(args, "same_impl_pairs", False):
            argv.append("--boltcheck-same-impl-pairs")
    if args.chain is not None:
        argv.append(f"--boltcheck-chain={args.chain}")
    if args.launcher is not None:
        argv.append(f"--boltcheck-launcher={args.launcher}")
    if args.seed is not None:
        argv.append(f"--boltcheck-seed={args.seed}")
    if args.workers is not None:
        argv += ["-n", str(args.workers)]
    extra = list(args.pytest_args)
    if extra and extra[0] == "--":
        extra = extra[1:]
    return argv + extra


def _summary(report_dir: Path) -> str:
    report_json = report_dir / "report.json"
    if not report_json.is_file():
        return "no report written"
    data = json.loads(report_json.read_text(encoding="utf-8"))
    scenarios = data["scenario_totals"]
    parts = [
        f"scenarios: {scenarios['pass']} passed, {scenarios['fail']} failed, "
        f"{scenarios['error']} errors, {scenarios['skip']} skipped"
    ]
    for target, totals in data["totals"].items():
        parts.append(
            f"requirements on {target}: {totals['pass']} pass, {totals['fail']} fail, "
            f"{totals['skip']} skip, {totals['untested']} untested"
        )
    parts.append(f"seed {data['run']['seed']}; reports in {report_dir}/")
    return "\n".join(parts)


def run(args: argparse.Namespace) -> int:
    try:
        for target in [*args.target.split(","), *(args.impls.split(",") if args.impls else [])]:
            TargetSpec.parse(target)
        argv = pytest_arguments(args)
    except (TargetSpecError, SuiteNotFound) as exc:
        print(f"boltcheck run: {exc}", file=sys.stderr)
        return 2
    # The launchers and every xdist worker read the launch settings from BOLTCHECK_* variables.
    try:
        launch_options.export_for_run(
            args.launcher or os.environ.get("BOLTCHECK_LAUNCHER") or "process",
            args.chain or os.environ.get("BOLTCHECK_CHAIN") or "embedded",
            args,
        )
    except launch_options.LaunchOptionsError as exc:
        print(f"boltcheck run: {exc}", file=sys.stderr)
        return 2
    code = int(pytest.main(argv))
    print(_summary(args.report))
    return 0 if code == pytest.ExitCode.OK else 1
