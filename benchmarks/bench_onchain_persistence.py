"""The cost of a payment as the channel ages: 1000 sequential payments (alternating direction) between two
in-process reference nodes, each state change persisted with its BOLT 5 monitor record in one SQLite
transaction. Before the monitor kept a bounded state, each payment cost more than the one before (the whole
history was rewritten at every state change); the figure to watch is `ms_per_payment` by block of 100,
which should stay flat, and `last_over_first` (the last block's cost over the first's).

Run: .venv/bin/pytest benchmarks/bench_onchain_persistence.py --benchmark-only
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

from pytest_benchmark.fixture import BenchmarkFixture

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from reference_node.channel import ChannelState
from reference_node.node import LightningNode
from reference_node.nodekey import Entropy, NodeKey
from reference_node.store import PaymentStatus

PAYMENTS = 1000
BLOCK = 100
TIMEOUT_S = 60.0


def _node(tmp: Path, chain: EmbeddedChain, name: str) -> LightningNode:
    secret = hashlib.sha256(f"bench persistence {name}".encode()).digest()
    return LightningNode(
        NodeKey.from_secret(secret), EmbeddedChainSource(chain), tmp / name, entropy=Entropy(name.encode())
    )


async def _payments(tmp: Path) -> list[float]:
    """Milliseconds per payment, by block of BLOCK payments."""
    with EmbeddedChain(tmp / "chain") as chain:
        chain.mine(101)
        a, b = _node(tmp, chain, "a"), _node(tmp, chain, "b")
        for node in (a, b):
            await node.start()
        try:
            chain.fund(a.wallet.new_address(), 3_000_000, confirm=True)
            await a.sync_chain()
            host, port = b.node.address
            await a.connect(b.node_id, host, port)
            funding = await a.fund_channel(b.node_id, 2_000_000, 500_000_000)
            chain.mine(3)
            for node in (a, b):
                await node.sync_chain()
                await node.wait_for_channel(
                    funding.channel_id.hex(), frozenset({ChannelState.NORMAL}), TIMEOUT_S
                )
            blocks_ms: list[float] = []
            started = time.perf_counter()
            for n in range(PAYMENTS):
                payer, payee = (a, b) if n % 2 == 0 else (b, a)
                invoice = payee.payments.create_invoice(10_000 + n, f"bench-{n}", "bench")
                row = await payer.payments.pay(invoice.bolt11, None, TIMEOUT_S)
                assert row.status is PaymentStatus.COMPLETE, row.failure
                if (n + 1) % BLOCK == 0:
                    now = time.perf_counter()
                    blocks_ms.append((now - started) * 1000 / BLOCK)
                    started = now
            return blocks_ms
        finally:
            for node in (a, b):
                await node.stop()


def test_cost_per_payment_stays_flat_over_1000_payments(benchmark: BenchmarkFixture, tmp_path: Path) -> None:
    results: list[list[float]] = []
    benchmark.pedantic(lambda: results.append(asyncio.run(_payments(tmp_path))), rounds=1, iterations=1)
    blocks_ms = results[0]
    benchmark.extra_info["ms_per_payment"] = [round(ms, 1) for ms in blocks_ms]
    benchmark.extra_info["payments_per_s"] = round(PAYMENTS / (sum(blocks_ms) * BLOCK / 1000), 1)
    benchmark.extra_info["last_over_first"] = round(blocks_ms[-1] / blocks_ms[0], 2)
