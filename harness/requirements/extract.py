"""Find the normative sentences of one BOLT markdown file.

A sentence is normative when it carries an RFC 2119 keyword (MUST, MUST NOT, SHOULD, SHOULD NOT, MAY).
Every section is read except rationale, appendices, test vectors, security considerations, references
and the like. "Requirements" sections (a heading containing "Requirements", or a "Requirements:" line)
quote each bullet whole; elsewhere (BOLT 1 "Lightning Message Format", BOLT 8, which states its rules in
prose) each normative sentence is quoted on its own.

Inside a region, a line ending in ":" that is not a bullet ("The receiving node:") names the actor for
the bullets below it. Bullets nest by indentation; each bullet that holds a keyword and has no children
is one requirement, quoted with its parent bullets as context. A bullet with a keyword and children
("- MUST:" followed by cases) makes each child its own requirement at the parent's level.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from harness.requirements.model import Level, first_level

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)(?:[-*+]|\d+\.)\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_REQUIREMENTS_LINE = re.compile(r"^requirements:\s*$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*_\[(])")
# Headings after which a prose-only BOLT stops being normative text.
_NON_NORMATIVE_HEADING = re.compile(
    r"appendix|test vectors?|security considerations|references|authors|acknowledg|rationale",
    re.IGNORECASE,
)
_STOPWORDS = frozenset({"the", "a", "an", "of", "and", "for", "to", "requirements", "message", "messages"})

# Lead-in wording -> actor, checked in order: the first match wins ("The funding node using ...
# `open_channel`" is a funder, though the line also says "node").
_ACTORS: tuple[tuple[str, str], ...] = (
    ("origin", "origin"),
    ("final node", "final"),
    ("intermediate", "intermediate"),
    ("forwarding", "forwarding"),
    ("non-funding", "fundee"),
    ("funding node", "funder"),
    ("funder", "funder"),
    ("fundee", "fundee"),
    ("opener", "opener"),
    ("accepter", "accepter"),
    ("accepting node", "accepter"),
    ("offering node", "offerer"),
    ("fulfilling node", "fulfiller"),
    ("erring node", "erring"),
    ("not responsible", "non_fee_payer"),
    ("responsible", "fee_payer"),
    ("closer", "closer"),
    ("closee", "closee"),
    ("writer", "writer"),
    ("reader", "reader"),
    ("sending", "sender"),
    ("sender", "sender"),
    ("receiving", "receiver"),
    ("receiver", "receiver"),
    ("recipient", "recipient"),
    ("initiator", "initiator"),
    ("responder", "responder"),
    ("dns seed", "dns_seed"),
    ("local node", "local"),
    ("signature", "signer"),
    ("both nodes", "both"),
    ("both peers", "both"),
    ("either node", "both"),
    ("each node", "both"),
    ("the nodes", "both"),
    ("payer", "payer"),
    ("payee", "payee"),
    ("client", "client"),
)


@dataclass(frozen=True)
class Extracted:
    """A normative sentence found in the spec, before it gets its id."""

    section: str
    section_slug: str
    level: Level
    actor: str
    actor_text: str
    text: str
    context: tuple[str, ...]


@dataclass
class _Bullet:
    indent: int
    lines: list[str]
    children: list[_Bullet] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(part.strip() for part in self.lines if part.strip())


@dataclass
class _Block:
    """The bullets under one lead-in ("The sending node:") within a region."""

    lead_in: str
    roots: list[_Bullet] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)


def actor_from(lead_in: str) -> str:
    """The actor slug a lead-in line or sentence names ("A receiving node" -> "receiver")."""
    lowered = lead_in.lower()
    for needle, actor in _ACTORS:
        if needle in lowered:
            return actor
    return "node"


def block_actor(lead_in: str, section: str) -> str:
    """The actor of a lead-in, prefixed by the message it names when that is not the section's own
    ("A node sending a `pong` message" in the `ping` section -> "pong_sender")."""
    actor = actor_from(lead_in)
    named = re.search(r"`([a-z0-9_]+)`", lead_in)
    if named and named.group(1) != section_slug(section):
        return f"{named.group(1)}_{actor}"
    return actor


def section_slug(title: str) -> str:
    """`open_channel` for "The `open_channel` Message"; otherwise the title's main words."""
    code = re.search(r"`([^`]+)`", title)
    if code:
        return re.sub(r"[^a-z0-9_]+", "_", code.group(1).lower()).strip("_")
    words = [w for w in re.findall(r"[a-z0-9]+", title.lower()) if w not in _STOPWORDS]
    return "_".join(words[:5]) or "general"


def _strip_colon(line: str) -> str:
    return line.strip().removesuffix(":").strip()


def _leaf_sentences(text: str, prose: bool) -> list[str]:
    """The quote(s) a leaf bullet yields: the whole bullet, or in prose mode each normative sentence."""
    if not prose:
        return [text]
    return [s.strip() for s in _SENTENCE_END.split(text) if first_level(s)] or [text]


def _emit_bullet(
    bullet: _Bullet,
    block: _Block,
    section: str,
    context: tuple[str, ...],
    inherited: Level | None,
    prose: bool,
) -> Iterator[Extracted]:
    own = first_level(bullet.text)
    level = own or inherited
    if bullet.children:
        for child in bullet.children:
            yield from _emit_bullet(child, block, section, (*context, bullet.text), level, prose)
        # "- MAY close the connection,\n  - and MUST NOT fail the channels": when every child states its
        # own keyword, the parent's keyword is a requirement of its own; otherwise the children carry it.
        if own is None or not all(first_level(child.text) for child in bullet.children):
            return
    if level is None:
        return
    for text in _leaf_sentences(bullet.text, prose):
        yield Extracted(
            section=section,
            section_slug=section_slug(section),
            level=first_level(text) or level,
            actor=block_actor(block.lead_in, section) if block.lead_in else actor_from(text),
            actor_text=_strip_colon(block.lead_in) if block.lead_in else "",
            text=text,
            context=context,
        )


def _emit_block(block: _Block, section: str, prose: bool) -> Iterator[Extracted]:
    lead_level = first_level(block.lead_in) if block.lead_in else None
    # A lead-in carrying the keyword ("The receiving node MUST fail the channel if:") is context too.
    root_context = (block.lead_in.strip(),) if lead_level else ()
    for paragraph in block.paragraphs:
        for sentence in _SENTENCE_END.split(paragraph):
            level = first_level(sentence)
            if level is None:
                continue
            yield Extracted(
                section=section,
                section_slug=section_slug(section),
                level=level,
                actor=block_actor(block.lead_in, section) if block.lead_in else actor_from(sentence),
                actor_text=_strip_colon(block.lead_in),
                text=sentence.strip(),
                context=(),
            )
    for root in block.roots:
        yield from _emit_bullet(root, block, section, root_context, lead_level, prose)


class _RegionParser:
    """Collects blocks of one region, then turns them into requirements."""

    def __init__(self, section: str, prose: bool = False) -> None:
        self.section = section
        self.prose = prose
        self.blocks: list[_Block] = [_Block(lead_in="")]
        self.stack: list[_Bullet] = []
        self.paragraph: list[str] = []
        self.previous_blank = True

    @property
    def block(self) -> _Block:
        return self.blocks[-1]

    def _flush_paragraph(self) -> None:
        if self.paragraph:
            self.block.paragraphs.append(" ".join(p.strip() for p in self.paragraph))
            self.paragraph = []

    def feed(self, line: str) -> None:
        if not line.strip():
            self._flush_paragraph()
            self.previous_blank = True
            return
        if line.lstrip().startswith("|"):  # tables hold field layouts, never requirements
            self.previous_blank = False
            return
        bullet = _BULLET.match(line)
        if bullet:
            self._flush_paragraph()
            indent = len(bullet.group(1).expandtabs(4))
            node = _Bullet(indent=indent, lines=[bullet.group(2)])
            while self.stack and self.stack[-1].indent >= indent:
                self.stack.pop()
            if self.stack:
                self.stack[-1].children.append(node)
            else:
                self.block.roots.append(node)
            self.stack.append(node)
        elif self.stack and (line[:1].isspace() or not self.previous_blank):
            self.stack[-1].lines.append(line)  # continuation of the current bullet
        elif line.rstrip().endswith(":") and not self.paragraph:
            self.blocks.append(_Block(lead_in=line.strip()))
            self.stack = []
        else:
            self.stack = []
            self.paragraph.append(line)
        self.previous_blank = False

    def finish(self) -> Iterator[Extracted]:
        self._flush_paragraph()
        for block in self.blocks:
            yield from _emit_block(block, self.section, self.prose)


def _is_excluded(headings: list[tuple[int, str]]) -> bool:
    return any(_NON_NORMATIVE_HEADING.search(title) for _, title in headings)


def extract(markdown: str) -> list[Extracted]:
    """Every normative sentence of one BOLT file, in document order."""
    found: list[Extracted] = []
    region: _RegionParser | None = None
    in_code = False
    headings: list[tuple[int, str]] = []
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            continue
        heading = _HEADING.match(line)
        if heading:
            if region is not None:
                found.extend(region.finish())
            depth, title = len(heading.group(1)), heading.group(2)
            while headings and headings[-1][0] >= depth:
                headings.pop()
            parent = headings[-1][1] if headings else title
            headings.append((depth, title))
            if _is_excluded(headings):
                region = None
            elif "requirements" in title.lower():
                region = _RegionParser(parent if title.strip().lower() == "requirements" else title)
            else:
                region = _RegionParser(title, prose=True)
            continue
        if region is not None and _REQUIREMENTS_LINE.match(line):
            found.extend(region.finish())
            region = _RegionParser(headings[-1][1] if headings else "general")
            continue
        if region is not None:
            region.feed(line)
    if region is not None:
        found.extend(region.finish())
    return found
