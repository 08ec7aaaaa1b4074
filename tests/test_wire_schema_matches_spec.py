"""The message schema table matches the BOLT markdown exactly: every message, field, type and TLV.

The spec is the authority: this test parses the message definitions of BOLT 1, 2 and 7 at the
pinned commit and compares them with the classes registered in reference_node.wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from harness.paths import project_root
from reference_node.wire import message_class, message_names
from reference_node.wire.struct import SubtypeCodec, struct_fields
from reference_node.wire.tlv import TlvStreamCodec, stream_entries
from reference_node.wire.types import ArrayCodec, Codec

SPEC_DIR = project_root() / "spec" / "bolts"
SPEC_FILES = {1: "01-messaging.md", 2: "02-peer-protocol.md", 7: "07-routing-gossip.md"}

_MSG = re.compile(r"^\s*1\. type: (\d+) \(`(\w+)`\)\s*$")
_STREAM = re.compile(r"^\s*1\. `tlv_stream`: `(\w+)`\s*$")
_SUBTYPE = re.compile(r"^\s*1\. subtype: `(\w+)`\s*$")
_FIELD = re.compile(r"^\s*\* \[`([^`]+)`:`(\w+)`\]\s*$")
_DATA = re.compile(r"^\s*2\. (data|types):\s*$")


@dataclass
class SpecRecord:
    type: int
    name: str
    fields: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SpecBlock:
    kind: str  # "message", "tlv_stream", "subtype"
    name: str
    type: int = -1
    fields: list[tuple[str, str]] = field(default_factory=list)
    records: list[SpecRecord] = field(default_factory=list)
    bolt: int = 0


def parse_spec_blocks(text: str, bolt: int) -> list[SpecBlock]:
    """Message, tlv_stream and subtype definitions, in document order."""
    blocks: list[SpecBlock] = []
    current: SpecBlock | None = None
    for line in text.splitlines():
        if current is not None and current.kind == "tlv_stream":
            record = _MSG.match(line)
            if record:
                current.records.append(SpecRecord(int(record.group(1)), record.group(2)))
                continue
        for pattern, kind in ((_MSG, "message"), (_STREAM, "tlv_stream"), (_SUBTYPE, "subtype")):
            match = pattern.match(line)
            if match:
                if kind == "message":
                    current = SpecBlock(kind, match.group(2), int(match.group(1)), bolt=bolt)
                else:
                    current = SpecBlock(kind, match.group(1), bolt=bolt)
                blocks.append(current)
                break
        else:
            if current is None:
                continue
            entry = _FIELD.match(line)
            if entry:
                target = current.records[-1].fields if current.records else current.fields
                target.append((entry.group(1), entry.group(2)))
            elif line.strip() and not _DATA.match(line):
                current = None
    return blocks


def _spec_blocks() -> list[SpecBlock]:
    blocks: list[SpecBlock] = []
    for bolt, name in SPEC_FILES.items():
        blocks.extend(parse_spec_blocks((SPEC_DIR / name).read_text(encoding="utf-8"), bolt))
    return blocks


BLOCKS = _spec_blocks() if SPEC_DIR.is_dir() else []
SPEC_MESSAGES = [b for b in BLOCKS if b.kind == "message"]
SPEC_STREAMS = {b.name: b for b in BLOCKS if b.kind == "tlv_stream"}
needs_spec = pytest.mark.skipif(not BLOCKS, reason=f"BOLT markdown not found in {SPEC_DIR}")


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _as_spec_fields(cls: type) -> list[tuple[str, str]]:
    """A struct's fields written back in the spec's `[type:name]` form (count fields made explicit)."""
    result: list[tuple[str, str]] = []
    for field_ in struct_fields(cls):
        codec: Codec[object] = field_.codec
        if isinstance(codec, TlvStreamCodec):
            continue
        if isinstance(codec, ArrayCodec) and isinstance(codec.count, str):
            assert codec.count_codec is not None
            result.append((codec.count_codec.spec_name, codec.count))
        result.append((codec.spec_name, field_.name))
    return result


def _spec_fields_without_tlvs(block: SpecBlock) -> list[tuple[str, str]]:
    return [(t, n) for t, n in block.fields if not (n == "tlvs" and t.endswith("_tlvs"))]


def _stream_of(block: SpecBlock) -> SpecBlock | None:
    explicit = next((t for t, n in block.fields if n == "tlvs" and t.endswith("_tlvs")), None)
    return SPEC_STREAMS.get(explicit or f"{block.name}_tlvs")


@needs_spec
def test_every_spec_message_is_registered_and_nothing_else() -> None:
    assert sorted(message_names()) == sorted(b.name for b in SPEC_MESSAGES)


@needs_spec
@pytest.mark.parametrize("block", SPEC_MESSAGES, ids=[b.name for b in SPEC_MESSAGES])
def test_message_type_and_fields_match_spec(block: SpecBlock) -> None:
    cls = message_class(block.name)
    assert (block.type, block.bolt) == (cls.TYPE, cls.BOLT)
    assert _as_spec_fields(cls) == _spec_fields_without_tlvs(block)


@needs_spec
@pytest.mark.parametrize("block", SPEC_MESSAGES, ids=[b.name for b in SPEC_MESSAGES])
def test_message_tlv_stream_matches_spec(block: SpecBlock) -> None:
    cls = message_class(block.name)
    codec = struct_fields(cls)[-1].codec
    assert isinstance(codec, TlvStreamCodec)
    spec_stream = _stream_of(block)
    if spec_stream is None:
        assert codec.cls.__name__ == "EmptyTlvs"
        return
    assert codec.cls.__name__ == _camel(spec_stream.name)
    ours = [(e.number, e.name, _as_spec_fields(e.record)) for e in stream_entries(codec.cls)]
    assert ours == [(r.type, r.name, r.fields) for r in spec_stream.records]


@needs_spec
def test_subtype_elements_match_spec() -> None:
    subtypes = {b.name: b for b in BLOCKS if b.kind == "subtype"}
    seen = set()
    for name in message_names():
        for field_ in struct_fields(message_class(name)):
            codec = field_.codec
            if isinstance(codec, ArrayCodec) and isinstance(codec.element, SubtypeCodec):
                seen.add(codec.element.spec_name)
                assert _as_spec_fields(codec.element.cls) == subtypes[codec.element.spec_name].fields
    assert seen == {"witness"}
