"""BOLT 4 "Returning Errors": the return packet at the erring node, at each hop back, and at the origin.

Return packet: [32*byte:hmac][u16:failure_len][failure_len*byte:failuremsg][u16:pad_len][pad],
HMAC'd with the erring node's `um` key, then XOR'd with an `ammag` stream at every hop back.
"""

from __future__ import annotations

import hmac as _hmac
from collections.abc import Sequence
from dataclasses import dataclass

from reference_node.onion.attribution import AttributionError, add_attribution, unwrap_attribution
from reference_node.onion.crypto import KeyType, chacha20_stream, generate_key, hmac_sha256, xor
from reference_node.onion.failure_messages import FailureMessage

HMAC_LEN = 32
# "MUST set pad such that the failure_len plus pad_len is at least 256 ... SHOULD ... equal to 256."
MIN_FAILURE_PLUS_PAD_LEN = 256
# Origin requirement: "SHOULD continue decrypting, until the loop has been repeated 27 times".
ORIGIN_DECRYPTION_ROUNDS = 27
_DUMMY_SHARED_SECRET = bytes(32)


class FailurePacketError(ValueError):
    """A return packet that cannot be built or whose origin cannot be identified."""


@dataclass(frozen=True)
class ReturnedFailure:
    """What the erring (or an intermediate) node sends back: `reason` and `attribution_data`."""

    reason: bytes
    attribution_data: bytes | None


@dataclass(frozen=True)
class DecodedFailure:
    """The origin's reading of a returned failure.

    `failing_hop_index` is the index in the route (0 = the origin's peer) whose `um` HMAC matched,
    with its `failure_message`; both are None when no hop's HMAC matched. `hold_times` are the hold
    times (100 ms units) of the hops whose attribution HMACs verified, from the origin's peer on.
    `attribution_failed_at` is the first hop whose attribution HMACs did not verify: that hop or its
    upstream neighbour altered the failure ("Blame is still only assignable to a pair of nodes").
    """

    failing_hop_index: int | None
    failure_message: bytes | None
    hold_times: tuple[int, ...]
    attribution_failed_at: int | None


def build_return_packet(shared_secret: bytes, failure_message: bytes, pad_len: int | None = None) -> bytes:
    """The erring node's return packet before any `ammag` stream ("raw error packet")."""
    if len(failure_message) > 0xFFFF:
        raise FailurePacketError(f"failuremsg of {len(failure_message)} bytes exceeds a u16 length")
    if pad_len is None:
        pad_len = max(0, MIN_FAILURE_PLUS_PAD_LEN - len(failure_message))
    if len(failure_message) + pad_len < MIN_FAILURE_PLUS_PAD_LEN:
        raise FailurePacketError(f"failure_len {len(failure_message)} plus pad_len {pad_len} is below 256")
    body = (
        len(failure_message).to_bytes(2, "big")
        + failure_message
        + pad_len.to_bytes(2, "big")
        + bytes(pad_len)
    )
    return hmac_sha256(generate_key(KeyType.UM, shared_secret), body) + body


def obfuscate_return_packet(shared_secret: bytes, packet: bytes) -> bytes:
    """XOR with the hop's `ammag` stream: the same step at the erring node, at each hop, at the origin."""
    return xor(packet, chacha20_stream(generate_key(KeyType.AMMAG, shared_secret), len(packet)))


def create_failure(
    shared_secret: bytes,
    failure: FailureMessage | bytes,
    hold_time: int | None = None,
) -> ReturnedFailure:
    """The erring node: build, HMAC, pad and obfuscate; with `hold_time`, initialize attribution_data."""
    message = failure.to_bytes() if isinstance(failure, FailureMessage) else failure
    raw = build_return_packet(shared_secret, message)
    attribution = None if hold_time is None else add_attribution(shared_secret, hold_time, None, raw)
    return ReturnedFailure(obfuscate_return_packet(shared_secret, raw), attribution)


def forward_failure(
    shared_secret: bytes, downstream: ReturnedFailure, hold_time: int | None = None
) -> ReturnedFailure:
    """An intermediate node: obfuscate the packet; with `hold_time`, transform and update attribution."""
    attribution = None
    if hold_time is not None:
        attribution = add_attribution(
            shared_secret, hold_time, downstream.attribution_data, downstream.reason
        )
    return ReturnedFailure(obfuscate_return_packet(shared_secret, downstream.reason), attribution)


def _parse_failuremsg(packet: bytes) -> bytes:
    body = packet[HMAC_LEN:]
    if len(body) < 2:
        raise FailurePacketError("return packet has no failure_len")
    failure_len = int.from_bytes(body[:2], "big")
    if 2 + failure_len > len(body):
        raise FailurePacketError(f"failure_len {failure_len} overruns the packet")
    return body[2 : 2 + failure_len]


def decode_failure(shared_secrets: Sequence[bytes], returned: ReturnedFailure) -> DecodedFailure:
    """The origin: peel `ammag` layers hop by hop until a `um` HMAC matches ("Origin node").

    Attribution data, when present, is verified at each hop on the way and yields hold times;
    when no HMAC matches, `attribution_failed_at` is what identifies the culprit pair. As the
    origin requirements recommend, the loop runs 27 rounds whatever the route length or the
    erring hop, with a constant dummy secret past the route, so timing does not reveal either.
    """
    if len(returned.reason) < HMAC_LEN:
        raise FailurePacketError(f"return packet of {len(returned.reason)} bytes is shorter than its hmac")
    if len(shared_secrets) > ORIGIN_DECRYPTION_ROUNDS:
        raise FailurePacketError(f"route of {len(shared_secrets)} hops exceeds {ORIGIN_DECRYPTION_ROUNDS}")
    packet = returned.reason
    attribution = returned.attribution_data
    hold_times: list[int] = []
    attribution_failed_at: int | None = None
    found: tuple[int, bytes] | None = None
    for index in range(ORIGIN_DECRYPTION_ROUNDS):
        in_route = index < len(shared_secrets)
        shared_secret = shared_secrets[index] if in_route else _DUMMY_SHARED_SECRET
        packet = obfuscate_return_packet(shared_secret, packet)
        if attribution is not None and in_route and found is None:
            try:
                unwrapped = unwrap_attribution(
                    attribution, shared_secret, packet, len(shared_secrets) - index
                )
            except AttributionError:
                attribution_failed_at = index
                attribution = None
            else:
                hold_times.append(unwrapped.hold_time)
                attribution = unwrapped.next_attribution_data
        um_key = generate_key(KeyType.UM, shared_secret)
        matches = _hmac.compare_digest(hmac_sha256(um_key, packet[HMAC_LEN:]), packet[:HMAC_LEN])
        if matches and in_route and found is None:
            found = (index, packet)
    if found is None:
        return DecodedFailure(None, None, tuple(hold_times), attribution_failed_at)
    index, plain = found
    return DecodedFailure(index, _parse_failuremsg(plain), tuple(hold_times), attribution_failed_at)


def decode_fulfill_attribution(shared_secrets: Sequence[bytes], attribution_data: bytes) -> tuple[int, ...]:
    """BOLT 4 "Hold times for successful payments": hold times of the hops whose HMACs verify."""
    hold_times: list[int] = []
    data = attribution_data
    for index, shared_secret in enumerate(shared_secrets):
        try:
            unwrapped = unwrap_attribution(data, shared_secret, b"", len(shared_secrets) - index)
        except AttributionError:
            break
        hold_times.append(unwrapped.hold_time)
        data = unwrapped.next_attribution_data
    return tuple(hold_times)


def create_fulfill_attribution(
    shared_secret: bytes, hold_time: int, downstream_attribution_data: bytes | None
) -> bytes:
    """`attribution_data` for `update_fulfill_htlc`: as for failures, with no return packet covered."""
    return add_attribution(shared_secret, hold_time, downstream_attribution_data, b"")
