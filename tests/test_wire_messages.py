"""Message-level behaviour: unknown types, extensions, field errors, the JSON field form."""

from __future__ import annotations

import pytest

from reference_node.wire import (
    MAX_MESSAGE_SIZE,
    EmptyTlvs,
    EncodeError,
    FieldValueError,
    Init,
    InitTlvs,
    Message,
    NetworksTlv,
    OpenChannel,
    Ping,
    RawTlv,
    ShortChannelId,
    TruncatedError,
    UnknownEvenMessageError,
    UnknownEvenTlvError,
    UnknownFieldError,
    UnknownMessage,
    UnknownMessageNameError,
    WireError,
    build_message,
    decode_message,
    encode_message,
    message_class,
    message_names,
    message_to_fields,
)
from reference_node.wire.message import message_class_by_type
from reference_node.wire.struct import struct_fields
from reference_node.wire.tlv import TlvStreamCodec
from reference_node.wire.types import ArrayCodec, PointCodec, ShortChannelIdCodec

UNUSED_ODD_TYPE = next(t for t in range(32769, 65536, 2) if message_class_by_type(t) is None)
UNUSED_EVEN_TYPE = UNUSED_ODD_TYPE + 1
POINT = bytes.fromhex("02" + "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")


def test_unknown_odd_message_is_returned_for_the_caller_to_ignore() -> None:
    data = UNUSED_ODD_TYPE.to_bytes(2, "big") + b"payload"
    assert decode_message(data) == UnknownMessage(UNUSED_ODD_TYPE, b"payload")


def test_unknown_odd_message_re_encodes_verbatim() -> None:
    data = UNUSED_ODD_TYPE.to_bytes(2, "big") + b"\x00\x01"
    assert encode_message(decode_message(data)) == data


def test_unknown_even_message_is_an_error_naming_the_type() -> None:
    with pytest.raises(UnknownEvenMessageError) as info:
        decode_message(UNUSED_EVEN_TYPE.to_bytes(2, "big"))
    assert info.value.message_type == UNUSED_EVEN_TYPE


@pytest.mark.parametrize("data", [b"", b"\x00"])
def test_message_without_a_full_type_is_truncated(data: bytes) -> None:
    with pytest.raises(TruncatedError):
        decode_message(data)


@pytest.mark.parametrize("name", message_names())
def test_every_message_rejects_a_payload_one_byte_short_of_its_fixed_fields(name: str) -> None:
    cls = message_class(name)
    minimal = encode_message(_smallest(cls))
    with pytest.raises(WireError):
        decode_message(minimal[:-1])


def _smallest(cls: type[Message]) -> Message:
    """A message with every array empty (or at its fixed size) and every integer zero."""
    values: dict[str, object] = {}
    for field in struct_fields(cls):
        codec = field.codec
        if isinstance(codec, TlvStreamCodec):
            values[field.name] = codec.cls()
        elif isinstance(codec, PointCodec):
            values[field.name] = POINT
        elif isinstance(codec, ShortChannelIdCodec):
            values[field.name] = ShortChannelId(0, 0, 0)
        elif isinstance(codec, ArrayCodec):
            n = codec.count if isinstance(codec.count, int) else 0
            values[field.name] = bytes(n) if codec.is_bytes else ()
        elif codec.size is not None and codec.spec_name not in ("byte", "u8", "u16", "u32", "u64", "s64"):
            values[field.name] = bytes(codec.size)
        else:
            values[field.name] = 0
    return cls(**values)


def test_extension_on_a_message_without_tlvs_keeps_unknown_odd_records() -> None:
    base = encode_message(Ping(num_pong_bytes=4, ignored=b""))
    msg = decode_message(base + bytes.fromhex("0501aa"))
    assert isinstance(msg, Ping)
    assert msg.tlvs == EmptyTlvs(unknown_records=(RawTlv(5, b"\xaa"),))


def test_extension_with_unknown_even_record_is_rejected() -> None:
    base = encode_message(Ping(num_pong_bytes=4, ignored=b""))
    with pytest.raises(UnknownEvenTlvError):
        decode_message(base + bytes.fromhex("0401aa"))


def test_known_tlv_is_decoded_into_its_record() -> None:
    chain = bytes(range(32))
    msg = Init(globalfeatures=b"", features=b"\x02", tlvs=InitTlvs(networks=NetworksTlv((chain,))))
    decoded = decode_message(encode_message(msg))
    assert isinstance(decoded, Init)
    assert decoded.tlvs.networks == NetworksTlv((chain,))


def test_message_names_are_ordered_by_type_and_resolve_to_classes() -> None:
    names = message_names()
    assert [message_class(n).TYPE for n in names] == sorted(message_class(n).TYPE for n in names)
    assert message_class("open_channel") is OpenChannel


def test_unknown_message_name_is_a_key_error_and_a_wire_error() -> None:
    with pytest.raises(UnknownMessageNameError) as info:
        message_class("open_channel3")
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, WireError)


def test_build_message_names_an_unknown_field() -> None:
    with pytest.raises(UnknownFieldError) as info:
        build_message("ping", {"num_pong_bytes": 1, "ignored": "", "bogus": 3})
    assert info.value.where == "ping.bogus"


def test_build_message_names_a_missing_field() -> None:
    with pytest.raises(FieldValueError) as info:
        build_message("ping", {"ignored": ""})
    assert info.value.where == "ping.num_pong_bytes"


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"num_pong_bytes": 65536, "ignored": ""}, "ping.num_pong_bytes"),
        ({"num_pong_bytes": -1, "ignored": ""}, "ping.num_pong_bytes"),
        ({"num_pong_bytes": True, "ignored": ""}, "ping.num_pong_bytes"),
        ({"num_pong_bytes": "1", "ignored": ""}, "ping.num_pong_bytes"),
        ({"num_pong_bytes": 1, "ignored": "zz"}, "ping.ignored"),
        ({"num_pong_bytes": 1, "ignored": "00" * 65536}, "ping.ignored"),
    ],
)
def test_build_message_names_the_field_with_a_bad_value(fields: dict[str, object], where: str) -> None:
    with pytest.raises(FieldValueError) as info:
        build_message("ping", fields)
    assert info.value.where.startswith(where)


def test_build_message_names_a_bad_tlv_field() -> None:
    with pytest.raises(FieldValueError) as info:
        build_message(
            "init", {"globalfeatures": "", "features": "", "tlvs": {"networks": {"chains": ["00"]}}}
        )
    assert info.value.where == "init.tlvs.networks.chains[0]"


def test_short_channel_id_accepts_text_and_int_forms() -> None:
    base = {"channel_id": "00" * 32, "node_signature": "00" * 64, "bitcoin_signature": "00" * 64}
    by_text = build_message("announcement_signatures", {**base, "short_channel_id": "539268x845x1"})
    by_int = build_message(
        "announcement_signatures", {**base, "short_channel_id": ShortChannelId(539268, 845, 1).to_int()}
    )
    assert by_text == by_int
    assert message_to_fields(by_text)["short_channel_id"] == "539268x845x1"


def test_encode_checks_values_and_names_the_field() -> None:
    with pytest.raises(FieldValueError) as info:
        encode_message(Ping(num_pong_bytes=70000, ignored=b""))
    assert info.value.where == "ping.num_pong_bytes"


def test_encode_refuses_a_message_larger_than_the_transport_allows() -> None:
    with pytest.raises(EncodeError):
        encode_message(UnknownMessage(UNUSED_ODD_TYPE, bytes(MAX_MESSAGE_SIZE - 1)))
    assert (
        len(encode_message(UnknownMessage(UNUSED_ODD_TYPE, bytes(MAX_MESSAGE_SIZE - 2)))) == MAX_MESSAGE_SIZE
    )


def test_unknown_message_fields_show_type_and_payload() -> None:
    fields = message_to_fields(UnknownMessage(UNUSED_ODD_TYPE, b"\x01\x02"))
    assert fields == {"type": UNUSED_ODD_TYPE, "payload": "0102"}


def test_a_record_without_data_can_be_given_as_true() -> None:
    base = {"channel_id": "00" * 32, "locktime": 0, "feerate": 253}
    msg = build_message("tx_init_rbf", {**base, "tlvs": {"require_confirmed_inputs": True}})
    assert message_to_fields(msg)["tlvs"] == {"require_confirmed_inputs": {}}
    assert build_message("tx_init_rbf", {**base, "tlvs": {"require_confirmed_inputs": {}}}) == msg
