"""Chain-level steps on the scenario's regtest chain (`ctx.chain`).

`expect_spend` waits, on chain notifications and never by polling, for a transaction that spends a
given outpoint (a penalty, a sweep, a close), and records its txid in the report's evidence. `mine`
mines blocks on demand (the embedded chain has no block timer).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bitcoin.core import CTransaction

from harness.chain import BlockEvent, ChainBackend, MempoolEvent, OutPoint
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


def resolve_outpoint(ctx: StepContext, text_or_name: str) -> OutPoint:
    """ "txid:vout", or the name of a value an earlier step set to one (e.g. `<channel>.funding`)."""
    text = text_or_name if _OUTPOINT.match(text_or_name) else str(ctx.get_value(text_or_name))
    match = _OUTPOINT.match(text)
    if match is None:
        raise ValueError(f"{text_or_name!r} is not txid:vout (nor a value holding one): {text!r}")
    return OutPoint(match.group("txid"), int(match.group("vout")))


async def wait_for_spend(chain: ChainBackend, outpoint: OutPoint, confirmed: bool, timeout_s: float) -> str:
    """The txid of a transaction spending `outpoint`, from the mempool (or a block when `confirmed`),
    awaited on the chain's notifications; ExpectationFailed after `timeout_s`."""
    loop = asyncio.get_running_loop()
    found: asyncio.Future[str] = loop.create_future()

    def consider(raw_txs: Iterable[bytes]) -> None:
        for raw in raw_txs:
            if spends(raw, outpoint) and not found.done():
                found.set_result(_txid(raw))

    def on_block(event: BlockEvent) -> None:
        loop.call_soon_threadsafe(consider, event.txs)

    def on_mempool(event: MempoolEvent) -> None:
        if not confirmed:
            loop.call_soon_threadsafe(consider, (event.raw,))

    subscriptions = [chain.subscribe_blocks(on_block), chain.subscribe_mempool(on_mempool)]
    try:
        if not confirmed:  # already in the mempool before this step began?
            consider(chain.get_tx(txid).raw for txid in chain.mempool())
        try:
            return await asyncio.wait_for(found, timeout_s)
        except TimeoutError as exc:
            where = "a block" if confirmed else "the mempool"
            raise ExpectationFailed(
                f"no transaction spending {outpoint} in {where} within {timeout_s:g}s"
            ) from exc
    finally:
        for subscription in subscriptions:
            subscription.cancel()


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

    async def run(self, ctx: StepContext) -> str | None:
        outpoint = resolve_outpoint(ctx, self.outpoint)
        txid = await wait_for_spend(ctx.chain, outpoint, self.confirmed, self.timeout_s)
        ctx.record_txid(txid)
        return f"{txid} spends {outpoint}"


@register_step
@dataclass(frozen=True)
class Mine(Step):
    """Mine `blocks` blocks (mempool transactions included) to the chain's faucet."""

    NAME = "mine"
    SUMMARY = "mine blocks on the scenario's chain"
    blocks: int = 1
    timeout_s: float = 30.0

    def check_arguments(self) -> None:
        if self.blocks <= 0:
            raise ValueError("blocks must be positive")

    async def run(self, ctx: StepContext) -> str | None:
        chain = ctx.chain
        hashes = await asyncio.to_thread(chain.mine, self.blocks)
        return f"mined {len(hashes)} block(s), height {chain.height()}"
