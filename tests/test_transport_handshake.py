"""BOLT 8 handshake (sans-I/O) beyond the spec vectors: both roles agree, and misuse is rejected."""

from __future__ import annotations

import pytest
from coincurve import PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_node.transport import (
    HandshakeBadMac,
    HandshakeBadPubkey,
    HandshakeBadVersion,
    HandshakeShortRead,
    HandshakeStateError,
    HandshakeStep,
    InitiatorHandshake,
    ResponderHandshake,
)

# Valid secp256k1 secret keys: 1 .. n-1.
_CURVE_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
secret_keys = st.integers(min_value=1, max_value=_CURVE_ORDER - 1).map(
    lambda n: PrivateKey(n.to_bytes(32, "big"))
)


def _pair(
    initiator_key: PrivateKey, responder_key: PrivateKey
) -> tuple[InitiatorHandshake, ResponderHandshake]:
    initiator = InitiatorHandshake(initiator_key, responder_key.public_key.format(), PrivateKey())
    responder = ResponderHandshake(responder_key, PrivateKey())
    return initiator, responder


@settings(max_examples=25, deadline=None)
@given(initiator_key=secret_keys, responder_key=secret_keys)
def test_both_roles_derive_crossed_session_keys(initiator_key: PrivateKey, responder_key: PrivateKey) -> None:
    initiator, responder = _pair(initiator_key, responder_key)
    act_two = responder.respond(initiator.act_one())
    result_r = responder.read_act_three(initiator.respond(act_two))
    result_i = initiator.result
    assert result_i is not None
    assert (result_i.sk, result_i.rk, result_i.ck) == (result_r.rk, result_r.sk, result_r.ck)
    assert result_r.remote_static_key == initiator_key.public_key.format()
    assert result_i.remote_static_key == responder_key.public_key.format()


def test_initiator_with_the_wrong_node_id_fails_act_one_mac() -> None:
    responder_key, someone_else = PrivateKey(), PrivateKey()
    initiator = InitiatorHandshake(PrivateKey(), someone_else.public_key.format(), PrivateKey())
    responder = ResponderHandshake(responder_key, PrivateKey())
    with pytest.raises(HandshakeBadMac) as failure:
        responder.read_act_one(initiator.act_one())
    assert failure.value.code == "ACT1_BAD_TAG"
    assert responder.step is HandshakeStep.FAILED


def test_act_two_from_an_impostor_fails_the_initiator_mac() -> None:
    real, impostor = PrivateKey(), PrivateKey()
    initiator = InitiatorHandshake(PrivateKey(), real.public_key.format(), PrivateKey())
    act_one = initiator.act_one()
    # The impostor cannot pass act one's MAC check, so it fabricates act two from a fresh key.
    fake = ResponderHandshake(impostor, PrivateKey())
    fake_initiator = InitiatorHandshake(PrivateKey(), impostor.public_key.format(), PrivateKey())
    act_two = fake.respond(fake_initiator.act_one())
    assert len(act_one) == len(act_two) == 50
    with pytest.raises(HandshakeBadMac):
        initiator.read_act_two(act_two)


@pytest.mark.parametrize("size", [0, 49, 51])
def test_act_one_of_the_wrong_size_is_a_short_read(size: int) -> None:
    responder = ResponderHandshake(PrivateKey(), PrivateKey())
    with pytest.raises(HandshakeShortRead) as failure:
        responder.read_act_one(bytes(size))
    assert (failure.value.act, failure.value.expected, failure.value.received) == (1, 50, size)


@pytest.mark.parametrize("version", [1, 2, 255])
def test_every_nonzero_act_one_version_is_rejected(version: int) -> None:
    responder_key = PrivateKey()
    initiator = InitiatorHandshake(PrivateKey(), responder_key.public_key.format(), PrivateKey())
    act_one = bytes([version]) + initiator.act_one()[1:]
    with pytest.raises(HandshakeBadVersion) as failure:
        ResponderHandshake(responder_key, PrivateKey()).read_act_one(act_one)
    assert failure.value.version == version


def test_point_not_on_the_curve_is_a_bad_pubkey() -> None:
    responder = ResponderHandshake(PrivateKey(), PrivateKey())
    # x = 5 has no y on secp256k1 (5^3 + 7 = 132 is not a square mod p).
    bad_point = b"\x02" + (5).to_bytes(32, "big")
    with pytest.raises(HandshakeBadPubkey):
        responder.read_act_one(b"\x00" + bad_point + bytes(16))


def test_out_of_order_calls_are_programming_errors() -> None:
    responder_key = PrivateKey()
    initiator = InitiatorHandshake(PrivateKey(), responder_key.public_key.format(), PrivateKey())
    with pytest.raises(HandshakeStateError):
        initiator.act_three()
    responder = ResponderHandshake(responder_key, PrivateKey())
    with pytest.raises(HandshakeStateError):
        responder.act_two()
    initiator.act_one()
    with pytest.raises(HandshakeStateError):
        initiator.act_one()


def test_a_remote_node_id_that_is_not_a_point_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="not a compressed public key"):
        InitiatorHandshake(PrivateKey(), b"\x04" + bytes(32), PrivateKey())
