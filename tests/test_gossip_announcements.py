"""Building, signing and verifying channel_announcement, node_announcement and channel_update (BOLT 7),
with two independent checks: pyln-proto parses what we sign, and coincurve verifies our signatures over
a hash computed here from the raw bytes."""

from __future__ import annotations

import dataclasses
import hashlib
import io

import pytest
from coincurve import PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_node.gossip.addresses import AddressDescriptor
from reference_node.gossip.announcements import (
    build_channel_update,
    build_node_announcement,
    channel_update_checksum,
    decode_alias,
    encode_alias,
    update_direction,
    update_disabled,
    update_dont_forward,
)
from reference_node.gossip.errors import InvalidSignatureError, OriginError
from reference_node.gossip.flags import Direction, MessageFlag
from reference_node.gossip.signing import (
    verify_channel_announcement,
    verify_channel_update,
    verify_node_announcement,
)
from reference_node.wire import (
    ChannelAnnouncement,
    ChannelUpdate,
    NodeAnnouncement,
    ShortChannelId,
    decode_message,
    encode_message,
)
from reference_node.wire.features import Feature, Features
from tests.test_gossip_support import CHAIN, NOW, Party, announce, ordered, policy, update

pyln_message = pytest.importorskip("pyln.proto.message", reason="pyln-proto not installed (test extra)")
pyln_bolt7 = pytest.importorskip("pyln.spec.bolt7.csv", reason="pyln.spec.bolt7 not installed")
NAMESPACE = pyln_message.MessageNamespace(pyln_bolt7.csv)

ALICE, BOB = Party("alice"), Party("bob")
SCID = ShortChannelId(700_000, 12, 1)


def _coincurve_verifies(pubkey: bytes, compact: bytes, signed_bytes: bytes) -> bool:
    digest = hashlib.sha256(hashlib.sha256(signed_bytes).digest()).digest()
    return bool(PublicKey(pubkey).verify(cdata_to_der(deserialize_compact(compact)), digest, hasher=None))


def _node_announcement() -> NodeAnnouncement:
    return build_node_announcement(
        node_secret=ALICE.node_secret,
        node_id=ALICE.node_id,
        timestamp=NOW,
        features=Features.of(optional=[Feature.var_onion_optin, Feature.gossip_queries]),
        rgb_color=b"\x01\x02\x03",
        alias="IRATEMONK",
        addresses=(AddressDescriptor.ipv4("203.0.113.5", 9735), AddressDescriptor.dns("example.com", 9735)),
    )


def test_channel_announcement_orders_node_ids_and_their_bitcoin_keys() -> None:
    msg = announce(BOB, ALICE, SCID)
    first, second = ordered(ALICE, BOB)
    assert (msg.node_id_1, msg.node_id_2) == (first.node_id, second.node_id)
    assert (msg.bitcoin_key_1, msg.bitcoin_key_2) == (first.funding_pubkey, second.funding_pubkey)


def test_channel_announcement_signatures_verify() -> None:
    verify_channel_announcement(announce(ALICE, BOB, SCID))


@pytest.mark.parametrize(
    "which", ["node_signature_1", "node_signature_2", "bitcoin_signature_1", "bitcoin_signature_2"]
)
def test_channel_announcement_with_a_wrong_signature_names_it(which: str) -> None:
    msg = announce(ALICE, BOB, SCID)
    other = announce(ALICE, BOB, ShortChannelId(1, 1, 1))
    bad = dataclasses.replace(msg, **{which: getattr(other, which)})
    with pytest.raises(InvalidSignatureError) as info:
        verify_channel_announcement(bad)
    assert info.value.which == which


def test_channel_announcement_signature_covers_appended_fields() -> None:
    msg = announce(ALICE, BOB, SCID)
    extended = decode_message(encode_message(msg) + bytes.fromhex("0f00"))  # odd unknown TLV 15, empty
    assert isinstance(extended, ChannelAnnouncement)
    with pytest.raises(InvalidSignatureError):
        verify_channel_announcement(extended)


def test_channel_announcement_is_read_by_pyln_and_its_signatures_verify_with_coincurve() -> None:
    msg = announce(ALICE, BOB, SCID)
    raw = encode_message(msg)
    theirs = pyln_message.Message.read(NAMESPACE, io.BytesIO(raw))
    assert theirs.messagetype.name == "channel_announcement"
    fields = theirs.to_py()
    assert bytes.fromhex(fields["node_id_1"]) == msg.node_id_1
    assert fields["short_channel_id"] == str(SCID)
    out = io.BytesIO()
    theirs.write(out)
    signed = out.getvalue()[2 + 256 :]  # "beginning at offset 256", after the 2-byte type
    for key, sig in (
        (fields["node_id_1"], msg.node_signature_1),
        (fields["node_id_2"], msg.node_signature_2),
        (fields["bitcoin_key_1"], msg.bitcoin_signature_1),
        (fields["bitcoin_key_2"], msg.bitcoin_signature_2),
    ):
        assert _coincurve_verifies(bytes.fromhex(key), sig, signed)


def test_channel_announcement_features_use_minimum_length() -> None:
    msg = announce(ALICE, BOB, SCID, features=Features.from_bits([1]))
    assert msg.features == b"\x02"
    assert announce(ALICE, BOB, SCID).features == b""


def test_node_announcement_round_trip_and_independent_checks() -> None:
    msg = _node_announcement()
    verify_node_announcement(msg)
    raw = encode_message(msg)
    theirs = pyln_message.Message.read(NAMESPACE, io.BytesIO(raw))
    assert theirs.messagetype.name == "node_announcement"
    assert bytes.fromhex(theirs.to_py()["node_id"]) == ALICE.node_id
    assert _coincurve_verifies(ALICE.node_id, raw[2:66], raw[66:])


def test_node_announcement_signed_by_another_key_is_rejected() -> None:
    msg = _node_announcement()
    forged = dataclasses.replace(msg, node_id=BOB.node_id)
    with pytest.raises(InvalidSignatureError):
        verify_node_announcement(forged)


def test_alias_is_utf8_zero_padded_to_32_bytes() -> None:
    raw = encode_alias("⚡ node")
    assert len(raw) == 32 and raw.rstrip(b"\x00") == "⚡ node".encode()
    assert decode_alias(raw) == "⚡ node"


def test_alias_longer_than_32_bytes_is_refused() -> None:
    with pytest.raises(OriginError):
        encode_alias("x" * 33)


def test_channel_update_direction_bit_follows_node_order() -> None:
    first, second = ordered(ALICE, BOB)
    assert update_direction(update(first, second, SCID)) == Direction.FROM_NODE_1
    assert update_direction(update(second, first, SCID)) == Direction.FROM_NODE_2


def test_channel_update_sets_must_be_one_and_optional_bits() -> None:
    plain = update(ALICE, BOB, SCID)
    assert plain.message_flags == MessageFlag.MUST_BE_ONE
    assert not update_disabled(plain) and not update_dont_forward(plain)
    flagged = update(ALICE, BOB, SCID, disabled=True, dont_forward=True)
    assert update_disabled(flagged) and update_dont_forward(flagged)
    assert flagged.message_flags == MessageFlag.MUST_BE_ONE | MessageFlag.DONT_FORWARD


def test_channel_update_verifies_for_its_origin_only() -> None:
    msg = update(ALICE, BOB, SCID)
    verify_channel_update(msg, ALICE.node_id)
    with pytest.raises(InvalidSignatureError):
        verify_channel_update(msg, BOB.node_id)


def test_channel_update_is_read_by_pyln_and_verifies_with_coincurve() -> None:
    raw = encode_message(update(ALICE, BOB, SCID))
    theirs = pyln_message.Message.read(NAMESPACE, io.BytesIO(raw))
    assert theirs.to_py()["htlc_maximum_msat"] == policy().htlc_maximum_msat
    assert _coincurve_verifies(ALICE.node_id, raw[2:66], raw[66:])


@pytest.mark.parametrize(
    ("kwargs", "what"),
    [
        ({"timestamp": 0}, "timestamp"),
        ({"policy": policy(htlc_min=10, htlc_max=9)}, "htlc_maximum_msat"),
        ({"capacity_msat": 1000}, "capacity"),
        ({"max_htlc_value_in_flight_msat": 1000}, "max_htlc_value_in_flight_msat"),
    ],
)
def test_channel_update_origin_rules_are_enforced(kwargs: dict[str, object], what: str) -> None:
    arguments: dict[str, object] = {
        "node_secret": ALICE.node_secret,
        "chain_hash": CHAIN,
        "short_channel_id": SCID,
        "timestamp": NOW,
        "direction": Direction.FROM_NODE_1,
        "policy": policy(),
    }
    arguments.update(kwargs)
    with pytest.raises(OriginError, match=what):
        build_channel_update(**arguments)  # type: ignore[arg-type]


def test_checksum_ignores_signature_and_timestamp_but_not_parameters() -> None:
    base = update(ALICE, BOB, SCID, timestamp=NOW)
    later = update(ALICE, BOB, SCID, timestamp=NOW + 60)
    changed = update(ALICE, BOB, SCID, channel_policy=policy(base=1))
    assert channel_update_checksum(base) == channel_update_checksum(later)
    assert channel_update_checksum(base) != channel_update_checksum(changed)


def test_checksum_is_crc32c_of_the_bytes_without_signature_and_timestamp() -> None:
    crc32c = pytest.importorskip("google_crc32c")
    raw = encode_message(update(ALICE, BOB, SCID))
    # payload: signature 64 | chain_hash 32 | short_channel_id 8 | timestamp 4 | rest
    expected = crc32c.value(raw[2 + 64 : 2 + 64 + 40] + raw[2 + 64 + 44 :])
    assert channel_update_checksum(update(ALICE, BOB, SCID)) == expected


def _flip_s(compact: bytes) -> bytes:
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    return compact[:32] + (order - int.from_bytes(compact[32:], "big")).to_bytes(32, "big")


def test_a_relayer_flipping_s_keeps_the_gossip_signature_valid() -> None:
    msg = update(ALICE, BOB, SCID)
    flipped = dataclasses.replace(msg, signature=_flip_s(msg.signature))
    assert flipped.signature != msg.signature
    verify_channel_update(flipped, ALICE.node_id)
    ann = announce(ALICE, BOB, SCID)
    verify_channel_announcement(dataclasses.replace(ann, node_signature_1=_flip_s(ann.node_signature_1)))


@settings(max_examples=50, deadline=None)
@given(
    timestamp=st.integers(1, 0xFFFFFFFF),
    cltv=st.integers(0, 0xFFFF),
    htlc_min=st.integers(0, 10**9),
    extra=st.integers(0, 10**9),
    base=st.integers(0, 0xFFFFFFFF),
    ppm=st.integers(0, 0xFFFFFFFF),
    disabled=st.booleans(),
    swap=st.booleans(),
)
def test_any_signed_update_survives_the_wire_and_verifies_for_its_origin_only(
    timestamp: int, cltv: int, htlc_min: int, extra: int, base: int, ppm: int, disabled: bool, swap: bool
) -> None:
    origin, other = (BOB, ALICE) if swap else (ALICE, BOB)
    chosen = policy(cltv=cltv, base=base, ppm=ppm, htlc_min=htlc_min, htlc_max=htlc_min + extra)
    msg = update(origin, other, SCID, timestamp=timestamp, channel_policy=chosen, disabled=disabled)
    received = decode_message(encode_message(msg))
    assert isinstance(received, ChannelUpdate) and received == msg
    verify_channel_update(received, origin.node_id)
    assert update_disabled(received) == disabled
    with pytest.raises(InvalidSignatureError):
        verify_channel_update(received, other.node_id)
