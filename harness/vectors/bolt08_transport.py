"""BOLT 8 Appendix A: handshake (initiator and responder, every failing case) and message encryption vectors.

Data: vectors/bolt08/*.json, extracted from 08-transport.md by scripts/extract_bolt08_vectors.py.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from coincurve import PrivateKey

from harness.vectors import VectorCase, VectorMismatch, expect_equal, load_json
from reference_node.transport import (
    HandshakeError,
    HandshakeResult,
    InitiatorHandshake,
    MessageDecryptor,
    MessageEncryptor,
    ResponderHandshake,
)

BOLT = 8

Handshake = InitiatorHandshake | ResponderHandshake


def cases() -> Iterator[VectorCase]:
    for file_name in ("transport-initiator.json", "transport-responder.json"):
        for test in load_json(f"bolt08/{file_name}")["tests"]:
            yield VectorCase(BOLT, test["name"], functools.partial(_check_handshake, test))
    message_test = load_json("bolt08/message-encryption.json")["test"]
    for output in message_test["outputs"]:
        yield VectorCase(
            BOLT,
            f"{message_test['name']} output {output['index']}",
            functools.partial(_check_message_output, output["index"], output["hex"]),
        )
    for number, rotation in enumerate(message_test["rotations"], start=1):
        yield VectorCase(
            BOLT,
            f"{message_test['name']} key rotation {number}",
            functools.partial(_check_rotation, number, rotation),
        )
    yield VectorCase(BOLT, f"{message_test['name']} decryption", _check_decryption)


def _private_key(hex_value: str) -> PrivateKey:
    return PrivateKey(bytes.fromhex(hex_value))


def _new_handshake(test: dict[str, Any]) -> Handshake:
    keys = test["keys"]
    local = _private_key(keys["ls_priv"])
    ephemeral = _private_key(keys["e_priv"])
    expect_equal("ls.pub", local.public_key.format(), bytes.fromhex(keys["ls_pub"]))
    expect_equal("e.pub", ephemeral.public_key.format(), bytes.fromhex(keys["e_pub"]))
    if test["role"] == "initiator":
        return InitiatorHandshake(local, bytes.fromhex(keys["rs_pub"]), ephemeral)
    return ResponderHandshake(local, ephemeral)


def _feed_input(handshake: Handshake, act: int, data: bytes) -> None:
    if isinstance(handshake, InitiatorHandshake) and act == 2:
        handshake.read_act_two(data)
    elif isinstance(handshake, ResponderHandshake) and act == 1:
        handshake.read_act_one(data)
    elif isinstance(handshake, ResponderHandshake) and act == 3:
        handshake.read_act_three(data)
    else:
        raise VectorMismatch(f"no input expected in act {act} for this role")


def _produce_output(handshake: Handshake, act: int) -> bytes:
    if isinstance(handshake, InitiatorHandshake) and act == 1:
        return handshake.act_one()
    if isinstance(handshake, InitiatorHandshake) and act == 3:
        return handshake.act_three()
    if isinstance(handshake, ResponderHandshake) and act == 2:
        return handshake.act_two()
    raise VectorMismatch(f"no output expected in act {act} for this role")


def _check_trace(handshake: Handshake, act: int, trace: list[dict[str, Any]]) -> int:
    """Compare the state after `act` with the last h, ck and temp_kN the spec prints for it."""
    latest = {item["name"]: item["hex"] for item in trace if item["act"] == act}
    checked = 0
    for name, actual in (("h", handshake.h), ("ck", handshake.ck), (f"temp_k{act}", handshake.temp_k)):
        if name in latest:
            expect_equal(f"act {act} {name}", actual, bytes.fromhex(latest[name]))
            checked += 1
    return checked


def _check_keys(result: HandshakeResult | None, step: dict[str, Any]) -> None:
    if result is None:
        raise VectorMismatch("the handshake did not complete")
    expect_equal("sk", result.sk, bytes.fromhex(step["sk"]))
    expect_equal("rk", result.rk, bytes.fromhex(step["rk"]))


def _check_handshake(test: dict[str, Any]) -> str:
    handshake = _new_handshake(test)
    steps = test["steps"]
    checked_trace = 0
    failure: HandshakeError | None = None
    for index, step in enumerate(steps):
        act = step["act"]
        kind = step["kind"]
        if kind == "output":
            expect_equal(f"act {act} output", _produce_output(handshake, act), bytes.fromhex(step["hex"]))
            checked_trace += _check_trace(handshake, act, test["trace"])
        elif kind == "input":
            expects_error = index + 1 < len(steps) and steps[index + 1]["kind"] == "error"
            try:
                _feed_input(handshake, act, bytes.fromhex(step["hex"]))
            except HandshakeError as exc:
                if not expects_error:
                    raise
                failure = exc
                continue
            if expects_error:
                raise VectorMismatch(f"act {act} input was accepted; expected {steps[index + 1]['error']}")
            checked_trace += _check_trace(handshake, act, test["trace"])
        elif kind == "error":
            assert failure is not None  # an input step that expects an error either sets it or raises
            expect_equal("error", failure.code, step["error"])
            if step["detail"] is not None:
                expect_equal("error detail", str(getattr(failure, "version", None)), step["detail"])
            return f"{failure.code} as expected ({failure})"
        elif kind == "keys":
            _check_keys(handshake.result, step)
        else:
            raise VectorMismatch(f"unknown step kind {kind!r}")
    return f"{len(steps)} steps byte for byte, sk/rk match, {checked_trace} intermediate values match"


@functools.cache
def _encrypted_outputs() -> tuple[tuple[bytes, ...], tuple[tuple[bytes, bytes], ...]]:
    """Every frame of the message test, and (sck, sk) after each key rotation."""
    test = load_json("bolt08/message-encryption.json")["test"]
    encryptor = MessageEncryptor(bytes.fromhex(test["sk"]), bytes.fromhex(test["ck"]))
    message = bytes.fromhex(test["message"])
    count = max(output["index"] for output in test["outputs"]) + 1
    frames: list[bytes] = []
    rotations: list[tuple[bytes, bytes]] = []
    for _ in range(count):
        key_before = encryptor.cipher.key
        frames.append(encryptor.encrypt(message))
        if encryptor.cipher.key != key_before:
            rotations.append((encryptor.cipher.chaining_key, encryptor.cipher.key))
    return tuple(frames), tuple(rotations)


def _check_message_output(index: int, expected_hex: str) -> str:
    frames, _ = _encrypted_outputs()
    expect_equal(f"output {index}", frames[index], bytes.fromhex(expected_hex))
    return f"frame {index} of {len(frames)} matches"


def _check_rotation(number: int, rotation: dict[str, str]) -> str:
    test = load_json("bolt08/message-encryption.json")["test"]
    _, rotations = _encrypted_outputs()
    if len(rotations) < number:
        raise VectorMismatch(f"only {len(rotations)} key rotations happened, expected at least {number}")
    previous = (
        (bytes.fromhex(test["ck"]), bytes.fromhex(test["sk"])) if number == 1 else rotations[number - 2]
    )
    expect_equal("rotation input ck", previous[0], bytes.fromhex(rotation["ck"]))
    expect_equal("rotation input k", previous[1], bytes.fromhex(rotation["k"]))
    expect_equal("rotated ck", rotations[number - 1][0], bytes.fromhex(rotation["next_ck"]))
    expect_equal("rotated k", rotations[number - 1][1], bytes.fromhex(rotation["next_k"]))
    return f"rotation {number} after {number * 500} messages gives the spec's ck', k'"


def _check_decryption() -> str:
    """The responder's rk is the initiator's sk: it must decrypt every frame back to the message."""
    test = load_json("bolt08/message-encryption.json")["test"]
    frames, _ = _encrypted_outputs()
    decryptor = MessageDecryptor(bytes.fromhex(test["sk"]), bytes.fromhex(test["ck"]))
    received = decryptor.feed(b"".join(frames))
    expect_equal("messages decrypted", len(received), len(frames))
    for index, message in enumerate(received):
        expect_equal(f"message {index}", message, bytes.fromhex(test["message"]))
    return f"{len(received)} frames decrypt to the message across 2 key rotations"
