"""The payment `payload` TLV stream and BOLT 4's reader rules ("Packet Structure / Requirements")."""

from __future__ import annotations

import pytest

from reference_node.onion.failure_messages import FailureCode
from reference_node.onion.payload import (
    AmtToForward,
    BlindedFinalPayload,
    BlindedForwardPayload,
    CurrentPathKey,
    EncryptedRecipientData,
    FinalPayload,
    ForwardPayload,
    InvalidOnionPayload,
    OutgoingCltvValue,
    PayloadTlvs,
    ShortChannelIdTlv,
    TotalAmountMsat,
    blinded_payload_tlvs,
    decode_payload,
    final_payload_tlvs,
    forward_payload_tlvs,
    read_hop_payload,
)
from reference_node.onion.wire_adapter import RawTlv, ShortChannelId

SCID = ShortChannelId(700_000, 12, 1)
PATH_KEY = bytes.fromhex("024d4b6cd1361032ca9bd2aeb9d900aa4d45d9ead80ac9423374c451a7254d0766")


def test_forward_payload_reads_back() -> None:
    raw = forward_payload_tlvs(15_000, 1_500, SCID).to_bytes()
    assert read_hop_payload(raw, is_final=False, update_add_has_path_key=False) == ForwardPayload(
        15_000, 1_500, SCID
    )


def test_final_payload_without_payment_data_treats_total_as_amount() -> None:
    raw = final_payload_tlvs(10_000, 1_000).to_bytes()
    payload = read_hop_payload(raw, is_final=True, update_add_has_path_key=False)
    assert isinstance(payload, FinalPayload)
    assert payload.total_msat == 10_000


def test_final_payload_carries_secret_total_and_metadata() -> None:
    raw = final_payload_tlvs(10_000, 1_000, b"\x01" * 32, 30_000, b"meta").to_bytes()
    payload = read_hop_payload(raw, is_final=True, update_add_has_path_key=False)
    assert payload == FinalPayload(10_000, 1_000, 30_000, b"\x01" * 32, b"meta")


def test_amounts_are_truncated_integers_on_the_wire() -> None:
    assert PayloadTlvs(amt_to_forward=AmtToForward(0)).to_bytes() == b"\x02\x00"
    assert PayloadTlvs(amt_to_forward=AmtToForward(256)).to_bytes() == b"\x02\x02\x01\x00"


@pytest.mark.parametrize(
    ("tlvs", "is_final", "missing_type"),
    [
        (PayloadTlvs(outgoing_cltv_value=OutgoingCltvValue(1)), True, 2),
        (PayloadTlvs(amt_to_forward=AmtToForward(1)), True, 4),
        (PayloadTlvs(amt_to_forward=AmtToForward(1), outgoing_cltv_value=OutgoingCltvValue(1)), False, 6),
    ],
    ids=["no-amt_to_forward", "no-outgoing_cltv_value", "forward-without-short_channel_id"],
)
def test_missing_required_field_names_its_type(tlvs: PayloadTlvs, is_final: bool, missing_type: int) -> None:
    with pytest.raises(InvalidOnionPayload) as raised:
        read_hop_payload(tlvs.to_bytes(), is_final=is_final, update_add_has_path_key=False)
    assert raised.value.tlv_type == missing_type
    assert raised.value.failure_code is FailureCode.invalid_onion_payload


def test_unknown_even_type_is_invalid_onion_payload() -> None:
    raw = final_payload_tlvs(1, 1).to_bytes() + b"\x14\x00"  # type 20, even, unknown
    with pytest.raises(InvalidOnionPayload) as raised:
        decode_payload(raw)
    assert raised.value.tlv_type == 20


def test_unknown_odd_type_is_kept() -> None:
    raw = final_payload_tlvs(1, 1, custom_records=(RawTlv(65_537, b"hi"),)).to_bytes()
    assert decode_payload(raw).unknown_records == (RawTlv(65_537, b"hi"),)


def test_out_of_order_records_are_invalid() -> None:
    raw = b"\x04\x01\x01" + b"\x02\x01\x01"
    with pytest.raises(InvalidOnionPayload):
        decode_payload(raw)


def test_current_path_key_outside_a_blinded_route_is_refused() -> None:
    tlvs = PayloadTlvs(
        amt_to_forward=AmtToForward(1),
        outgoing_cltv_value=OutgoingCltvValue(1),
        current_path_key=CurrentPathKey(PATH_KEY),
    )
    with pytest.raises(InvalidOnionPayload) as raised:
        read_hop_payload(tlvs.to_bytes(), is_final=True, update_add_has_path_key=False)
    assert raised.value.tlv_type == 12


def test_path_key_in_update_add_without_encrypted_data_is_refused() -> None:
    with pytest.raises(InvalidOnionPayload):
        read_hop_payload(final_payload_tlvs(1, 1).to_bytes(), is_final=True, update_add_has_path_key=True)


def test_introduction_node_reads_current_path_key() -> None:
    raw = blinded_payload_tlvs(b"\xaa" * 20, PATH_KEY).to_bytes()
    payload = read_hop_payload(raw, is_final=False, update_add_has_path_key=False)
    assert payload == BlindedForwardPayload(b"\xaa" * 20, PATH_KEY)


def test_blinded_payload_needs_a_path_key_from_somewhere() -> None:
    raw = blinded_payload_tlvs(b"\xaa" * 20).to_bytes()
    with pytest.raises(InvalidOnionPayload):
        read_hop_payload(raw, is_final=False, update_add_has_path_key=False)
    assert read_hop_payload(raw, is_final=False, update_add_has_path_key=True) == BlindedForwardPayload(
        b"\xaa" * 20, None
    )


def test_current_path_key_and_update_add_path_key_together_are_refused() -> None:
    raw = blinded_payload_tlvs(b"\xaa" * 20, PATH_KEY).to_bytes()
    with pytest.raises(InvalidOnionPayload):
        read_hop_payload(raw, is_final=False, update_add_has_path_key=True)


def test_blinded_forward_payload_with_an_amount_is_refused() -> None:
    tlvs = PayloadTlvs(
        amt_to_forward=AmtToForward(5),
        encrypted_recipient_data=EncryptedRecipientData(b"\xaa"),
    )
    with pytest.raises(InvalidOnionPayload) as raised:
        read_hop_payload(tlvs.to_bytes(), is_final=False, update_add_has_path_key=True)
    assert raised.value.tlv_type == 2


def test_blinded_forward_payload_with_a_short_channel_id_is_refused() -> None:
    tlvs = PayloadTlvs(
        short_channel_id=ShortChannelIdTlv(SCID), encrypted_recipient_data=EncryptedRecipientData(b"\xaa")
    )
    with pytest.raises(InvalidOnionPayload):
        read_hop_payload(tlvs.to_bytes(), is_final=False, update_add_has_path_key=True)


def test_blinded_final_payload_needs_total_amount_msat() -> None:
    tlvs = PayloadTlvs(
        amt_to_forward=AmtToForward(5),
        outgoing_cltv_value=OutgoingCltvValue(9),
        encrypted_recipient_data=EncryptedRecipientData(b"\xaa"),
    )
    with pytest.raises(InvalidOnionPayload) as raised:
        read_hop_payload(tlvs.to_bytes(), is_final=True, update_add_has_path_key=True)
    assert raised.value.tlv_type == 18
    complete = PayloadTlvs(
        amt_to_forward=AmtToForward(5),
        outgoing_cltv_value=OutgoingCltvValue(9),
        encrypted_recipient_data=EncryptedRecipientData(b"\xaa"),
        total_amount_msat=TotalAmountMsat(7),
    )
    assert read_hop_payload(complete.to_bytes(), is_final=True, update_add_has_path_key=True) == (
        BlindedFinalPayload(b"\xaa", None, 5, 9, 7)
    )
