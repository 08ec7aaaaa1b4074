"""BOLT 4 Sphinx vectors: onion-test.json, construction and peeling at each of the 5 hops."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from harness.vectors import VectorCase, expect_equal, load_json
from reference_node.onion.sphinx import OnionPacket, construct_onion, process_onion
from reference_node.onion.wire_adapter import decode_bigsize

BOLT = 4
FILE = "bolt04/onion-test.json"


def _unframe(framed_hex: str) -> bytes:
    """The vector's payloads carry their bigsize length prefix; Sphinx takes the bare TLV stream."""
    framed = bytes.fromhex(framed_hex)
    length, start = decode_bigsize(framed)
    expect_equal("payload length prefix", len(framed) - start, length)
    return framed[start:]


def _build(data: dict[str, Any]) -> OnionPacket:
    generate = data["generate"]
    return construct_onion(
        bytes.fromhex(generate["session_key"]),
        [bytes.fromhex(hop["pubkey"]) for hop in generate["hops"]],
        [_unframe(hop["payload"]) for hop in generate["hops"]],
        bytes.fromhex(generate["associated_data"]),
    )


def check_construction() -> str:
    data = load_json(FILE)
    onion = _build(data)
    expect_equal("onion", onion.to_bytes(), bytes.fromhex(data["onion"]))
    return f"{len(data['generate']['hops'])} hops, {len(onion.to_bytes())}-byte onion"


def check_peel(hop_index: int) -> str:
    """Peel the vector's onion with each hop's private key, up to and including `hop_index`."""
    data = load_json(FILE)
    generate = data["generate"]
    associated_data = bytes.fromhex(generate["associated_data"])
    packet: OnionPacket | None = OnionPacket.from_bytes(bytes.fromhex(data["onion"]))
    for index in range(hop_index + 1):
        assert packet is not None
        peeled = process_onion(packet, bytes.fromhex(data["decode"][index]), associated_data)
        packet = peeled.next_onion
    expect_equal(f"hop {hop_index} payload", peeled.payload, _unframe(generate["hops"][hop_index]["payload"]))
    is_last = hop_index == len(generate["hops"]) - 1
    expect_equal(f"hop {hop_index} is final", peeled.is_final, is_last)
    return "final hop" if is_last else "forwards"


def cases() -> Iterator[VectorCase]:
    yield VectorCase(BOLT, "onion-test/construct", check_construction)
    for index in range(len(load_json(FILE)["decode"])):
        yield VectorCase(BOLT, f"onion-test/peel-hop-{index}", partial(check_peel, index))
