"""Payments per second over one channel between two in-process reference nodes, over real BOLT 8 on loopback
(TCP on 127.0.0.1), with every state change persisted to SQLite (WAL, synchronous=FULL) before it is sent.

Run: .venv/bin/pytest benchmarks/bench_payments.py --benchmark-only
- sequential: one payment at a time (invoice created by the payee, paid, fulfilled, commitments settled);
- 10 in flight: batches of 10 concurrent payments sharing commitment_signed rounds.
`extra_info["payments_per_s"]` holds the figure for each.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from reference_node.channel import ChannelState
from reference_node.node import LightningNode
from reference_node.nodekey import Entropy, NodeKey
from reference_node.store import PaymentStatus

PAYMENTS_PER_ROUND = 50
TIMEOUT_S = 60.0
_labels = itertools.count()


@dataclass
class Pair:
    loop: asyncio.AbstractEventLoop
    payer: LightningNode
    payee: LightningNode


async def _setup(tmp: Path, chain: EmbeddedChain) -> tuple[LightningNode, LightningNode]:
    nodes = []
    for name in ("payer", "payee"):
        secret = hashlib.sha256(f"bench {name}".encode()).digest()
        node = LightningNode(
            NodeKey.from_secret(secret),
            EmbeddedChainSource(chain),
            tmp / name,
            entropy=Entropy(name.encode()),
        )
        await node.start()
        nodes.append(node)
    payer, payee = nodes
    chain.fund(payer.wallet.new_address(), 20_000_000, confirm=True)
    await payer.sync_chain()
    host, port = payee.node.address
    await payer.connect(payee.node_id, host, port)
    funding = await payer.fund_channel(payee.node_id, 16_000_000)
    chain.mine(3)
    for node in nodes:
        await node.sync_chain()
        await node.wait_for_channel(funding.channel_id.hex(), frozenset({ChannelState.NORMAL}), TIMEOUT_S)
    return payer, payee


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    tmp = tmp_path_factory.mktemp("bench-payments")
    loop = asyncio.new_event_loop()
    with EmbeddedChain(tmp / "chain") as chain:
        chain.mine(101)
        payer, payee = loop.run_until_complete(_setup(tmp, chain))
        yield Pair(loop, payer, payee)
        for node in (payer, payee):
            loop.run_until_complete(node.stop())
    loop.close()


async def _pay(pair: Pair) -> None:
    invoice = pair.payee.payments.create_invoice(1_000_000, f"bench-{next(_labels)}", "bench")
    row = await pair.payer.payments.pay(invoice.bolt11, None, TIMEOUT_S)
    assert row.status is PaymentStatus.COMPLETE, row.failure


async def _run(pair: Pair, in_flight: int) -> None:
    for _ in range(PAYMENTS_PER_ROUND // in_flight):
        await asyncio.gather(*(_pay(pair) for _ in range(in_flight)))


@pytest.mark.parametrize("in_flight", [1, 10], ids=["sequential", "10-in-flight"])
def test_payments_per_second(benchmark: BenchmarkFixture, pair: Pair, in_flight: int) -> None:
    benchmark.pedantic(lambda: pair.loop.run_until_complete(_run(pair, in_flight)), rounds=3, iterations=1)
    benchmark.extra_info["payments_per_s"] = round(PAYMENTS_PER_ROUND / benchmark.stats.stats.mean, 1)
