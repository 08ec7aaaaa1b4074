"""The requirement catalog: normative BOLT sentences with stable ids (suites/requirements/boltNN.yaml).

Public API: `load_catalog()` -> `Catalog`, `Requirement`, `Level`, `build_catalog(bolts_dir, out_dir)`,
`check_quotes(catalog, bolts_dir)`.
"""

from harness.requirements.build import build_catalog, spec_commit
from harness.requirements.catalog import Catalog, CatalogError, catalog_dir, load_catalog, spec_commit_of
from harness.requirements.check import MissingQuote, check_quotes
from harness.requirements.model import Level, Requirement

__all__ = [
    "Catalog",
    "CatalogError",
    "Level",
    "MissingQuote",
    "Requirement",
    "build_catalog",
    "catalog_dir",
    "check_quotes",
    "load_catalog",
    "spec_commit",
    "spec_commit_of",
]
