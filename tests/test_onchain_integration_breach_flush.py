"""The breach fault keeps its victim informed: a cheater whose last message is a `revoke_and_ack` (here:
its own HTLC just committed, the revocation of the state before still on its way) and that goes offline at
once cuts it off; the victim then rightly takes the broadcast state as the peer's current commitment (a
remote close, no penalty) and the scenario checks nothing about penalties. `LightningNode.flush_channel`
waits for the channel to be quiet and its messages read by the peer (ping/pong barrier); the `breach`
step calls it. The cheater's `revoke_and_ack` is delayed (a fault control) to make the race certain."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from reference_node.channel.params import Side
from reference_node.node import LightningNode
from reference_node.onchain import ChannelCloseSeen, CloseKind
from tests.test_onchain_node import _mine, _run

REVOKE_DELAY_S = 0.5  # the cheater's revoke_and_ack leaves this late
FLUSH_TIMEOUT_S = 30.0


def _close_kinds(node: LightningNode) -> list[CloseKind]:
    return [e.action.kind for e in node.onchain.events if isinstance(e.action, ChannelCloseSeen)]


@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
def test_a_breach_after_flush_is_seen_as_revoked_by_the_victim(tmp_path: Path, anchors: bool) -> None:
    async def scenario(chain: EmbeddedChain, a: LightningNode, b: LightningNode, ref: str) -> None:
        cheater, victim = b, a
        slot = cheater.channels.find(ref)
        victim.controls.withhold_preimages = True
        cheater.controls.delay_message_types_s = {"revoke_and_ack": REVOKE_DELAY_S}
        invoice = victim.payments.create_invoice(20_000_000, "held", "x")
        paying = asyncio.ensure_future(cheater.payments.pay(invoice.bolt11, None, FLUSH_TIMEOUT_S))

        def committed() -> bool:
            ledger = slot.channel.data.ledger
            return ledger is not None and all(
                len(ledger.current_view(side).htlcs) == 1 for side in (Side.LOCAL, Side.REMOTE)
            )

        # the cheater's HTLC is in both commitments: its last message, the revoke_and_ack of the state
        # before, is still on its way
        await cheater.channels.changes.wait_for(committed, FLUSH_TIMEOUT_S)
        await cheater.flush_channel(slot, FLUSH_TIMEOUT_S)
        await cheater.go_offline(True)
        monitor = cheater.onchain.monitor_of(slot)
        assert monitor is not None
        await cheater.onchain.breach(slot, monitor.records.local_current_number - 1)
        await _mine(chain, (a, b), 1)
        assert _close_kinds(victim) == [CloseKind.REVOKED]
        paying.cancel()

    _run(tmp_path, anchors, scenario)
