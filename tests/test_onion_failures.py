"""Failure messages (every code), return packets, and attribution at the origin."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_node.onion.attribution import ATTRIBUTION_DATA_LEN
from reference_node.onion.failure_messages import (
    FAILURE_DATA,
    FailureCode,
    FailureFlag,
    FailureMessage,
    FailureMessageError,
    FieldType,
    UnknownFailureCode,
)
from reference_node.onion.failure_packet import (
    ReturnedFailure,
    build_return_packet,
    create_failure,
    decode_failure,
    forward_failure,
)

SAMPLE = {
    FieldType.SHA256: b"\x5a" * 32,
    FieldType.U16: 0x0102,
    FieldType.U32: 800_000,
    FieldType.U64: 100_000_000,
    FieldType.BIGSIZE: 34_001,
    FieldType.CHANNEL_UPDATE: b"\x01\x02" * 68,
}


def _sample(code: FailureCode, extension: bytes = b"") -> FailureMessage:
    values = {name: SAMPLE[field_type] for name, field_type in FAILURE_DATA[code]}
    return FailureMessage(code, extension_tlvs=extension, **values)  # type: ignore[arg-type]


def test_the_table_has_every_bolt4_failure_code() -> None:
    assert len(FailureCode) == len(FAILURE_DATA) == 22


@pytest.mark.parametrize("code", list(FailureCode), ids=lambda c: c.name)
def test_every_failure_code_round_trips_with_its_data(code: FailureCode) -> None:
    message = _sample(code, extension=b"\xfd\x84\xd1\x02\x80\x80")
    raw = message.to_bytes()
    assert raw[:2] == code.value.to_bytes(2, "big")
    assert FailureMessage.from_bytes(raw) == message


@pytest.mark.parametrize("code", [c for c in FailureCode if FAILURE_DATA[c]], ids=lambda c: c.name)
def test_truncated_failure_data_is_refused(code: FailureCode) -> None:
    raw = _sample(code).to_bytes()
    with pytest.raises(FailureMessageError):
        FailureMessage.from_bytes(
            raw[:-1] if FAILURE_DATA[code][-1][1] is not FieldType.CHANNEL_UPDATE else raw[:-3]
        )


def test_flags_follow_the_top_byte() -> None:
    assert FailureCode.invalid_onion_blinding.has_flag(FailureFlag.BADONION)
    assert FailureCode.permanent_node_failure.has_flag(FailureFlag.PERM)
    assert FailureCode.permanent_node_failure.has_flag(FailureFlag.NODE)
    assert FailureCode.fee_insufficient.has_flag(FailureFlag.UPDATE)
    assert not FailureCode.mpp_timeout.has_flag(FailureFlag.PERM)


def test_unknown_code_keeps_its_flags_for_the_origin() -> None:
    with pytest.raises(UnknownFailureCode) as raised:
        FailureMessage.from_bytes(b"\x60\x63extra")
    assert raised.value.has_flag(FailureFlag.PERM) and raised.value.has_flag(FailureFlag.NODE)


def test_a_field_not_of_the_code_is_refused() -> None:
    with pytest.raises(FailureMessageError):
        FailureMessage(FailureCode.temporary_node_failure, htlc_msat=5)


def test_return_packet_pads_to_256_and_no_less() -> None:
    raw = build_return_packet(b"\x01" * 32, b"\x20\x02")
    assert len(raw) == 32 + 2 + 2 + 2 + 254
    with pytest.raises(ValueError):
        build_return_packet(b"\x01" * 32, b"\x20\x02", pad_len=10)


def _route_secrets(seed: int, hops: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(32) for _ in range(hops)]


def _return_path(
    secrets: list[bytes], source: int, message: bytes, with_attribution: bool
) -> ReturnedFailure:
    hold = (lambda i: 10 + i) if with_attribution else (lambda i: None)
    returned = create_failure(secrets[source], message, hold_time=hold(source))
    for node in reversed(range(source)):
        returned = forward_failure(secrets[node], returned, hold_time=hold(node))
    return returned


@settings(max_examples=25, deadline=None)
@given(hops=st.integers(min_value=1, max_value=20), data=st.data())
def test_origin_finds_the_erring_hop_and_every_hold_time(hops: int, data: st.DataObject) -> None:
    source = data.draw(st.integers(min_value=0, max_value=hops - 1))
    secrets = _route_secrets(hops * 100 + source, hops)
    message = _sample(FailureCode.amount_below_minimum).to_bytes()
    decoded = decode_failure(secrets, _return_path(secrets, source, message, with_attribution=True))
    assert decoded.failing_hop_index == source
    assert decoded.failure_message == message
    assert decoded.hold_times == tuple(10 + i for i in range(source + 1))
    assert decoded.attribution_failed_at is None


def test_legacy_failure_without_attribution_is_still_attributed_by_hmac() -> None:
    secrets = _route_secrets(1, 5)
    decoded = decode_failure(secrets, _return_path(secrets, 2, b"\x20\x02", with_attribution=False))
    assert (decoded.failing_hop_index, decoded.hold_times) == (2, ())


def test_attribution_data_is_920_bytes() -> None:
    returned = create_failure(b"\x01" * 32, b"\x20\x02", hold_time=3)
    assert returned.attribution_data is not None and len(returned.attribution_data) == ATTRIBUTION_DATA_LEN


def test_a_hop_that_corrupts_the_failure_is_blamed_with_its_neighbour() -> None:
    """Hop 2 flips a bit of what hop 3 sent: the failure no longer authenticates, and hop 3's
    attribution HMACs fail at the origin, pointing at the pair (2, 3)."""
    secrets = _route_secrets(2, 6)
    returned = create_failure(secrets[5], b"\x40\x0f" + bytes(12), hold_time=1)
    for node in (4, 3):
        returned = forward_failure(secrets[node], returned, hold_time=1)
    corrupted = ReturnedFailure(
        bytes([returned.reason[0] ^ 1]) + returned.reason[1:], returned.attribution_data
    )
    for node in (2, 1, 0):
        corrupted = forward_failure(secrets[node], corrupted, hold_time=1)
    decoded = decode_failure(secrets, corrupted)
    assert decoded.failing_hop_index is None
    assert decoded.attribution_failed_at == 3
    assert decoded.hold_times == (1, 1, 1)
