"""LDK 0.1 against the reference node when things go on chain or the link drops: force close by each
side with an HTLC pending (LDK must resolve it on chain: timeout as the offerer, preimage as the receiver),
reestablish after a disconnect (BOLT 2 channel_reestablish), and a breach (the reference node's revoked
commitment confirmed: LDK must take the funds, BOLT 5 "revoked transaction close")."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.chain.rpc_server import ChainRpcServer
from harness.drivers.base import ChannelState, NodeDriver, OpenChannelOptions, WaitTimeout
from harness.drivers.ldk import LdkChainRpc, LdkConfig, LdkDriver
from harness.drivers.reference import ReferenceDriver
from harness.drivers.registry import NodeSetup
from tests.test_ldk_support import interop_logs as interop_logs
from tests.test_ldk_support import requires_ldk

pytestmark = [pytest.mark.usefixtures("interop_logs"), requires_ldk, pytest.mark.timeout(300)]

CHANNEL_SAT = 1_000_000
HTLC_MSAT = 50_000_000
RPC_USER, RPC_PASSWORD = "boltcheck", "ldk-tests"
#: more than any CLTV or CSV delay these tests meet: LDK's shadow route can put an HTLC's cltv_expiry
#: ~100 blocks ahead, and claims wait 6 confirmations (ANTI_REORG_DELAY) before the events
MAX_BLOCKS = 250
FEE_SLACK_SAT = 20_000


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[EmbeddedChain]:
    with EmbeddedChain(tmp_path / "chain") as embedded:
        embedded.mine(101)
        yield embedded


@asynccontextmanager
async def pair(
    chain: EmbeddedChain, tmp_path: Path, defect: str | None = None
) -> AsyncIterator[tuple[LdkDriver, ReferenceDriver]]:
    server = ChainRpcServer(chain, user=RPC_USER, password=RPC_PASSWORD)
    server.start()
    rpc = LdkChainRpc(server.url, RPC_USER, RPC_PASSWORD)
    ldk = LdkDriver("ldk", LdkConfig(tmp_path / "ldk", rpc, hashlib.sha256(b"ldk").digest()))
    setup = NodeSetup(
        "reference", "reference", hashlib.sha256(b"reference").digest(), tmp_path, defect=defect, chain=chain
    )
    reference = ReferenceDriver(setup)
    await ldk.start()
    await reference.start()
    try:
        yield ldk, reference
    finally:
        await reference.stop()
        await ldk.stop()
        server.close()


async def open_from_ldk(chain: EmbeddedChain, ldk: LdkDriver, peer: NodeDriver, channel_type: str) -> bytes:
    chain.fund(await ldk.new_address(), 2 * CHANNEL_SAT, confirm=True)
    await ldk.sync()
    await ldk.wait_for_balance("funds", lambda sat: sat > 0, 30)
    await ldk.connect(peer.address, 30)
    opened = await ldk.open_channel(
        peer.node_id, CHANNEL_SAT, 0, OpenChannelOptions(channel_type=channel_type)
    )
    chain.mine(3)
    await ldk.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
    await peer.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
    return opened.channel_id


async def pay_in_chunks(payer: NodeDriver, payee: NodeDriver, total_msat: int) -> None:
    """Move `total_msat` in HTLC_MSAT payments (each under the peers' max_htlc_value_in_flight_msat)."""
    for i in range(total_msat // HTLC_MSAT):
        invoice = await payee.create_invoice(HTLC_MSAT, f"liquidity {i}")
        result = await payer.pay(invoice.bolt11, 60)
        assert result.succeeded, result.failure


async def mine_until(
    chain: EmbeddedChain, ldk: LdkDriver, what: str, done: Callable[[], Awaitable[bool]], max_blocks: int
) -> int:
    """Mine one block at a time (LDK reads each one) until `done`; returns the blocks mined."""
    for mined in range(max_blocks + 1):
        if await done():
            return mined
        chain.mine(1)
        await ldk.sync()
        # give LDK's reaction to this block (broadcasts, events) a chance to arrive before the next
        with contextlib.suppress(WaitTimeout):
            await ldk.wait_for_event("a reaction", lambda e: e.get("event") != "block", 0.2, len(ldk.events))
    raise AssertionError(f"{what}: not reached after {max_blocks} blocks")


def has_event(ldk: LdkDriver, name: str, **fields: object) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return any(
            e.get("event") == name and all(e.get(k) == v for k, v in fields.items()) for e in ldk.events
        )

    return check


@pytest.mark.parametrize("channel_type", ["static_remotekey", "anchors"])
@pytest.mark.parametrize("closer_name", ["ldk", "reference"])
def test_offered_htlc_pending_at_force_close_is_timed_out_on_chain_by_ldk(
    chain: EmbeddedChain, tmp_path: Path, closer_name: str, channel_type: str
) -> None:
    async def scenario() -> None:
        async with pair(chain, tmp_path, defect="withhold-preimage") as (ldk, reference):
            channel_id = await open_from_ldk(chain, ldk, reference, channel_type)
            invoice = await reference.create_invoice(HTLC_MSAT, "never settled")
            payment = asyncio.create_task(ldk.pay(invoice.bolt11, 250))

            async def htlc_pending() -> tuple[int, int] | None:
                pending = await ldk.pending_htlcs(channel_id)
                return pending if pending[1] == 1 else None

            await ldk.wait_until("the HTLC on both commitments", htlc_pending, 60)
            closer: NodeDriver = ldk if closer_name == "ldk" else reference
            await closer.close(channel_id, force=True)
            await ldk.wait_for_channel_state(channel_id, ChannelState.CLOSING, 60)
            payment_hash = invoice.payment_hash.hex()
            await mine_until(
                chain,
                ldk,
                "LDK fails the payment after timing the HTLC out on chain",
                has_event(ldk, "payment_failed", payment_hash=payment_hash),
                MAX_BLOCKS,
            )
            result = await payment
            assert not result.succeeded

    asyncio.run(scenario())


@pytest.mark.parametrize("channel_type", ["static_remotekey", "anchors"])
@pytest.mark.parametrize("closer_name", ["ldk", "reference"])
def test_received_htlc_pending_at_force_close_is_claimed_on_chain_by_ldk(
    chain: EmbeddedChain, tmp_path: Path, closer_name: str, channel_type: str
) -> None:
    async def scenario() -> None:
        async with pair(chain, tmp_path) as (ldk, reference):
            channel_id = await open_from_ldk(chain, ldk, reference, channel_type)
            # the reference node needs funds on its side to pay LDK
            await pay_in_chunks(ldk, reference, 4 * HTLC_MSAT)
            held = await ldk.create_hold_invoice(HTLC_MSAT, "held by LDK")
            payment = asyncio.create_task(reference.pay(held.bolt11, 250))
            await ldk.wait_for_event(
                "the HTLC reaching LDK", lambda e: e.get("event") == "payment_claimable", 60
            )
            closer: NodeDriver = ldk if closer_name == "ldk" else reference
            await closer.close(channel_id, force=True)
            await ldk.wait_for_channel_state(channel_id, ChannelState.CLOSING, 60)
            await ldk.settle_invoice(held.payment_hash)
            await mine_until(
                chain,
                ldk,
                "LDK claims the HTLC with its preimage on chain",
                has_event(ldk, "payment_claimed", payment_hash=held.payment_hash.hex()),
                MAX_BLOCKS,
            )
            payment.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await payment

    asyncio.run(scenario())


@pytest.mark.parametrize("channel_type", ["static_remotekey", "anchors"])
def test_channel_is_reestablished_after_a_disconnect_and_keeps_paying(
    chain: EmbeddedChain, tmp_path: Path, channel_type: str
) -> None:
    async def scenario() -> None:
        async with pair(chain, tmp_path) as (ldk, reference):
            channel_id = await open_from_ldk(chain, ldk, reference, channel_type)
            await pay_in_chunks(ldk, reference, 2 * HTLC_MSAT)
            for reconnecting in (ldk, reference, ldk):
                other: NodeDriver = reference if reconnecting is ldk else ldk
                await reconnecting.disconnect(other.node_id, 30)
                await reconnecting.connect(other.address, 30)
                await ldk.wait_for_channel_state(channel_id, ChannelState.NORMAL, 60)
                invoice = await reference.create_invoice(HTLC_MSAT // 10, "after reestablish")
                assert (await ldk.pay(invoice.bolt11, 60)).succeeded
                back = await ldk.create_invoice(HTLC_MSAT // 20, "back after reestablish")
                assert (await reference.pay(back.bolt11, 60)).succeeded

    asyncio.run(scenario())


@pytest.mark.parametrize("channel_type", ["static_remotekey", "anchors"])
def test_ldk_takes_the_funds_when_the_reference_node_broadcasts_a_revoked_commitment(
    chain: EmbeddedChain, tmp_path: Path, channel_type: str
) -> None:
    async def scenario() -> None:
        async with pair(chain, tmp_path) as (ldk, reference):
            channel_id = await open_from_ldk(chain, ldk, reference, channel_type)
            await pay_in_chunks(ldk, reference, 8 * HTLC_MSAT)
            assert reference.lightning is not None
            slot = reference.lightning.channels.find(channel_id.hex())
            await reference.lightning.channels.changes.wait_for(lambda: not slot.channel.ledger.updates, 30.0)
            # The reference node has no "broadcast a revoked commitment" control yet: the test keeps its
            # signed commitment of this state (private helper) and broadcasts it once it is revoked.
            revoked = slot.channel._signed_local_commitment()
            assert revoked is not None
            await pay_in_chunks(reference, ldk, 6 * HTLC_MSAT)  # revokes the kept state
            balance_before = await ldk.onchain_balance_sat()
            chain.send_raw(revoked)
            await mine_until(
                chain,
                ldk,
                "LDK sweeps the penalty to its wallet",
                has_event(ldk, "sweep"),
                MAX_BLOCKS,
            )
            chain.mine(1)
            await ldk.sync()
            # everything in the channel (the reference node's side too) minus fees is LDK's
            await ldk.wait_for_balance(
                "the penalty", lambda sat: sat >= balance_before + CHANNEL_SAT - FEE_SLACK_SAT, 60
            )

    asyncio.run(scenario())
