"""vectors/bolt01 and vectors/bolt07 are exactly what scripts/extract_bolt01_vectors.py makes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.paths import project_root

ROOT = Path(__file__).resolve().parent.parent
SPEC = project_root() / "spec" / "bolts"


@pytest.mark.skipif(not SPEC.is_dir(), reason=f"BOLT markdown not found in {SPEC}")
def test_committed_vector_files_match_a_fresh_extraction(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "extract_bolt01_vectors.py"), str(SPEC), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.json"))
    assert fresh, "the extraction produced no files"
    for relative in fresh:
        assert (tmp_path / relative).read_bytes() == (ROOT / "vectors" / relative).read_bytes(), relative
