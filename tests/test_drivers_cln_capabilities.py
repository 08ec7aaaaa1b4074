"""What the harness assumes of a Core Lightning node before it starts one: it follows the chain on its own
(mining steps let it catch up block by block), reports irrevocable resolution, and gets longer limits."""

from __future__ import annotations

from pathlib import Path

from harness.drivers.base import ChainFollowing, ResolutionReporting
from harness.drivers.capabilities import CAPABILITIES, timeout_factor
from harness.drivers.cln import ClnDriver, ClnRpcEndpoint
from harness.launchers.attach import AttachedNodeHandle


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
