"""Steps the interop suite (suites/interop/) needs beyond the others: wait, block by block, until a
close has settled into both wallets (final balances to the satoshi, for implementations that sweep on
their own schedule), one side's exact balance change, and the check that a node does not revoke the
commitment it has just broadcast (BOLT 5).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from harness.chain import ChainBackend, OutPoint
from harness.drivers.peer import ExpectationFailed
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, Step, StepContext
from harness.scenarios.steps.chain import resolve_outpoint
from harness.scenarios.steps.channels import channel_ref, reference_node
from harness.scenarios.steps.onchain import close_tree, fee_sat
from reference_node.bitcoin.tx import Tx
from reference_node.node import LightningNode


@dataclass(frozen=True)
class _Outcome:
    """Where the balances stand against a close: settled when they moved by the channel value less
    the close tree's fees."""

    delta_sat: dict[str, int]
    funding_sat: int
    fees_sat: int
    txids: tuple[str, ...]

    @property
    def settled(self) -> bool:
        return sum(self.delta_sat.values()) == self.funding_sat - self.fees_sat

    def __str__(self) -> str:
        return (
            f"changes {self.delta_sat}, channel {self.funding_sat} sat, close-tree fees {self.fees_sat} sat"
        )


def _funding_sat(chain: ChainBackend, funding: OutPoint) -> int:
    return Tx.parse(chain.get_tx(funding.txid).raw).outputs[funding.vout].amount_sat


async def _outcome(ctx: StepContext, nodes: list[str], before: dict[str, int], channel: str) -> _Outcome:
    chain = ctx.chain
    funding = resolve_outpoint(ctx, f"{channel}.funding")
    tree = await asyncio.to_thread(close_tree, chain, funding)
    fees = sum([await asyncio.to_thread(fee_sat, chain, tx) for tx in tree])
    after = {node: await ctx.driver(node).onchain_balance_sat() for node in nodes}
    return _Outcome(
        {node: after[node] - before[node] for node in nodes},
        await asyncio.to_thread(_funding_sat, chain, funding),
        fees,
        tuple(tx.txid_hex for tx in tree),
    )


def _snapshot(ctx: StepContext, name: str) -> dict[str, int]:
    value = ctx.get_value(name)
    if not isinstance(value, dict):
        raise ValueError(f"{name!r} is not a snapshot_balances value")
    return {str(k): int(v) for k, v in value.items()}


def _references(ctx: StepContext, nodes: list[str]) -> list[LightningNode]:
    found = []
    for node in nodes:
        if ctx.driver(node).implementation == "reference":
            found.append(reference_node(ctx, node, "mine_until_settled"))
    return found


@register_step
@dataclass(frozen=True)
class MineUntilSettled(Step):
    """Mine one block at a time (reference nodes scan each block before the next), checking every
    `check_every` blocks whether the driven nodes' on-chain balances have moved, since the snapshot
    `since`, by exactly the channel value less the fees of the close tree (every output of the close
    swept into a wallet: BOLT 5's "irrevocably resolved", seen from the wallets). Fails after `max_blocks`
    with the balances as they stand. With `cheater`, the cheater must end with nothing from the channel.
    """

    NAME = "mine_until_settled"
    SUMMARY = "mine until the close has settled into the wallets, balances to the satoshi"
    nodes: list[str] = field(default_factory=list)
    channel: str = "channel"
    since: str = "balances"
    max_blocks: int = 500
    check_every: int = 10
    cheater: str | None = None
    timeout_s: float = 600.0

    def check_arguments(self) -> None:
        if len(self.nodes) < 2 or self.max_blocks <= 0 or self.check_every <= 0:
            raise ValueError("give two nodes or more, and positive max_blocks and check_every")
        if self.cheater is not None and self.cheater not in self.nodes:
            raise ValueError("cheater must be one of nodes")

    async def run(self, ctx: StepContext) -> str | None:
        before = _snapshot(ctx, self.since)
        references = _references(ctx, self.nodes)
        outcome = await _outcome(ctx, self.nodes, before, self.channel)
        mined = 0
        while not outcome.settled and mined < self.max_blocks:
            for _ in range(min(self.check_every, self.max_blocks - mined)):
                await asyncio.to_thread(ctx.chain.mine, 1)
                mined += 1
                for ln in references:
                    await ln.sync_chain()
            outcome = await _outcome(ctx, self.nodes, before, self.channel)
        for txid in outcome.txids:
            ctx.record_txid(txid)
        if not outcome.settled:
            raise ExpectationFailed(
                f"not settled after {mined} blocks: balances moved by {sum(outcome.delta_sat.values())} sat "
                f"in all, expected {outcome.funding_sat - outcome.fees_sat}: {outcome}"
            )
        if self.cheater is not None and outcome.delta_sat[self.cheater] > 0:
            gained = outcome.delta_sat[self.cheater]
            raise ExpectationFailed(f"the cheater {self.cheater} gained {gained} sat: {outcome}")
        return f"settled after {mined} blocks: {outcome}"


@register_step
@dataclass(frozen=True)
class ExpectBalanceChange(Step):
    """`node` got exactly `amount_sat` from the channel `channel` (its balance, when it pays no closing
    fee: BOLT 3, the opener pays it): the closing transaction has an output of exactly `amount_sat`, and
    the node's on-chain balance moved, since the snapshot `since`, by that amount less the fees of the
    transactions that swept that output on into its wallet (LDK sweeps its closing output; Electrum and
    the reference node do not)."""

    NAME = "expect_balance_change"
    SUMMARY = "one node's share of a mutual close, to the satoshi"
    node: DriverName
    amount_sat: int
    channel: str = "channel"
    since: str = "balances"

    async def run(self, ctx: StepContext) -> str | None:
        before = _snapshot(ctx, self.since)[self.node]
        after = await ctx.driver(self.node).onchain_balance_sat()
        funding = resolve_outpoint(ctx, f"{self.channel}.funding")
        tree = await asyncio.to_thread(close_tree, ctx.chain, funding)
        closing = next((tx for tx in tree if _spends(tx, funding)), None)
        if closing is None:
            raise ExpectationFailed(f"no transaction spending {funding} is confirmed")
        amounts = [out.amount_sat for out in closing.outputs]
        if self.amount_sat not in amounts:
            raise ExpectationFailed(
                f"the closing transaction {closing.txid_hex} has no output of {self.amount_sat} sat: "
                f"{amounts}"
            )
        share = OutPoint(closing.txid_hex, amounts.index(self.amount_sat))
        sweeps = _descendants(tree, share)
        sweep_fees = sum([await asyncio.to_thread(fee_sat, ctx.chain, tx) for tx in sweeps])
        expected = self.amount_sat - sweep_fees
        detail = (
            f"closing output {share.txid}:{share.vout} of {self.amount_sat} sat, sweep fees {sweep_fees} sat"
        )
        if after - before != expected:
            raise ExpectationFailed(
                f"{self.node}: on-chain balance moved by {after - before} sat, expected {expected} ({detail})"
            )
        return f"{self.node}: +{after - before} sat ({detail})"


def _spends(tx: Tx, outpoint: OutPoint) -> bool:
    return any(i.prevout.txid_hex == outpoint.txid and i.prevout.index == outpoint.vout for i in tx.inputs)


def _descendants(tree: list[Tx], root: OutPoint) -> list[Tx]:
    """The transactions of `tree` (in chain order) that spend `root` or an output of one that does."""
    live = {(root.txid, root.vout)}
    found = []
    for tx in tree:
        if any((i.prevout.txid_hex, i.prevout.index) in live for i in tx.inputs):
            found.append(tx)
            live |= {(tx.txid_hex, index) for index in range(len(tx.outputs))}
    return found


@register_step
@dataclass(frozen=True)
class SettleHeldExpectNoRevocation(Step):
    """After the other node force-closed (its commitment in the mempool, unconfirmed), the reference
    `node` fulfils the HTLCs it held, off chain, which asks the other node for a new commitment. The
    other node must not answer with `revoke_and_ack` for the commitment it broadcast: BOLT 5 "MUST NOT
    broadcast a commitment transaction for which *it* has exposed the `per_commitment_secret`" (it would
    hand us the key to every output). Passes when no revocation comes within `timeout_s`."""

    NAME = "settle_held_expect_no_revocation"
    SUMMARY = "fulfil held HTLCs after the peer's force close; the peer must not revoke what it broadcast"
    node: DriverName
    channel: str = "channel"
    timeout_s: float = 10.0

    async def run(self, ctx: StepContext) -> str | None:
        ln = reference_node(ctx, self.node, self.NAME)
        slot = ln.channels.find(channel_ref(ctx, self.channel).channel_id.hex())
        ledger = slot.channel.ledger
        broadcast_number = ledger.remote_ctn  # the other node's current commitment: the one it broadcast
        closing_txid = ctx.get_value(f"{self.channel}.closing_txid")
        ln.controls.withhold_preimages = False
        await ln.channels._replay_unresolved_incoming(slot)
        try:
            await ln.channels.changes.wait_for(lambda: ledger.remote_ctn > broadcast_number, self.timeout_s)
        except TimeoutError:
            return f"no revoke_and_ack for commitment {broadcast_number} within {self.timeout_s:g}s"
        in_mempool = closing_txid in ctx.chain.mempool()
        raise ExpectationFailed(
            f"the peer sent revoke_and_ack for its commitment {broadcast_number}, which it had broadcast "
            f"({closing_txid}, {'still in the mempool' if in_mempool else 'no longer in the mempool'}): "
            "that transaction is now a revoked commitment"
        )


@register_step
@dataclass(frozen=True)
class WaitChannelUsable(Step):
    """After a reconnection, wait until `node` has reestablished the channel (BOLT 2 `channel_reestablish`
    both ways) and can send on it again: LDK lists `is_usable`, the reference node's channel records both
    reestablish messages; the Electrum driver's `pay` waits for reestablishment itself."""

    NAME = "wait_channel_usable"
    SUMMARY = "wait until a node has reestablished a channel after a reconnection"
    node: DriverName
    channel: str = "channel"
    timeout_s: float = 30.0

    async def run(self, ctx: StepContext) -> str | None:
        from harness.drivers.ldk import LdkDriver

        driver = ctx.driver(self.node)
        channel_id = channel_ref(ctx, self.channel).channel_id.hex()
        if driver.implementation == "reference":
            ln = reference_node(ctx, self.node, self.NAME)
            data = ln.channels.find(channel_id).channel.data
            # the reference channel takes updates once it has both sent and received channel_reestablish
            await ln.channels.changes.wait_for(
                lambda: data.connected and (data.reestablish_received or not data.reestablish_sent),
                self.timeout_s,
            )
            return f"{self.node}: channel reestablished"
        if not isinstance(driver, LdkDriver):
            return f"{self.node} ({driver.implementation}): its pay waits for reestablishment"

        async def usable() -> bool | None:
            raws = await driver.list_channels_raw()
            return True if any(r["channel_id"] == channel_id and r.get("is_usable") for r in raws) else None

        await driver.wait_until(f"channel {channel_id[:16]}.. usable", usable, self.timeout_s)
        return f"{self.node}: channel usable again"
