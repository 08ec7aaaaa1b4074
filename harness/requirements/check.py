"""Check that every quote in the catalog still appears in the spec text (whitespace-normalized)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.requirements.catalog import Catalog
from harness.requirements.model import normalize_whitespace


@dataclass(frozen=True)
class MissingQuote:
    requirement_id: str
    spec_file: str
    quote: str


def check_quotes(catalog: Catalog, bolts_dir: Path) -> list[MissingQuote]:
    """Every (requirement, quote) whose quote is not in its spec file; empty means all present."""
    texts: dict[str, str] = {}
    missing = []
    for requirement in catalog:
        if requirement.spec_file not in texts:
            path = bolts_dir / requirement.spec_file
            texts[requirement.spec_file] = (
                normalize_whitespace(path.read_text(encoding="utf-8")) if path.is_file() else ""
            )
        spec_text = texts[requirement.spec_file]
        for quote in requirement.quotes:
            if normalize_whitespace(quote) not in spec_text:
                missing.append(MissingQuote(requirement.id, requirement.spec_file, quote))
    return missing
