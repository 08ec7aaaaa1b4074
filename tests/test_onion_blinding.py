"""Route blinding: blinded paths built and read by our code, and a payment through one."""

from __future__ import annotations

import pytest

from harness.vectors import load_json
from reference_node.onion.crypto import public_key_of
from reference_node.onion.failure_messages import FailureCode
from reference_node.onion.forwarding import HtlcOnionError, process_htlc_onion
from reference_node.onion.payload import blinded_payload_tlvs, forward_payload_tlvs
from reference_node.onion.route_blinding import (
    BlindingError,
    EncryptedDataTlv,
    NextNodeId,
    PathId,
    PaymentConstraints,
    PaymentRelay,
    ShortChannelIdTlv,
    aggregate_payment_relay,
    blinded_amt_to_forward,
    create_blinded_path,
    unblind_hop,
)
from reference_node.onion.sphinx import construct_onion
from reference_node.onion.wire_adapter import ShortChannelId

KEYS = [bytes([i]) * 32 for i in (0x31, 0x32, 0x33)]
NODE_IDS = [public_key_of(k) for k in KEYS]
PAYMENT_HASH = b"\x42" * 32


def _relay_data(next_node: bytes) -> bytes:
    return EncryptedDataTlv(
        next_node_id=NextNodeId(next_node),
        payment_relay=PaymentRelay(40, 1_000, 1_000),
        payment_constraints=PaymentConstraints(900_000, 1),
    ).to_bytes()


def _path() -> list[bytes]:
    return [
        _relay_data(NODE_IDS[1]),
        _relay_data(NODE_IDS[2]),
        EncryptedDataTlv(
            path_id=PathId(b"secret"), payment_constraints=PaymentConstraints(900_000, 1)
        ).to_bytes(),
    ]


def test_each_node_unblinds_its_data_along_the_path() -> None:
    created = create_blinded_path(b"\x07" * 32, NODE_IDS, _path())
    path_key = created.path.first_path_key
    for key, hop, plaintext in zip(KEYS, created.path.hops, _path(), strict=True):
        unblinded = unblind_hop(key, path_key, hop.encrypted_recipient_data)
        assert unblinded.decrypted_data == plaintext
        assert public_key_of(unblinded.blinded_private_key) == hop.blinded_node_id
        path_key = unblinded.next_path_key
    assert path_key == created.last_path_key


def test_data_for_another_node_does_not_decrypt() -> None:
    created = create_blinded_path(b"\x07" * 32, NODE_IDS, _path())
    with pytest.raises(BlindingError):
        unblind_hop(KEYS[1], created.path.first_path_key, created.path.hops[0].encrypted_recipient_data)


def test_unknown_even_field_in_encrypted_data_is_refused() -> None:
    created = create_blinded_path(b"\x07" * 32, NODE_IDS[:1], [b"\x10\x00"])
    with pytest.raises(BlindingError):
        unblind_hop(KEYS[0], created.path.first_path_key, created.path.hops[0].encrypted_recipient_data)


def test_blinded_forward_rounds_the_amount_up() -> None:
    """amt_to_forward is the ceiling of (amount_msat - fee_base_msat) * 1e6 / (1e6 + proportional)."""
    relay = PaymentRelay(cltv_expiry_delta=0, fee_proportional_millionths=150, fee_base_msat=100)
    forwarded = blinded_amt_to_forward(100_125, relay)
    budget = (100_125 - 100) * 1_000_000
    assert forwarded * 1_000_150 >= budget > (forwarded - 1) * 1_000_150


def test_payinfo_of_the_vector_route_matches_its_blinded_payinfo() -> None:
    generate = load_json("bolt04/blinded-payment-onion-test.json")["generate"]
    relays = [
        PaymentRelay(
            hop["tlvs"]["encrypted_recipient_data"]["payment_relay"]["cltv_expiry_delta"],
            hop["tlvs"]["encrypted_recipient_data"]["payment_relay"]["fee_proportional_millionths"],
            hop["tlvs"]["encrypted_recipient_data"]["payment_relay"].get("fee_base_msat", 0),
        )
        for hop in generate["full_route"]["hops"][1:-1]
    ]
    payinfo = aggregate_payment_relay(relays, 0)
    assert (payinfo.fee_base_msat, payinfo.fee_proportional_millionths) == (
        generate["blinded_payinfo"]["fee_base_msat"],
        generate["blinded_payinfo"]["fee_proportional_millionths"],
    )


def _blinded_payment(amount_msat: int, final_cltv: int) -> tuple[bytes, bytes]:
    """Alice (clear) -> KEYS[0] (introduction) -> KEYS[1] -> KEYS[2] (recipient)."""
    created = create_blinded_path(b"\x07" * 32, NODE_IDS, _path())
    alice = b"\x30" * 32
    hops = created.path.hops
    payloads = [
        forward_payload_tlvs(amount_msat + 10_000, final_cltv + 200, ShortChannelId(1, 2, 3)).to_bytes(),
        blinded_payload_tlvs(hops[0].encrypted_recipient_data, created.path.first_path_key).to_bytes(),
        blinded_payload_tlvs(hops[1].encrypted_recipient_data).to_bytes(),
        blinded_payload_tlvs(
            hops[2].encrypted_recipient_data, final=(amount_msat, final_cltv, amount_msat)
        ).to_bytes(),
    ]
    keys = [
        public_key_of(alice),
        created.path.first_node_id,
        hops[1].blinded_node_id,
        hops[2].blinded_node_id,
    ]
    return construct_onion(b"\x08" * 32, keys, payloads, PAYMENT_HASH).to_bytes(), alice


def test_payment_through_a_blinded_route_reaches_the_recipient() -> None:
    onion, alice = _blinded_payment(50_000, 800_000)
    hop = process_htlc_onion(onion, alice, PAYMENT_HASH, 60_000, 800_300)
    amount, cltv, path_key = hop.amt_to_forward_msat, hop.outgoing_cltv_value, hop.next_path_key
    for key in KEYS:
        assert hop.next_onion is not None
        hop = process_htlc_onion(hop.next_onion.to_bytes(), key, PAYMENT_HASH, amount, cltv, path_key)
        amount, cltv, path_key = hop.amt_to_forward_msat, hop.outgoing_cltv_value, hop.next_path_key
    assert hop.next_onion is None
    assert hop.encrypted_data is not None and hop.encrypted_data.path_id == PathId(b"secret")
    assert (amount, cltv) == (50_000, 800_000)


def test_failure_inside_the_blinded_route_is_invalid_onion_blinding() -> None:
    onion, alice = _blinded_payment(50_000, 800_000)
    hop = process_htlc_onion(onion, alice, PAYMENT_HASH, 60_000, 800_300)
    hop = process_htlc_onion(hop.next_onion.to_bytes(), KEYS[0], PAYMENT_HASH, 60_000, 800_200)  # type: ignore[union-attr]
    assert hop.next_onion is not None and hop.next_path_key is not None
    with pytest.raises(HtlcOnionError) as raised:
        # Above payment_constraints.max_cltv_expiry: the blinded node must answer invalid_onion_blinding.
        process_htlc_onion(
            hop.next_onion.to_bytes(),
            KEYS[1],
            PAYMENT_HASH,
            hop.amt_to_forward_msat,
            950_000,
            hop.next_path_key,
        )
    assert raised.value.failure_code is FailureCode.invalid_onion_blinding
    assert raised.value.malformed


def test_bad_hmac_without_blinding_is_malformed_invalid_onion_hmac() -> None:
    onion, alice = _blinded_payment(50_000, 800_000)
    with pytest.raises(HtlcOnionError) as raised:
        process_htlc_onion(onion, alice, b"\x00" * 32, 60_000, 800_300)
    assert raised.value.failure_code is FailureCode.invalid_onion_hmac and raised.value.malformed


def test_encrypted_data_with_both_scid_and_node_id_is_refused() -> None:
    data = EncryptedDataTlv(
        short_channel_id=ShortChannelIdTlv(ShortChannelId(1, 1, 1)),
        next_node_id=NextNodeId(NODE_IDS[1]),
        payment_relay=PaymentRelay(1, 1, 1),
    ).to_bytes()
    created = create_blinded_path(b"\x07" * 32, NODE_IDS[:2], [data, _path()[2]])
    payloads = [
        blinded_payload_tlvs(
            created.path.hops[0].encrypted_recipient_data, created.path.first_path_key
        ).to_bytes(),
        blinded_payload_tlvs(created.path.hops[1].encrypted_recipient_data, final=(1, 1, 1)).to_bytes(),
    ]
    onion = construct_onion(
        b"\x09" * 32, [NODE_IDS[0], created.path.hops[1].blinded_node_id], payloads, PAYMENT_HASH
    )
    with pytest.raises(HtlcOnionError) as raised:
        process_htlc_onion(onion.to_bytes(), KEYS[0], PAYMENT_HASH, 100, 100)
    assert raised.value.failure_code is FailureCode.invalid_onion_blinding
    assert not raised.value.malformed  # the introduction node answers with update_fail_htlc
