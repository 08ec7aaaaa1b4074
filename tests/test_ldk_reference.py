"""LDK 0.1 against the reference node, each way round, on one in-process EmbeddedChain (LDK reads it
through the bitcoind-compatible RPC facade): connect, open (both channel types), many payments both
ways, mutual close, force close by each side."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.chain.rpc_server import ChainRpcServer
from harness.drivers.base import ChannelState, NodeDriver, OpenChannelOptions
from harness.drivers.ldk import LdkChainRpc, LdkConfig, LdkDriver
from harness.drivers.reference import ReferenceDriver
from harness.drivers.registry import NodeSetup, create_driver
from tests.test_ldk_support import funding_of, requires_ldk, wait_for_spend_in_mempool
from tests.test_ldk_support import interop_logs as interop_logs

pytestmark = [pytest.mark.usefixtures("interop_logs"), requires_ldk, pytest.mark.timeout(300)]

CHANNEL_SAT = 1_000_000
PAYMENT_MSAT = 5_000_000
PAYMENTS_EACH_WAY = 20
RPC_USER, RPC_PASSWORD = "boltcheck", "ldk-tests"


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[EmbeddedChain]:
    with EmbeddedChain(tmp_path / "chain") as embedded:
        embedded.mine(101)
        yield embedded


@asynccontextmanager
async def pair(chain: EmbeddedChain, tmp_path: Path) -> AsyncIterator[tuple[LdkDriver, ReferenceDriver]]:
    server = ChainRpcServer(chain, user=RPC_USER, password=RPC_PASSWORD)
    server.start()
    rpc = LdkChainRpc(server.url, RPC_USER, RPC_PASSWORD)
    ldk = LdkDriver("ldk", LdkConfig(tmp_path / "ldk", rpc, hashlib.sha256(b"ldk").digest()))
    reference = ReferenceDriver(
        NodeSetup("reference", "reference", hashlib.sha256(b"reference").digest(), tmp_path, chain=chain)
    )
    await ldk.start()
    await reference.start()
    try:
        yield ldk, reference
    finally:
        await reference.stop()
        await ldk.stop()
        server.close()


async def fund(driver: NodeDriver, chain: EmbeddedChain) -> None:
    chain.fund(await driver.new_address(), 2 * CHANNEL_SAT, confirm=True)
    if isinstance(driver, LdkDriver):
        await driver.sync()
        await driver.wait_for_balance("funds", lambda sat: sat > 0, 30)


async def open_normal(chain: EmbeddedChain, opener: NodeDriver, peer: NodeDriver, channel_type: str) -> bytes:
    await fund(opener, chain)
    await opener.connect(peer.address, 30)
    opened = await opener.open_channel(
        peer.node_id, CHANNEL_SAT, 0, OpenChannelOptions(channel_type=channel_type)
    )
    chain.mine(3)
    await opener.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
    await peer.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
    return opened.channel_id


async def pay_many(payer: NodeDriver, payee: NodeDriver, count: int) -> None:
    for i in range(count):
        invoice = await payee.create_invoice(PAYMENT_MSAT, f"boltcheck {i}")
        result = await payer.pay(invoice.bolt11, 60)
        assert result.succeeded, result.failure
        assert (
            result.preimage is not None and hashlib.sha256(result.preimage).digest() == invoice.payment_hash
        )


def test_ldk_connects_to_the_reference_node_and_back(chain: EmbeddedChain, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with pair(chain, tmp_path) as (ldk, reference):
            await ldk.connect(reference.address, 30)
            assert reference.node.peer(ldk.node_id) is not None
            await ldk.disconnect(reference.node_id, 30)
            await reference.connect(ldk.address, 30)
            peers = await ldk.call("list_peers")
            assert {"node_id": reference.node_id.hex()} in peers

    asyncio.run(scenario())


@pytest.mark.parametrize("channel_type", ["static_remotekey", "anchors"])
@pytest.mark.parametrize("opener_name", ["ldk", "reference"])
def test_open_pay_both_ways_and_close_mutually(
    chain: EmbeddedChain, tmp_path: Path, opener_name: str, channel_type: str
) -> None:
    async def scenario() -> None:
        async with pair(chain, tmp_path) as (ldk, reference):
            opener, peer = (ldk, reference) if opener_name == "ldk" else (reference, ldk)
            channel_id = await open_normal(chain, opener, peer, channel_type)
            assert await ldk.channel_type(channel_id) == (
                "anchors_zero_fee_htlc_tx" if channel_type == "anchors" else "static_remotekey"
            )
            await pay_many(opener, peer, PAYMENTS_EACH_WAY)
            await pay_many(peer, opener, PAYMENTS_EACH_WAY - 5)
            await opener.close(channel_id, force=False)
            await ldk.wait_for_channel_state(channel_id, ChannelState.CLOSING, 60)
            await wait_for_spend_in_mempool(ldk, chain, await funding_of(ldk, channel_id))
            chain.mine(1)
            await ldk.wait_for_channel_state(channel_id, ChannelState.CLOSED, 60)
            await reference.wait_for_channel_state(channel_id, ChannelState.CLOSED, 60)

    asyncio.run(scenario())


@pytest.mark.parametrize("channel_type", ["static_remotekey", "anchors"])
@pytest.mark.parametrize("closer_name", ["ldk", "reference"])
def test_force_close_by_either_side_confirms(
    chain: EmbeddedChain, tmp_path: Path, closer_name: str, channel_type: str
) -> None:
    async def scenario() -> None:
        async with pair(chain, tmp_path) as (ldk, reference):
            channel_id = await open_normal(chain, ldk, reference, channel_type)
            await pay_many(ldk, reference, 2)
            closer = ldk if closer_name == "ldk" else reference
            await closer.close(channel_id, force=True)
            await ldk.wait_for_channel_state(channel_id, ChannelState.CLOSING, 60)
            await wait_for_spend_in_mempool(ldk, chain, await funding_of(ldk, channel_id))
            chain.mine(1)
            await ldk.wait_for_channel_state(channel_id, ChannelState.CLOSED, 60)

    asyncio.run(scenario())


def test_the_registry_makes_an_ldk_driver_on_the_scenario_chain(chain: EmbeddedChain, tmp_path: Path) -> None:
    async def scenario() -> None:
        setup = NodeSetup("carol", "ldk", hashlib.sha256(b"carol").digest(), tmp_path, chain=chain)
        driver = create_driver(setup)
        assert isinstance(driver, LdkDriver)
        await driver.start()
        try:
            assert (await driver.info()).block_height == chain.height()
            await driver.restart()
            chain.mine(1)
            assert await driver.sync() == chain.height()
            await driver.stop()  # a scenario's stop step, then start: the chain is served again
            await driver.start()
            chain.mine(1)
            assert await driver.sync() == chain.height()
        finally:
            await driver.stop()

    asyncio.run(scenario())
