"""Chain-level checks on the scenario's regtest chain (`ctx.chain`).

`expect_spend` waits, on chain notifications and never by polling, for a transaction that spends a
given outpoint (a penalty, a sweep, a close), and records its txid in the report's evidence.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bitcoin.core import CTransaction

from harness.chain import BlockEvent, MempoolEvent, OutPoint
from harness.drivers.peer import ExpectationFailed
from harness.scenarios.registry import register_step
from harness.scenarios.step import Step, StepContext

_OUTPOINT = re.compile(r"^(?P<txid>[0-9a-f]{64}):(?P<vout>\d+)$")


def spends(raw_tx: bytes, outpoint: OutPoint) -> bool:
    """True when the transaction has an input spending `outpoint` (txid in display order)."""
    tx = CTransaction.deserialize(raw_tx)
    wanted_hash = bytes.fromhex(outpoint.txid)[::-1]  # serialized prevouts hold the txid little-endian
    return any(txin.prevout.hash == wanted_hash and txin.prevout.n == outpoint.vout for txin in tx.vin)


def _txid(raw_tx: bytes) -> str:
    return CTransaction.deserialize(raw_tx).GetTxid()[::-1].hex()


@register_step
@dataclass(frozen=True)
class ExpectSpend(Step):
    """A transaction spending `outpoint` reaches the mempool (or a block, with `confirmed: true`)
    within the timeout. `outpoint` is "txid:vout", or the name of a value an earlier step set."""

    NAME = "expect_spend"
    SUMMARY = "expect a transaction spending an outpoint"
    outpoint: str
    confirmed: bool = False
    timeout_s: float = 30.0

    def _resolve(self, ctx: StepContext) -> OutPoint:
        text = self.outpoint if _OUTPOINT.match(self.outpoint) else str(ctx.get_value(self.outpoint))
        match = _OUTPOINT.match(text)
        if match is None:
            raise ValueError(f"{self.outpoint!r} is not txid:vout (nor a value holding one): {text!r}")
        return OutPoint(match.group("txid"), int(match.group("vout")))

    async def run(self, ctx: StepContext) -> str | None:
        outpoint = self._resolve(ctx)
        chain = ctx.chain
        loop = asyncio.get_running_loop()
        found: asyncio.Future[str] = loop.create_future()

        def consider(raw_txs: Iterable[bytes]) -> None:
            for raw in raw_txs:
                if spends(raw, outpoint) and not found.done():
                    found.set_result(_txid(raw))

        def on_block(event: BlockEvent) -> None:
            loop.call_soon_threadsafe(consider, event.txs)

        def on_mempool(event: MempoolEvent) -> None:
            if not self.confirmed:
                loop.call_soon_threadsafe(consider, (event.raw,))

        subscriptions = [chain.subscribe_blocks(on_block), chain.subscribe_mempool(on_mempool)]
        try:
            if not self.confirmed:  # already in the mempool before this step began?
                consider(chain.get_tx(txid).raw for txid in chain.mempool())
            try:
                txid = await asyncio.wait_for(found, self.timeout_s)
            except TimeoutError as exc:
                where = "a block" if self.confirmed else "the mempool"
                raise ExpectationFailed(
                    f"no transaction spending {outpoint} in {where} within {self.timeout_s:g}s"
                ) from exc
        finally:
            for subscription in subscriptions:
                subscription.cancel()
        ctx.record_txid(txid)
        return f"{txid} spends {outpoint}"
