"""Suite-wide test configuration: the hypothesis profiles and the order and grouping of tests for
pytest-xdist (scripts/test.sh runs `pytest -n auto --dist loadgroup --hypothesis-profile=ci`).

Scheduling (pytest-xdist `--dist loadgroup`):
- Every test of a module that uses a module- or class-scoped fixture carries `xdist_group(<module>)`, so
  the whole module runs on one worker and the fixture is built once. Several of those fixtures run whole
  `boltcheck run`s (tests/test_defects_expectations.py, tests/test_electrum_suites.py); split across two
  workers they would run twice.
- Tests known to take long (marked `slow`, or in LONG_RUNNING_MODULES, which this file marks `slow`) are
  moved to the front, so they start first and the short tests fill the gaps behind them instead of a
  long test starting last and running alone at the tail.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profile "ci" (scripts/test.sh selects it): the same number of examples as every test asks
# for (max_examples is untouched, so every property checks what it checks locally), but no per-example
# deadline and no too_slow health check. Both only measure speed, and on a shared 2-core CI machine with
# two xdist workers plus node subprocesses an example can take several times its usual time: with them
# the suite fails on load, not on a wrong result. print_blob lets a CI failure be replayed exactly.
settings.register_profile(
    "ci",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)

# Modules whose tests take tens of seconds each (interop with real LDK and Electrum processes, node
# processes, whole `boltcheck run`s), measured with --durations on a 2-core machine. Order only: a module
# missing here still runs, just later.
LONG_RUNNING_MODULES = frozenset(
    {
        "test_crash_sigkill.py",
        "test_defects_expectations.py",
        "test_electrum_interop.py",
        "test_electrum_lightning.py",
        "test_electrum_suites.py",
        "test_ldk_electrum.py",
        "test_ldk_node.py",
        "test_ldk_reference.py",
        "test_ldk_reference_onchain.py",
        "test_node_process_channels.py",
        "test_run_command.py",
    }
)

_SHARED_SCOPES = frozenset({"module", "class"})


def _uses_a_shared_fixture(item: pytest.Item) -> bool:
    """True when the item uses a fixture built once per module or class (its setup is shared)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        definition.scope in _SHARED_SCOPES
        for definitions in info.name2fixturedefs.values()
        for definition in definitions
    )


def _is_long(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in LONG_RUNNING_MODULES:
            item.add_marker(pytest.mark.slow)
        if _uses_a_shared_fixture(item) and item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.path.name))
    # stable: within the long and the short tests, collection order (and so fixture reuse) is kept
    items.sort(key=lambda item: not _is_long(item))
