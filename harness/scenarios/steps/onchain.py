"""On-chain steps (BOLT 5): hold and release preimages, breach with a revoked commitment, mine until every
output is irrevocably resolved, and check the final on-chain balances to the satoshi.

`force_close`, `mine`, `expect_spend` and `wait_for` live in channels.py / chain.py. The steps that act on
a node beyond the NodeDriver interface (hold preimages, breach) need the in-process reference node and are
UnsupportedOperation (a skip) for other implementations.

The balance check is computed from the chain itself: the *close tree* is every transaction descending from
the channel's funding output (plus the wallet transactions that prepared coins the close tree spends), and
the drivers' on-chain balances must have moved by exactly the channel value less the fees of that tree.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from harness.chain import ChainBackend, EmbeddedChain, OutPoint
from harness.chain.bitcoind import BitcoindChain
from harness.drivers.base import (
    ChainFollowing,
    PreimageHolding,
    ResolutionReporting,
    UnsupportedOperation,
)
from harness.drivers.bitcoind_source import BitcoindBackendSource
from harness.drivers.peer import ExpectationFailed
from harness.drivers.reference import EmbeddedChainSource
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, Step, StepContext
from harness.scenarios.steps.chain import resolve_outpoint
from harness.scenarios.steps.channels import channel_ref, reference_node
from reference_node.bitcoin.tx import Tx
from reference_node.chain_source import ChainSourceError
from reference_node.channel.params import Side
from reference_node.channel.states import ChannelState
from reference_node.node import LightningNode
from reference_node.payments.channels import ChannelSlot

DEFAULT_TIMEOUT_S = 60.0


@register_step
@dataclass(frozen=True)
class HoldPreimages(Step):
    """The reference node keeps the preimages of HTLCs paid to it (the `withhold a preimage` control):
    payments to it stay pending, and its on-chain monitor does not use them either."""

    NAME = "hold_preimages"
    SUMMARY = "a reference node withholds its preimages"
    node: DriverName

    async def run(self, ctx: StepContext) -> str | None:
        driver = ctx.driver(self.node)
        if isinstance(driver, PreimageHolding):  # another implementation with the control (cln)
            await driver.hold_preimages()
            return f"{self.node} withholds preimages"
        ln = reference_node(ctx, self.node, "hold_preimages")
        ln.controls.withhold_preimages = True
        return f"{self.node} withholds preimages"


@register_step
@dataclass(frozen=True)
class ReleasePreimages(Step):
    """The reference node learns it may use its held preimages, now that the channel is on chain: its
    monitor claims the HTLCs with them (a preimage learned late)."""

    NAME = "release_preimages"
    SUMMARY = "a reference node uses its held preimages on chain"
    node: DriverName
    channel: str = "channel"

    async def run(self, ctx: StepContext) -> str | None:
        driver = ctx.driver(self.node)
        if isinstance(driver, PreimageHolding):
            count = await driver.release_preimages(channel_ref(ctx, self.channel).channel_id)
            return f"{self.node} released {count} held HTLC(s)"
        ln = reference_node(ctx, self.node, "release_preimages")
        ref = channel_ref(ctx, self.channel)
        ln.controls.withhold_preimages = False
        slot = ln.channels.find(ref.channel_id.hex())
        count = await ln.onchain.add_preimages(slot, [row.preimage for row in ln.store.invoices()])
        return f"{self.node} released {count} preimage(s)"


@register_step
@dataclass(frozen=True)
class ReleaseHeldHtlcs(Step):
    """The reference node stops withholding and fulfils, off chain, the HTLCs it has been holding: the
    commitments that carried them pending become revoked states a `breach` can use."""

    NAME = "release_held_htlcs"
    SUMMARY = "a reference node fulfils the HTLCs it was holding"
    node: DriverName
    channel: str = "channel"

    async def run(self, ctx: StepContext) -> str | None:
        driver = ctx.driver(self.node)
        if isinstance(driver, PreimageHolding):
            count = await driver.release_held_htlcs(channel_ref(ctx, self.channel).channel_id)
            return f"{self.node} settles its {count} held HTLC(s)"
        ln = reference_node(ctx, self.node, "release_held_htlcs")
        slot = ln.channels.find(channel_ref(ctx, self.channel).channel_id.hex())
        ln.controls.withhold_preimages = False
        # the channel layer's own replay of incoming HTLCs reported but not yet settled (as after a restart)
        await ln.channels._replay_unresolved_incoming(slot)
        return f"{self.node} settles its held HTLCs"


@register_step
@dataclass(frozen=True)
class Breach(Step):
    """The reference node broadcasts one of its revoked commitments (the newest revoked one unless
    `commitment` names its number): the peer must punish it (BOLT 5 "Revoked Transaction Close
    Handling"). The commitment's txid is stored under `<channel>.breach`."""

    NAME = "breach"
    SUMMARY = "a reference node broadcasts a revoked commitment"
    node: DriverName
    channel: str = "channel"
    commitment: int | None = None
    htlcs: int = 0
    confirm: bool = True

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "breach")
        ref = channel_ref(ctx, self.channel)
        slot = ln.channels.find(ref.channel_id.hex())
        number = self.commitment
        if number is None and self.htlcs:
            number = self._newest_revoked_with_htlcs(ln, slot)
        # a revoked state is a breach only if the victim holds its `per_commitment_secret`: the cheater's
        # last `revoke_and_ack` is often the last message of an update (sent after the payer saw its
        # preimage); going offline at once could cut it off, and under load the victim then rightly took
        # the state as current (a remote close, no penalty)
        try:
            await ln.flush_channel(slot, DEFAULT_TIMEOUT_S)
        except TimeoutError as exc:
            raise ExpectationFailed(f"{self.node}: channel updates in flight before the breach") from exc
        # the cheater stops talking on the channel: it is about to be closed on chain
        await ln.go_offline(True)
        tx = await ln.onchain.breach(slot, number)
        ctx.record_txid(tx.txid_hex)
        ctx.set_value(f"{self.channel}.breach", tx.txid_hex)
        if self.confirm:
            await asyncio.to_thread(ctx.chain.mine, 1)
        return f"revoked commitment {tx.txid_hex} broadcast"

    def _newest_revoked_with_htlcs(self, ln: LightningNode, slot: ChannelSlot) -> int:
        monitor = ln.onchain.monitor_of(slot)
        if monitor is None:
            raise ExpectationFailed(f"{self.node}: the channel has no recorded commitment")
        current = monitor.records.local_current_number
        for record in sorted(monitor.records.local, key=lambda r: -r.view.commitment_number):
            if record.view.commitment_number < current and len(record.view.htlcs) >= self.htlcs:
                return record.view.commitment_number
        raise ExpectationFailed(f"{self.node}: no revoked commitment with {self.htlcs} HTLC(s)")


@register_step
@dataclass(frozen=True)
class WaitHtlcsCommitted(Step):
    """Wait until the reference node's channel carries exactly `count` HTLCs in both current commitments
    with nothing left to sign (the HTLCs are irrevocably committed)."""

    NAME = "wait_htlcs_committed"
    SUMMARY = "wait until HTLCs are irrevocably committed in both commitments"
    node: DriverName
    count: int
    channel: str = "channel"
    timeout_s: float = 15.0

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "wait_htlcs_committed")
        slot = ln.channels.find(channel_ref(ctx, self.channel).channel_id.hex())

        def committed() -> bool:
            ledger = slot.channel.data.ledger
            if ledger is None or ledger.remote_pending or ledger.has_changes_for(Side.REMOTE):
                return False
            counts = {len(ledger.current_view(side).htlcs) for side in (Side.LOCAL, Side.REMOTE)}
            return counts == {self.count}

        try:
            await ln.channels.changes.wait_for(committed, self.timeout_s)
        except TimeoutError as exc:
            ledger = slot.channel.data.ledger
            seen = "no ledger"
            if ledger is not None:
                seen = (
                    f"local {len(ledger.current_view(Side.LOCAL).htlcs)}, "
                    f"remote {len(ledger.current_view(Side.REMOTE).htlcs)}, "
                    f"pending {ledger.remote_pending}, unsigned {ledger.has_changes_for(Side.REMOTE)}, "
                    f"state {slot.channel.state.value}"
                )
            raise ExpectationFailed(
                f"{self.node}: {self.count} HTLC(s) not committed within {self.timeout_s:g}s ({seen})"
            ) from exc
        return f"{self.count} HTLC(s) committed"


@register_step
@dataclass(frozen=True)
class MineSynced(Step):
    """Mine `blocks` blocks one at a time; after each, the named reference nodes scan it (and broadcast
    their claims) before the next is mined. With `until_spend_of` (an outpoint or a value naming one, as
    `<channel>.funding`), stop as soon as a transaction spending it reaches the mempool or a block, and fail
    if none does within `blocks`."""

    NAME = "mine_synced"
    SUMMARY = "mine blocks, reference nodes reacting between them"
    nodes: list[str] = field(default_factory=list)
    blocks: int = 1
    until_spend_of: str | None = None

    async def run(self, ctx: StepContext) -> str | None:
        references = _services(ctx, self.nodes)
        watched = None if self.until_spend_of is None else resolve_outpoint(ctx, self.until_spend_of)
        for mined in range(1, self.blocks + 1):
            await asyncio.to_thread(ctx.chain.mine, 1)
            for ln in references.values():
                await ln.sync_chain()
            await _sync_followers(ctx, self.nodes)
            if watched is not None and await asyncio.to_thread(_spent, ctx.chain, watched):
                return f"{self.until_spend_of} spent after {mined} block(s)"
        if watched is not None:
            raise ExpectationFailed(f"{self.until_spend_of} not spent within {self.blocks} blocks")
        return f"mined {self.blocks} block(s)"


@register_step
@dataclass(frozen=True)
class Reorg(Step):
    """Replace the chain's last `depth` blocks with `blocks` new ones (default `depth + 1`), mined from the
    mempool the disconnected transactions went back to; the named reference nodes scan the new branch
    before the step ends (BOLT 5: "MUST be prepared to resolve outputs multiple times, in case of
    blockchain reorganizations"). Other implementations follow the chain on their own."""

    NAME = "reorg"
    SUMMARY = "replace the last blocks of the chain with a longer branch"
    nodes: list[str] = field(default_factory=list)
    depth: int = 1
    blocks: int | None = None

    def check_arguments(self) -> None:
        if self.depth <= 0:
            raise ValueError("depth must be positive")
        if self.blocks is not None and self.blocks <= self.depth:
            raise ValueError("blocks must exceed depth (the new branch has to be the longer one)")

    async def run(self, ctx: StepContext) -> str | None:
        references = _services(ctx, self.nodes)
        hashes = await asyncio.to_thread(ctx.chain.reorg, self.depth, self.blocks)
        for ln in references.values():
            await ln.sync_chain()
        await _sync_followers(ctx, self.nodes)
        return f"replaced {self.depth} block(s) by {len(hashes)}, height {ctx.chain.height()}"


@register_step
@dataclass(frozen=True)
class SnapshotBalances(Step):
    """Record every driven node's on-chain balance under `name`, for `expect_onchain_outcome`."""

    NAME = "snapshot_balances"
    SUMMARY = "record the on-chain balances of the driven nodes"
    nodes: list[str] = field(default_factory=list)
    name: str = "balances"

    async def run(self, ctx: StepContext) -> str | None:
        balances = {node: await ctx.driver(node).onchain_balance_sat() for node in self.nodes}
        ctx.set_value(self.name, balances)
        return ", ".join(f"{n}: {b} sat" for n, b in balances.items())


async def _sync_followers(ctx: StepContext, nodes: list[str]) -> None:
    """Let every named node of another implementation that follows the chain on its own (a
    ChainFollowing driver: cln, ldk) process the blocks mined so far before the next one."""
    for node in nodes:
        driver = ctx.driver(node)
        if isinstance(driver, ChainFollowing):
            await driver.sync()


async def _unresolved_elsewhere(ctx: StepContext, nodes: list[str], channel_id: bytes) -> list[str]:
    """The named nodes of other implementations that report resolution (ResolutionReporting) and have
    not irrevocably resolved the channel yet."""
    pending = []
    for node in nodes:
        driver = ctx.driver(node)
        if isinstance(driver, ResolutionReporting) and not await driver.channel_irrevocably_resolved(
            channel_id
        ):
            pending.append(node)
    return pending


def _services(ctx: StepContext, nodes: list[str]) -> dict[str, LightningNode]:
    found = {}
    for node in nodes:
        try:
            found[node] = reference_node(ctx, node, "mine_until_resolved")
        except UnsupportedOperation:
            continue  # another implementation: it follows the chain on its own
    return found


@register_step
@dataclass(frozen=True)
class MineUntilResolved(Step):
    """Mine one block at a time (each reference node scans it and broadcasts its claims before the next)
    until every named reference node reports the channel *irrevocably resolved* (BOLT 5: resolving
    transactions 100 blocks deep), or fail after `max_blocks`. A node of another implementation that
    follows the chain on its own (ChainFollowing) processes each block before the next; one that reports
    resolution (ResolutionReporting: cln) is waited for too; others get `max_blocks` blocks, or as many as
    the nodes above needed."""

    NAME = "mine_until_resolved"
    SUMMARY = "mine until every output of the close is irrevocably resolved"
    nodes: list[str] = field(default_factory=list)
    channel: str = "channel"
    max_blocks: int = 500
    timeout_s: float = 300.0

    async def run(self, ctx: StepContext) -> str | None:
        ref = channel_ref(ctx, self.channel)
        references = _services(ctx, self.nodes)
        reporting = [n for n in self.nodes if isinstance(ctx.driver(n), ResolutionReporting)]
        chain = ctx.chain
        pending: list[str] = []
        for mined in range(1, self.max_blocks + 1):
            await asyncio.to_thread(chain.mine, 1)
            pending = []
            for name, ln in references.items():
                await ln.sync_chain()
                if not ln.onchain.resolved(ln.channels.find(ref.channel_id.hex())):
                    pending.append(name)
            await _sync_followers(ctx, self.nodes)
            pending += await _unresolved_elsewhere(ctx, reporting, ref.channel_id)
            if (references or reporting) and not pending:
                return f"resolved after {mined} blocks"
        if pending:
            left = {
                name: _unresolved(references[name], ref.channel_id) if name in references else ["open"]
                for name in pending
            }
            raise ExpectationFailed(
                f"{', '.join(pending)}: not resolved after {self.max_blocks} blocks; unresolved: {left}"
            )
        return f"mined {self.max_blocks} blocks"


def _unresolved(ln: LightningNode, channel_id: bytes) -> list[str]:
    """The claims still open in a reference node's monitor, for a failure message."""
    monitor = ln.onchain.monitor_of(ln.channels.find(channel_id.hex()))
    if monitor is None:
        return ["no monitor"]
    if monitor.evaluation.close is None:
        return ["no close seen"]
    unspent = monitor.evaluation.unspent()
    return [f"{w.claim.value}@{w.outpoint.txid_hex[:12]}:{w.outpoint.index}" for w in unspent]


def _spent(chain: ChainBackend, outpoint: OutPoint) -> bool:
    return chain.get_utxo(outpoint, include_mempool=True) is None


def _tx(chain: ChainBackend, txid: str) -> Tx:
    return Tx.parse(chain.get_tx(txid).raw)


def block_txs(chain: ChainBackend, height: int) -> tuple[Tx, ...]:
    """The transactions of the active chain's block at `height`, in block order, from either chain: the
    embedded chain in-process, a bitcoind (or `boltcheck chain`) over RPC (`getblock HASH 0`, raw bytes)."""
    if isinstance(chain, EmbeddedChain):
        return EmbeddedChainSource(chain).block_at(height).txs
    if isinstance(chain, BitcoindChain):
        try:
            return BitcoindBackendSource(chain).block_at(height).txs
        except ChainSourceError as exc:
            raise ExpectationFailed(f"block {height} unreadable over RPC: {exc}") from exc
    raise UnsupportedOperation("chain", "close_tree", f"reading blocks of a {type(chain).__name__}")


def close_tree(chain: ChainBackend, funding: OutPoint) -> list[Tx]:
    """Every confirmed transaction descending from the funding output, in chain order, plus the confirmed
    transactions that created the other coins they spend when those were made after the close (fee coins
    a node prepared for its claims)."""
    start = chain.get_tx(funding.txid).block_height
    if start is None:
        raise ExpectationFailed(f"funding transaction {funding.txid} is not confirmed")
    tree: list[Tx] = []
    tree_txids: set[bytes] = set()
    live = {(bytes.fromhex(funding.txid)[::-1], funding.vout)}
    close_height: int | None = None
    for height in range(start, chain.height() + 1):
        for tx in block_txs(chain, height):
            if any((i.prevout.txid, i.prevout.index) in live for i in tx.inputs):
                close_height = height if close_height is None else close_height
                tree.append(tx)
                tree_txids.add(tx.txid())
                live |= {(tx.txid(), index) for index in range(len(tx.outputs))}
    extra: list[Tx] = []
    for tx in tree:
        for txin in tx.inputs:
            if txin.prevout.txid in tree_txids or (txin.prevout.txid, txin.prevout.index) in live:
                continue
            info = chain.get_tx(txin.prevout.txid_hex)
            if (
                close_height is not None
                and info.block_height is not None
                and info.block_height >= close_height
            ):
                parent = Tx.parse(info.raw)
                if parent.txid() not in {t.txid() for t in extra}:
                    extra.append(parent)
    return tree + extra


def fee_sat(chain: ChainBackend, tx: Tx) -> int:
    spent = sum(_tx(chain, i.prevout.txid_hex).outputs[i.prevout.index].amount_sat for i in tx.inputs)
    return spent - sum(o.amount_sat for o in tx.outputs)


@register_step
@dataclass(frozen=True)
class ExpectOnchainOutcome(Step):
    """Final balances to the satoshi: the driven nodes' on-chain balances moved, since `since`
    (a `snapshot_balances`), by exactly the channel value less the fees of the close tree (nothing left
    unresolved, nothing lost). With `cheater`, the cheater ends with nothing from the channel: its balance
    did not grow, and `honest` got the whole channel value less the fees it did not pay itself."""

    NAME = "expect_onchain_outcome"
    SUMMARY = "final on-chain balances of both sides, to the satoshi"
    nodes: list[str] = field(default_factory=list)
    since: str = "balances"
    channel: str = "channel"
    cheater: str | None = None

    async def run(self, ctx: StepContext) -> str | None:
        chain = ctx.chain
        before = ctx.get_value(self.since)
        if not isinstance(before, dict):
            raise ValueError(f"{self.since!r} is not a snapshot_balances value")
        funding = resolve_outpoint(ctx, f"{self.channel}.funding")
        funding_sat = _tx(chain, funding.txid).outputs[funding.vout].amount_sat
        tree = await asyncio.to_thread(close_tree, chain, funding)
        for tx in tree:
            ctx.record_txid(tx.txid_hex)
        fees = sum(fee_sat(chain, tx) for tx in tree)
        after = {node: await ctx.driver(node).onchain_balance_sat() for node in self.nodes}
        delta = {node: after[node] - int(before[node]) for node in self.nodes}
        expected_total = funding_sat - fees
        detail = f"changes {delta}, channel {funding_sat} sat, close-tree fees {fees} sat"
        if sum(delta.values()) != expected_total:
            raise ExpectationFailed(
                f"balances moved by {sum(delta.values())} sat in all, expected {expected_total}: {detail}"
            )
        if self.cheater is not None and delta[self.cheater] > 0:
            raise ExpectationFailed(f"the cheater {self.cheater} gained {delta[self.cheater]} sat: {detail}")
        return detail


@register_step
@dataclass(frozen=True)
class ExpectChannelClosedOnchain(Step):
    """The reference node saw the channel closed on chain (its state is failed or closed)."""

    NAME = "expect_closed_onchain"
    SUMMARY = "a reference node's channel is closed on chain"
    node: DriverName
    channel: str = "channel"

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, "expect_closed_onchain")
        ref = channel_ref(ctx, self.channel)
        slot = ln.channels.find(ref.channel_id.hex())
        monitor = ln.onchain.monitor_of(slot)
        if monitor is None or monitor.close_kind is None:
            raise ExpectationFailed(f"{self.node}: no close of the channel seen on chain")
        if slot.channel.state not in (
            ChannelState.FAILED,
            ChannelState.CLOSED,
            ChannelState.CLOSING_BROADCAST,
        ):
            raise ExpectationFailed(f"{self.node}: channel still {slot.channel.state.value}")
        return f"{self.node} saw a {monitor.close_kind} close"
