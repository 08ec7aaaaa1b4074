"""Suite-wide test configuration: the hypothesis profiles and the order and grouping of tests for
pytest-xdist (scripts/test.sh runs `pytest -n auto --dist loadgroup --hypothesis-profile=ci`).

Scheduling (pytest-xdist `--dist loadgroup`):
- The tests of a module that defines a module- or class-scoped fixture go to one worker as one unit
  (SharedFixtureScheduling below), so the fixture is built once. Several of those fixtures run whole
  `boltcheck run`s (tests/test_defects_expectations.py, tests/test_electrum_suites.py); split across two
  workers they would run twice.
- Tests known to take long (marked `slow`, or in LONG_RUNNING_MODULES, which this file marks `slow`) are
  moved to the front, so they start first and the short tests fill the gaps behind them instead of a
  long test starting last and running alone at the tail.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

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

# A module that defines a module- or class-scoped fixture shares its setup between its tests.
_SHARED_FIXTURE = re.compile(r"""scope\s*=\s*["'](module|class)["']""")


@functools.cache
def _module_shares_a_fixture(path: Path) -> bool:
    return path.is_file() and _SHARED_FIXTURE.search(path.read_text(encoding="utf-8")) is not None


class SharedFixtureScheduling(LoadScopeScheduling):
    """`--dist loadgroup` for this suite: the tests of a module that defines a module- or class-scoped
    fixture form one unit of work (one worker, one setup); every other test is its own unit. xdist's
    own loadgroup does not work with pytest 9 (xdist 3.8 renames `item._nodeid`, which pytest 9 no
    longer reads), so the unit is decided here, on the controller, from the node id's module."""

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        super().__init__(config, log)
        self._root = config.rootpath

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return module if _module_shares_a_fixture(self._root / module) else nodeid


@pytest.hookimpl(optionalhook=True)  # a run with -p no:xdist has no such hook
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> SharedFixtureScheduling | None:
    if config.getvalue("dist") != "loadgroup":
        return None  # every other --dist mode is xdist's own
    return SharedFixtureScheduling(config, log)


def _is_long(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in LONG_RUNNING_MODULES:
            item.add_marker(pytest.mark.slow)
    # stable: within the long and the short tests, collection order (and so fixture reuse) is kept
    items.sort(key=lambda item: not _is_long(item))
