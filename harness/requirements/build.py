"""Build the catalog from the BOLT markdown: extract, give stable ids, write one YAML file per BOLT.

Ids look like `bolt02-open_channel-receiver-must-07`: BOLT, section slug, actor, level, ordinal. The
ordinal counts within (section slug, actor, level) in document order. A rebuild keeps every id the
existing catalog already gave to the same sentence (same section, actor, level, context and text), and
numbers new sentences after the highest ordinal in use, so ids that scenarios name never move.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.requirements.catalog import read_bolt_file, write_bolt_file
from harness.requirements.extract import Extracted, extract
from harness.requirements.model import Requirement

_SPEC_FILE = re.compile(r"^(\d\d)-[\w-]+\.md$")
_COMMIT = re.compile(r"\b[0-9a-f]{40}\b")
# BOLT 0 is the introduction and glossary: it defines terms, it states no requirements.
_NON_NORMATIVE_BOLTS = frozenset({0})


class SpecSourceError(ValueError):
    """The spec folder lacks SOURCE.txt or a commit in it."""


@dataclass(frozen=True)
class BuildResult:
    bolt: int
    path: Path
    count: int
    new_ids: int


def spec_commit(bolts_dir: Path) -> str:
    source = bolts_dir / "SOURCE.txt"
    if not source.is_file():
        raise SpecSourceError(f"{source}: missing (it names the spec commit the catalog quotes)")
    match = _COMMIT.search(source.read_text(encoding="utf-8"))
    if not match:
        raise SpecSourceError(f"{source}: no 40-hex commit id in it")
    return match.group(0)


def spec_files(bolts_dir: Path) -> dict[int, Path]:
    """BOLT number -> its markdown file, for the normative BOLTs."""
    found = {}
    for path in sorted(bolts_dir.glob("*.md")):
        match = _SPEC_FILE.match(path.name)
        if match and int(match.group(1)) not in _NON_NORMATIVE_BOLTS:
            found[int(match.group(1))] = path
    return found


def _key(item: Extracted | Requirement) -> tuple[str, str, str, tuple[str, ...], str]:
    return (item.section, item.actor, item.level.name, tuple(item.context), item.text)


def _prefix(bolt: int, item: Extracted) -> str:
    return f"bolt{bolt:02d}-{item.section_slug}-{item.actor}-{item.level.slug}"


def assign_ids(
    bolt: int, found: list[Extracted], previous: list[Requirement], spec_file: str, commit: str
) -> tuple[list[Requirement], int]:
    """Requirements in document order with stable ids; also how many ids are new."""
    kept: dict[tuple[str, str, str, tuple[str, ...], str], list[str]] = {}
    highest: dict[str, int] = {}
    for requirement in previous:
        kept.setdefault(_key(requirement), []).append(requirement.id)
        prefix, _, ordinal = requirement.id.rpartition("-")
        if ordinal.isdigit():
            highest[prefix] = max(highest.get(prefix, 0), int(ordinal))
    result = []
    new_ids = 0
    for item in found:
        reusable = kept.get(_key(item))
        if reusable:
            requirement_id = reusable.pop(0)
        else:
            prefix = _prefix(bolt, item)
            highest[prefix] = highest.get(prefix, 0) + 1
            requirement_id = f"{prefix}-{highest[prefix]:02d}"
            new_ids += 1
        result.append(
            Requirement(
                id=requirement_id,
                bolt=bolt,
                section=item.section,
                level=item.level,
                actor=item.actor,
                actor_text=item.actor_text,
                text=item.text,
                context=item.context,
                spec_file=spec_file,
                spec_commit=commit,
            )
        )
    return result, new_ids


def build_catalog(bolts_dir: Path, out_dir: Path) -> list[BuildResult]:
    commit = spec_commit(bolts_dir)
    results = []
    for bolt, path in spec_files(bolts_dir).items():
        found = extract(path.read_text(encoding="utf-8"))
        if not found:
            continue
        out_path = out_dir / f"bolt{bolt:02d}.yaml"
        previous = read_bolt_file(out_path) if out_path.is_file() else []
        requirements, new_ids = assign_ids(bolt, found, previous, path.name, commit)
        write_bolt_file(out_path, bolt, path.name, commit, requirements)
        results.append(BuildResult(bolt, out_path, len(requirements), new_ids))
    return results
