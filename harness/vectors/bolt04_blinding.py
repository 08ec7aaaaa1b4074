"""BOLT 4 route blinding vectors: route-blinding-test.json, blinded-payment-onion-test.json and
blinded-onion-message-onion-test.json."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import partial
from typing import Any

from harness.vectors import VectorCase, expect_equal, load_json
from reference_node.onion.crypto import (
    KeyType,
    blinding_factor,
    generate_key,
    multiply_private_key,
    public_key_of,
)
from reference_node.onion.onion_message import (
    ForwardOnionMessage,
    OnionMessage,
    OnionmsgTlv,
    ReceivedOnionMessage,
    construct_onion_message,
    process_onion_message,
)
from reference_node.onion.payload import (
    BlindedFinalPayload,
    BlindedForwardPayload,
    ForwardPayload,
    blinded_payload_tlvs,
    forward_payload_tlvs,
    read_hop_payload,
)
from reference_node.onion.route_blinding import (
    AllowedFeatures,
    BlindedHop,
    CreatedBlindedPath,
    EncryptedDataTlv,
    NextNodeId,
    NextPathKeyOverride,
    Padding,
    PathId,
    PaymentConstraints,
    PaymentRelay,
    ShortChannelIdTlv,
    aggregate_payment_relay,
    create_blinded_path,
    unblind_hop,
)
from reference_node.onion.sphinx import construct_onion, process_onion
from reference_node.onion.wire_adapter import RawTlv, ShortChannelId, decode_bigsize

BOLT = 4
ROUTE = "bolt04/route-blinding-test.json"
PAYMENT = "bolt04/blinded-payment-onion-test.json"
MESSAGE = "bolt04/blinded-onion-message-onion-test.json"


def _features(bits: list[int]) -> bytes:
    """A feature bitfield (BOLT 9) with the listed bits set, big-endian, minimal length."""
    if not bits:
        return b""
    value = sum(1 << bit for bit in bits)
    return value.to_bytes((max(bits) + 8) // 8, "big")


def encrypted_data_tlv_from_json(tlvs: dict[str, Any]) -> EncryptedDataTlv:
    """The vectors' readable `encrypted_data_tlv` (field names, "0x0x1729" scids, feature bit lists)."""
    relay = tlvs.get("payment_relay")
    constraints = tlvs.get("payment_constraints")
    unknown = [
        RawTlv(int(name.removeprefix("unknown_tag_")), bytes.fromhex(value))
        for name, value in tlvs.items()
        if name.startswith("unknown_tag_")
    ]
    return EncryptedDataTlv(
        padding=Padding(bytes.fromhex(tlvs["padding"])) if "padding" in tlvs else None,
        short_channel_id=(
            ShortChannelIdTlv(ShortChannelId.from_str(tlvs["short_channel_id"]))
            if "short_channel_id" in tlvs
            else None
        ),
        next_node_id=NextNodeId(bytes.fromhex(tlvs["next_node_id"])) if "next_node_id" in tlvs else None,
        path_id=PathId(bytes.fromhex(tlvs["path_id"])) if "path_id" in tlvs else None,
        next_path_key_override=(
            NextPathKeyOverride(bytes.fromhex(tlvs["next_path_key_override"]))
            if "next_path_key_override" in tlvs
            else None
        ),
        payment_relay=(
            None
            if relay is None
            else PaymentRelay(
                relay["cltv_expiry_delta"],
                relay["fee_proportional_millionths"],
                relay.get("fee_base_msat", 0),
            )
        ),
        payment_constraints=(
            None
            if constraints is None
            else PaymentConstraints(constraints["max_cltv_expiry"], constraints["htlc_minimum_msat"])
        ),
        allowed_features=(
            AllowedFeatures(_features(tlvs["allowed_features"]["features"]))
            if "allowed_features" in tlvs
            else None
        ),
        unknown_records=tuple(sorted(unknown, key=lambda record: record.type)),
    )


def _unframe(framed_hex: str) -> bytes:
    framed = bytes.fromhex(framed_hex)
    length, start = decode_bigsize(framed)
    expect_equal("payload length prefix", len(framed) - start, length)
    return framed[start:]


# --- route-blinding-test.json -----------------------------------------------------------------


def _route_segments(hops: list[dict[str, Any]]) -> list[CreatedBlindedPath]:
    """Each hop with a `session_key` starts a route built by one node; the vector concatenates them."""
    starts = [i for i, hop in enumerate(hops) if "session_key" in hop] + [len(hops)]
    segments = []
    for begin, end in itertools.pairwise(starts):
        part = hops[begin:end]
        segments.append(
            create_blinded_path(
                bytes.fromhex(part[0]["session_key"]),
                [bytes.fromhex(hop["node_id"]) for hop in part],
                [bytes.fromhex(hop["encoded_tlvs"]) for hop in part],
            )
        )
    return segments


def check_route_hop(index: int) -> str:
    hops = load_json(ROUTE)["generate"]["hops"]
    hop = hops[index]
    expect_equal(
        "encoded_tlvs",
        encrypted_data_tlv_from_json(hop["tlvs"]).to_bytes(),
        bytes.fromhex(hop["encoded_tlvs"]),
    )
    expect_equal(
        "path_key", public_key_of(bytes.fromhex(hop["path_privkey"])), bytes.fromhex(hop["path_key"])
    )
    trace = [t for segment in _route_segments(hops) for t in segment.trace][index]
    expect_equal("path_key", trace.path_key, bytes.fromhex(hop["path_key"]))
    expect_equal("shared_secret", trace.shared_secret, bytes.fromhex(hop["shared_secret"]))
    expect_equal("rho", trace.rho, bytes.fromhex(hop["rho"]))
    expect_equal("encrypted_data", trace.encrypted_recipient_data, bytes.fromhex(hop["encrypted_data"]))
    expect_equal("blinded_node_id", trace.blinded_node_id, bytes.fromhex(hop["blinded_node_id"]))
    return f"{hop['alias']}"


def check_route() -> str:
    data = load_json(ROUTE)
    segments = _route_segments(data["generate"]["hops"])
    route = data["route"]
    expect_equal("first_node_id", segments[0].path.first_node_id, bytes.fromhex(route["first_node_id"]))
    expect_equal("first_path_key", segments[0].path.first_path_key, bytes.fromhex(route["first_path_key"]))
    hops = [hop for segment in segments for hop in segment.path.hops]
    expected = [
        BlindedHop(bytes.fromhex(h["blinded_node_id"]), bytes.fromhex(h["encrypted_data"]))
        for h in route["hops"]
    ]
    expect_equal("hops", hops, expected)
    return f"{len(segments)} routes concatenated, {len(hops)} hops"


def check_unblind(index: int) -> str:
    data = load_json(ROUTE)
    expected = data["unblind"]["hops"][index]
    hop = unblind_hop(
        bytes.fromhex(expected["node_privkey"]),
        bytes.fromhex(expected["path_key"]),
        bytes.fromhex(data["route"]["hops"][index]["encrypted_data"]),
    )
    expect_equal("blinded_privkey", hop.blinded_private_key, bytes.fromhex(expected["blinded_privkey"]))
    expect_equal("decrypted_data", hop.decrypted_data, bytes.fromhex(expected["decrypted_data"]))
    expect_equal("next_path_key", hop.derived_next_path_key, bytes.fromhex(expected["next_path_key"]))
    override = expected.get("next_path_key_override")
    if override is not None:
        expect_equal("next_path_key_override (used)", hop.next_path_key, bytes.fromhex(override))
    return f"{expected['alias']}" + (" (override)" if override else "")


# --- blinded-payment-onion-test.json ----------------------------------------------------------


def _expected_payload(hop: dict[str, Any], blinded: dict[str, Any] | None, first_path_key: str) -> bytes:
    tlvs = hop["tlvs"]
    if blinded is None:
        return forward_payload_tlvs(
            tlvs["amt_to_forward"],
            tlvs["outgoing_cltv_value"],
            ShortChannelId.from_str(tlvs["outgoing_channel_id"]),
        ).to_bytes()
    final = None
    if "amt_to_forward" in tlvs:
        final = (tlvs["amt_to_forward"], tlvs["outgoing_cltv_value"], tlvs["total_amount_msat"])
    path_key = bytes.fromhex(tlvs["current_path_key"]) if "current_path_key" in tlvs else None
    if path_key is not None:
        expect_equal("current_path_key", path_key, bytes.fromhex(first_path_key))
    return blinded_payload_tlvs(bytes.fromhex(blinded["encrypted_data"]), path_key, final).to_bytes()


def check_payment_payloads() -> str:
    generate = load_json(PAYMENT)["generate"]
    route = generate["blinded_route"]
    clear = len(generate["full_route"]["hops"]) - len(route["hops"])
    for index, hop in enumerate(generate["full_route"]["hops"]):
        blinded = None if index < clear else route["hops"][index - clear]
        built = _expected_payload(hop, blinded, route["first_path_key"])
        expect_equal(f"{hop['alias']} payload", built, _unframe(hop["payload"]))
    return f"{clear} clear + {len(route['hops'])} blinded payloads"


def check_payment_payinfo() -> str:
    generate = load_json(PAYMENT)["generate"]
    relays = []
    for hop in generate["full_route"]["hops"]:
        erd = hop["tlvs"].get("encrypted_recipient_data")
        if erd is not None and "payment_relay" in erd:
            relays.append(encrypted_data_tlv_from_json(erd).payment_relay)
    payinfo = generate["blinded_payinfo"]
    total = aggregate_payment_relay([r for r in relays if r is not None], 0)
    expect_equal("fee_base_msat", total.fee_base_msat, payinfo["fee_base_msat"])
    expect_equal(
        "fee_proportional_millionths",
        total.fee_proportional_millionths,
        payinfo["fee_proportional_millionths"],
    )
    expect_equal(
        "cltv_expiry_delta (min_final_cltv_expiry_delta 0)",
        total.cltv_expiry_delta,
        payinfo["cltv_expiry_delta"],
    )
    return f"{len(relays)} relays aggregated"


def check_payment_onion() -> str:
    generate = load_json(PAYMENT)["generate"]
    hops = generate["full_route"]["hops"]
    onion = construct_onion(
        bytes.fromhex(generate["session_key"]),
        [bytes.fromhex(hop["pubkey"]) for hop in hops],
        [_unframe(hop["payload"]) for hop in hops],
        bytes.fromhex(generate["associated_data"]),
    )
    expect_equal("onion", onion.to_bytes(), bytes.fromhex(generate["onion"]))
    return f"{len(hops)} hops"


def check_payment_decrypt(index: int) -> str:
    """Each hop peels its onion (with the path_key its predecessor hands on) and finds the next."""
    data = load_json(PAYMENT)
    associated_data = bytes.fromhex(data["generate"]["associated_data"])
    hops = data["decrypt"]["hops"]
    path_key: bytes | None = None
    for step in range(index + 1):
        hop = hops[step]
        private_key = bytes.fromhex(hop["node_privkey"])
        peeled = process_onion(bytes.fromhex(hop["onion"]), private_key, associated_data, path_key)
        payload = read_hop_payload(
            peeled.payload, is_final=peeled.is_final, update_add_has_path_key=path_key is not None
        )
        if isinstance(payload, BlindedForwardPayload | BlindedFinalPayload):
            current = payload.current_path_key if payload.current_path_key is not None else path_key
            assert current is not None
            path_key = unblind_hop(private_key, current, payload.encrypted_recipient_data).next_path_key
        else:
            path_key = None
    hop = hops[index]
    if step + 1 < len(hops):
        assert peeled.next_onion is not None
        expect_equal(
            f"{hop['alias']} next onion",
            peeled.next_onion.to_bytes(),
            bytes.fromhex(hops[index + 1]["onion"]),
        )
    else:
        expect_equal(f"{hop['alias']} is final", peeled.is_final, True)
    if "next_path_key" in hop:
        expect_equal(f"{hop['alias']} next_path_key", path_key, bytes.fromhex(hop["next_path_key"]))
    kind = type(payload).__name__
    expect_equal(f"{hop['alias']} payload kind", kind in (ForwardPayload.__name__,), index == 0)
    return f"{hop['alias']}: {kind}"


# --- blinded-onion-message-onion-test.json -----------------------------------------------------


def _message_paths(data: dict[str, Any]) -> list[CreatedBlindedPath]:
    """The sender's one-hop path to Alice, then Dave's path from Bob (keys from the decrypt section)."""
    hops = data["generate"]["hops"]
    node_ids = [public_key_of(bytes.fromhex(hop["privkey"])) for hop in data["decrypt"]["hops"]]
    starts = [0, 1, len(hops)]
    return [
        create_blinded_path(
            bytes.fromhex(hops[begin]["path_key_secret"]),
            node_ids[begin:end],
            [bytes.fromhex(hop["encrypted_data_tlv"]) for hop in hops[begin:end]],
        )
        for begin, end in itertools.pairwise(starts)
    ]


def check_message_hop(index: int) -> str:
    data = load_json(MESSAGE)
    hop = data["generate"]["hops"][index]
    tlvs = {k: v for k, v in hop["tlvs"].items() if k != "path_key_override_secret"}
    expect_equal(
        "encrypted_data_tlv",
        encrypted_data_tlv_from_json(tlvs).to_bytes(),
        bytes.fromhex(hop["encrypted_data_tlv"]),
    )
    if "path_key_override_secret" in hop["tlvs"]:
        override = public_key_of(bytes.fromhex(hop["tlvs"]["path_key_override_secret"]))
        expect_equal("next_path_key_override", override, bytes.fromhex(hop["tlvs"]["next_path_key_override"]))
    trace = [t for path in _message_paths(data) for t in path.trace][index]
    expect_equal("E", trace.path_key, bytes.fromhex(hop["E"]))
    expect_equal("ss", trace.shared_secret, bytes.fromhex(hop["ss"]))
    blinding = generate_key(KeyType.BLINDED_NODE_ID, trace.shared_secret)
    expect_equal(
        "HMAC256('blinded_node_id', ss)", blinding, bytes.fromhex(hop["HMAC256('blinded_node_id', ss)"])
    )
    expect_equal("blinded_node_id", trace.blinded_node_id, bytes.fromhex(hop["blinded_node_id"]))
    expect_equal(
        "H(E || ss)", blinding_factor(trace.path_key, trace.shared_secret), bytes.fromhex(hop["H(E || ss)"])
    )
    expect_equal("rho", trace.rho, bytes.fromhex(hop["rho"]))
    expect_equal(
        "encrypted_recipient_data",
        trace.encrypted_recipient_data,
        bytes.fromhex(hop["encrypted_recipient_data"]),
    )
    # next_e is printed as the 32-byte key plus a trailing 01 (a compressed-key marker).
    next_e = bytes.fromhex(hop["next_e"])
    next_private = _next_ephemeral_key(
        bytes.fromhex(hop["path_key_secret"]), trace.path_key, trace.shared_secret
    )
    expect_equal("next_e", next_private, next_e[:32])
    return f"{hop['alias']}"


def _next_ephemeral_key(secret: bytes, path_key: bytes, shared_secret: bytes) -> bytes:
    return multiply_private_key(secret, blinding_factor(path_key, shared_secret))


def check_message_route() -> str:
    data = load_json(MESSAGE)
    paths = _message_paths(data)
    route = data["route"]
    expect_equal("first_node_id", paths[0].path.first_node_id, bytes.fromhex(route["first_node_id"]))
    expect_equal("first_path_key", paths[0].path.first_path_key, bytes.fromhex(route["first_path_key"]))
    hops = [hop for created in paths for hop in created.path.hops]
    expected = [
        BlindedHop(bytes.fromhex(h["blinded_node_id"]), bytes.fromhex(h["encrypted_recipient_data"]))
        for h in route["hops"]
    ]
    expect_equal("hops", hops, expected)
    return f"{len(hops)} hops"


def check_message_onion() -> str:
    data = load_json(MESSAGE)
    route = data["route"]
    hops = [
        BlindedHop(bytes.fromhex(h["blinded_node_id"]), bytes.fromhex(h["encrypted_recipient_data"]))
        for h in route["hops"]
    ]
    body = data["onionmessage"]
    unknown = tuple(
        RawTlv(int(name.removeprefix("unknown_tag_")), bytes.fromhex(value))
        for name, value in body.items()
        if name.startswith("unknown_tag_")
    )
    message = construct_onion_message(
        bytes.fromhex(data["generate"]["session_key"]),
        bytes.fromhex(route["first_path_key"]),
        hops,
        OnionmsgTlv(unknown_records=unknown),
    )
    expect_equal(
        "onion_message_packet", message.onion_message_packet, bytes.fromhex(body["onion_message_packet"])
    )
    expect_equal(
        "onion_message", message.to_bytes(), bytes.fromhex(data["decrypt"]["hops"][0]["onion_message"])
    )
    return f"{len(message.onion_message_packet)}-byte packet"


def check_message_decrypt(index: int) -> str:
    hops = load_json(MESSAGE)["decrypt"]["hops"]
    hop = hops[index]
    result = process_onion_message(
        OnionMessage.from_bytes(bytes.fromhex(hop["onion_message"])), bytes.fromhex(hop["privkey"])
    )
    if isinstance(result, ForwardOnionMessage):
        expect_equal("next_node_id", result.next_node_id, bytes.fromhex(hop["next_node_id"]))
        expect_equal(
            "next onion_message", result.message.to_bytes(), bytes.fromhex(hops[index + 1]["onion_message"])
        )
        return f"{hop['alias']} forwards"
    assert isinstance(result, ReceivedOnionMessage)
    tlvs = hop["tlvs"]
    assert result.payload.encrypted_recipient_data is not None
    expect_equal(
        "encrypted_recipient_data",
        result.payload.encrypted_recipient_data.value,
        bytes.fromhex(tlvs["encrypted_recipient_data"]),
    )
    expected_unknown = tuple(
        RawTlv(int(name.removeprefix("unknown_tag_")), bytes.fromhex(value))
        for name, value in tlvs.items()
        if name.startswith("unknown_tag_")
    )
    expect_equal("payload records", result.payload.unknown_records, expected_unknown)
    return f"{hop['alias']} receives"


def cases() -> Iterator[VectorCase]:
    route = load_json(ROUTE)
    for index, hop in enumerate(route["generate"]["hops"]):
        yield VectorCase(BOLT, f"route-blinding/create-{hop['alias']}", partial(check_route_hop, index))
    yield VectorCase(BOLT, "route-blinding/route", check_route)
    for index, hop in enumerate(route["unblind"]["hops"]):
        yield VectorCase(BOLT, f"route-blinding/unblind-{hop['alias']}", partial(check_unblind, index))
    payment = load_json(PAYMENT)
    yield VectorCase(BOLT, "blinded-payment-onion/payloads", check_payment_payloads)
    yield VectorCase(BOLT, "blinded-payment-onion/payinfo", check_payment_payinfo)
    yield VectorCase(BOLT, "blinded-payment-onion/construct", check_payment_onion)
    for index, hop in enumerate(payment["decrypt"]["hops"]):
        yield VectorCase(
            BOLT, f"blinded-payment-onion/decrypt-{hop['alias']}", partial(check_payment_decrypt, index)
        )
    message = load_json(MESSAGE)
    for index, hop in enumerate(message["generate"]["hops"]):
        yield VectorCase(
            BOLT, f"blinded-onion-message/blind-{hop['alias']}", partial(check_message_hop, index)
        )
    yield VectorCase(BOLT, "blinded-onion-message/route", check_message_route)
    yield VectorCase(BOLT, "blinded-onion-message/construct", check_message_onion)
    for index, hop in enumerate(message["decrypt"]["hops"]):
        yield VectorCase(
            BOLT, f"blinded-onion-message/decrypt-{hop['alias']}", partial(check_message_decrypt, index)
        )
