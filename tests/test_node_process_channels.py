"""Two `boltcheck node` processes on a `boltcheck chain` process, driven by pyln-client (PyPI): fund, connect,
open a channel, pay both ways, update_fee, close mutually; on-chain balances after the close equal the channel
balances minus the closing fee, to the satoshi."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyln.client import RpcError

from harness.chain.process import ChainProcess, launch_chain_process
from tests.test_node_support import NodeProcess, fund, mine, start_node

PAYMENTS_EACH_WAY = 30


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    process = launch_chain_process(tmp_path / "chain")
    try:
        process.client().call("generatetoaddress", 101, process.ready["faucet_address"])
        yield process
    finally:
        process.stop()


@pytest.fixture
def nodes(tmp_path: Path, chain: ChainProcess) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    a = start_node(tmp_path / "a", chain, "node a")
    b = start_node(tmp_path / "b", chain, "node b")
    try:
        yield a, b
    finally:
        for node in (a, b):
            node.stop()


def open_channel(
    chain: ChainProcess, a: NodeProcess, b: NodeProcess, amount_sat: int, **options: object
) -> str:
    host, port = b.host_port
    a.rpc.connect(b.node_id, host, port)
    result = a.rpc.fundchannel(b.node_id, amount_sat, **options)
    mine(chain, 3, a, b)
    for node in (a, b):
        channel = node.rpc.listpeerchannels()["channels"][0]
        assert channel["state"] == "CHANNELD_NORMAL", channel
    return str(result["channel_id"])


def test_pyln_client_drives_open_pay_both_ways_update_fee_and_mutual_close(
    chain: ChainProcess, nodes: tuple[NodeProcess, NodeProcess]
) -> None:
    a, b = nodes
    fund(chain, a, 0.02)
    assert a.rpc.listfunds()["outputs"][0]["amount_msat"] == 2_000_000_000
    channel_id = open_channel(chain, a, b, 1_000_000, push_msat=100_000_000)
    for n in range(PAYMENTS_EACH_WAY):
        to_b = b.rpc.invoice(1_000_000 + n, f"to-b-{n}", "test")
        assert a.rpc.pay(to_b["bolt11"])["status"] == "complete"
        to_a = a.rpc.invoice(500_000 + n, f"to-a-{n}", "test")
        assert b.rpc.pay(to_a["bolt11"])["status"] == "complete"
        if n == PAYMENTS_EACH_WAY // 2:
            a.rpc.call("dev-update-fee", {"id": channel_id, "feerate_per_kw": 1000})
    assert b.rpc.waitinvoice("to-b-0")["status"] == "paid"
    channels_a = a.rpc.listpeerchannels()["channels"][0]
    channels_b = b.rpc.listpeerchannels()["channels"][0]
    assert channels_a["feerate"]["perkw"] == 1000
    expected_b_msat = 100_000_000 + sum(1_000_000 + n - 500_000 - n for n in range(PAYMENTS_EACH_WAY))
    assert channels_b["to_us_msat"] == expected_b_msat
    assert channels_a["to_us_msat"] == 1_000_000_000 - expected_b_msat
    a_before_sat = sum(o["amount_msat"] for o in a.rpc.listfunds()["outputs"]) // 1000
    closed = a.rpc.close(channel_id)
    assert closed["type"] == "mutual"
    mine(chain, 1, a, b)
    closing = chain.client().call("getrawtransaction", closed["txid"], True)
    fee_sat = 1_000_000 - sum(round(o["value"] * 100_000_000) for o in closing["vout"])
    a_after_sat = sum(o["amount_msat"] for o in a.rpc.listfunds()["outputs"]) // 1000
    b_after_sat = sum(o["amount_msat"] for o in b.rpc.listfunds()["outputs"]) // 1000
    # the opener pays the closing fee (BOLT 3); balances are rounded down to the satoshi
    assert b_after_sat == expected_b_msat // 1000
    assert a_after_sat - a_before_sat == (1_000_000_000 - expected_b_msat) // 1000 - fee_sat
    for node in (a, b):
        assert node.rpc.listpeerchannels()["channels"][0]["state"] == "ONCHAIN"


def test_pyln_client_sees_core_lightning_errors(
    chain: ChainProcess, nodes: tuple[NodeProcess, NodeProcess]
) -> None:
    a, b = nodes
    with pytest.raises(RpcError) as unknown:
        a.rpc.call("no-such-method")
    assert unknown.value.error["code"] == -32601
    a.rpc.invoice(1000, "same", "x")
    with pytest.raises(RpcError) as duplicate:
        a.rpc.invoice(1000, "same", "x")
    assert duplicate.value.error["code"] == 900
    with pytest.raises(RpcError) as no_channel:
        a.rpc.pay(b.rpc.invoice(1000, "x", "x")["bolt11"])
    assert no_channel.value.error["code"] == 210
