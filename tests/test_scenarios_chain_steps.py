"""`expect_spend`: a transaction spending an outpoint, seen in the mempool or a block, never polled."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from bitcoin.core import COutPoint, CTransaction, CTxIn, CTxOut, lx

from harness.chain import BlockEvent, EmbeddedChain, MempoolEvent, OutPoint, TxInfo
from harness.drivers.peer import ExpectationFailed
from harness.scenarios.steps.chain import ExpectSpend, spends

SPENT = OutPoint("11" * 31 + "22", 3)


def spending_tx(outpoint: OutPoint) -> bytes:
    tx = CTransaction([CTxIn(COutPoint(lx(outpoint.txid), outpoint.vout))], [CTxOut(1000, b"\x51")])
    return tx.serialize()


@dataclass
class FakeChain:
    mempool_txs: dict[str, bytes] = field(default_factory=dict)
    mempool_callbacks: list[Callable[[MempoolEvent], None]] = field(default_factory=list)
    block_callbacks: list[Callable[[BlockEvent], None]] = field(default_factory=list)
    on_subscribe: Callable[[], None] = lambda: None

    def mempool(self) -> list[str]:
        return list(self.mempool_txs)

    def get_tx(self, txid: str) -> TxInfo:
        return TxInfo(txid, txid, self.mempool_txs[txid], None, None, 0)

    def subscribe_mempool(self, callback: Callable[[MempoolEvent], None]) -> Any:
        self.mempool_callbacks.append(callback)
        return _Cancel(self.mempool_callbacks, callback)

    def subscribe_blocks(self, callback: Callable[[BlockEvent], None]) -> Any:
        self.block_callbacks.append(callback)
        self.on_subscribe()
        return _Cancel(self.block_callbacks, callback)


@dataclass
class _Cancel:
    callbacks: list[Any]
    callback: Any

    def cancel(self) -> None:
        self.callbacks.remove(self.callback)


@dataclass
class Ctx:
    chain: Any
    txids: list[str] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)

    def record_txid(self, txid: str) -> None:
        self.txids.append(txid)

    def get_value(self, key: str) -> object:
        return self.values[key]


def test_spends_matches_the_outpoint_in_display_byte_order() -> None:
    raw = spending_tx(SPENT)
    assert spends(raw, SPENT)
    assert not spends(raw, OutPoint(SPENT.txid, 4))
    assert not spends(raw, OutPoint(SPENT.txid[::-1], 3))


def test_a_spend_already_in_the_mempool_is_found() -> None:
    chain = FakeChain(mempool_txs={"aa": spending_tx(SPENT)})
    ctx = Ctx(chain)
    detail = asyncio.run(ExpectSpend(str(SPENT), timeout_s=1).run(ctx))  # type: ignore[arg-type]
    assert detail is not None and detail.endswith(f"spends {SPENT}")
    assert len(ctx.txids) == 1 and chain.mempool_callbacks == []


def test_a_spend_announced_later_is_found_and_the_outpoint_may_come_from_a_value() -> None:
    chain = FakeChain()
    ctx = Ctx(chain, values={"funding": str(SPENT)})

    async def scenario() -> str | None:
        subscribed = asyncio.Event()
        chain.on_subscribe = subscribed.set
        waiting = asyncio.ensure_future(ExpectSpend("funding", confirmed=True, timeout_s=5).run(ctx))  # type: ignore[arg-type]
        await asyncio.wait_for(subscribed.wait(), 5)
        event = BlockEvent("00" * 32, 101, (spending_tx(SPENT),), ("bb",))
        for callback in list(chain.block_callbacks):
            callback(event)
        return await waiting

    assert asyncio.run(scenario()) is not None
    assert len(ctx.txids) == 1


def test_no_spend_fails_at_the_timeout() -> None:
    ctx = Ctx(FakeChain(mempool_txs={"cc": spending_tx(OutPoint(SPENT.txid, 9))}))
    with pytest.raises(ExpectationFailed, match=r"no transaction spending .* in the mempool within 0\.05s"):
        asyncio.run(ExpectSpend(str(SPENT), timeout_s=0.05).run(ctx))  # type: ignore[arg-type]


def test_the_embedded_chain_shows_the_faucet_spend(tmp_path: Path) -> None:
    chain = EmbeddedChain(tmp_path / "chain", seed=b"expect-spend")
    try:
        chain.fund(b"\x00\x14" + bytes(20), 100_000)
        (funding_txid,) = chain.mempool()
        faucet_coin = CTransaction.deserialize(chain.get_tx(funding_txid).raw).vin[0].prevout
        spent = OutPoint(faucet_coin.hash[::-1].hex(), faucet_coin.n)
        ctx = Ctx(chain)
        asyncio.run(ExpectSpend(str(spent), timeout_s=5).run(ctx))  # type: ignore[arg-type]
        assert ctx.txids == [funding_txid]
    finally:
        chain.close()
