"""The reference drivers (in-process, and `boltcheck node` processes) with the scenario's EmbeddedChain: the
NodeDriver operations a scenario uses (fund, connect, open_channel, wait, invoice, pay, list, close)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.drivers.base import ChannelState, NodeDriver, OpenChannelOptions
from harness.drivers.reference import ReferenceDriver, ReferenceProcessDriver
from harness.drivers.registry import NodeSetup
from reference_node.bitcoin.tx import Tx

DRIVERS = {"in-process": ReferenceDriver, "process": ReferenceProcessDriver}


def _driver(tmp_path: Path, chain: EmbeddedChain, name: str, kind: str = "in-process") -> NodeDriver:
    setup = NodeSetup(name, "reference", hashlib.sha256(name.encode()).digest(), tmp_path, chain=chain)
    return DRIVERS[kind](setup)


async def _settled(driver: NodeDriver, channel_id: bytes) -> None:
    """The payer learns the preimage first; the payee's balance moves once commitments settle."""
    if isinstance(driver, ReferenceProcessDriver):
        await driver.rpc.call("dev-wait-settled", {"id": channel_id.hex(), "timeout": 30})
        return
    assert isinstance(driver, ReferenceDriver) and driver.lightning is not None
    channels = driver.lightning.channels
    slot = channels.find(channel_id.hex())
    await channels.changes.wait_for(lambda: not slot.channel.ledger.updates, 30.0)


@pytest.mark.parametrize("kind", sorted(DRIVERS))
def test_driver_opens_pays_and_closes_a_channel(tmp_path: Path, kind: str) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            alice, bob = _driver(tmp_path, chain, "alice", kind), _driver(tmp_path, chain, "bob", kind)
            await alice.start()
            await bob.start()
            try:
                chain.fund(await alice.new_address(), 1_500_000, confirm=True)
                assert await alice.onchain_balance_sat() == 1_500_000
                await alice.connect(bob.address, 10.0)
                opened = await alice.open_channel(
                    bob.node_id, 1_000_000, 0, OpenChannelOptions(announce=False)
                )
                assert opened.state is ChannelState.AWAITING_LOCKIN
                chain.mine(3)
                normal = await alice.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 30.0)
                assert normal.short_channel_id is not None
                invoice = await bob.create_invoice(100_000_000, "driver test")
                paid = await alice.pay(invoice.bolt11, 30.0)
                assert paid.succeeded and paid.preimage is not None
                assert hashlib.sha256(paid.preimage).digest() == invoice.payment_hash
                await _settled(bob, opened.channel_id)
                [bob_view] = await bob.list_channels()
                assert bob_view.local_balance_msat == 100_000_000
                await alice.close(opened.channel_id, force=False)
                chain.mine(1)
                await bob.wait_for_channel_state(opened.channel_id, ChannelState.CLOSED, 30.0)
                assert await bob.onchain_balance_sat() == 100_000
            finally:
                await alice.stop()
                await bob.stop()

    asyncio.run(scenario())


def test_driver_force_close_broadcasts_the_latest_commitment(tmp_path: Path) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            alice = _driver(tmp_path, chain, "alice")
            bob = _driver(tmp_path, chain, "bob")
            assert isinstance(alice, ReferenceDriver)
            await alice.start()
            await bob.start()
            try:
                chain.fund(await alice.new_address(), 1_500_000, confirm=True)
                await alice.onchain_balance_sat()
                await alice.connect(bob.address, 10.0)
                opened = await alice.open_channel(bob.node_id, 1_000_000, 0, OpenChannelOptions())
                chain.mine(3)
                await alice.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 30.0)
                await alice.close(opened.channel_id, force=True)
                [closing] = await alice.list_channels()
                assert closing.state is ChannelState.CLOSING
                assert alice.lightning is not None
                slot = alice.lightning.channels.find(opened.channel_id.hex())
                assert slot.closing_tx is not None
                commitment = Tx.parse(slot.closing_tx)
                # the chain's mempool accepted it (Bitcoin Core's script checks): it is mined next
                assert commitment.txid_hex in chain.mempool()
                chain.mine(1)
                await alice.onchain_balance_sat()
                assert slot.funding_spent_by == commitment.txid()
            finally:
                await alice.stop()
                await bob.stop()

    asyncio.run(scenario())
