"""Named suites as data: suites/suites.yaml maps a suite name to the scenario files it runs.

Each suite lists `include` entries (and optional `exclude` entries), each relative to suites/: a folder
(every scenario under it), a file, or a glob (`bolt05_breach_*.yaml`). An entry that matches no
scenario file is an error, so a renamed file cannot silently drop out of a suite. `boltcheck run
--suite NAME` and `pytest suites/ --boltcheck-suite NAME` select the same files through `suite_files`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.paths import suites_dir
from harness.scenarios.loader import SUITES_MANIFEST, scenario_files

DEFAULT_SUITE = "default"


class SuiteManifestError(ValueError):
    """suites/suites.yaml is malformed, names an unknown suite, or has an entry matching no scenario."""


@dataclass(frozen=True)
class NamedSuite:
    name: str
    description: str
    include: tuple[str, ...]
    exclude: tuple[str, ...]


def manifest_path(root: Path | None = None) -> Path:
    return (root or suites_dir()) / SUITES_MANIFEST


def _entries(name: str, data: dict[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SuiteManifestError(f"{SUITES_MANIFEST}: suite {name!r}: {key!r} must be a list of strings")
    return tuple(value)


def load_manifest(root: Path | None = None) -> dict[str, NamedSuite]:
    """Every named suite of suites/suites.yaml (an empty mapping if the file does not exist)."""
    path = manifest_path(root)
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    suites = data.get("suites") if isinstance(data, dict) else None
    if not isinstance(suites, dict):
        raise SuiteManifestError(f"{path}: expected a top-level 'suites' mapping")
    manifest: dict[str, NamedSuite] = {}
    for name, body in suites.items():
        if not isinstance(body, dict):
            raise SuiteManifestError(f"{path}: suite {name!r} must be a mapping")
        unknown = set(body) - {"description", "include", "exclude"}
        if unknown:
            raise SuiteManifestError(f"{path}: suite {name!r}: unknown fields {sorted(unknown)}")
        include = _entries(str(name), body, "include")
        if not include:
            raise SuiteManifestError(f"{path}: suite {name!r} includes nothing")
        manifest[str(name)] = NamedSuite(
            str(name), str(body.get("description", "")), include, _entries(str(name), body, "exclude")
        )
    return manifest


def _expand(suite: str, entry: str, root: Path) -> set[Path]:
    target = root / entry
    if target.is_dir() or target.is_file():
        found = set(scenario_files(target))
    else:
        every = set(scenario_files(root))
        found = {p for p in root.glob(entry) if p in every}
        found |= {p for d in root.glob(entry) if d.is_dir() for p in scenario_files(d)}
    if not found:
        raise SuiteManifestError(f"{SUITES_MANIFEST}: suite {suite!r}: {entry!r} matches no scenario file")
    return found


def suite_files(name: str, root: Path | None = None) -> list[Path]:
    """The scenario files of the named suite (resolved, sorted)."""
    base = (root or suites_dir()).resolve()
    manifest = load_manifest(base)
    if name not in manifest:
        known = ", ".join(sorted(manifest))
        raise SuiteManifestError(f"no suite {name!r} in {SUITES_MANIFEST}; known: {known}")
    suite = manifest[name]
    selected: set[Path] = set()
    for entry in suite.include:
        selected |= _expand(name, entry, base)
    for entry in suite.exclude:
        selected -= _expand(name, entry, base)
    return sorted(selected)
