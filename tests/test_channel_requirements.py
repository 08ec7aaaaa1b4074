"""Each channel error names the BOLT 2 requirement it enforces: its ids exist in the requirement catalog
(suites/requirements/bolt02.yaml) and its quoted condition is the catalog's (hence the spec's) wording."""

from __future__ import annotations

import functools
import inspect
import re

import pytest

from harness.requirements import load_catalog
from reference_node.channel import errors as e

VIOLATIONS = [
    cls
    for _, cls in inspect.getmembers(e, inspect.isclass)
    if issubclass(cls, e.PeerViolation) and cls is not e.PeerViolation
]
# generic protocol-order errors, not tied to one sentence of the spec
UNTIED = {e.UnexpectedMessage, e.CommitmentUnbuildable}


def normalized(text: str) -> str:
    text = re.sub(r"<sup>.*?</sup>", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # markdown links -> their text
    return re.sub(r"\s+", " ", text).strip().rstrip(".:").lower()


@functools.cache
def catalog_entries() -> dict[str, str]:
    catalog = load_catalog()
    return {r.id: normalized(" ".join([*r.context, r.text])) for r in catalog if r.bolt == 2}


@pytest.mark.parametrize("violation", VIOLATIONS, ids=lambda cls: cls.__name__)
def test_violation_names_catalog_requirements_in_the_specs_words(violation: type[e.PeerViolation]) -> None:
    if violation in UNTIED:
        assert violation.REQUIREMENT_IDS == ()
        return
    entries = catalog_entries()
    assert violation.REQUIREMENT_IDS, "no requirement id"
    for requirement_id in violation.REQUIREMENT_IDS:
        assert requirement_id in entries, f"{requirement_id} is not in the catalog"
    # the condition we quote (before the reaction) appears in at least one of the cited requirements
    condition = normalized(re.split(r": (?=MUST|SHOULD|MAY)", violation.REQUIREMENT)[0])
    condition = re.sub(r"^(if|receiving) ", "", condition)
    assert any(condition[:70] in entries[i] for i in violation.REQUIREMENT_IDS), (
        f"{violation.__name__}: '{condition[:70]}' not found in {violation.REQUIREMENT_IDS}"
    )
