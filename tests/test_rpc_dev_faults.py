"""The fault controls as `dev-*` RPC methods of a `boltcheck node` process, driven by pyln-client (PyPI, an
independent client): dev-go-offline, dev-refuse-close, dev-withhold-preimages, dev-breach."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import pytest
from pyln.client import RpcError

from harness.chain.process import ChainProcess, launch_chain_process
from tests.test_node_process_channels import open_channel
from tests.test_node_support import NodeProcess, fund, mine, start_node

HELD_WAIT_S = 5.0  # how long a payment to a node withholding preimages is seen staying pending
PAY_TIMEOUT_S = 60.0


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
    a = start_node(tmp_path / "a", chain, "dev a")
    b = start_node(tmp_path / "b", chain, "dev b")
    try:
        yield a, b
    finally:
        for node in (a, b):
            node.stop()


@pytest.fixture
def channel(chain: ChainProcess, nodes: tuple[NodeProcess, NodeProcess]) -> str:
    a, b = nodes
    fund(chain, a, 0.02)
    return open_channel(chain, a, b, 1_000_000, push_msat=100_000_000)


def test_dev_go_offline_drops_peers_and_refuses_connections_until_back(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    a, b = nodes
    host, port = b.host_port
    a.rpc.connect(b.node_id, host, port)
    assert b.rpc.call("dev-go-offline", {"offline": True}) == {"offline": True}
    assert b.rpc.listpeers()["peers"] == []
    with pytest.raises(RpcError):
        a.rpc.connect(b.node_id, host, port)
    assert b.rpc.call("dev-go-offline", {"offline": False}) == {"offline": False}
    assert a.rpc.connect(b.node_id, host, port)["id"] == b.node_id


def test_dev_go_offline_rejects_a_non_boolean(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    with pytest.raises(RpcError, match="offline: should be a boolean"):
        nodes[0].rpc.call("dev-go-offline", {"offline": "yes"})


@pytest.mark.slow
def test_dev_refuse_close_forces_the_peer_to_close_unilaterally(
    nodes: tuple[NodeProcess, NodeProcess], channel: str
) -> None:
    a, b = nodes
    assert b.rpc.call("dev-refuse-close", {"enable": True}) == {"refuse_close": True}
    result = a.rpc.close(channel, unilateraltimeout=3)
    assert result["type"] == "unilateral"
    assert b.rpc.call("dev-refuse-close", {"enable": False}) == {"refuse_close": False}


@pytest.mark.slow
def test_dev_withhold_preimages_holds_a_payment_until_released(
    nodes: tuple[NodeProcess, NodeProcess], channel: str
) -> None:
    a, b = nodes
    assert b.rpc.call("dev-withhold-preimages", {"enable": True})["withhold_preimages"] is True
    bolt11 = b.rpc.invoice(5_000_000, "held", "held")["bolt11"]
    with ThreadPoolExecutor(1) as pool:
        payment = pool.submit(a.rpc.pay, bolt11)
        # the payment must not complete while the payee withholds its preimage
        with pytest.raises(FutureTimeout):
            payment.result(timeout=HELD_WAIT_S)
        assert b.rpc.listinvoices("held")["invoices"][0]["status"] == "unpaid"
        assert b.rpc.call("dev-withhold-preimages", {"enable": False})["withhold_preimages"] is False
        assert payment.result(timeout=PAY_TIMEOUT_S)["status"] == "complete"
    assert b.rpc.waitinvoice("held")["status"] == "paid"


@pytest.mark.slow
def test_dev_breach_broadcasts_a_revoked_commitment_the_peer_punishes(
    chain: ChainProcess, nodes: tuple[NodeProcess, NodeProcess], channel: str
) -> None:
    a, b = nodes
    bolt11 = b.rpc.invoice(10_000_000, "first", "first")["bolt11"]
    assert a.rpc.pay(bolt11)["status"] == "complete"
    b.rpc.call("dev-wait-settled", {"id": channel, "timeout": 60})
    a.rpc.call("dev-go-offline", {"offline": True})
    breach = a.rpc.call("dev-breach", {"id": channel})
    assert isinstance(breach["commitnum"], int)
    client = chain.client()
    assert breach["txid"] in client.call("getrawmempool")
    mine(chain, 1, a, b)
    # BOLT 5 "Revoked Transaction Close Handling": b spends the revoked outputs at once (penalty)
    penalties = [
        txid
        for txid in client.call("getrawmempool")
        if any(vin["txid"] == breach["txid"] for vin in client.call("getrawtransaction", txid, True)["vin"])
    ]
    assert penalties, "no penalty transaction spends the revoked commitment"


def test_dev_breach_refuses_a_commitment_that_is_not_revoked(
    nodes: tuple[NodeProcess, NodeProcess], channel: str
) -> None:
    a, _ = nodes
    with pytest.raises(RpcError, match="not revoked"):
        a.rpc.call("dev-breach", {"id": channel, "commitnum": 10**6})
