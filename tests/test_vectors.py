"""Every BOLT test vector, one pytest item each (the same checks `boltcheck vectors` runs)."""

from __future__ import annotations

import pytest

from harness.vectors import VectorCase, all_cases, run_case

CASES = list(all_cases())


@pytest.mark.parametrize("case", CASES, ids=[f"bolt{c.bolt:02d}-{c.id}" for c in CASES])
def test_vector(case: VectorCase) -> None:
    result = run_case(case)
    assert result.status == "pass", result.detail
