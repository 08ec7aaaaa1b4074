"""Crash safety: a node process is killed with SIGKILL at arbitrary points of a run of payments, many
times (the payer and the payee in turn), restarted from its data directory, and then: the channel
reestablishes, every payment the payer saw complete is an invoice the payee saw paid and vice versa (no
HTLC lost or doubled), and both sides agree on the balances to the millisatoshi."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyln.client import RpcError

from harness.chain.process import ChainProcess, launch_chain_process
from tests.test_node_support import NodeProcess, fund, mine, start_node

KILLS = 10
PUSH_MSAT = 100_000_000
CHANNEL_SAT = 1_000_000


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
            return  # the payer or the payee was killed mid-call
        progress.release()


@pytest.mark.slow
@pytest.mark.timeout(900)  # 10 kills and restarts of processes: about 35-130 s on a loaded 2-core machine
def test_sigkill_at_random_points_loses_and_doubles_no_htlc(tmp_path: Path, chain: ChainProcess) -> None:
    rng = random.Random(5)
    a = start_node(tmp_path / "a", chain, "crash a")
    b = start_node(tmp_path / "b", chain, "crash b")
    nodes = {"a": a, "b": b}
    try:
        fund(chain, a, 0.02)
        host, port = b.host_port
        a.rpc.connect(b.node_id, host, port)
        channel_id = a.rpc.fundchannel(b.node_id, CHANNEL_SAT, push_msat=PUSH_MSAT)["channel_id"]
        mine(chain, 3, a, b)
        invoices: list[tuple[str, int]] = []  # (label, amount_msat) created on b
        for round_ in range(KILLS):
            batch = []
            for n in range(8):
                label = f"r{round_}-{n}"
                amount_msat = rng.randrange(1_000, 5_000_000)
                batch.append(nodes["b"].rpc.invoice(amount_msat, label, "crash")["bolt11"])
                invoices.append((label, amount_msat))
            done = threading.Event()
            progress = threading.Semaphore(0)
            payer = threading.Thread(target=_pay_until_stopped, args=(nodes["a"], batch, done, progress))
            payer.start()
            for _ in range(rng.randrange(0, 4)):
                assert progress.acquire(timeout=30), "payments stalled before the kill"
            victim = "b" if round_ % 2 == 0 else "a"
            nodes[victim].kill()  # a payment is in flight at an arbitrary stage
            done.set()
            payer.join(timeout=60)
            seed = "crash a" if victim == "a" else "crash b"
            nodes[victim] = start_node(tmp_path / victim, chain, seed)
            host, port = nodes["b"].host_port
            nodes["a"].rpc.connect(nodes["b"].node_id, host, port)
            # every payment ever started settles: pay again waits for (never repeats) an existing attempt
            for bolt11 in batch:
                nodes["a"].rpc.call("pay", {"bolt11": bolt11, "retry_for": 30})
        a, b = nodes["a"], nodes["b"]
        pays = {p["bolt11"]: p for p in a.rpc.listpays()["pays"]}
        paid_on_b = {i["label"]: i for i in b.rpc.listinvoices()["invoices"] if i["status"] == "paid"}
        for invoice in b.rpc.listinvoices()["invoices"]:
            payment = pays.get(invoice["bolt11"])
            complete = payment is not None and payment["status"] == "complete"
            assert complete == (invoice["label"] in paid_on_b), (invoice, payment)
        received_msat = sum(i["amount_received_msat"] for i in paid_on_b.values())
        assert received_msat == sum(p["amount_msat"] for p in pays.values() if p["status"] == "complete")
        channel_a = a.rpc.listpeerchannels()["channels"][0]
        channel_b = b.rpc.listpeerchannels()["channels"][0]
        assert channel_a["state"] == channel_b["state"] == "CHANNELD_NORMAL"
        assert not channel_a["htlcs"] and not channel_b["htlcs"]
        assert channel_b["to_us_msat"] == PUSH_MSAT + received_msat
        assert channel_a["to_us_msat"] == CHANNEL_SAT * 1000 - channel_b["to_us_msat"]
        assert channel_a["channel_id"] == channel_id
    finally:
        for node in nodes.values():
            if node.process.poll() is None:
                node.stop()
