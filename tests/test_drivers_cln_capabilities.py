"""What the harness assumes of a Core Lightning node before it starts one: it follows the chain on its own
(mining steps let it catch up block by block), reports irrevocable resolution, and gets longer limits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.drivers.base import ChainFollowing, ResolutionReporting
from harness.drivers.capabilities import CAPABILITIES, timeout_factor
from harness.drivers.cln import ClnDriver, ClnRpcEndpoint
from harness.launchers.attach import AttachedNodeHandle
from harness.paths import project_root


def cln_driver() -> ClnDriver:
    endpoint = ClnRpcEndpoint(unix_path=Path("/tmp/bc-unused/lightning-rpc"))  # never connected here
    return ClnDriver(AttachedNodeHandle("cln", "cln"), endpoint, None, developer=False)


def test_a_cln_driver_follows_the_chain_and_reports_resolution() -> None:
    driver = cln_driver()
    assert isinstance(driver, ChainFollowing) and isinstance(driver, ResolutionReporting)


def test_a_scenario_with_a_cln_node_gets_the_cln_timeout_factor() -> None:
    assert timeout_factor(["reference", "cln"]) == CAPABILITIES["cln"].timeout_factor > 1.0


def test_reference_only_scenarios_keep_their_own_limits() -> None:
    assert timeout_factor(["reference", "reference"]) == 1.0
    assert timeout_factor(["not-declared"]) == 1.0


_SHOW_TIMEOUTS = """
import sys
import pytest
class Show:
    def pytest_collection_finish(self, session):
        for item in session.items:
            marker = item.get_closest_marker("timeout")
            print("ITEM", item.name, marker.args[0] if marker else None)
arguments = ["--collect-only", "-q", "-p", "no:cacheprovider", sys.argv[1]]
pytest.main([*arguments, "--boltcheck-target=" + sys.argv[2]], plugins=[Show()])
"""


def _collected_timeouts(target: str) -> dict[str, str]:
    scenario = "suites/bolt05_htlc_timeout_local.yaml"
    done = subprocess.run(
        [sys.executable, "-c", _SHOW_TIMEOUTS, scenario, target],
        cwd=project_root(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("ITEM ")]
    return {row[1]: row[2] for row in rows}


def test_a_cln_scenario_item_gets_a_hang_guard_scaled_like_the_scenario() -> None:
    scaled = _collected_timeouts("cln")["bolt05-htlc-timeout-local"]
    assert float(scaled) > 300.0  # the ini's hang guard, which cut cln's BOLT 5 scenarios short
    assert _collected_timeouts("reference") == {"bolt05-htlc-timeout-local": "None"}
