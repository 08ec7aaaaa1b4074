"""Run one scenario: make its nodes, run its steps in order with time limits, collect evidence.

Every random choice comes from the scenario seed (derived from the run seed and the scenario name),
which the result records, so a failure replays with `--seed`. Nothing sleeps: each step awaits its
events under a timeout, and the whole scenario runs under `timeout_s`.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.chain.backend import ChainBackend
from harness.drivers.base import DriverError, NodeAddress, NodeDriver, UnsupportedOperation
from harness.drivers.capabilities import CAPABILITIES, timeout_factor
from harness.drivers.peer import ExpectationFailed, PeerSession
from harness.drivers.registry import SCRIPTED, NodeSetup, create_driver, create_peer
from harness.drivers.targets import TargetSpec
from harness.paths import DataDirNotFound, project_root
from harness.scenarios.model import Scenario, StepCall
from harness.scenarios.needs import unmet_needs
from harness.scenarios.results import ScenarioResult, Status, StepResult

# Time a step gets beyond its own timeout_s, to report the step's own timeout rather than ours.
_STEP_GRACE_S = 5.0
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0
# secp256k1 group order: a derived private key must be below it (BOLT 8 static keys).
_CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def open_chain(kind: str, data_dir: Path, seed: int) -> ChainBackend:
    """The scenario's chain: an EmbeddedChain of its own (so xdist workers never share one), or with
    `--chain bitcoind` the scenario's bitcoind from the launch session (a process, a container, or the
    one at --bitcoind-rpc), which its cln/lnd nodes share. The steps see the same ChainBackend either way."""
    if kind == "bitcoind":
        from harness.launchers.session import scenario_chain

        # the session is keyed by the scenario's work dir (the parent of every node's and the chain's)
        return scenario_chain(data_dir.parent)
    if kind != "embedded":
        raise UnsupportedOperation(f"chain {kind}", "scenario runs", "chains are embedded or bitcoind")
    from harness.chain import EmbeddedChain  # the kernel loads only for scenarios that use a chain

    return EmbeddedChain(data_dir, seed=seed.to_bytes(8, "big"))


class HarnessError(RuntimeError):
    """Something in the harness itself went wrong (not the node under test)."""


@dataclass(frozen=True)
class RunSettings:
    target: TargetSpec
    seed: int
    workdir: Path
    chain: str = "embedded"
    launcher: str = "process"
    default_step_timeout_s: float = 30.0
    #: interop scenarios: the implementation behind `${peer}` (default: the reference node)
    peer: TargetSpec | None = None
    #: the report column the result goes to (default: the target, e.g. "ldk"; pairs: "ldk->electrum")
    label: str | None = None

    @property
    def peer_spec(self) -> TargetSpec:
        return self.peer if self.peer is not None else TargetSpec("reference")

    def implementation_of(self, scenario: Scenario) -> dict[str, str]:
        """The implementation each node of `scenario` runs, placeholders resolved."""
        resolved = {}
        for spec in scenario.nodes.values():
            if spec.is_target:
                resolved[spec.name] = self.target.implementation
            elif spec.is_peer:
                resolved[spec.name] = self.peer_spec.implementation
            else:
                resolved[spec.name] = spec.implementation
        return resolved

    def result_label(self) -> str:
        return self.label if self.label is not None else str(self.target)


def scenario_seed(run_seed: int, scenario_name: str) -> int:
    digest = hashlib.sha256(f"boltcheck/{run_seed}/{scenario_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def node_private_key(seed: int, node_name: str) -> bytes:
    counter = 0
    while True:
        material = f"boltcheck-node-key/{seed}/{node_name}/{counter}".encode()
        key = hashlib.sha256(material).digest()
        if 0 < int.from_bytes(key, "big") < _CURVE_ORDER:
            return key
        counter += 1


@dataclass
class _Context:
    """The StepContext a scenario's steps see."""

    scenario: Scenario
    settings: RunSettings
    scenario_seed: int
    workdir: Path
    rng: random.Random
    peers: dict[str, PeerSession] = field(default_factory=dict)
    drivers: dict[str, NodeDriver] = field(default_factory=dict)
    txids: list[str] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)
    opened_chain: ChainBackend | None = None
    #: scales every time limit for slow implementations (DriverCapabilities.timeout_factor)
    timeout_factor: float = 1.0

    @property
    def default_timeout_s(self) -> float:
        return self.settings.default_step_timeout_s * self.timeout_factor

    def is_peer(self, name: str) -> bool:
        return name in self.peers

    def peer(self, name: str) -> PeerSession:
        try:
            return self.peers[name]
        except KeyError:
            raise HarnessError(f"{name!r} is not a scripted peer of {self.scenario.name}") from None

    def driver(self, name: str) -> NodeDriver:
        try:
            return self.drivers[name]
        except KeyError:
            raise HarnessError(f"{name!r} is not a driven node of {self.scenario.name}") from None

    def address(self, name: str) -> NodeAddress:
        return self.driver(name).address

    @property
    def chain(self) -> ChainBackend:
        if self.opened_chain is None:
            self.opened_chain = open_chain(self.settings.chain, self.workdir / "chain", self.scenario_seed)
        return self.opened_chain

    def record_txid(self, txid: str) -> None:
        self.txids.append(txid)

    def set_value(self, key: str, value: object) -> None:
        self.values[key] = value

    def get_value(self, key: str) -> object:
        try:
            return self.values[key]
        except KeyError:
            raise HarnessError(f"no value {key!r} was set by an earlier step") from None

    async def start_nodes(self) -> None:
        implementations = self.settings.implementation_of(self.scenario)
        for spec in self.scenario.nodes.values():
            implementation, defect = spec.implementation, None
            if spec.is_target:
                implementation, defect = self.settings.target.implementation, self.settings.target.defect
            elif spec.is_peer:
                peer = self.settings.peer_spec
                implementation, defect = peer.implementation, peer.defect
            setup = NodeSetup(
                name=spec.name,
                implementation=implementation,
                private_key=node_private_key(self.scenario_seed, spec.name),
                workdir=self.workdir / spec.name,
                defect=defect,
                options=_options_for_counterparts(spec.name, implementation, spec.options, implementations),
                # Driven nodes share the scenario's chain (the reference node needs it for channels).
                chain=self.chain if self._nodes_need_chain(implementation) else None,
            )
            setup.workdir.mkdir(parents=True, exist_ok=True)
            if implementation == SCRIPTED:
                self.peers[spec.name] = create_peer(setup)
            else:
                driver = create_driver(setup)
                self.drivers[spec.name] = driver
                await asyncio.wait_for(driver.start(), _START_TIMEOUT_S)

    def _nodes_need_chain(self, implementation: str) -> bool:
        # interop scenarios always run on a chain: the reference node offers its channel features only
        # with one, and LDK and Electrum need one to start
        return implementation != SCRIPTED and (self.scenario.uses_chain or self.scenario.is_interop)

    async def shutdown(self) -> list[str]:
        """Close every peer and stop every node; returns what went wrong doing so."""
        problems = []
        for name, peer in self.peers.items():
            try:
                await asyncio.wait_for(peer.close(), _STOP_TIMEOUT_S)
            except (DriverError, OSError, TimeoutError) as exc:
                problems.append(f"closing {name}: {type(exc).__name__}: {exc}")
        for name, driver in self.drivers.items():
            try:
                await asyncio.wait_for(driver.stop(), _STOP_TIMEOUT_S)
            except (DriverError, OSError, TimeoutError) as exc:
                problems.append(f"stopping {name}: {type(exc).__name__}: {exc}")
        if self.opened_chain is not None:
            self.opened_chain.close()
        return problems


def _options_for_counterparts(
    name: str, implementation: str, options: Mapping[str, Any], implementations: Mapping[str, str]
) -> Mapping[str, Any]:
    """Options a node gets from the other implementations of its scenario (their `counterpart_options`,
    harness/drivers/capabilities.py); a driven reference node also offers the features they require of
    their peers (Electrum 4.3.4: gossip_queries). What the scenario sets itself always wins."""
    others = [
        CAPABILITIES[impl]
        for other, impl in implementations.items()
        if other != name and impl in CAPABILITIES
    ]
    merged: dict[str, Any] = {}
    for declared in others:
        merged.update(declared.counterpart_options.get(implementation, {}))
    required = {feature for declared in others for feature in declared.required_peer_features}
    if implementation == "reference" and required:
        from reference_node.node import LIGHTNING_FEATURES
        from reference_node.wire.features import Feature, Features

        extra = Features.of(optional=[Feature[feature] for feature in sorted(required)])
        merged["features"] = (LIGHTNING_FEATURES | extra).to_bytes().hex()
    return {**merged, **options}


async def _run_step(call: StepCall, ctx: _Context) -> tuple[Status, str]:
    own_limit = call.step.timeout()
    limit = ctx.default_timeout_s if own_limit is None else own_limit * ctx.timeout_factor + _STEP_GRACE_S
    try:
        detail = await asyncio.wait_for(call.step.run(ctx), limit)
    except ExpectationFailed as exc:
        return Status.FAIL, str(exc)
    except TimeoutError:
        return Status.FAIL, f"step did not finish within {limit:g}s"
    except UnsupportedOperation as exc:
        return Status.SKIP, str(exc)
    except Exception as exc:  # the executor's boundary: any other exception is reported, never lost
        return Status.ERROR, f"{type(exc).__name__}: {exc}"
    return Status.PASS, detail or ""


async def run_scenario(scenario: Scenario, settings: RunSettings) -> ScenarioResult:
    """Run every step of `scenario` against `settings.target`; never raises for a node's misbehaviour."""
    started = time.monotonic()
    seed = scenario_seed(settings.seed, scenario.name)
    label = settings.result_label()
    pair = (str(settings.target), str(settings.peer_spec)) if scenario.is_interop else None
    unmet = unmet_needs(scenario, settings.implementation_of(scenario))
    if unmet:
        # decided up front: the pair cannot run the scenario (a skip with the reason, not a failure)
        reason = "; ".join(unmet)
        return ScenarioResult(
            scenario=scenario.name,
            path=_display_path(scenario.path),
            target=label,
            seed=seed,
            status=Status.SKIP,
            reason=reason,
            duration_s=time.monotonic() - started,
            steps=tuple(_not_run(call, reason) for call in scenario.steps),
            pair=pair,
        )
    # one folder per scenario and target (pair): a worker runs several pairs of one scenario in turn
    workdir = settings.workdir / f"{scenario.name}-{_slug(label)}-{seed:016x}"
    ctx = _Context(scenario, settings, seed, workdir, random.Random(seed))
    ctx.timeout_factor = timeout_factor(settings.implementation_of(scenario).values())
    scenario_timeout_s = scenario.timeout_s * ctx.timeout_factor
    results: list[StepResult] = []
    status, reason = Status.PASS, ""
    try:
        async with asyncio.timeout(scenario_timeout_s):
            try:
                await ctx.start_nodes()
            except UnsupportedOperation as exc:
                status, reason = Status.SKIP, str(exc)
            except Exception as exc:  # starting nodes is harness territory: report, do not raise
                status, reason = Status.ERROR, f"starting nodes: {type(exc).__name__}: {exc}"
            for call in scenario.steps:
                if status is not Status.PASS:
                    results.append(_not_run(call, reason))
                    continue
                step_started = time.monotonic()
                step_status, detail = await _run_step(call, ctx)
                results.append(_step_result(call, step_status, detail, time.monotonic() - step_started))
                if step_status is not Status.PASS:
                    status = step_status
                    reason = f"step {call.index} ({call.name}, line {call.line}): {detail}"
    except TimeoutError:
        status, reason = (
            Status.FAIL,
            (
                f"scenario did not finish within {scenario_timeout_s:g}s "
                f"(timeout_s={scenario.timeout_s:g} x {ctx.timeout_factor:g})"
            ),
        )
        for call in scenario.steps[len(results) :]:
            results.append(_not_run(call, reason))
    finally:
        problems = await ctx.shutdown()
    if problems:
        reason = "; ".join(filter(None, [reason, *problems]))
    elif status in (Status.PASS, Status.SKIP):
        # only a failed scenario's folder (node logs and stores, the chain) is worth keeping: a passed one is
        # bulk (a run of the interop matrix would otherwise leave gigabytes behind)
        shutil.rmtree(workdir, ignore_errors=True)
    return ScenarioResult(
        scenario=scenario.name,
        path=_display_path(scenario.path),
        target=label,
        seed=seed,
        status=status,
        reason=reason,
        duration_s=time.monotonic() - started,
        steps=tuple(results),
        traces={name: tuple(peer.trace()) for name, peer in ctx.peers.items()},
        txids=tuple(ctx.txids),
        pair=pair,
    )


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label)


def _display_path(path: Path) -> str:
    """The scenario path relative to the checkout when it lies inside it (reports travel)."""
    try:
        return str(path.resolve().relative_to(project_root()))
    except (ValueError, DataDirNotFound):
        return str(path)


def _step_result(call: StepCall, status: Status, detail: str, duration_s: float) -> StepResult:
    return StepResult(call.index, call.name, call.line, status, detail, duration_s, call.evidences, call.note)


def _not_run(call: StepCall, reason: str) -> StepResult:
    return _step_result(call, Status.NOT_RUN, f"not run: {reason}", 0.0)
