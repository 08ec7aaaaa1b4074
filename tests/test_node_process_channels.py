"""Two `boltcheck node` processes on a `boltcheck chain` process, driven by pyln-client (PyPI): fund, connect,
open a channel, pay both ways, update_fee, close mutually; on-chain balances after the close equal the channel
balances minus the closing fee, to the satoshi."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyln.client import RpcError

from harness.chain.process import ChainProcess, launch_chain_process
from tests.test_node_support import NodeProcess, fund, mine, start_node

# The acceptance run is 1000 each way (BOLTCHECK_PROCESS_PAYMENTS=1000); the default keeps the suite quick.
PAYMENTS_EACH_WAY = int(os.environ.get("BOLTCHECK_PROCESS_PAYMENTS", "30"))


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
    chain: ChainProcess, funder: NodeProcess, fundee: NodeProcess, amount_sat: int, **options: object
) -> str:
    host, port = fundee.host_port
    funder.rpc.connect(fundee.node_id, host, port)
    result = funder.rpc.fundchannel(fundee.node_id, amount_sat, **options)
    mine(chain, 3, funder, fundee)
    for node in (funder, fundee):
        channel = node.rpc.listpeerchannels()["channels"][0]
        assert channel["state"] == "CHANNELD_NORMAL", channel
    return str(result["channel_id"])


@pytest.mark.slow
@pytest.mark.timeout(3600)  # BOLTCHECK_PROCESS_PAYMENTS=1000 takes minutes per case
@pytest.mark.parametrize("anchors", [False, True], ids=["static_remotekey", "anchors"])
@pytest.mark.parametrize("opener", [0, 1], ids=["a_opens", "b_opens"])
def test_pyln_client_drives_open_pay_both_ways_update_fee_and_mutual_close(
    chain: ChainProcess, nodes: tuple[NodeProcess, NodeProcess], anchors: bool, opener: int
) -> None:
    funder, fundee = nodes[opener], nodes[1 - opener]
    fund(chain, funder, 0.02)
    assert funder.rpc.listfunds()["outputs"][0]["amount_msat"] == 2_000_000_000
    channel_type = [12, 22] if anchors else [12]
    channel_id = open_channel(
        chain, funder, fundee, 1_000_000, push_msat=100_000_000, channel_type=channel_type
    )
    assert funder.rpc.listpeerchannels()["channels"][0]["channel_type"]["bits"] == channel_type
    for n in range(PAYMENTS_EACH_WAY):
        to_fundee = fundee.rpc.invoice(1_000_000 + n, f"to-fundee-{n}", "test")
        assert funder.rpc.pay(to_fundee["bolt11"])["status"] == "complete"
        to_funder = funder.rpc.invoice(500_000 + n, f"to-funder-{n}", "test")
        assert fundee.rpc.pay(to_funder["bolt11"])["status"] == "complete"
        if n == PAYMENTS_EACH_WAY // 2:
            funder.rpc.call("dev-update-fee", {"id": channel_id, "feerate_per_kw": 1000})
    assert fundee.rpc.waitinvoice("to-fundee-0")["status"] == "paid"
    expected_fundee_msat = 100_000_000 + 500_000 * PAYMENTS_EACH_WAY
    # the payer learns the preimage first; wait until the payee's side settled the last HTLC
    for node in (funder, fundee):
        node.rpc.call("dev-wait-settled", {"id": channel_id, "timeout": 30})
    channel_funder = funder.rpc.listpeerchannels()["channels"][0]
    channel_fundee = fundee.rpc.listpeerchannels()["channels"][0]
    assert channel_funder["feerate"]["perkw"] == 1000
    assert channel_fundee["to_us_msat"] == expected_fundee_msat
    assert channel_funder["to_us_msat"] == 1_000_000_000 - expected_fundee_msat
    funder_before_sat = sum(o["amount_msat"] for o in funder.rpc.listfunds()["outputs"]) // 1000
    closed = funder.rpc.close(channel_id)
    assert closed["type"] == "mutual"
    mine(chain, 1, funder, fundee)
    closing = chain.client().call("getrawtransaction", closed["txid"], True)
    fee_sat = 1_000_000 - sum(round(o["value"] * 100_000_000) for o in closing["vout"])
    funder_after_sat = sum(o["amount_msat"] for o in funder.rpc.listfunds()["outputs"]) // 1000
    fundee_after_sat = sum(o["amount_msat"] for o in fundee.rpc.listfunds()["outputs"]) // 1000
    # the opener pays the closing fee (BOLT 3); both balances are whole satoshis here
    assert fundee_after_sat == expected_fundee_msat // 1000
    assert funder_after_sat - funder_before_sat == (1_000_000_000 - expected_fundee_msat) // 1000 - fee_sat
    for node in (funder, fundee):
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
