"""Core Lightning's multi-hop RPC methods of the reference node (reference_node/pay/rpc_methods.py), called
in-process on a line of reference nodes: getroute -> sendpay -> waitsendpay, a failure's `data` as
Core Lightning reports it, listchannels / listnodes over the gossip graph, and `pay` across hops."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.scenarios.steps.network import (
    NetworkSpec,
    ReferenceNetwork,
    Topology,
    build_network,
    wait_for_gossip,
)
from reference_node.pay.rpc_methods import PAY_DESTINATION_PERM_FAIL, MultihopRpc, RpcFailure

TIMEOUT_S = 60.0


def _run(tmp_path: Path, body: Any) -> None:
    async def run() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            chain.mine(101)
            network = await build_network(NetworkSpec.of_topology(3, Topology.LINE), chain, tmp_path, seed=11)
            try:
                await wait_for_gossip(network, TIMEOUT_S)
                await body(network, MultihopRpc(network.nodes[0], network.multihop[0]))
            finally:
                await network.stop()

    asyncio.run(run())


def test_getroute_sendpay_waitsendpay_deliver_a_payment_two_hops_away(tmp_path: Path) -> None:
    async def body(network: ReferenceNetwork, rpc: MultihopRpc) -> None:
        row = network.nodes[2].payments.create_invoice(250_000, "rpc", "d")
        payee = network.nodes[2].node_id.hex()
        route = (await rpc.getroute({"id": payee, "amount_msat": 250_000, "riskfactor": 1, "cltv": 19}))[
            "route"
        ]
        assert [hop["id"] for hop in route] == [network.nodes[1].node_id.hex(), payee]
        assert route[-1]["amount_msat"] == 250_000 and route[0]["amount_msat"] > 250_000
        sent = await rpc.sendpay(
            {
                "route": route,
                "payment_hash": row.payment_hash.hex(),
                "payment_secret": row.payment_secret.hex(),
            }
        )
        assert sent["status"] == "pending"
        done = await rpc.waitsendpay({"payment_hash": row.payment_hash.hex(), "timeout": TIMEOUT_S})
        assert done["status"] == "complete"
        assert hashlib.sha256(bytes.fromhex(done["payment_preimage"])).digest() == row.payment_hash

    _run(tmp_path, body)


def test_waitsendpay_reports_the_payee_failure_with_core_lightning_erring_index(tmp_path: Path) -> None:
    async def body(network: ReferenceNetwork, rpc: MultihopRpc) -> None:
        payee = network.nodes[2].node_id.hex()
        route = (await rpc.getroute({"id": payee, "amount_msat": 10_000, "riskfactor": 1}))["route"]
        payment_hash = hashlib.sha256(b"unknown to the payee").hexdigest()
        await rpc.sendpay({"route": route, "payment_hash": payment_hash, "payment_secret": "00" * 32})
        with pytest.raises(RpcFailure) as failure:
            await rpc.waitsendpay({"payment_hash": payment_hash, "timeout": TIMEOUT_S})
        assert failure.value.code == PAY_DESTINATION_PERM_FAIL
        # 0 is us, 1 our peer, 2 the payee
        assert failure.value.data["erring_index"] == 2
        assert failure.value.data["failcodename"] == "WIRE_INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS"
        assert failure.value.data["erring_node"] == payee

    _run(tmp_path, body)


def test_listchannels_and_listnodes_show_the_gossip_graph(tmp_path: Path) -> None:
    async def body(network: ReferenceNetwork, rpc: MultihopRpc) -> None:
        channels = (await rpc.listchannels({}))["channels"]
        assert len(channels) == 4  # two channels, both directions
        assert all(c["public"] and c["base_fee_millisatoshi"] == 1000 for c in channels)
        nodes = (await rpc.listnodes({}))["nodes"]
        assert sorted(n["nodeid"] for n in nodes) == sorted(n.node_id.hex() for n in network.nodes)
        assert {n["alias"] for n in nodes} == {"net-0", "net-1", "net-2"}

    _run(tmp_path, body)


def test_pay_reaches_a_payee_two_hops_away(tmp_path: Path) -> None:
    async def body(network: ReferenceNetwork, rpc: MultihopRpc) -> None:
        row = network.nodes[2].payments.create_invoice(1_234_567, "pay", "d")
        result = await rpc.pay({"bolt11": row.bolt11})
        assert result["status"] == "complete" and result["amount_msat"] == 1_234_567
        assert result["amount_sent_msat"] > 1_234_567  # node 1's fee

    _run(tmp_path, body)
