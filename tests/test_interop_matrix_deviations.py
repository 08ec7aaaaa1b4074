"""The interop matrix's single-implementation scenarios (suites/interop/deviation_*.yaml) against the
reference node, LDK 0.1 and Electrum 4.3.4, run once through `boltcheck run --impls`: the reference node
passes every one, and each known deviation of the others is a failed requirement in the report (the
failing step evidences it), every other cell passes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.drivers.ldk import ldk_missing
from harness.paths import suites_dir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1200),
    pytest.mark.skipif(ldk_missing() is not None, reason=f"LDK node unavailable: {ldk_missing()}"),
    pytest.mark.skipif(
        shutil.which("electrum") is None, reason="Electrum is not installed (scripts/install-electrum.sh)"
    ),
]

IMPLEMENTATIONS = ("reference", "ldk", "electrum")
SCENARIOS = {
    "interop_init_feature_pairs": "deviation_init_feature_pairs.yaml",
    "interop_ping_oversized": "deviation_ping_oversized.yaml",
    "interop_revoke_after_force_close": "deviation_revoke_after_force_close.yaml",
    "interop_init_assumed_features": "deviation_init_assumed_features.yaml",
    "interop_open_channel_bad_funding_pubkey": "deviation_open_channel_bad_funding_pubkey.yaml",
}
#: (scenario, implementation) -> the requirement its failing step evidences
KNOWN_DEVIATIONS = {
    # sets both bits of option_data_loss_protect (and other pairs) in init
    ("interop_init_feature_pairs", "electrum"): "bolt09-bolt_9_assigned_feature_flags-origin-must_not-03",
    # answers a ping asking for 65532 bytes, then drops the connection
    ("interop_ping_oversized", "electrum"): "bolt01-ping-receiver-must-02",
    # sends revoke_and_ack for the commitment it has just broadcast
    (
        "interop_revoke_after_force_close",
        "electrum",
    ): "bolt05-revoked_transaction_close_handling-local-must_not-01",
    # LDK: "We require features unknown to our peer ...: [0, 8, 12, 14]"; Electrum: "remote does not
    # support OPTION_DATA_LOSS_PROTECT_REQ"; both close the connection
    ("interop_init_assumed_features", "ldk"): "bolt01-init-receiver-must-03",
    ("interop_init_assumed_features", "electrum"): "bolt01-init-receiver-must-03",
    # LDK: "Got an invalid value while deserializing message", closes without error; Electrum: an exception
    # in its main loop ("invalid pubkey in channel config"), closes without error
    ("interop_open_channel_bad_funding_pubkey", "ldk"): "bolt02-open_channel-receiver-must-11",
    ("interop_open_channel_bad_funding_pubkey", "electrum"): "bolt02-open_channel-receiver-must-11",
}
CELLS = [(scenario, impl) for scenario in SCENARIOS for impl in IMPLEMENTATIONS]


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    report = tmp_path_factory.mktemp("interop-deviations") / "report"
    suite = ",".join(str(suites_dir() / "interop" / name) for name in SCENARIOS.values())
    command = [
        sys.executable,
        "-m",
        "harness.cli",
        "run",
        "--suite",
        suite,
        "--impls",
        ",".join(IMPLEMENTATIONS),
    ]
    subprocess.run(
        [*command, "--report", str(report), "-n", "2"], check=False, capture_output=True, timeout=1100
    )
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    return {(s["scenario"], s["target"]): s for s in data["scenarios"]}


@pytest.mark.parametrize(("scenario", "implementation"), [c for c in CELLS if c not in KNOWN_DEVIATIONS])
def test_the_implementation_passes_the_scenario(
    outcomes: dict[tuple[str, str], dict[str, Any]], scenario: str, implementation: str
) -> None:
    outcome = outcomes[(scenario, implementation)]
    assert outcome["status"] == "pass", outcome.get("reason")


@pytest.mark.parametrize(("scenario", "implementation"), sorted(KNOWN_DEVIATIONS))
def test_a_known_deviation_is_a_failed_requirement(
    outcomes: dict[tuple[str, str], dict[str, Any]], scenario: str, implementation: str
) -> None:
    outcome = outcomes[(scenario, implementation)]
    assert outcome["status"] == "fail", outcome.get("reason")
    failed = [step for step in outcome["steps"] if step["status"] == "fail"]
    assert KNOWN_DEVIATIONS[(scenario, implementation)] in failed[0]["evidences"], failed


def test_every_deviation_scenario_of_the_interop_suite_is_covered() -> None:
    on_disk = {path.name for path in (suites_dir() / "interop").glob("deviation_*.yaml")}
    assert on_disk == set(SCENARIOS.values())


def test_the_scenario_names_match_their_files() -> None:
    for name, file in SCENARIOS.items():
        assert f"name: {name}\n" in Path(suites_dir() / "interop" / file).read_text(encoding="utf-8")
