"""Sphinx throughput for 20-hop onions, ours next to pyln-proto's, in one run.

Run: .venv/bin/pytest benchmarks/bench_onion.py --benchmark-only
Both sides get the same 20 equal-size TLV payloads (pyln-proto 25.12 builds correct onions only
when payload sizes are equal; see tests/test_onion_pyln_interop.py). "peel" processes one onion
at every hop in turn: 20 decryptions.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from pyln.proto.onion import RoutingOnion, SphinxHop, SphinxPath
from pyln.proto.primitives import PrivateKey, Secret

from reference_node.onion.crypto import public_key_of
from reference_node.onion.payload import forward_payload_tlvs
from reference_node.onion.sphinx import OnionPacket, construct_onion, frame_payload, process_onion
from reference_node.onion.wire_adapter import ShortChannelId

HOPS = 20
_RNG = random.Random(20)
SESSION_KEY = _RNG.randbytes(32)
PRIVATE_KEYS = [_RNG.randbytes(32) for _ in range(HOPS)]
PUBLIC_KEYS = [public_key_of(key) for key in PRIVATE_KEYS]
PAYLOADS = [
    forward_payload_tlvs(5_000_000_000 + i, 20_000_000 + i, ShortChannelId(800_000, i, 1)).to_bytes()
    for i in range(HOPS)
]
ASSOCIATED_DATA = b"\x42" * 32


def _ours_build() -> OnionPacket:
    return construct_onion(SESSION_KEY, PUBLIC_KEYS, PAYLOADS, ASSOCIATED_DATA)


def _pyln_build() -> RoutingOnion:
    hops = [
        SphinxHop(PrivateKey(key).public_key(), frame_payload(payload))
        for key, payload in zip(PRIVATE_KEYS, PAYLOADS, strict=True)
    ]
    return SphinxPath(hops=hops, assocdata=ASSOCIATED_DATA, session_key=Secret(SESSION_KEY)).compile()


def _ours_peel_all(packet: OnionPacket) -> int:
    current: OnionPacket | None = packet
    for key in PRIVATE_KEYS:
        assert current is not None
        current = process_onion(current, key, ASSOCIATED_DATA).next_onion
    return 0 if current is None else 1


def _pyln_peel_all(onion: RoutingOnion) -> int:
    current: RoutingOnion | None = onion
    for key in PRIVATE_KEYS:
        assert current is not None
        _, current = current.unwrap(PrivateKey(key), ASSOCIATED_DATA)
    return 0 if current is None else 1


@pytest.mark.benchmark(group="build 20-hop onion")
def test_build_ours(benchmark: Any) -> None:
    onion = benchmark(_ours_build)
    assert onion.to_bytes() == _pyln_build().to_bin()  # both sides do the same work


@pytest.mark.benchmark(group="build 20-hop onion")
def test_build_pyln(benchmark: Any) -> None:
    benchmark(_pyln_build)


@pytest.mark.benchmark(group="peel 20-hop onion at every hop")
def test_peel_ours(benchmark: Any) -> None:
    packet = _ours_build()
    assert benchmark(_ours_peel_all, packet) == 0


@pytest.mark.benchmark(group="peel 20-hop onion at every hop")
def test_peel_pyln(benchmark: Any) -> None:
    onion = _pyln_build()
    assert benchmark(_pyln_peel_all, onion) == 0
