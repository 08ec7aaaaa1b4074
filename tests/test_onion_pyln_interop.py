"""Cross-check Sphinx against an independent implementation (pyln-proto's onion code), both ways.

pyln is used only here, on the other side of the test. pyln-proto 25.12 builds correct onions only
when every hop payload has the same size: its filler sums the sizes of hops[1:] where BOLT 4's
"Filler Generation" needs hops[:-1] (it does not reproduce onion-test.json either). So onions
pyln builds use equal-size payloads; onions we build use varied sizes.
"""

from __future__ import annotations

import random

import pytest
from pyln.proto.onion import LegacyOnionPayload, RoutingOnion, SphinxHop, SphinxPath
from pyln.proto.primitives import PrivateKey, PublicKey, Secret

from reference_node.onion.crypto import public_key_of
from reference_node.onion.payload import final_payload_tlvs, forward_payload_tlvs
from reference_node.onion.sphinx import (
    InvalidOnionPayloadFraming,
    OnionPacket,
    construct_onion,
    frame_payload,
    process_onion,
)
from reference_node.onion.wire_adapter import ShortChannelId

HOP_COUNTS = [1, 2, 5, 20]


def _route(seed: int, hops: int, equal_sizes: bool) -> tuple[bytes, list[bytes], list[bytes], bytes]:
    """Seeded session key, node private keys, TLV payloads and associated data for `hops` hops.

    With `equal_sizes`, every payload is 23 bytes (5-byte amounts, 4-byte CLTVs, and an 8-byte
    payment_metadata standing in for the final hop's short_channel_id).
    """
    rng = random.Random(seed)
    session_key = rng.randbytes(32)
    private_keys = [rng.randbytes(32) for _ in range(hops)]
    low_amount = 1 << 32 if equal_sizes else 1
    low_cltv = 1 << 24 if equal_sizes else 1
    payloads = [
        forward_payload_tlvs(
            rng.randrange(low_amount, 1 << 40),
            rng.randrange(low_cltv, 1 << 30),
            ShortChannelId.from_int(rng.randrange(1 << 64)),
        ).to_bytes()
        for _ in range(hops - 1)
    ]
    amount = rng.randrange(low_amount, 1 << 40)
    cltv = rng.randrange(low_cltv, 1 << 30)
    if equal_sizes:
        final = final_payload_tlvs(amount, cltv, payment_metadata=rng.randbytes(8))
    else:
        final = final_payload_tlvs(amount, cltv, payment_secret=rng.randbytes(32))
    payloads.append(final.to_bytes())
    if equal_sizes:
        assert len({len(payload) for payload in payloads}) == 1
    return session_key, private_keys, payloads, rng.randbytes(32)


def _pyln_onion(
    session_key: bytes, private_keys: list[bytes], payloads: list[bytes], assoc: bytes
) -> RoutingOnion:
    hops = [
        SphinxHop(PrivateKey(key).public_key(), frame_payload(payload))
        for key, payload in zip(private_keys, payloads, strict=True)
    ]
    return SphinxPath(hops=hops, assocdata=assoc, session_key=Secret(session_key)).compile()


@pytest.mark.parametrize("hops", HOP_COUNTS)
def test_pyln_peels_every_hop_of_our_onion(hops: int) -> None:
    session_key, private_keys, payloads, assoc = _route(hops, hops, equal_sizes=False)
    ours = construct_onion(session_key, [public_key_of(k) for k in private_keys], payloads, assoc)
    onion: RoutingOnion | None = RoutingOnion.from_bin(ours.to_bytes())
    for index, key in enumerate(private_keys):
        assert onion is not None
        payload, onion = onion.unwrap(PrivateKey(key), assoc)
        assert payload.to_bytes(include_prefix=False) == payloads[index]
    assert onion is None


@pytest.mark.parametrize("hops", HOP_COUNTS)
def test_we_peel_every_hop_of_pylns_onion(hops: int) -> None:
    session_key, private_keys, payloads, assoc = _route(100 + hops, hops, equal_sizes=True)
    theirs = _pyln_onion(session_key, private_keys, payloads, assoc)
    packet: OnionPacket | None = OnionPacket.from_bytes(theirs.to_bin())
    for index, key in enumerate(private_keys):
        assert packet is not None
        peeled = process_onion(packet, key, assoc)
        assert peeled.payload == payloads[index]
        packet = peeled.next_onion
    assert packet is None


@pytest.mark.parametrize("hops", HOP_COUNTS)
def test_same_inputs_give_the_same_bytes_as_pyln(hops: int) -> None:
    session_key, private_keys, payloads, assoc = _route(200 + hops, hops, equal_sizes=True)
    ours = construct_onion(session_key, [public_key_of(k) for k in private_keys], payloads, assoc)
    assert ours.to_bytes() == _pyln_onion(session_key, private_keys, payloads, assoc).to_bin()


def test_legacy_payload_from_pyln_is_refused_as_reserved_length() -> None:
    """A legacy (realm 0) hop reads as `length` 0, reserved by BOLT 4: authenticated but refused."""
    rng = random.Random(7)
    session_key, key = rng.randbytes(32), rng.randbytes(32)
    legacy = LegacyOnionPayload(amt_to_forward=1000, outgoing_cltv_value=144, short_channel_id="1x2x3")
    hop = SphinxHop(PublicKey(public_key_of(key)), legacy.to_bytes())
    onion = SphinxPath(hops=[hop], assocdata=b"", session_key=Secret(session_key)).compile()
    with pytest.raises(InvalidOnionPayloadFraming) as raised:
        process_onion(onion.to_bin(), key)
    assert raised.value.failure_code.name == "invalid_onion_payload"
