"""EmbeddedChain throughput. Run: .venv/bin/pytest benchmarks/bench_chain.py --benchmark-only

- empty blocks mined per second (build, grind regtest PoW, kernel validation and connection, index update);
- simple P2WPKH spends accepted into the mempool (kernel script check included) and then mined, per second.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from harness.chain import EmbeddedChain, OutPoint
from harness.chain.testkit import SpendOutput, TestKey

BLOCKS_PER_ROUND = 100
SPENDS_PER_ROUND = 200
FEE_SAT = 1_000
COIN_SAT = 100_000


@pytest.fixture
def chain() -> Iterator[EmbeddedChain]:
    with EmbeddedChain(seed=b"bench") as c:
        yield c


def test_bench_empty_blocks(benchmark: BenchmarkFixture, chain: EmbeddedChain) -> None:
    benchmark.pedantic(chain.mine, args=(BLOCKS_PER_ROUND,), rounds=5, iterations=1)
    if benchmark.stats is None:  # benchmarking disabled (xdist, --benchmark-disable): ran once as a test
        return
    blocks_per_s = BLOCKS_PER_ROUND / benchmark.stats.stats.mean
    benchmark.extra_info["empty_blocks_per_s"] = round(blocks_per_s, 1)
    print(f"\nempty blocks mined: {blocks_per_s:.0f}/s")


def test_bench_p2wpkh_spends_accepted_and_mined(benchmark: BenchmarkFixture, chain: EmbeddedChain) -> None:
    key = TestKey(b"bench-key")

    def prepare() -> tuple[tuple[list[bytes]], dict[str, object]]:
        coins: list[OutPoint] = [chain.fund(key.address, COIN_SAT) for _ in range(SPENDS_PER_ROUND)]
        chain.mine(1)
        spends = [
            key.spend([(coin, COIN_SAT)], [SpendOutput(key.script_pubkey, COIN_SAT - FEE_SAT)])
            for coin in coins
        ]
        return (spends,), {}

    def accept_and_mine(spends: list[bytes]) -> None:
        for raw in spends:
            chain.send_raw(raw)
        chain.mine(1)
        assert chain.mempool() == []

    benchmark.pedantic(accept_and_mine, setup=prepare, rounds=5, iterations=1)
    if benchmark.stats is None:
        return
    spends_per_s = SPENDS_PER_ROUND / benchmark.stats.stats.mean
    benchmark.extra_info["p2wpkh_spends_per_s"] = round(spends_per_s, 1)
    print(f"\nP2WPKH spends accepted and mined: {spends_per_s:.0f}/s")
