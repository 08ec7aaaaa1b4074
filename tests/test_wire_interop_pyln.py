"""Independent check with pyln-proto's message codec: it reads every message we encode, writes back
the same bytes, and sees the same integer field values. Two schemas drive it: Core Lightning's BOLT 7
CSV (pyln.spec.bolt7) and a CSV made from the BOLT 1/2/7 markdown at the pinned commit."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference_node.wire import Message, encode_message, message_class, message_names
from reference_node.wire.struct import struct_fields
from reference_node.wire.types import ArrayCodec, UIntCodec
from tests.test_wire_properties import struct_values
from tests.test_wire_schema_matches_spec import BLOCKS, SPEC_STREAMS, needs_spec

pyln_message = pytest.importorskip("pyln.proto.message", reason="pyln-proto not installed (test extra)")
pyln_bolt7 = pytest.importorskip("pyln.spec.bolt7.csv", reason="pyln.spec.bolt7 not installed")

NAMESPACE = pyln_message.MessageNamespace(pyln_bolt7.csv)
BOLT7_NAMES = [name for name in message_names() if message_class(name).BOLT == 7]


def _integer_fields(msg: Message) -> dict[str, int]:
    return {
        f.name: getattr(msg, f.name)
        for f in struct_fields(type(msg))
        if isinstance(f.codec, UIntCodec) and not isinstance(f.codec, ArrayCodec)
    }


@pytest.mark.parametrize("name", BOLT7_NAMES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_pyln_reads_and_rewrites_our_bolt7_messages(name: str, data: st.DataObject) -> None:
    msg = data.draw(struct_values(message_class(name)).filter(lambda m: not m.tlvs.unknown_records))
    encoded = encode_message(msg)
    theirs = pyln_message.Message.read(NAMESPACE, io.BytesIO(encoded))
    assert theirs.messagetype.name == name
    out = io.BytesIO()
    theirs.write(out)
    assert out.getvalue() == encoded
    their_fields: dict[str, Any] = theirs.to_py()
    for field, value in _integer_fields(msg).items():
        assert their_fields[field] == value, field


# --- every BOLT 1/2/7 message, with pyln's codec driven by CSV made straight from the markdown ----
# The CSV comes from the spec text (tests/test_wire_schema_matches_spec.py's parser), not from our
# schema table, and pyln-proto does the encoding: two independent paths to the same bytes.


def _csv_field(field_type: str) -> tuple[str, str]:
    """A spec field type (`len*byte`, `32*byte`, `...*chain_hash`, `u8`) as pyln CSV (type, count)."""
    if field_type == "210*sha256[..4]":  # 4-byte truncated HMACs: the same bytes as 840 bytes
        return "byte", "840"
    count, _, element = field_type.rpartition("*")
    element = {"u8": "byte"}.get(element, element)
    return element, count


def spec_csv() -> list[str]:
    lines: list[str] = []
    messages = [b for b in BLOCKS if b.kind == "message"]
    for block in messages:
        lines.append(f"msgtype,{block.name},{block.type}")
        for field_type, name in block.fields:
            if name == "tlvs" and field_type.endswith("_tlvs"):
                continue
            element, count = _csv_field(field_type)
            lines.append(f"msgdata,{block.name},{name},{element},{count}")
        stream = next((t for t, n in block.fields if n == "tlvs" and t.endswith("_tlvs")), None)
        if stream is None and f"{block.name}_tlvs" in SPEC_STREAMS:
            stream = f"{block.name}_tlvs"
        if stream is not None:
            lines.append(f"msgdata,{block.name},tlvs,{stream},")
    for stream_block in SPEC_STREAMS.values():
        for record in stream_block.records:
            lines.append(f"tlvtype,{stream_block.name},{record.name},{record.type}")
            for field_type, name in record.fields:
                element, count = _csv_field(field_type)
                lines.append(f"tlvdata,{stream_block.name},{record.name},{name},{element},{count}")
    for sub in (b for b in BLOCKS if b.kind == "subtype"):
        lines.append(f"subtype,{sub.name}")
        for field_type, name in sub.fields:
            element, count = _csv_field(field_type)
            lines.append(f"subtypedata,{sub.name},{name},{element},{count}")
    return lines


SPEC_NAMESPACE = pyln_message.MessageNamespace(spec_csv()) if BLOCKS else None


@needs_spec
@pytest.mark.parametrize("name", message_names())
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_pyln_with_spec_csv_reads_and_rewrites_every_message(name: str, data: st.DataObject) -> None:
    msg = data.draw(struct_values(message_class(name)).filter(lambda m: not m.tlvs.unknown_records))
    encoded = encode_message(msg)
    theirs = pyln_message.Message.read(SPEC_NAMESPACE, io.BytesIO(encoded))
    assert theirs.messagetype.name == name
    out = io.BytesIO()
    theirs.write(out)
    assert out.getvalue() == encoded
    their_fields: dict[str, Any] = theirs.to_py()
    for field, value in _integer_fields(msg).items():
        assert their_fields[field] == value, field
