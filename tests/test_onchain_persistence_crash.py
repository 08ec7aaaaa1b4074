"""BOLT 5 after SIGKILLs: the honest node, a process, is killed with SIGKILL several times while payments
are in flight (and once more just after the breach reaches the chain), restarted from its data directory
each time; the peer then broadcasts its OLDEST revoked commitment that carries HTLCs. The honest node still
takes the whole channel: every state it needed was on disk, in the same transaction as the channel state,
before the message that depended on it left.

The cheater's revoked commitment is rebuilt offline from the cheater's own data directory (its store and
monitor archive), as its `breach` fault would: the process JSON-RPC has no breach method."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyln.client import RpcError

from harness.chain.process import ChainProcess, launch_chain_process
from reference_node.bitcoin.tx import Tx
from reference_node.chain_source import BitcoindChainSource, RpcEndpoint
from reference_node.node import LIGHTNING_FEATURES, LightningNode, Network, NodeConfig
from reference_node.nodekey import Entropy, load_or_create_node_key
from tests.test_node_support import NodeProcess, fund, mine, start_node

KILLS = 4
CHANNEL_SAT = 1_000_000
PUSH_MSAT = 400_000_000
# what the honest side's penalty and sweep may cost; without the penalty it would miss the cheater's
# whole balance (at least PUSH_MSAT)
CLAIM_FEES_MAX_SAT = 20_000


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[ChainProcess]:
    process = launch_chain_process(tmp_path / "chain")
    try:
        process.client().call("generatetoaddress", 101, process.ready["faucet_address"])
        yield process
    finally:
        process.stop()


def _pay_until_stopped(
    payer: NodeProcess, bolt11s: list[str], done: threading.Event, progress: threading.Semaphore
) -> None:
    for bolt11 in bolt11s:
        if done.is_set():
            return
        try:
            payer.rpc.pay(bolt11, retry_for=10)
        except (RpcError, OSError, ValueError):
            return  # the payer was killed mid-call
        progress.release()


def _confirmed_sat(node: NodeProcess) -> int:
    outputs = node.rpc.listfunds()["outputs"]
    return sum(o["amount_msat"] for o in outputs if o["status"] == "confirmed") // 1000


def _restart(nodes: dict[str, NodeProcess], tmp_path: Path, chain: ChainProcess, name: str) -> None:
    nodes[name].kill()
    nodes[name] = start_node(tmp_path / name, chain, f"breach {name}")


def _oldest_revoked_with_htlcs(data_dir: Path, seed: str, chain: ChainProcess) -> Tx:
    """The stopped cheater's oldest revoked commitment with HTLCs, signed from its own data directory."""

    async def build() -> Tx:
        key = load_or_create_node_key(data_dir, seed=seed.encode())
        source = BitcoindChainSource(RpcEndpoint.parse(chain.auth_url))
        config = NodeConfig(network=Network.REGTEST, features=LIGHTNING_FEATURES)
        cheater = LightningNode(key, source, data_dir, config, Entropy(seed.encode()))
        try:
            cheater.channels.load()
            cheater.onchain.load(list(cheater.channels.slots.values()))
            (slot,) = cheater.channels.slots.values()
            monitor = cheater.onchain.monitor_of(slot)
            assert monitor is not None
            records = monitor.records
            oldest = min(r.view.commitment_number for r in records.local if r.view.htlcs)
            assert oldest < records.local_current_number - 10
            return monitor.revoked_local_commitment(oldest)
        finally:
            cheater.store.close()

    return asyncio.run(build())


def _fee_sat(chain: ChainProcess, tx: Tx) -> int:
    client = chain.client()
    spent_sat = 0
    for txin in tx.inputs:
        parent = Tx.parse(bytes.fromhex(client.call("getrawtransaction", txin.prevout.txid_hex)))
        spent_sat += parent.outputs[txin.prevout.index].amount_sat
    return spent_sat - sum(o.amount_sat for o in tx.outputs)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_node_killed_mid_payments_punishes_the_oldest_revoked_state(
    tmp_path: Path, chain: ChainProcess
) -> None:
    rng = random.Random(11)
    nodes = {
        "a": start_node(tmp_path / "a", chain, "breach a"),
        "b": start_node(tmp_path / "b", chain, "breach b"),
    }
    try:
        fund(chain, nodes["a"], 0.02)
        host, port = nodes["b"].host_port
        nodes["a"].rpc.connect(nodes["b"].node_id, host, port)
        nodes["a"].rpc.fundchannel(nodes["b"].node_id, CHANNEL_SAT, push_msat=PUSH_MSAT)
        mine(chain, 3, nodes["a"], nodes["b"])
        for round_ in range(KILLS):
            # both directions, so the cheater's states carry HTLCs of both sides
            payer, payee = ("a", "b") if round_ % 2 == 0 else ("b", "a")
            batch = [
                nodes[payee].rpc.invoice(rng.randrange(2_000_000, 9_000_000), f"r{round_}-{n}", "x")["bolt11"]
                for n in range(6)
            ]
            done = threading.Event()
            progress = threading.Semaphore(0)
            thread = threading.Thread(target=_pay_until_stopped, args=(nodes[payer], batch, done, progress))
            thread.start()
            for _ in range(rng.randrange(1, 4)):
                assert progress.acquire(timeout=60), "payments stalled before the kill"
            _restart(nodes, tmp_path, chain, "a")  # SIGKILL the honest node, a payment in flight
            done.set()
            thread.join(timeout=60)
            host, port = nodes["b"].host_port
            nodes["a"].rpc.connect(nodes["b"].node_id, host, port)
            for bolt11 in batch:
                nodes[payer].rpc.call("pay", {"bolt11": bolt11, "retry_for": 30})
        assert nodes["b"].stop() == 0
        revoked = _oldest_revoked_with_htlcs(tmp_path / "b", "breach b", chain)
        before_sat = _confirmed_sat(nodes["a"])
        chain.client().call("sendrawtransaction", revoked.serialize().hex())
        mine(chain, 1, nodes["a"])
        _restart(nodes, tmp_path, chain, "a")  # killed again once the breach is on chain
        for _ in range(12):
            mine(chain, 10, nodes["a"])
        gained_sat = _confirmed_sat(nodes["a"]) - before_sat
        assert gained_sat >= CHANNEL_SAT - _fee_sat(chain, revoked) - CLAIM_FEES_MAX_SAT
        client = chain.client()
        for index in range(len(revoked.outputs)):
            assert client.call("gettxout", revoked.txid_hex, index) is None, f"output {index} left unspent"
    finally:
        for node in nodes.values():
            if node.process.poll() is None:
                node.stop()
