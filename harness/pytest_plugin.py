"""pytest plugin: every scenario YAML under suites/ is a test item.

    pytest suites/ --boltcheck-target=reference --boltcheck-report=out/ -n auto

Options: --boltcheck-target (reference, reference:defect=NAME, cln, lnd; comma-separated for several:
each scenario then runs once per target, and the reports show them side by side),
--boltcheck-report DIR (write report.json, junit.xml, report.md, report.html there), --boltcheck-seed N
(default: random, recorded), --boltcheck-chain, --boltcheck-launcher.

Suite selection: `pytest suites/` collects every scenario (but interop, see below);
`pytest suites/ --boltcheck-suite NAME` collects only the files of the named suite of suites/suites.yaml
(harness/scenarios/manifest.py), the same selection as `boltcheck run --suite NAME` (`boltcheck run`
with no --suite runs `default`).

The interop matrix: --boltcheck-impls A,B,C runs every interop scenario (one with a `${peer}` node) once
per ordered pair (A, B) of different implementations, `${target}` being A and `${peer}` B (items
`interop_open_pay_close[ldk->electrum]`; --boltcheck-same-impl-pairs adds (A, A) for every A but the
reference), and every other scenario once per implementation. A pair that cannot run a scenario is a skip
with the reason, decided before anything starts (harness/scenarios/needs.py). Without --boltcheck-impls,
scenarios tagged `interop` (suites/interop/) are collected only when their file or folder is named on the
command line (`boltcheck run --suite interop --target ldk`: the target against the reference node), so
the default run stays what it was.

Under pytest-xdist each worker runs its scenarios with its own temp dirs, ports (nodes bind port 0)
and chains (one per scenario); the controller passes every worker the same seed, gathers the results
each item attaches to its report, and writes the reports once at the end.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import functools
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.drivers.capabilities import timeout_factor
from harness.drivers.targets import CHAINS, LAUNCHERS, TargetSpec, TargetSpecError
from harness.report import RunInfo, build_report, write_reports
from harness.report.junit import evidence_text
from harness.requirements import Catalog, load_catalog, spec_commit_of
from harness.scenarios import (
    RunSettings,
    Scenario,
    ScenarioError,
    ScenarioResult,
    Status,
    load_scenario,
    run_scenario,
)
from harness.scenarios.loader import SUITES_MANIFEST
from harness.scenarios.manifest import SuiteManifestError, suite_files

_RESULT_PROPERTY = "boltcheck_result"
#: the tag of the interop suite's scenarios (suites/interop/)
INTEROP_TAG = "interop"


@dataclass(frozen=True)
class Pairing:
    """What one item runs: the target, and for interop scenarios the peer; `label` is its report column."""

    target: TargetSpec
    peer: TargetSpec | None
    label: str


def pair_label(target: TargetSpec, peer: TargetSpec) -> str:
    return f"{target}->{peer}"


def interop_pairs(impls: tuple[TargetSpec, ...], same_impl: bool = False) -> list[Pairing]:
    """Ordered pairs (A, B), A != B, in the order given; with `same_impl` also (A, A) for each A but the
    reference (reference against reference is the default suite's business)."""
    pairs = []
    for a in impls:
        for b in impls:
            if a == b and (not same_impl or a.implementation == "reference"):
                continue
            pairs.append(Pairing(a, b, pair_label(a, b)))
    return pairs


@dataclass
class BoltcheckState:
    targets: tuple[TargetSpec, ...]
    seed: int
    chain: str
    launcher: str
    report_dir: Path | None
    started_at: str
    started: float
    results: list[ScenarioResult] = field(default_factory=list)
    workers: int = 1
    impls: tuple[TargetSpec, ...] = ()  # --boltcheck-impls: the interop matrix's implementations
    same_impl_pairs: bool = False
    # --boltcheck-suite: the named suite's files (resolved); None collects every scenario file
    suite_files: frozenset[Path] | None = None

    def pairings(self, scenario: Scenario) -> list[Pairing]:
        """The items a scenario expands to."""
        if self.impls and scenario.is_interop:
            return interop_pairs(self.impls, self.same_impl_pairs)
        targets = self.impls or self.targets
        return [Pairing(t, None, str(t)) for t in targets]

    def labels(self) -> list[str]:
        """Report columns in a stable order: implementations, then pairs."""
        if not self.impls:
            return [str(t) for t in self.targets]
        pairs = interop_pairs(self.impls, self.same_impl_pairs)
        return [str(t) for t in self.impls] + [p.label for p in pairs]

    # Loaded on first use: the plugin is active in every pytest run of the project, scenarios or not.
    @functools.cached_property
    def catalog(self) -> Catalog:
        return load_catalog()

    @functools.cached_property
    def workdir(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="boltcheck-"))


STATE_KEY = pytest.StashKey[BoltcheckState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("boltcheck", "boltcheck scenarios (suites/*.yaml)")
    group.addoption(
        "--boltcheck-target", default="reference", help="implementation(s) under test, comma-separated"
    )
    group.addoption(
        "--boltcheck-impls",
        default=None,
        help="interop matrix: implementations, comma-separated; interop scenarios run per ordered pair",
    )
    group.addoption(
        "--boltcheck-same-impl-pairs",
        action="store_true",
        default=False,
        help="with --boltcheck-impls: also pair each implementation (but the reference) with itself",
    )
    group.addoption(
        "--boltcheck-report", default=None, type=Path, help="write the four reports to this folder"
    )
    group.addoption(
        "--boltcheck-suite",
        default=None,
        help="collect only the named suite of suites/suites.yaml (default, full, onchain, ...)",
    )
    group.addoption("--boltcheck-seed", default=None, type=int, help="run seed (default: random, recorded)")
    group.addoption("--boltcheck-chain", default=None, choices=CHAINS, help="chain backend (embedded)")
    group.addoption(
        "--boltcheck-launcher", default=None, choices=LAUNCHERS, help="how to launch cln/lnd (process)"
    )


def _worker_input(config: pytest.Config) -> dict[str, Any] | None:
    return getattr(config, "workerinput", None)


def _launch_setting(config: pytest.Config, option: str, variable: str, default: str) -> str:
    """The option given on the command line, else the BOLTCHECK_* variable, else the default."""
    given = config.getoption(option)
    return str(given) if given is not None else (os.environ.get(variable) or default)


def pytest_configure(config: pytest.Config) -> None:
    try:
        targets = tuple(TargetSpec.parse(t) for t in config.getoption("--boltcheck-target").split(","))
        impls_option = config.getoption("--boltcheck-impls")
        impls = tuple(TargetSpec.parse(t) for t in impls_option.split(",")) if impls_option else ()
        suite_name = config.getoption("--boltcheck-suite")
        selected = frozenset(suite_files(suite_name)) if suite_name else None
    except (TargetSpecError, SuiteManifestError) as exc:
        raise pytest.UsageError(str(exc)) from exc
    worker_input = _worker_input(config)
    if worker_input is not None and "boltcheck_seed" in worker_input:
        seed = int(worker_input["boltcheck_seed"])
    else:
        given = config.getoption("--boltcheck-seed")
        seed = given if given is not None else secrets.randbits(32)
    report_dir = config.getoption("--boltcheck-report")
    numprocesses = getattr(config.option, "numprocesses", None)
    config.stash[STATE_KEY] = BoltcheckState(
        targets=targets,
        seed=seed,
        chain=_launch_setting(config, "--boltcheck-chain", "BOLTCHECK_CHAIN", "embedded"),
        launcher=_launch_setting(config, "--boltcheck-launcher", "BOLTCHECK_LAUNCHER", "process"),
        report_dir=report_dir.resolve() if report_dir else None,
        started_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        started=time.monotonic(),
        workers=numprocesses if isinstance(numprocesses, int) and numprocesses > 0 else 1,
        impls=tuple(dict.fromkeys(impls)),
        same_impl_pairs=bool(config.getoption("--boltcheck-same-impl-pairs")),
        suite_files=selected,
    )
    config.pluginmanager.register(ResultGatherer(config.stash[STATE_KEY]), "boltcheck-results")
    if _worker_input(config) is None and _launch_options_given(config):
        state = config.stash[STATE_KEY]
        # Exported before xdist starts its workers, so the launchers see the same settings everywhere.
        from harness.launchers.options import export_for_run

        export_for_run(state.launcher, state.chain)


def _launch_options_given(config: pytest.Config) -> bool:
    return any(config.getoption(o) is not None for o in ("--boltcheck-chain", "--boltcheck-launcher"))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist (controller): every worker runs with the controller's seed."""
    node.workerinput["boltcheck_seed"] = node.config.stash[STATE_KEY].seed


def pytest_report_header(config: pytest.Config) -> str:
    state = config.stash[STATE_KEY]
    if state.impls:
        impls = ", ".join(str(t) for t in state.impls)
        return f"boltcheck: interop matrix of {impls}, seed {state.seed}, chain {state.chain}"
    targets = ", ".join(str(t) for t in state.targets)
    return f"boltcheck: target {targets}, seed {state.seed}, chain {state.chain}"


def _is_scenario_file(file_path: Path, config: pytest.Config) -> bool:
    if file_path.suffix not in (".yaml", ".yml") or "requirements" in file_path.parts:
        return False
    if file_path.name == SUITES_MANIFEST:
        return False
    selected = config.stash[STATE_KEY].suite_files
    if selected is not None:
        # a named suite lists its files: nothing else is a scenario of this run
        return file_path.resolve() in selected
    given = {Path(str(arg).split("::")[0]).resolve() for arg in config.args}
    return "suites" in file_path.parts or file_path.resolve() in given


def _named_explicitly(file_path: Path, config: pytest.Config) -> bool:
    """The file, or an interop folder holding it, was given on the command line, or the named suite
    (--boltcheck-suite) lists it."""
    path = file_path.resolve()
    selected = config.stash[STATE_KEY].suite_files
    if selected is not None and path in selected:
        return True
    for arg in config.args:
        given = Path(str(arg).split("::")[0]).resolve()
        if given == path or (given.is_dir() and path.is_relative_to(given) and INTEROP_TAG in given.parts):
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if _is_scenario_file(file_path, parent.config):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        state = self.config.stash[STATE_KEY]
        try:
            scenario = load_scenario(self.path, state.catalog)
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from exc
        if INTEROP_TAG in scenario.tags and not state.impls and not _named_explicitly(self.path, self.config):
            return
        pairings = state.pairings(scenario)
        for pairing in pairings:
            bare = len(pairings) == 1 and not state.impls
            name = scenario.name if bare else f"{scenario.name}[{pairing.label}]"
            yield ScenarioItem.from_parent(self, name=name, scenario=scenario, pairing=pairing)


def _run_to_completion(scenario_run: Coroutine[Any, Any, ScenarioResult]) -> ScenarioResult:
    """asyncio.run, but without joining the default executor's threads at the end.

    A reference node's chain watcher long-polls the chain in a worker thread (bounded by its watch
    timeout); its task is cancelled when the node stops, but asyncio.run joins the thread, so every
    scenario waited for that poll to time out: about 0.4 s each, 30 s of a 60 s default run measured.
    The abandoned poll ends on its own at its timeout; it only reads the (closed) chain's height.
    """
    loop = asyncio.new_event_loop()
    executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="boltcheck-scenario")
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(scenario_run)
    finally:
        try:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
            asyncio.set_event_loop(None)
            loop.close()


#: time beyond a scenario's own (scaled) limit for starting and stopping its nodes
_HANG_GUARD_MARGIN_S = 120.0


class ScenarioFailed(AssertionError):
    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.reason)
        self.result = result


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, pairing: Pairing, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.pairing = pairing
        self.target = pairing.target
        for tag in scenario.tags:
            self.extra_keyword_matches.add(tag)
        # a slow implementation's scenarios get longer limits (DriverCapabilities.timeout_factor): the
        # hang guard (pytest-timeout, [tool.pytest.ini_options] timeout) must not cut them shorter
        settings = RunSettings(target=self.target, seed=0, workdir=Path("."), peer=pairing.peer)
        factor = timeout_factor(settings.implementation_of(scenario).values())
        if factor > 1.0:
            self.add_marker(pytest.mark.timeout(scenario.timeout_s * factor + _HANG_GUARD_MARGIN_S))

    def runtest(self) -> None:
        state = self.config.stash[STATE_KEY]
        settings = RunSettings(
            target=self.target,
            seed=state.seed,
            workdir=state.workdir,
            chain=state.chain,
            launcher=state.launcher,
            peer=self.pairing.peer,
            label=self.pairing.label,
        )
        result = _run_to_completion(run_scenario(self.scenario, settings))
        self.user_properties.append((_RESULT_PROPERTY, json.dumps(result.to_json())))
        for rid, (status, _step) in sorted(result.requirement_statuses().items()):
            self.user_properties.append((f"requirement:{rid}", status.value))
        if result.status is Status.SKIP:
            pytest.skip(result.reason)
        if result.status in (Status.FAIL, Status.ERROR):
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            result = excinfo.value.result
            return f"{result.status.value}: {result.reason}\n{evidence_text(result)}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.scenario.name} [{self.pairing.label}]"


def _report_targets(state: BoltcheckState) -> tuple[str, ...]:
    """The report's columns: the configured ones that have results (all when nothing ran), then any
    other label a result carries."""
    seen = {r.target for r in state.results}
    configured = [label for label in state.labels() if label in seen] or state.labels()
    return tuple(dict.fromkeys([*configured, *sorted(seen)]))


class ResultGatherer:
    """Registered per session: gathers each scenario's result (on the xdist controller too, where
    worker reports are replayed) and writes the reports once, at the end, outside the workers."""

    def __init__(self, state: BoltcheckState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == _RESULT_PROPERTY:
                self.state.results.append(ScenarioResult.from_json(json.loads(str(value))))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        state = self.state
        if "workdir" in state.__dict__ and exitstatus == pytest.ExitCode.OK:
            shutil.rmtree(state.workdir, ignore_errors=True)  # kept when something failed, for its logs
        if _worker_input(session.config) is not None or state.report_dir is None:
            return
        info = RunInfo(
            run_seed=state.seed,
            targets=_report_targets(state),
            started_at=state.started_at,
            duration_s=time.monotonic() - state.started,
            chain=state.chain,
            launcher=state.launcher,
            spec_commit=spec_commit_of(state.catalog),
            workers=state.workers,
        )
        paths = write_reports(build_report(info, state.results, state.catalog), state.report_dir)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"boltcheck reports (seed {state.seed}): " + ", ".join(str(p) for p in paths))
