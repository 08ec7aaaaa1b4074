"""LDK 0.1 (interop/ldk) driven through LdkDriver against another LDK node on `boltcheck chain`:
checks our JS wrapper (funding wallet, chain feed, events, persistence) before it meets our node."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.chain.process import ChainProcess
from harness.drivers.base import ChannelState, OpenChannelOptions
from harness.drivers.ldk import ANCHORS, STATIC_REMOTEKEY, LdkDriver, wait_for_broadcast
from tests.test_ldk_support import chain_process, fund, ldk_node, mine, requires_ldk
from tests.test_ldk_support import interop_logs as interop_logs

pytestmark = [pytest.mark.usefixtures("interop_logs"), requires_ldk, pytest.mark.timeout(300)]

CHANNEL_SAT = 500_000
PAYMENT_MSAT = 1_000_000
# bob starts with nothing: he can pay only above his channel reserve (1% of the capacity, LDK default)
BIG_PAYMENT_MSAT = 20_000_000


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    yield from chain_process(tmp_path)


async def open_normal(chain: ChainProcess, opener: LdkDriver, peer: LdkDriver, channel_type: str) -> bytes:
    client = chain.client()
    await fund(opener, client)
    await opener.connect(peer.address, 30)
    opened = await opener.open_channel(
        peer.node_id, CHANNEL_SAT, 0, OpenChannelOptions(channel_type=channel_type)
    )
    assert opened.state is ChannelState.AWAITING_LOCKIN
    mine(client, 1)
    await opener.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
    await peer.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
    return opened.channel_id


@pytest.mark.parametrize("channel_type", [STATIC_REMOTEKEY, ANCHORS])
def test_ldk_pair_opens_pays_both_ways_and_closes_mutually(
    chain: ChainProcess, tmp_path: Path, channel_type: str
) -> None:
    async def scenario() -> None:
        client = chain.client()
        mine(client, 101)
        async with ldk_node(chain, tmp_path, "alice") as alice, ldk_node(chain, tmp_path, "bob") as bob:
            channel_id = await open_normal(chain, alice, bob, channel_type)
            assert await alice.channel_type(channel_id) == channel_type
            for payer, payee, amount_msat in [
                (alice, bob, BIG_PAYMENT_MSAT),
                (alice, bob, BIG_PAYMENT_MSAT),
                (bob, alice, PAYMENT_MSAT),
            ]:
                invoice = await payee.create_invoice(amount_msat, "boltcheck")
                result = await payer.pay(invoice.bolt11, 60)
                assert result.succeeded, result.failure
                assert result.payment_hash == invoice.payment_hash
            after = len(alice.events)
            await alice.close(channel_id, force=False)
            await wait_for_broadcast(alice, after, 60)
            mine(client, 1)
            closed = await alice.wait_for_channel_state(channel_id, ChannelState.CLOSED, 60)
            # alice paid bob 2 * 20k sat and got 1k sat back
            assert closed.local_balance_msat <= CHANNEL_SAT * 1000 - 2 * BIG_PAYMENT_MSAT + PAYMENT_MSAT
            await bob.wait_for_channel_state(channel_id, ChannelState.CLOSED, 60)

    asyncio.run(scenario())


@pytest.mark.parametrize("channel_type", [STATIC_REMOTEKEY, ANCHORS])
def test_ldk_force_close_is_confirmed_and_swept_to_the_wallet(
    chain: ChainProcess, tmp_path: Path, channel_type: str
) -> None:
    async def scenario() -> None:
        client = chain.client()
        mine(client, 101)
        async with ldk_node(chain, tmp_path, "alice") as alice, ldk_node(chain, tmp_path, "bob") as bob:
            channel_id = await open_normal(chain, alice, bob, channel_type)
            invoice = await bob.create_invoice(50_000_000, "to force close")
            assert (await alice.pay(invoice.bolt11, 60)).succeeded
            bob_before = await bob.onchain_balance_sat()
            after = len(alice.events)
            await alice.close(channel_id, force=True)
            await wait_for_broadcast(alice, after, 60)
            mine(client, 1)
            await alice.wait_for_channel_state(channel_id, ChannelState.CLOSED, 60)
            # bob's to_remote output (to_remote with 1 CSV for anchors) is swept to his wallet
            mine(client, 6)
            await bob.wait_for_event("spendable_outputs", lambda e: e.get("event") == "spendable_outputs", 60)
            await bob.wait_for_event("sweep", lambda e: e.get("event") == "sweep", 60)
            mine(client, 1)
            await bob.wait_for_balance("the sweep", lambda sat: sat > bob_before, 60)

    asyncio.run(scenario())


def test_ldk_restart_keeps_the_channel_and_reestablishes(chain: ChainProcess, tmp_path: Path) -> None:
    async def scenario() -> None:
        client = chain.client()
        mine(client, 101)
        async with ldk_node(chain, tmp_path, "alice") as alice, ldk_node(chain, tmp_path, "bob") as bob:
            channel_id = await open_normal(chain, alice, bob, ANCHORS)
            await alice.restart()
            await alice.connect(bob.address, 30)
            await alice.wait_for_channel_state(channel_id, ChannelState.NORMAL, 60)
            invoice = await bob.create_invoice(PAYMENT_MSAT, "after restart")
            assert (await alice.pay(invoice.bolt11, 60)).succeeded

    asyncio.run(scenario())
