"""BOLT 8 throughput: our transport side by side with pyln-proto's, in the same run.

Run: .venv/bin/pytest benchmarks/bench_transport.py --benchmark-only
Both sides run in memory (no sockets), so the figures compare the protocol code, not the network:
- a complete handshake (fresh ephemeral keys, acts one to three on both sides);
- a batch of 1000 messages of 256 bytes, encrypted by one side and decrypted by the other (the batch
  crosses two key rotations).
"""

from __future__ import annotations

import os

import pytest
from coincurve import PrivateKey
from pyln.proto import wire as pyln_wire
from pyln.proto.primitives import PrivateKey as PylnPrivateKey
from pyln.proto.primitives import PublicKey as PylnPublicKey
from pytest_benchmark.fixture import BenchmarkFixture

from reference_node.transport import (
    InitiatorHandshake,
    MessageDecryptor,
    MessageEncryptor,
    ResponderHandshake,
)

BATCH = 1000
MESSAGE = os.urandom(256)


class _MemorySocket:
    """Just enough of a socket for pyln's LightningConnection: send() appends, recv() pops."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def send(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def recv(self, size: int) -> bytes:
        chunk = bytes(self.buffer[:size])
        del self.buffer[:size]
        return chunk


def _our_handshake(initiator_key: PrivateKey, responder_key: PrivateKey, responder_id: bytes) -> None:
    initiator = InitiatorHandshake(initiator_key, responder_id, PrivateKey())
    responder = ResponderHandshake(responder_key, PrivateKey())
    act_two = responder.respond(initiator.act_one())
    result = responder.read_act_three(initiator.respond(act_two))
    assert initiator.result is not None and initiator.result.sk == result.rk


def _pyln_handshake(
    initiator_key: PylnPrivateKey, responder_key: PylnPrivateKey, responder_id: PylnPublicKey
) -> None:
    initiator = pyln_wire.LightningConnection(None, responder_id, initiator_key, is_initiator=True)
    responder = pyln_wire.LightningConnection(None, None, responder_key, is_initiator=False)
    responder.handshake_act_one_responder(initiator.handshake_act_one_initiator())
    initiator.handshake_act_two_initiator(responder.handshake_act_two_responder())
    responder.handshake_act_three_responder(initiator.handshake_act_three_initiator())
    assert initiator.sk == responder.rk


@pytest.mark.benchmark(group="handshake")
def test_handshake_ours(benchmark: BenchmarkFixture) -> None:
    initiator_key, responder_key = PrivateKey(), PrivateKey()
    benchmark(_our_handshake, initiator_key, responder_key, responder_key.public_key.format())


@pytest.mark.benchmark(group="handshake")
def test_handshake_pyln(benchmark: BenchmarkFixture) -> None:
    initiator_key, responder_key = PylnPrivateKey(os.urandom(32)), PylnPrivateKey(os.urandom(32))
    benchmark(_pyln_handshake, initiator_key, responder_key, responder_key.public_key())


@pytest.mark.benchmark(group=f"messages x{BATCH}")
def test_messages_ours(benchmark: BenchmarkFixture) -> None:
    key, chaining_key = os.urandom(32), os.urandom(32)
    encryptor, decryptor = MessageEncryptor(key, chaining_key), MessageDecryptor(key, chaining_key)

    def batch() -> None:
        for _ in range(BATCH):
            frame = encryptor.encrypt(MESSAGE)
            length = decryptor.decrypt_length(frame[:18])
            assert decryptor.decrypt_body(frame[18:], length) == MESSAGE

    benchmark(batch)


@pytest.mark.benchmark(group=f"messages x{BATCH}")
def test_messages_pyln(benchmark: BenchmarkFixture) -> None:
    wire = _MemorySocket()
    initiator_key, responder_key = PylnPrivateKey(os.urandom(32)), PylnPrivateKey(os.urandom(32))
    sender = pyln_wire.LightningConnection(wire, responder_key.public_key(), initiator_key, is_initiator=True)
    receiver = pyln_wire.LightningConnection(wire, None, responder_key, is_initiator=False)
    receiver.handshake_act_one_responder(sender.handshake_act_one_initiator())
    sender.handshake_act_two_initiator(receiver.handshake_act_two_responder())
    receiver.handshake_act_three_responder(sender.handshake_act_three_initiator())
    for side in (sender, receiver):  # what pyln's shake() does after the acts
        side.sck = side.rck = side.chaining_key

    def batch() -> None:
        for _ in range(BATCH):
            sender.send_message(MESSAGE)
            assert receiver.read_message() == MESSAGE

    benchmark(batch)
