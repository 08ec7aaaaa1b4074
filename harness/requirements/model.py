"""The requirement catalog's values: one normative sentence of a BOLT, quoted."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Level(Enum):
    """RFC 2119 keywords the BOLTs use (BOLT 0 "Conventions")."""

    MUST = "MUST"
    MUST_NOT = "MUST NOT"
    SHOULD = "SHOULD"
    SHOULD_NOT = "SHOULD NOT"
    MAY = "MAY"

    @property
    def slug(self) -> str:
        return self.name.lower()


# Longest keyword first so "MUST NOT" is not read as "MUST".
KEYWORD_PATTERN = re.compile(r"\b(MUST NOT|SHOULD NOT|MUST|SHOULD|MAY)\b")


def first_level(text: str) -> Level | None:
    """The level of the first RFC 2119 keyword in `text`, if any."""
    match = KEYWORD_PATTERN.search(text)
    return Level(match.group(1)) if match else None


@dataclass(frozen=True)
class Requirement:
    """One normative sentence: `text` is quoted verbatim (whitespace aside) from the spec.

    `context` holds the parent bullets (conditions, or a "MUST:" parent) the sentence hangs from, also
    verbatim; `actor_text` is the lead-in ("The receiving node") the actor was taken from.
    """

    id: str
    bolt: int
    section: str
    level: Level
    actor: str
    actor_text: str
    text: str
    context: tuple[str, ...]
    spec_file: str
    spec_commit: str

    @property
    def quotes(self) -> tuple[str, ...]:
        """Every string this requirement claims appears in the spec."""
        return (*self.context, self.text)


def normalize_whitespace(text: str) -> str:
    return " ".join(text.split())
