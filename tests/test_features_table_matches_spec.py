"""reference_node.wire.features.FEATURE_TABLE equals BOLT 9's "Assigned Feature Flags" table."""

from __future__ import annotations

import re

import pytest

from harness.paths import project_root
from reference_node.wire.features import FEATURE_TABLE, Feature

BOLT9 = project_root() / "spec" / "bolts" / "09-features.md"
_ROW = re.compile(r"^\|\s*(\d+)/(\d+)\s*\|\s*`(\w+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|")


def _spec_rows() -> list[tuple[int, int, str, bool, str, tuple[str, ...]]]:
    rows = []
    for line in BOLT9.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            even, odd, name, description, context, deps = match.groups()
            dependencies = tuple(re.findall(r"`(\w+)`", deps))
            rows.append(
                (int(even), int(odd), name, description.strip() == "ASSUMED", context.strip(), dependencies)
            )
    return rows


pytestmark = pytest.mark.skipif(not BOLT9.exists(), reason=f"{BOLT9} not found")


def test_feature_table_has_exactly_the_spec_rows() -> None:
    spec = _spec_rows()
    assert [(even, odd, name) for even, odd, name, *_ in spec] == [
        (row.feature.even_bit, row.feature.odd_bit, row.feature.name) for row in FEATURE_TABLE
    ]


@pytest.mark.parametrize("row", _spec_rows() if BOLT9.exists() else [], ids=lambda r: r[2])
def test_feature_context_dependencies_and_assumed_match_spec(
    row: tuple[int, int, str, bool, str, tuple[str, ...]],
) -> None:
    even, _odd, name, assumed, context, deps = row
    info = next(r for r in FEATURE_TABLE if r.feature is Feature(even))
    letters = re.findall(r"C[-+]|[INC9BT]", context)
    assert (info.assumed, sorted(c.value for c in info.contexts), [d.name for d in info.dependencies]) == (
        assumed,
        sorted(letters),
        list(deps),
    )
    assert info.feature.name == name
