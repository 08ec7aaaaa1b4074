"""BOLT 1 error sender: "SHOULD send `error` with the unknown `channel_id` in reply to messages of type
`32`-`255` related to unknown channels" (the reference node used to ignore such messages silently)."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from harness.drivers.targets import TargetSpec
from harness.requirements import load_catalog
from harness.scenarios import RunSettings, Status, load_scenario, run_scenario

UNKNOWN = "e7" * 32


def _run(tmp_path: Path, message: str, fields: str, checks: list[str]) -> Status:
    path = tmp_path / "scenario.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: unknown-channel-reply
            description: a channel message for an unknown channel
            nodes:
              peer: {{implementation: scripted}}
              target: {{implementation: reference}}
            requirements: [bolt01-error-sender-should-02]
            steps:
              - mine: {{blocks: 1}}
              - connect: {{peer: peer, to: target}}
              - send: {{peer: peer, message: {message}, fields: {fields}}}
            """
        )
        + "".join(f"  - {check}\n" for check in checks)
        + "    evidences: [bolt01-error-sender-should-02]\n"
    )
    scenario = load_scenario(path, load_catalog())
    settings = RunSettings(target=TargetSpec("reference"), seed=3, workdir=tmp_path / "run")
    return asyncio.run(run_scenario(scenario, settings)).status


def test_a_channel_message_for_an_unknown_channel_draws_an_error_naming_it(tmp_path: Path) -> None:
    status = _run(
        tmp_path,
        "update_fee",
        f'{{channel_id: "{UNKNOWN}", feerate_per_kw: 1000}}',
        [f'expect: {{peer: peer, message: error, fields: {{channel_id: "{UNKNOWN}"}}, timeout_s: 5}}'],
    )
    assert status is Status.PASS


def test_a_message_outside_32_to_255_for_an_unknown_channel_draws_no_error(tmp_path: Path) -> None:
    # announcement_signatures (259) is a BOLT 7 message: the rule is for types 32-255 only
    status = _run(
        tmp_path,
        "announcement_signatures",
        f'{{channel_id: "{UNKNOWN}"}}',
        ["expect_no_disconnect: {peer: peer}", "expect_not_received: {peer: peer, message: error}"],
    )
    assert status is Status.PASS
