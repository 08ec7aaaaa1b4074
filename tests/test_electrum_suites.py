"""The project's scenario suites with Electrum 4.3.4 as the target (`boltcheck run --target electrum`).

Electrum requires `gossip_queries` of every peer (lnworker.LNWALLET_FEATURES) and closes the connection
otherwise; the reference node's default features and the scripted peers' features in suites/ do not offer
it. This test copies the chosen suites into a temporary folder with `gossip_queries` (odd bit) added to
every reference and scripted peer, runs them once against Electrum, and checks each outcome: the scenarios
Electrum passes, and the ones that fail on a known Electrum deviation (with the requirement it breaks).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.paths import suites_dir
from reference_node.node import LIGHTNING_FEATURES
from reference_node.wire.features import Feature, Features

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("electrum") is None, reason="Electrum is not installed (scripts/install-electrum.sh)"
    ),
]

PASSING = [
    "bolt02_open_target_opener_static_remotekey",
    "bolt02_open_target_accepter_static_remotekey",
    "bolt02_pay_both_ways_many",
    "bolt02_pay_concurrent",
    "bolt02_close_mutual_target",
    "bolt02_close_mutual_peer",
    "bolt02_reestablish_lost_commitment_signed",
    "bolt02_restart_after_kill",
    "bolt02_update_fee",
    "bolt02_update_fee_from_non_funder",
    "bolt02_unknown_messages_mid_channel",
    "bolt02_bad_commitment_signature",
    "bolt05_breach_no_htlcs",
    "bolt05_htlc_timeout_remote",
    "bolt02_update_fee_unreasonable",
    "bolt02_bad_commitment_htlc_signature",
    "bolt05_breach_second_stage",
    "bolt11_payment_secret",
    "bolt11_underpayment",
    "bolt02_open_channel_receiver_must_01",
]
# Electrum 4.3.4 deviations the suites catch (evidence in the report; see also the source lines named).
DEVIATIONS = {
    # lnchannel.should_be_closed_due_to_expiring_htlcs goes on chain only when the expired offered HTLCs
    # are worth more than max(10 * n * dust_limit, 500_000) sat: a 70_000 sat HTLC stays past its deadline.
    "bolt05_htlc_deadline": "bolt02-cltv_expiry_delta-offerer-must-02",
    # answers accept_channel to a channel_type with option_zeroconf from an untrusted peer
    "bolt02_open_channel_receiver_must_18": "bolt02-open_channel-receiver-must-18",
}
GOSSIP_QUERIES_OPTIONAL = Features.of(optional=[Feature.gossip_queries])


def _with_gossip_queries(text: str) -> str:
    def add_bit(match: re.Match[str]) -> str:
        features = Features.from_bytes(bytes.fromhex(match.group(1))) | GOSSIP_QUERIES_OPTIONAL
        return f'features: "{features.to_bytes().hex()}"'

    text = re.sub(r'features: "([0-9a-f]*)"', add_bit, text)
    default = (LIGHTNING_FEATURES | GOSSIP_QUERIES_OPTIONAL).to_bytes().hex()
    # reference nodes without options get the node's default features plus gossip_queries
    return re.sub(
        r"^(\s+)implementation: reference\n(?!\1options:)",
        lambda m: f'{m.group(0)}{m.group(1)}options: {{features: "{default}"}}\n',
        text,
        flags=re.MULTILINE,
    )


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("electrum-suites")
    suites = root / "suites"
    suites.mkdir()
    names = [*PASSING, *DEVIATIONS]
    for name in names:
        source = suites_dir() / f"{name}.yaml"
        (suites / source.name).write_text(_with_gossip_queries(source.read_text(encoding="utf-8")))
    report = root / "report"
    # the run keeps its work folder (the nodes' logs) when a scenario fails, as the deviations do: under
    # pytest's tmp_path it goes with the test's other files (pytest keeps the last three runs)
    work = root / "work"
    work.mkdir()
    command = [sys.executable, "-m", "harness.cli", "run", "--suite", str(suites), "--target", "electrum"]
    subprocess.run(
        [*command, "--report", str(report), "-n", "2"],
        env={**os.environ, "TMPDIR": str(work)},
        check=False,
        capture_output=True,
        timeout=1800,
    )
    data = json.loads((report / "report.json").read_text(encoding="utf-8"))
    return {Path(s["path"]).stem: s for s in data["scenarios"]}


@pytest.mark.parametrize("name", PASSING)
def test_electrum_passes_the_scenario(outcomes: dict[str, dict[str, Any]], name: str) -> None:
    outcome = outcomes[name]
    assert outcome["status"] == "pass", outcome.get("reason")


@pytest.mark.parametrize(("name", "requirement"), sorted(DEVIATIONS.items()))
def test_electrum_fails_the_scenario_on_a_known_deviation(
    outcomes: dict[str, dict[str, Any]], name: str, requirement: str
) -> None:
    outcome = outcomes[name]
    assert outcome["status"] == "fail", outcome.get("reason")
    failed = [step for step in outcome["steps"] if step["status"] == "fail"]
    assert requirement in failed[0]["evidences"], failed


def test_the_gossip_queries_patch_adds_only_bit_7() -> None:
    patched = _with_gossip_queries('    options: {features: "100008805102"}\n')
    assert patched == '    options: {features: "100008805182"}\n'
