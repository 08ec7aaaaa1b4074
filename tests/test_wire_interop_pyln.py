"""Independent check: pyln-proto's message codec (Core Lightning's BOLT 7 CSV, pyln.spec.bolt7) reads
every BOLT 7 message we encode, writes back the same bytes, and sees the same field values."""

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
