"""The executor: step outcomes, requirement outcomes, skips, errors, time limits and seeds.

The node side is a fake PeerSession and a fake NodeDriver, so these tests need no network.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.drivers import registry
from harness.drivers.base import NodeAddress, UnsupportedOperation
from harness.drivers.peer import Direction, ExpectationFailed, PeerSession, ReceivedMessage, TraceEntry
from harness.drivers.reference import ReferenceDriver
from harness.drivers.targets import TargetSpec
from harness.requirements import load_catalog
from harness.scenarios import RunSettings, Scenario, Status, load_scenario, run_scenario, scenario_seed
from harness.scenarios.executor import node_private_key

SCENARIO = """\
name: sample
description: ping, then an unknown even message
nodes:
  peer:
    implementation: scripted
  target:
    implementation: ${target}
requirements:
  - bolt01-ping-receiver-must-01
  - bolt01-lightning_format-receiver-must-02
steps:
  - connect: {peer: peer, to: target}
  - send: {peer: peer, message: ping, fields: {num_pong_bytes: 4}}
  - expect: {peer: peer, message: pong, timeout_s: 1}
    evidences: [bolt01-ping-receiver-must-01]
  - send_unknown: {peer: peer, type: 32768}
  - expect_disconnect: {peer: peer, timeout_s: 1}
    evidences: [bolt01-lightning_format-receiver-must-02]
"""


class FakePeer(PeerSession):
    """Records calls; `behaviour[method]` is an exception to raise, or "hang" to never answer."""

    def __init__(self, behaviour: Mapping[str, Any]) -> None:
        self.behaviour = behaviour
        self.entries: list[TraceEntry] = []
        self.closed = False

    async def _act(self, method: str, name: str = "") -> None:
        self.entries.append(TraceEntry(Direction.EVENT, f"{method} {name}".strip(), float(len(self.entries))))
        action = self.behaviour.get(method)
        if action == "hang":
            await asyncio.Event().wait()
        if isinstance(action, BaseException):
            raise action

    async def connect(self, target: NodeAddress, exchange_init: bool, timeout_s: float) -> None:
        await self._act("connect")

    async def send(self, message: str, fields: Mapping[str, Any]) -> None:
        await self._act("send", message)

    async def send_raw(self, data: bytes) -> None:
        await self._act("send_raw")

    async def expect(
        self, message: str, fields: Mapping[str, Any], timeout_s: float, skip_keepalive: bool = True
    ) -> ReceivedMessage:
        await self._act("expect", message)
        return ReceivedMessage(message, {})

    async def expect_error_or_warning(self, timeout_s: float) -> ReceivedMessage:
        await self._act("expect_error_or_warning")
        return ReceivedMessage("error", {})

    async def expect_disconnect(self, timeout_s: float) -> None:
        await self._act("expect_disconnect")

    async def expect_no_disconnect(self, timeout_s: float) -> None:
        await self._act("expect_no_disconnect")

    def trace(self) -> list[TraceEntry]:
        return list(self.entries)

    async def close(self) -> None:
        self.closed = True


CATALOG = load_catalog()


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    path = tmp_path / "sample.yaml"
    path.write_text(textwrap.dedent(SCENARIO))
    return load_scenario(path, CATALOG)


def run_with(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **behaviour: Any
) -> tuple[Any, FakePeer]:
    peer = FakePeer(behaviour)
    monkeypatch.setitem(registry._PEERS, registry.SCRIPTED, lambda setup: peer)
    monkeypatch.setitem(registry._DRIVERS, "reference", ReferenceDriver.from_setup)
    settings = RunSettings(target=TargetSpec("reference"), seed=42, workdir=tmp_path)
    return asyncio.run(run_scenario(scenario, settings)), peer


def test_all_steps_passing_passes_the_scenario_and_its_requirements(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, peer = run_with(scenario, tmp_path, monkeypatch)
    assert result.status is Status.PASS
    assert [s.status for s in result.steps] == [Status.PASS] * 5
    statuses = {rid: status for rid, (status, _) in result.requirement_statuses().items()}
    assert statuses == {
        "bolt01-ping-receiver-must-01": Status.PASS,
        "bolt01-lightning_format-receiver-must-02": Status.PASS,
    }
    assert peer.closed
    assert [e.name for e in result.traces["peer"]][:2] == ["connect", "send ping"]


def test_a_failed_expectation_fails_its_requirements_and_stops_the_scenario(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _ = run_with(scenario, tmp_path, monkeypatch, expect=ExpectationFailed("no pong within 1s"))
    assert result.status is Status.FAIL
    assert "step 2 (expect, line 14): no pong within 1s" in result.reason
    assert [s.status for s in result.steps] == [
        Status.PASS,
        Status.PASS,
        Status.FAIL,
        Status.NOT_RUN,
        Status.NOT_RUN,
    ]
    statuses = {rid: status for rid, (status, _) in result.requirement_statuses().items()}
    assert statuses["bolt01-ping-receiver-must-01"] is Status.FAIL
    assert statuses["bolt01-lightning_format-receiver-must-02"] is Status.SKIP


def test_an_unsupported_operation_skips_with_its_reason(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = UnsupportedOperation("x", "connect", "no transport yet")
    result, _ = run_with(scenario, tmp_path, monkeypatch, connect=missing)
    assert result.status is Status.SKIP
    assert "no transport yet" in result.reason
    assert all(s is Status.SKIP for s, _ in result.requirement_statuses().values())


def test_a_harness_exception_is_an_error_not_a_failure(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _ = run_with(scenario, tmp_path, monkeypatch, send=OSError("broken pipe"))
    assert result.status is Status.ERROR
    assert "OSError: broken pipe" in result.reason
    assert all(s is not Status.FAIL for s, _ in result.requirement_statuses().values())


def test_a_step_that_never_finishes_fails_at_its_time_limit(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.scenarios.executor._STEP_GRACE_S", 0.05)
    result, _ = run_with(scenario, tmp_path, monkeypatch, expect_disconnect="hang")
    assert result.status is Status.FAIL
    assert result.steps[4].detail == "step did not finish within 1.05s"


def test_a_defect_target_is_skipped_until_the_reference_node_has_defects(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    peer = FakePeer({})
    monkeypatch.setitem(registry._PEERS, registry.SCRIPTED, lambda setup: peer)
    settings = RunSettings(target=TargetSpec("reference", "no_pong"), seed=1, workdir=tmp_path)
    result = asyncio.run(run_scenario(scenario, settings))
    assert result.status is Status.SKIP
    assert "defect 'no_pong'" in result.reason


def test_an_unregistered_implementation_is_skipped(scenario: Scenario, tmp_path: Path) -> None:
    settings = RunSettings(target=TargetSpec("nonesuch"), seed=1, workdir=tmp_path)
    result = asyncio.run(run_scenario(scenario, settings))
    assert result.status is Status.SKIP
    assert "no nonesuch driver is registered" in result.reason


def test_seeds_are_deterministic_and_recorded(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result, _ = run_with(scenario, tmp_path, monkeypatch)
    assert result.seed == scenario_seed(42, "sample")
    assert scenario_seed(42, "sample") != scenario_seed(43, "sample")
    assert node_private_key(result.seed, "peer") == node_private_key(result.seed, "peer")
    assert node_private_key(result.seed, "peer") != node_private_key(result.seed, "target")


def test_scenario_results_survive_a_json_round_trip(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.scenarios import ScenarioResult

    result, _ = run_with(scenario, tmp_path, monkeypatch, expect=ExpectationFailed("no pong"))
    again = ScenarioResult.from_json(result.to_json())
    assert again.to_json() == result.to_json()
    assert again.requirement_statuses().keys() == result.requirement_statuses().keys()


def test_message_level_scenarios_give_their_nodes_no_chain(scenario: Scenario, tmp_path: Path) -> None:
    assert not scenario.uses_chain
    path = tmp_path / "restart.yaml"
    path.write_text(textwrap.dedent(SCENARIO) + "  - restart: {node: target}\n")
    assert load_scenario(path, CATALOG).uses_chain  # node steps may touch the chain through a driver


def test_a_passed_scenario_leaves_no_work_folder_and_a_failed_one_keeps_it(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passed, _ = run_with(scenario, tmp_path, monkeypatch)
    assert passed.status is Status.PASS
    assert list(tmp_path.glob(f"{scenario.name}-*")) == []
    failed, _ = run_with(scenario, tmp_path, monkeypatch, expect=ExpectationFailed("no pong within 1s"))
    assert failed.status is Status.FAIL
    kept = list(tmp_path.glob(f"{scenario.name}-*"))
    assert len(kept) == 1 and kept[0].is_dir()
