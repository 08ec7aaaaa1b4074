"""The requirement catalog: extraction rules, stable ids, and every quote present in the spec."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.paths import project_root
from harness.requirements import build_catalog, catalog_dir, check_quotes, load_catalog
from harness.requirements.build import assign_ids
from harness.requirements.extract import extract
from harness.requirements.model import Level

BOLTS_DIR = project_root() / "spec" / "bolts"  # vendored, unchanged (spec/README.md)
needs_spec = pytest.mark.skipif(not BOLTS_DIR.is_dir(), reason=f"BOLT markdown not found at {BOLTS_DIR}")

SNIPPET = """\
## The `thing` Message

### Requirements

The sending node:
  - MUST set `a` to 1.
  - if it sets `b`:
    - SHOULD NOT set `c`.
  - MUST:
    - send `x`.
    - send `y`.

A receiving node:
  - upon receiving `thing`:
    - MAY ignore it.

### Rationale

Nodes MUST NOT be quoted from here.
"""


def test_every_catalogued_quote_appears_in_the_spec() -> None:
    if not BOLTS_DIR.is_dir():
        pytest.skip(f"BOLT markdown not found at {BOLTS_DIR}")
    missing = check_quotes(load_catalog(), BOLTS_DIR)
    assert missing == [], f"{len(missing)} quotes not in the spec, first: {missing[:3]}"


def test_catalog_ids_are_unique_and_well_formed() -> None:
    catalog = load_catalog()
    assert len(catalog) > 1000
    for requirement in catalog:
        assert requirement.id.startswith(f"bolt{requirement.bolt:02d}-")
        assert f"-{requirement.actor}-{requirement.level.slug}-" in requirement.id


@needs_spec
def test_rebuilding_from_scratch_reproduces_the_committed_catalog(tmp_path: Path) -> None:
    build_catalog(BOLTS_DIR, tmp_path)
    for committed in sorted(catalog_dir().glob("bolt*.yaml")):
        assert (tmp_path / committed.name).read_text() == committed.read_text(), committed.name


@needs_spec
def test_rebuilding_over_the_catalog_keeps_every_id(tmp_path: Path) -> None:
    shutil.copytree(catalog_dir(), tmp_path, dirs_exist_ok=True)
    results = build_catalog(BOLTS_DIR, tmp_path)
    assert sum(r.new_ids for r in results) == 0


def test_a_new_sentence_gets_a_new_ordinal_and_old_ids_stay() -> None:
    found = extract(SNIPPET)
    before, _ = assign_ids(1, found, [], "01-x.md", "0" * 40)
    first = "  - MUST set `a` to 1.\n"
    inserted = extract(SNIPPET.replace(first, "  - MUST set `z` to 2.\n" + first))
    after, new_ids = assign_ids(1, inserted, before, "01-x.md", "0" * 40)
    assert new_ids == 1
    ids_before = {r.text: r.id for r in before}
    for requirement in after:
        if requirement.text in ids_before:
            assert requirement.id == ids_before[requirement.text]
    new = next(r for r in after if "`z`" in r.text)
    assert new.id == "bolt01-thing-sender-must-04"


def test_each_child_of_a_keyword_parent_is_its_own_requirement() -> None:
    children = [e for e in extract(SNIPPET) if e.context == ("MUST:",)]
    assert [c.text for c in children] == ["send `x`.", "send `y`."]
    assert all(c.level is Level.MUST for c in children)


def test_conditions_are_kept_as_context() -> None:
    found = {e.text: e for e in extract(SNIPPET)}
    assert found["SHOULD NOT set `c`."].context == ("if it sets `b`:",)
    assert found["SHOULD NOT set `c`."].level is Level.SHOULD_NOT


def test_actor_comes_from_the_lead_in() -> None:
    found = {e.text: e for e in extract(SNIPPET)}
    assert found["MUST set `a` to 1."].actor == "sender"
    assert found["MAY ignore it."].actor == "receiver"
    assert found["MAY ignore it."].section_slug == "thing"


def test_rationale_is_not_normative() -> None:
    assert all("quoted from here" not in e.text for e in extract(SNIPPET))


def test_prose_sections_yield_one_requirement_per_sentence() -> None:
    prose = "## Act One\n\nSome text. Then the responder MUST abort. More text.\n"
    (only,) = extract(prose)
    assert only.text == "Then the responder MUST abort."
    assert only.actor == "responder"
