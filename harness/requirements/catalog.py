"""Load and save the requirement catalog (suites/requirements/boltNN.yaml)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.paths import suites_dir
from harness.requirements.model import Level, Requirement

# libyaml's loader when PyYAML has it (the catalog is ~1,500 entries); same safe semantics.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CatalogError(ValueError):
    """A catalog file is malformed (names the file and what is wrong)."""


def catalog_dir() -> Path:
    return suites_dir() / "requirements"


@dataclass(frozen=True)
class Catalog:
    """Every requirement of every catalogued BOLT, by id."""

    requirements: Mapping[str, Requirement]

    def __contains__(self, requirement_id: object) -> bool:
        return requirement_id in self.requirements

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self.requirements.values())

    def __len__(self) -> int:
        return len(self.requirements)

    def get(self, requirement_id: str) -> Requirement | None:
        return self.requirements.get(requirement_id)

    def bolts(self) -> list[int]:
        return sorted({r.bolt for r in self})


def _entry(requirement: Requirement) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": requirement.id,
        "bolt": requirement.bolt,
        "section": requirement.section,
        "level": requirement.level.value,
        "actor": requirement.actor,
    }
    if requirement.actor_text:
        entry["actor_text"] = requirement.actor_text
    if requirement.context:
        entry["context"] = list(requirement.context)
    entry["text"] = requirement.text
    return entry


def write_bolt_file(
    path: Path, bolt: int, spec_file: str, spec_commit: str, reqs: Iterable[Requirement]
) -> None:
    document = {
        "bolt": bolt,
        "spec_file": spec_file,
        "spec_commit": spec_commit,
        "generated_by": "boltcheck requirements build",
        "requirements": [_entry(r) for r in reqs],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        yaml.safe_dump(document, handle, sort_keys=False, allow_unicode=True, width=100)


def _require(mapping: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = mapping.get(key)
    if not isinstance(value, kind):
        raise CatalogError(f"{where}: field {key!r} must be {kind.__name__}, got {value!r}")
    return value


def read_bolt_file(path: Path) -> list[Requirement]:
    with path.open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=_SafeLoader)
    if not isinstance(document, dict):
        raise CatalogError(f"{path}: expected a mapping at the top")
    spec_file = _require(document, "spec_file", str, str(path))
    spec_commit = _require(document, "spec_commit", str, str(path))
    entries = _require(document, "requirements", list, str(path))
    result = []
    for index, entry in enumerate(entries):
        where = f"{path}: requirement #{index}"
        if not isinstance(entry, dict):
            raise CatalogError(f"{where}: expected a mapping")
        try:
            level = Level(_require(entry, "level", str, where))
        except ValueError as exc:
            raise CatalogError(f"{where}: {exc}") from exc
        result.append(
            Requirement(
                id=_require(entry, "id", str, where),
                bolt=_require(entry, "bolt", int, where),
                section=_require(entry, "section", str, where),
                level=level,
                actor=_require(entry, "actor", str, where),
                actor_text=str(entry.get("actor_text", "")),
                text=_require(entry, "text", str, where),
                context=tuple(str(c) for c in entry.get("context", [])),
                spec_file=spec_file,
                spec_commit=spec_commit,
            )
        )
    return result


def spec_commit_of(catalog: Catalog) -> str:
    """The spec commit the catalog quotes ("" for an empty catalog)."""
    return next((r.spec_commit for r in catalog), "")


def load_catalog(directory: Path | None = None) -> Catalog:
    """Every suites/requirements/boltNN.yaml, merged; duplicate ids are an error."""
    folder = directory or catalog_dir()
    requirements: dict[str, Requirement] = {}
    for path in sorted(folder.glob("bolt*.yaml")):
        for requirement in read_bolt_file(path):
            if requirement.id in requirements:
                raise CatalogError(f"{path}: duplicate requirement id {requirement.id}")
            requirements[requirement.id] = requirement
    return Catalog(requirements)
