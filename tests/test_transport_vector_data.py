"""The BOLT 8 vector files are exactly what the extraction script reads from the spec text."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import pytest

from harness.paths import project_root

SPEC_DIR = Path(os.environ.get("BOLTCHECK_SPEC_DIR", project_root() / "spec" / "bolts"))


def _extractor() -> ModuleType:
    path = project_root() / "scripts" / "extract_bolt08_vectors.py"
    spec = importlib.util.spec_from_file_location("extract_bolt08_vectors", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(
    not (SPEC_DIR / "08-transport.md").is_file(),
    reason=f"BOLT spec text not found in {SPEC_DIR} (set BOLTCHECK_SPEC_DIR)",
)
def test_vector_files_match_a_fresh_extraction_from_the_spec() -> None:
    extracted = _extractor().extract(SPEC_DIR)
    for name, content in extracted.items():
        on_disk = json.loads((project_root() / "vectors" / "bolt08" / name).read_text(encoding="utf-8"))
        assert on_disk == content, f"vectors/bolt08/{name} differs from the spec: rerun the script"


def test_every_vector_file_names_its_source() -> None:
    for path in sorted((project_root() / "vectors" / "bolt08").glob("*.json")):
        source = json.loads(path.read_text(encoding="utf-8"))["source"]
        assert source["bolt"] == "8"
        assert source["spec_file"] == "08-transport.md"
        assert len(source["spec_commit"]) == 40


def test_vector_counts_match_the_spec_inventory() -> None:
    root = project_root() / "vectors" / "bolt08"
    initiator = json.loads((root / "transport-initiator.json").read_text())["tests"]
    responder = json.loads((root / "transport-responder.json").read_text())["tests"]
    message = json.loads((root / "message-encryption.json").read_text())["test"]
    assert (len(initiator), len(responder)) == (5, 10)
    assert [o["index"] for o in message["outputs"]] == [0, 1, 500, 501, 1000, 1001]
