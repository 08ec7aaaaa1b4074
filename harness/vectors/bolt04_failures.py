"""BOLT 4 failure vectors: onion-error-test.json (legacy) and the markdown's attributable
"Returning Errors" and "Returning success" traces (extracted to attributable-*.json)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from harness.vectors import VectorCase, expect_equal, load_json
from reference_node.onion.attribution import add_attribution
from reference_node.onion.crypto import KeyType, chacha20_stream, generate_key
from reference_node.onion.failure_messages import FailureCode, FailureMessage
from reference_node.onion.failure_packet import (
    ReturnedFailure,
    build_return_packet,
    create_failure,
    create_fulfill_attribution,
    decode_failure,
    decode_fulfill_attribution,
    forward_failure,
    obfuscate_return_packet,
)
from reference_node.onion.sphinx import derive_hop_secrets
from reference_node.onion.wire_adapter import RawTlv, encode_tlv_records

BOLT = 4
LEGACY = "bolt04/onion-error-test.json"
ATTRIBUTABLE = "bolt04/attributable-errors.json"
SUCCESS = "bolt04/attributable-success.json"


def _shared_secrets(session_key_hex: str, pubkeys: list[str]) -> list[bytes]:
    secrets = derive_hop_secrets(bytes.fromhex(session_key_hex), [bytes.fromhex(p) for p in pubkeys])
    return [s.shared_secret for s in secrets]


# --- legacy failure (onion-error-test.json) ---------------------------------------------------


def check_legacy_keys() -> str:
    generate = load_json(LEGACY)["generate"]
    hops = generate["hops"]
    secrets = _shared_secrets(generate["session_key"], [hop["pubkey"] for hop in hops])
    for index, (hop, secret) in enumerate(zip(hops, secrets, strict=True)):
        expect_equal(f"hop {index} shared secret", secret, bytes.fromhex(hop["hop_shared_secret"]))
        expect_equal(
            f"hop {index} ammag", generate_key(KeyType.AMMAG, secret), bytes.fromhex(hop["ammag_key"])
        )
        if "um_key" in hop:
            expect_equal(f"hop {index} um", generate_key(KeyType.UM, secret), bytes.fromhex(hop["um_key"]))
    return f"{len(hops)} shared secrets and keys"


def check_legacy_erring_packet() -> str:
    generate = load_json(LEGACY)["generate"]
    erring = generate["hops"][-1]
    raw = build_return_packet(
        bytes.fromhex(erring["hop_shared_secret"]), bytes.fromhex(generate["failure_message"])
    )
    # The vector's payload is the packet without its leading HMAC.
    expect_equal("erring node packet (after hmac)", raw[32:], bytes.fromhex(erring["payload"]))
    return f"{len(raw)}-byte return packet"


def check_legacy_wrapped() -> str:
    data = load_json(LEGACY)
    hops = data["generate"]["hops"]
    secrets = [bytes.fromhex(hop["hop_shared_secret"]) for hop in hops]
    returned = create_failure(secrets[-1], bytes.fromhex(data["generate"]["failure_message"]))
    for secret in reversed(secrets[:-1]):
        returned = forward_failure(secret, returned)
    expect_equal("error packet at the origin", returned.reason, bytes.fromhex(data["errorpacket"]))
    return "wrapped by 5 hops"


def check_legacy_origin() -> str:
    data = load_json(LEGACY)
    hops = data["generate"]["hops"]
    secrets = _shared_secrets(data["generate"]["session_key"], [hop["pubkey"] for hop in hops])
    decoded = decode_failure(secrets, ReturnedFailure(bytes.fromhex(data["errorpacket"]), None))
    expect_equal("failing hop", decoded.failing_hop_index, len(hops) - 1)
    expected = bytes.fromhex(data["generate"]["failure_message"])
    expect_equal("failuremsg", decoded.failure_message, expected)
    code = FailureMessage.from_bytes(expected).code
    return f"attributed to hop {decoded.failing_hop_index}: {code.name}"


# --- attributable failure (markdown "Returning Errors") ----------------------------------------


def _failure_message(spec: dict[str, Any]) -> FailureMessage:
    extension = encode_tlv_records(
        [RawTlv(spec["tlv_type"], bytes([spec["tlv_value_byte"]]) * spec["tlv_value_length"])]
    )
    return FailureMessage(
        FailureCode[spec["name"]],
        htlc_msat=spec["htlc_msat"],
        height=spec["height"],
        extension_tlvs=extension,
    )


def _hold_time(data: dict[str, Any], node: int) -> int:
    """The hold time node `node` reports.

    The markdown lists `htlc_hold_time[i]` next to `pubkey[i]`, but its trace only matches with
    the list applied from the erring end: node i reports htlc_hold_time[nhops - 1 - i] (the erring
    node 4 reports 1). See the onion report: the parameters and the trace disagree.
    """
    return int(data["hops"][len(data["hops"]) - 1 - node]["htlc_hold_time"])


def check_attributable_message() -> str:
    data = load_json(ATTRIBUTABLE)
    message = _failure_message(data["failure_message"]).to_bytes()
    encoded = bytes.fromhex(data["erring_node"]["encoded_failure_message"])
    # The vector's "encoded_failure_message" runs on into pad_len and the zero pad.
    pad_len = len(encoded) - len(message) - 2
    expect_equal("encoded_failure_message", message + pad_len.to_bytes(2, "big") + bytes(pad_len), encoded)
    return f"{len(message)}-byte failuremsg, pad_len {pad_len}"


def _erring_raw_packet(data: dict[str, Any]) -> bytes:
    erring = data["erring_node"]
    message = _failure_message(data["failure_message"]).to_bytes()
    pad_len = len(bytes.fromhex(erring["encoded_failure_message"])) - len(message) - 2
    return build_return_packet(bytes.fromhex(erring["shared_secret"]), message, pad_len)


def check_attributable_erring_node() -> str:
    data = load_json(ATTRIBUTABLE)
    erring = data["erring_node"]
    secrets = _shared_secrets(data["session_key"], [hop["pubkey"] for hop in data["hops"]])
    expect_equal(
        "erring node shared_secret", secrets[data["failure_source"]], bytes.fromhex(erring["shared_secret"])
    )
    expect_equal(
        "um_key", generate_key(KeyType.UM, secrets[data["failure_source"]]), bytes.fromhex(erring["um_key"])
    )
    raw = _erring_raw_packet(data)
    expect_equal("payload", raw[32:], bytes.fromhex(erring["payload"]))
    expect_equal("raw_error_packet", raw, bytes.fromhex(erring["raw_error_packet"]))
    return f"{len(raw)}-byte raw error packet"


def _attributable_trace(data: dict[str, Any]) -> dict[int, ReturnedFailure]:
    """Run the failure back from the erring node; the packet and attribution each node sends."""
    secrets = _shared_secrets(data["session_key"], [hop["pubkey"] for hop in data["hops"]])
    source = data["failure_source"]
    raw = _erring_raw_packet(data)
    returned = ReturnedFailure(
        obfuscate_return_packet(secrets[source], raw),
        add_attribution(secrets[source], _hold_time(data, source), None, raw),
    )
    trace = {source: returned}
    for node in reversed(range(source)):
        returned = forward_failure(secrets[node], returned, hold_time=_hold_time(data, node))
        trace[node] = returned
    return trace


def check_attributable_hop(step: int) -> str:
    data = load_json(ATTRIBUTABLE)
    expected = data["forwarding"][step]
    node = expected["node"]
    secret = bytes.fromhex(expected["shared_secret"])
    secrets = _shared_secrets(data["session_key"], [hop["pubkey"] for hop in data["hops"]])
    expect_equal(f"node {node} shared_secret", secrets[node], secret)
    ammag = generate_key(KeyType.AMMAG, secret)
    expect_equal(f"node {node} ammag_key", ammag, bytes.fromhex(expected["ammag_key"]))
    stream = bytes.fromhex(expected["stream"])
    expect_equal(f"node {node} stream", chacha20_stream(ammag, len(stream)), stream)
    returned = _attributable_trace(data)[node]
    expect_equal(f"error packet for node {node}", returned.reason, bytes.fromhex(expected["error_packet"]))
    expect_equal(
        f"attribution data for node {node}",
        returned.attribution_data,
        bytes.fromhex(expected["attribution_data"]),
    )
    return f"node {node}: packet and attribution_data"


def check_attributable_origin() -> str:
    data = load_json(ATTRIBUTABLE)
    secrets = _shared_secrets(data["session_key"], [hop["pubkey"] for hop in data["hops"]])
    last = data["forwarding"][-1]
    returned = ReturnedFailure(bytes.fromhex(last["error_packet"]), bytes.fromhex(last["attribution_data"]))
    decoded = decode_failure(secrets, returned)
    expect_equal("failing hop", decoded.failing_hop_index, data["failure_source"])
    expect_equal(
        "failure message", decoded.failure_message, _failure_message(data["failure_message"]).to_bytes()
    )
    expect_equal("attribution failure", decoded.attribution_failed_at, None)
    expected_hold_times = tuple(_hold_time(data, node) for node in range(len(secrets)))
    expect_equal("hold times", decoded.hold_times, expected_hold_times)
    return f"hop {decoded.failing_hop_index}, hold times {decoded.hold_times}"


# --- attributable success (markdown "Returning success") ----------------------------------------


def check_success_hop(step: int) -> str:
    errors = load_json(ATTRIBUTABLE)
    expected = load_json(SUCCESS)["attribution_data"][step]
    secrets = _shared_secrets(errors["session_key"], [hop["pubkey"] for hop in errors["hops"]])
    attribution: bytes | None = None
    for node in reversed(range(expected["node"], len(secrets))):
        attribution = create_fulfill_attribution(secrets[node], _hold_time(errors, node), attribution)
    expect_equal(
        f"attribution data for node {expected['node']}",
        attribution,
        bytes.fromhex(expected["attribution_data"]),
    )
    return f"node {expected['node']}"


def check_success_origin() -> str:
    errors = load_json(ATTRIBUTABLE)
    success = load_json(SUCCESS)["attribution_data"]
    secrets = _shared_secrets(errors["session_key"], [hop["pubkey"] for hop in errors["hops"]])
    origin_data = next(item for item in success if item["node"] == 0)
    hold_times = decode_fulfill_attribution(secrets, bytes.fromhex(origin_data["attribution_data"]))
    expect_equal("hold times", hold_times, tuple(_hold_time(errors, node) for node in range(len(secrets))))
    return f"hold times {hold_times}"


def cases() -> Iterator[VectorCase]:
    yield VectorCase(BOLT, "onion-error-test/keys", check_legacy_keys)
    yield VectorCase(BOLT, "onion-error-test/erring-node-packet", check_legacy_erring_packet)
    yield VectorCase(BOLT, "onion-error-test/wrapped-packet", check_legacy_wrapped)
    yield VectorCase(BOLT, "onion-error-test/origin", check_legacy_origin)
    yield VectorCase(BOLT, "returning-errors/failure-message", check_attributable_message)
    yield VectorCase(BOLT, "returning-errors/erring-node", check_attributable_erring_node)
    for step, item in enumerate(load_json(ATTRIBUTABLE)["forwarding"]):
        yield VectorCase(BOLT, f"returning-errors/node-{item['node']}", partial(check_attributable_hop, step))
    yield VectorCase(BOLT, "returning-errors/origin", check_attributable_origin)
    for step, item in enumerate(load_json(SUCCESS)["attribution_data"]):
        yield VectorCase(BOLT, f"returning-success/node-{item['node']}", partial(check_success_hop, step))
    yield VectorCase(BOLT, "returning-success/origin", check_success_origin)
