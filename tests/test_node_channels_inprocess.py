"""Two in-process reference nodes on an EmbeddedChain, over real BOLT 8 on loopback: open with each channel
type from each side, payments both ways interleaved (several in flight), update_fee, mutual close; on-chain
balances after the close equal the channel balances minus the closing fee, to the satoshi."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from reference_node.bitcoin.tx import Tx
from reference_node.channel import ChannelState, ChannelType
from reference_node.node import LightningNode
from reference_node.nodekey import Entropy, NodeKey
from reference_node.store import PaymentStatus

# The acceptance run is 1000 payments each way; BOLTCHECK_PAYMENTS lowers it for quick runs.
PAYMENTS_EACH_WAY = int(os.environ.get("BOLTCHECK_PAYMENTS", "1000"))
IN_FLIGHT = 10
CHANNEL_SAT = 2_000_000
PUSH_MSAT = 500_000_000
TIMEOUT_S = 60.0


def _node(tmp_path: Path, chain: EmbeddedChain, name: str) -> LightningNode:
    secret = hashlib.sha256(f"in-process {name}".encode()).digest()
    return LightningNode(
        NodeKey.from_secret(secret),
        EmbeddedChainSource(chain),
        tmp_path / name,
        entropy=Entropy(name.encode()),
    )


async def _pay_batch(payer: LightningNode, payee: LightningNode, amounts: list[int], prefix: str) -> int:
    bolt11s = [payee.payments.create_invoice(m, f"{prefix}-{i}", "x").bolt11 for i, m in enumerate(amounts)]
    rows = await asyncio.gather(*(payer.payments.pay(b, None, TIMEOUT_S) for b in bolt11s))
    assert all(r.status is PaymentStatus.COMPLETE for r in rows), [r.failure for r in rows]
    return sum(amounts)


@pytest.mark.slow
@pytest.mark.timeout(1200)  # 1000 payments each way: about 50-130 s each on a loaded 2-core machine
@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
@pytest.mark.parametrize("opener", ["a", "b"])
def test_open_pay_both_ways_update_fee_and_mutual_close(tmp_path: Path, anchors: bool, opener: str) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            nodes = {"a": _node(tmp_path, chain, "a"), "b": _node(tmp_path, chain, "b")}
            funder, fundee = nodes[opener], nodes["b" if opener == "a" else "a"]
            for node in nodes.values():
                await node.start()
            try:
                chain.fund(funder.wallet.new_address(), 3_000_000, confirm=True)
                await funder.sync_chain()
                host, port = fundee.node.address
                await funder.connect(fundee.node_id, host, port)
                funding = await funder.fund_channel(
                    fundee.node_id, CHANNEL_SAT, PUSH_MSAT, ChannelType(anchors=anchors)
                )
                chain.mine(3)
                for node in nodes.values():
                    await node.sync_chain()
                ref = funding.channel_id.hex()
                for node in nodes.values():
                    await node.wait_for_channel(ref, frozenset({ChannelState.NORMAL}), TIMEOUT_S)
                fundee_msat = PUSH_MSAT
                sent = 0
                while sent < PAYMENTS_EACH_WAY:
                    count = min(IN_FLIGHT, PAYMENTS_EACH_WAY - sent)
                    to_fundee = [10_000 + 7 * (sent + i) for i in range(count)]
                    to_funder = [5_000 + 3 * (sent + i) for i in range(count)]
                    # both directions at once: HTLCs of both sides in the same commitments
                    got, back = await asyncio.gather(
                        _pay_batch(funder, fundee, to_fundee, f"f{sent}"),
                        _pay_batch(fundee, funder, to_funder, f"b{sent}"),
                    )
                    fundee_msat += got - back
                    sent += count
                    if sent == count:
                        funder_channel = funder.channels.find(ref).channel
                        await funder.channels.command(
                            funder.channels.find(ref), functools.partial(funder_channel.update_fee, 1_500)
                        )
                slots = {name: node.channels.find(ref) for name, node in nodes.items()}
                await funder.channels.changes.wait_for(
                    lambda: all(not s.channel.ledger.updates for s in slots.values()), TIMEOUT_S
                )
                assert fundee.channels.find(ref).channel.balances_msat() == (
                    fundee_msat,
                    CHANNEL_SAT * 1000 - fundee_msat,
                )
                assert (
                    funder.channels.find(ref)
                    .channel.ledger.current_view(funder.channels.find(ref).channel.data.opener)
                    .feerate_per_kw
                    == 1_500
                )
                before = {name: node.wallet.balance_sat() for name, node in nodes.items()}
                closed = await funder.close(ref, TIMEOUT_S, force=False)
                assert not closed.unilateral and closed.tx is not None
                chain.mine(1)
                for node in nodes.values():
                    await node.sync_chain()
                    await node.wait_for_channel(ref, frozenset({ChannelState.CLOSED}), TIMEOUT_S)
                closing = Tx.parse(closed.tx)
                # the fee both sides agreed in closing_signed; the funder pays it (BOLT 3)
                fee_sat = funder.channels.find(ref).channel.data.closing.last_sent_fee_satoshis
                assert fee_sat is not None
                # balances are rounded down to the satoshi: the sub-satoshi remainders go to the miner too
                rounding_sat = CHANNEL_SAT - fundee_msat // 1000 - (CHANNEL_SAT * 1000 - fundee_msat) // 1000
                assert sum(o.amount_sat for o in closing.outputs) == CHANNEL_SAT - fee_sat - rounding_sat
                after = {name: node.wallet.balance_sat() for name, node in nodes.items()}
                name_of = {id(n): k for k, n in nodes.items()}
                assert after[name_of[id(fundee)]] - before[name_of[id(fundee)]] == fundee_msat // 1000
                assert (
                    after[name_of[id(funder)]] - before[name_of[id(funder)]]
                    == (CHANNEL_SAT * 1000 - fundee_msat) // 1000 - fee_sat
                )
            finally:
                for node in nodes.values():
                    await node.stop()

    asyncio.run(scenario())
