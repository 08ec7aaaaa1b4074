"""vectors/bolt11/ is what scripts/extract_bolt11_vectors.py reads from the spec text today."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from harness.paths import project_root
from harness.vectors import load_json


def _extractor() -> ModuleType:
    path = project_root() / "scripts" / "extract_bolt11_vectors.py"
    spec = importlib.util.spec_from_file_location("extract_bolt11_vectors", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["valid.json", "invalid.json"])
def test_bolt11_data_file_matches_the_spec_examples(name: str) -> None:
    extractor = _extractor()
    spec_path = Path(extractor.DEFAULT_SPEC)
    if not spec_path.is_file():
        pytest.skip(f"BOLT text not available at {spec_path}")
    assert extractor.extract(spec_path)[name] == load_json(f"bolt11/{name}")


def test_every_example_of_the_spec_is_in_the_data() -> None:
    extractor = _extractor()
    spec_path = Path(extractor.DEFAULT_SPEC)
    if not spec_path.is_file():
        pytest.skip(f"BOLT text not available at {spec_path}")
    text = spec_path.read_text(encoding="utf-8")
    invoices = [
        example["invoice"]
        for name in ("valid.json", "invalid.json")
        for example in load_json(f"bolt11/{name}")["examples"]
    ]
    assert all(invoice in text for invoice in invoices)
    # Every line of the Examples sections that is an invoice (quoted or not) is one of them.
    examples_text = text[text.index("# Examples") : text.index("# Authors")]
    candidates = {
        line.removeprefix("> ").strip()
        for line in examples_text.splitlines()
        if line.removeprefix("> ").lower().startswith(("lnbc", "lntb", "pvjluez"))
    }
    assert candidates == set(invoices)
