"""A payment asked for while the channel is reestablishing (BOLT 2 "Message Retransmission": no update before
the peer's `channel_reestablish`) waits until the channel is usable again, bounded by the payment's timeout,
instead of failing at once."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from reference_node.channel import ChannelState
from reference_node.node import LightningNode
from reference_node.nodekey import Entropy, NodeKey
from reference_node.payments.service import PaymentError
from reference_node.store import PaymentStatus

CHANNEL_SAT = 1_000_000
PUSH_MSAT = 100_000_000
TIMEOUT_S = 60.0
REESTABLISH_DELAY_S = 1.0


def _node(tmp_path: Path, chain: EmbeddedChain, name: str) -> LightningNode:
    secret = hashlib.sha256(f"reestablish-wait {name}".encode()).digest()
    return LightningNode(
        NodeKey.from_secret(secret),
        EmbeddedChainSource(chain),
        tmp_path / name,
        entropy=Entropy(name.encode()),
    )


async def _open(chain: EmbeddedChain, payer: LightningNode, payee: LightningNode) -> str:
    chain.fund(payer.wallet.new_address(), 3_000_000, confirm=True)
    await payer.sync_chain()
    host, port = payee.node.address
    await payer.connect(payee.node_id, host, port)
    funding = await payer.fund_channel(payee.node_id, CHANNEL_SAT, PUSH_MSAT)
    chain.mine(3)
    ref = funding.channel_id.hex()
    for node in (payer, payee):
        await node.sync_chain()
        await node.wait_for_channel(ref, frozenset({ChannelState.NORMAL}), TIMEOUT_S)
    return ref


async def _disconnect(payer: LightningNode, payee: LightningNode) -> None:
    peer = payer.node.peer(payee.node_id)
    assert peer is not None
    before = (len(payer.node.disconnects(payee.node_id)), len(payee.node.disconnects(payer.node_id)))
    await peer.disconnect("test: disconnect before paying")
    await payer.node.wait_for_disconnect(payee.node_id, TIMEOUT_S, after=before[0])
    await payee.node.wait_for_disconnect(payer.node_id, TIMEOUT_S, after=before[1])


@pytest.mark.timeout(300)
def test_pay_right_after_reconnect_waits_for_reestablish_and_completes(tmp_path: Path) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            payer, payee = _node(tmp_path, chain, "payer"), _node(tmp_path, chain, "payee")
            for node in (payer, payee):
                await node.start()
            try:
                ref = await _open(chain, payer, payee)
                slot = payer.channels.find(ref)
                await payer.channels.wait_usable(slot, TIMEOUT_S)
                await _disconnect(payer, payee)
                assert not slot.usable.is_set()
                # the payee's channel_reestablish comes late (a fault of the reference node), so the payment
                # below is asked for while the payer's channel is still reestablishing
                payee.controls.delay_message_types_s["channel_reestablish"] = REESTABLISH_DELAY_S
                host, port = payee.node.address
                await payer.connect(payee.node_id, host, port)
                assert not slot.channel.is_link_ready()
                # no wait for channel_reestablish: the payment itself must wait for it
                bolt11 = payee.payments.create_invoice(12_345_000, "after-reconnect", "x").bolt11
                row = await payer.payments.pay(bolt11, None, TIMEOUT_S)
                assert row.status is PaymentStatus.COMPLETE, row.failure
                assert slot.channel.is_link_ready()
            finally:
                for node in (payer, payee):
                    await node.stop()

    asyncio.run(scenario())


@pytest.mark.timeout(300)
def test_pay_while_disconnected_fails_when_its_timeout_ends(tmp_path: Path) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            payer, payee = _node(tmp_path, chain, "payer"), _node(tmp_path, chain, "payee")
            for node in (payer, payee):
                await node.start()
            try:
                await _open(chain, payer, payee)
                await _disconnect(payer, payee)
                bolt11 = payee.payments.create_invoice(12_345_000, "never-reconnected", "x").bolt11
                loop = asyncio.get_running_loop()
                started = loop.time()
                with pytest.raises(PaymentError, match="usable within 1 s"):
                    await payer.payments.pay(bolt11, None, 1.0)
                # it waited for the channel (bounded by the timeout) rather than failing at once
                assert loop.time() - started >= 1.0
            finally:
                for node in (payer, payee):
                    await node.stop()

    asyncio.run(scenario())
