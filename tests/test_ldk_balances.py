"""LdkDriver's channel balances, to the msat, including a balance below the channel reserve.

LDK 0.1 reports capacities that stop at 0 (harness/drivers/ldk.py, channel_balances_msat): the unit tests
build list_channels entries the way the node reports them for a known balance and check that the balance
comes back exactly; the interop test opens a real LDK channel that pushes the peer less than its reserve.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.chain.process import ChainProcess
from harness.drivers.base import ChannelState, OpenChannelOptions
from harness.drivers.ldk import (
    ANCHORS,
    STATIC_REMOTEKEY,
    LdkBalanceUnknown,
    channel_info,
)
from reference_node.transactions.fees import ANCHOR_OUTPUT_SAT
from tests.test_ldk_support import chain_process, fund, ldk_node, mine, requires_ldk
from tests.test_ldk_support import interop_logs as interop_logs

CAPACITY_SAT = 1_000_000
#: BOLT 2 channel_reserve_satoshis each side must keep (LDK's default is 1% of the capacity)
OUR_RESERVE_SAT = 10_000
THEIR_RESERVE_SAT = 10_000
#: a balance below our reserve, with a sub-satoshi part
BELOW_RESERVE_MSAT = 1_234_567


def ldk_entry(local_msat: int, inbound_htlcs_msat: int = 0, outbound_htlcs_msat: int = 0) -> dict[str, Any]:
    """A list_channels entry as the LDK node reports it for these balances: LDK 0.1's capacities
    (get_available_balances: each side's balance less its HTLCs in flight and its reserve, at least 0)."""
    remote_msat = CAPACITY_SAT * 1000 - local_msat - inbound_htlcs_msat - outbound_htlcs_msat
    return {
        "channel_id": "11" * 32,
        "peer_id": "02" + "22" * 32,
        "funding_outpoint": "33" * 32 + ":0",
        "short_channel_id": None,
        "capacity_sat": str(CAPACITY_SAT),
        "outbound_capacity_msat": str(max(local_msat - OUR_RESERVE_SAT * 1000, 0)),
        "inbound_capacity_msat": str(max(remote_msat - THEIR_RESERVE_SAT * 1000, 0)),
        "our_reserve_sat": str(OUR_RESERVE_SAT),
        "their_reserve_sat": str(THEIR_RESERVE_SAT),
        "pending_inbound_htlcs_msat": str(inbound_htlcs_msat),
        "pending_outbound_htlcs_msat": str(outbound_htlcs_msat),
        "is_outbound": False,
        "is_channel_ready": True,
        "channel_type": STATIC_REMOTEKEY,
        "claimable_on_close": None,
        "closed": None,
    }


@pytest.mark.parametrize("local_msat", [0, 1, BELOW_RESERVE_MSAT, OUR_RESERVE_SAT * 1000])
def test_balance_at_or_below_the_reserve_is_reported_to_the_msat(local_msat: int) -> None:
    info = channel_info(ldk_entry(local_msat))
    assert info.local_balance_msat == local_msat
    assert info.remote_balance_msat == CAPACITY_SAT * 1000 - local_msat


def test_peer_balance_below_its_reserve_is_reported_to_the_msat() -> None:
    remote_msat = BELOW_RESERVE_MSAT
    info = channel_info(ldk_entry(CAPACITY_SAT * 1000 - remote_msat))
    assert info.remote_balance_msat == remote_msat
    assert info.local_balance_msat == CAPACITY_SAT * 1000 - remote_msat


def test_htlcs_in_flight_belong_to_neither_balance() -> None:
    inbound_msat, outbound_msat = 3_000_001, 2_000_003
    info = channel_info(ldk_entry(BELOW_RESERVE_MSAT, inbound_msat, outbound_msat))
    assert info.local_balance_msat == BELOW_RESERVE_MSAT
    assert info.remote_balance_msat == CAPACITY_SAT * 1000 - BELOW_RESERVE_MSAT - inbound_msat - outbound_msat


def both_below_reserve(local_sat: int) -> dict[str, Any]:
    """Both sides below their reserves: HTLCs in flight hold the rest of the channel."""
    remote_sat = 5_000
    entry = ldk_entry(local_sat * 1000, outbound_htlcs_msat=(CAPACITY_SAT - local_sat - remote_sat) * 1000)
    assert entry["outbound_capacity_msat"] == entry["inbound_capacity_msat"] == "0"
    return entry


def test_both_sides_below_their_reserves_fall_back_to_the_monitor_balance_on_close() -> None:
    local_sat, fee_sat = 7_000, 2_500
    entry = both_below_reserve(local_sat)
    # we opened an anchors channel: the to_local output lost the commitment fee and both anchors
    entry.update(is_outbound=True, channel_type=ANCHORS)
    to_local_sat = local_sat - fee_sat - 2 * ANCHOR_OUTPUT_SAT
    entry["claimable_on_close"] = {"amount_sat": str(to_local_sat), "transaction_fee_sat": str(fee_sat)}
    assert channel_info(entry).local_balance_msat == local_sat * 1000


def test_both_sides_below_their_reserves_without_a_monitor_balance_is_an_error() -> None:
    with pytest.raises(LdkBalanceUnknown, match="both capacities are 0"):
        channel_info(both_below_reserve(7_000))


# ----- against a real LDK pair

PUSH_BELOW_RESERVE_MSAT = 1_234_567  # below bob's reserve (1% of CAPACITY_SAT), not whole satoshis


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    yield from chain_process(tmp_path)


@requires_ldk
@pytest.mark.usefixtures("interop_logs")
@pytest.mark.timeout(300)
def test_ldk_peer_pushed_less_than_its_reserve_reports_it_to_the_msat(
    chain: ChainProcess, tmp_path: Path
) -> None:
    async def scenario() -> None:
        client = chain.client()
        mine(client, 101)
        async with ldk_node(chain, tmp_path, "alice") as alice, ldk_node(chain, tmp_path, "bob") as bob:
            await fund(alice, client)
            await alice.connect(bob.address, 30)
            opened = await alice.open_channel(
                bob.node_id,
                CAPACITY_SAT,
                PUSH_BELOW_RESERVE_MSAT,
                OpenChannelOptions(channel_type=STATIC_REMOTEKEY),
            )
            mine(client, 1)
            at_alice = await alice.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
            at_bob = await bob.wait_for_channel_state(opened.channel_id, ChannelState.NORMAL, 60)
            assert at_bob.local_balance_msat == PUSH_BELOW_RESERVE_MSAT
            assert at_bob.remote_balance_msat == CAPACITY_SAT * 1000 - PUSH_BELOW_RESERVE_MSAT
            assert at_alice.remote_balance_msat == PUSH_BELOW_RESERVE_MSAT
            assert at_alice.local_balance_msat == CAPACITY_SAT * 1000 - PUSH_BELOW_RESERVE_MSAT

    asyncio.run(scenario())
