"""The Electrum-protocol server (protocol 1.4) on an EmbeddedChain, driven by a small client of its own.

Expected values come from the chain itself (block bytes, txids, the kernel-accepted merkle roots in the
headers) and from the protocol's definitions written out in the test (status = sha256 of "txid:height:").
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bitcoin.core import CBlock, CTransaction

from harness.chain import EmbeddedChain, OutPoint
from harness.chain.address import script_for
from harness.chain.electrum import PROTOCOL_VERSION, ElectrumRpcError, ElectrumServer
from harness.chain.electrum.client import ElectrumClient, Notification
from harness.chain.electrum.protocol import BAD_REQUEST, INVALID_PARAMS, METHOD_NOT_FOUND, PARSE_ERROR
from harness.chain.testkit import SpendOutput, TestKey

Scenario = Callable[[EmbeddedChain, ElectrumClient], Awaitable[None]]


@pytest.fixture
def chain() -> Iterator[EmbeddedChain]:
    with EmbeddedChain(seed=b"electrum-tests") as c:
        c.mine(101)
        yield c


def run(chain: EmbeddedChain, scenario: Scenario, negotiate: bool = True) -> None:
    async def main() -> None:
        async with ElectrumServer(chain) as server:
            client = await ElectrumClient.connect("127.0.0.1", server.port)
            try:
                if negotiate:
                    await client.request("server.version", "boltcheck-test", PROTOCOL_VERSION)
                await scenario(chain, client)
            finally:
                await client.close()

    asyncio.run(main())


def scripthash(address: str) -> str:
    return hashlib.sha256(script_for(address)).digest()[::-1].hex()


def expected_status(history: list[tuple[str, int]]) -> str:
    return hashlib.sha256("".join(f"{txid}:{height}:" for txid, height in history).encode()).hexdigest()


def fold(leaf_hex: str, branch_hex: list[str], index: int) -> bytes:
    node = bytes.fromhex(leaf_hex)[::-1]
    for sibling_hex in branch_hex:
        sibling = bytes.fromhex(sibling_hex)[::-1]
        pair = sibling + node if index % 2 else node + sibling
        node = hashlib.sha256(hashlib.sha256(pair).digest()).digest()
        index //= 2
    return node


async def notification_for(client: ElectrumClient, method: str) -> Notification:
    while True:
        note = await client.next_notification()
        if note.method == method:
            return note


# ----- session and server methods
def test_version_negotiation_answers_protocol_1_4(chain: EmbeddedChain) -> None:
    async def scenario(_chain: EmbeddedChain, client: ElectrumClient) -> None:
        software, version = await client.request("server.version", "electrum/4.3.4", ["1.4", "1.4.2"])
        assert version == "1.4" and software

    run(chain, scenario, negotiate=False)


def test_version_outside_the_clients_range_is_refused(chain: EmbeddedChain) -> None:
    async def scenario(_chain: EmbeddedChain, client: ElectrumClient) -> None:
        with pytest.raises(ElectrumRpcError, match="unsupported protocol version") as caught:
            await client.request("server.version", "future", ["1.5", "1.6"])
        assert caught.value.code == BAD_REQUEST

    run(chain, scenario, negotiate=False)


def test_only_the_first_server_version_is_accepted(chain: EmbeddedChain) -> None:
    async def scenario(_chain: EmbeddedChain, client: ElectrumClient) -> None:
        with pytest.raises(ElectrumRpcError, match="already"):
            await client.request("server.version", "again", "1.4")

    run(chain, scenario)


def test_server_info_methods_answer(chain: EmbeddedChain) -> None:
    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        assert isinstance(await client.request("server.banner"), str)
        assert isinstance(await client.request("server.donation_address"), str)
        assert await client.request("server.peers.subscribe") == []
        assert await client.request("server.ping") is None
        features = await client.request("server.features")
        assert features["genesis_hash"] == c.block_hash(0)
        assert features["hash_function"] == "sha256"

    run(chain, scenario)


def test_unknown_method_is_method_not_found(chain: EmbeddedChain) -> None:
    async def scenario(_chain: EmbeddedChain, client: ElectrumClient) -> None:
        with pytest.raises(ElectrumRpcError) as caught:
            await client.request("blockchain.address.get_history", "x")
        assert caught.value.code == METHOD_NOT_FOUND

    run(chain, scenario)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("blockchain.block.header", ["1"]),
        ("blockchain.block.header", [-1]),
        ("blockchain.scripthash.get_history", ["00" * 31]),
        ("blockchain.transaction.get", ["zz" * 32]),
        ("blockchain.estimatefee", []),
        ("server.ping", [1]),
    ],
)
def test_bad_params_are_invalid_params(chain: EmbeddedChain, method: str, params: list[Any]) -> None:
    async def scenario(_chain: EmbeddedChain, client: ElectrumClient) -> None:
        with pytest.raises(ElectrumRpcError) as caught:
            await client.request(method, *params)
        assert caught.value.code == INVALID_PARAMS

    run(chain, scenario)


def test_a_line_that_is_not_json_gets_a_parse_error_and_the_session_goes_on(chain: EmbeddedChain) -> None:
    async def scenario(_chain: EmbeddedChain, client: ElectrumClient) -> None:
        await client.send_line(b'{"id": 1, "method": ')
        reply = await client.raw_reply()
        assert reply["error"]["code"] == PARSE_ERROR and reply["id"] is None
        assert await client.request("server.ping") is None

    run(chain, scenario)


def test_a_batch_is_answered_as_one_array_in_any_mix_of_results_and_errors(chain: EmbeddedChain) -> None:
    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        results = await client.batch([("blockchain.block.header", [0]), ("no.such.method", [])])
        assert results[0] == c.block(c.block_hash(0)).raw[:80].hex()
        assert isinstance(results[1], ElectrumRpcError) and results[1].code == METHOD_NOT_FOUND

    run(chain, scenario)


# ----- headers
def test_headers_subscribe_returns_the_tip_and_notifies_each_new_tip(chain: EmbeddedChain) -> None:
    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        tip = await client.request("blockchain.headers.subscribe")
        assert tip == {"height": c.height(), "hex": c.block(c.tip()).raw[:80].hex()}
        c.mine(1)
        note = await notification_for(client, "blockchain.headers.subscribe")
        assert note.params == [{"height": c.height(), "hex": c.block(c.tip()).raw[:80].hex()}]

    run(chain, scenario)


def test_block_headers_are_the_chains_headers_in_order(chain: EmbeddedChain) -> None:
    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        reply = await client.request("blockchain.block.headers", 0, 2016)
        assert reply["max"] >= 2016  # Electrum refuses a server with a smaller max
        assert reply["count"] == c.height() + 1  # clamped to the tip
        raw = bytes.fromhex(reply["hex"])
        for height in range(reply["count"]):
            header = raw[80 * height : 80 * height + 80]
            assert hashlib.sha256(hashlib.sha256(header).digest()).digest()[::-1].hex() == c.block_hash(
                height
            )

    run(chain, scenario)


def test_block_headers_beyond_the_tip_are_an_empty_chunk(chain: EmbeddedChain) -> None:
    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        reply = await client.request("blockchain.block.headers", c.height() + 1, 10)
        assert (reply["count"], reply["hex"]) == (0, "")

    run(chain, scenario)


def test_block_header_beyond_the_tip_is_an_error(chain: EmbeddedChain) -> None:
    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        with pytest.raises(ElectrumRpcError, match="out of range"):
            await client.request("blockchain.block.header", c.height() + 1)

    run(chain, scenario)


@pytest.mark.parametrize("height", [0, 7, 50])
def test_checkpoint_branch_proves_the_header_under_the_root_of_all_header_hashes(
    chain: EmbeddedChain, height: int
) -> None:
    cp_height = 50

    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        reply = await client.request("blockchain.block.header", height, cp_height)
        leaves = [bytes.fromhex(c.block_hash(h))[::-1] for h in range(cp_height + 1)]
        assert reply["root"] == CBlock.build_merkle_tree_from_txids(leaves)[-1][::-1].hex()
        assert reply["header"] == c.block(c.block_hash(height)).raw[:80].hex()
        assert fold(c.block_hash(height), reply["branch"], height)[::-1].hex() == reply["root"]

    run(chain, scenario)


def test_headers_chunk_with_checkpoint_proves_its_last_header(chain: EmbeddedChain) -> None:
    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        reply = await client.request("blockchain.block.headers", 10, 5, 60)
        assert fold(c.block_hash(14), reply["branch"], 14)[::-1].hex() == reply["root"]

    run(chain, scenario)


def test_checkpoint_below_the_header_is_an_error(chain: EmbeddedChain) -> None:
    async def scenario(_chain: EmbeddedChain, client: ElectrumClient) -> None:
        with pytest.raises(ElectrumRpcError, match="beyond cp_height"):
            await client.request("blockchain.block.header", 20, 10)

    run(chain, scenario)


# ----- transactions
def _block_with_txs(chain: EmbeddedChain, count: int) -> tuple[int, list[str]]:
    key = TestKey(b"electrum-merkle")
    txids = [chain.fund(key.address, 10_000 + n).txid for n in range(count)]
    chain.mine(1)
    return chain.height(), txids


@pytest.mark.parametrize("count", [1, 2, 4, 6])  # with the coinbase: even and odd leaf counts
def test_transaction_merkle_branch_folds_to_the_merkle_root_in_the_header(
    chain: EmbeddedChain, count: int
) -> None:
    height, txids = _block_with_txs(chain, count)

    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        header = c.block(c.block_hash(height)).raw[:80]
        for txid in txids:
            reply = await client.request("blockchain.transaction.get_merkle", txid, height)
            assert reply["block_height"] == height
            assert c.block(c.block_hash(height)).txids[reply["pos"]] == txid
            assert fold(txid, reply["merkle"], reply["pos"]) == header[36:68]

    run(chain, scenario)


def test_get_merkle_for_a_transaction_not_in_that_block_is_an_error(chain: EmbeddedChain) -> None:
    height, txids = _block_with_txs(chain, 1)

    async def scenario(_chain: EmbeddedChain, client: ElectrumClient) -> None:
        with pytest.raises(ElectrumRpcError, match="not in block"):
            await client.request("blockchain.transaction.get_merkle", txids[0], height - 1)

    run(chain, scenario)


def test_id_from_pos_gives_the_txid_and_its_branch(chain: EmbeddedChain) -> None:
    height, txids = _block_with_txs(chain, 3)

    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        position = c.block(c.block_hash(height)).txids.index(txids[2])
        assert await client.request("blockchain.transaction.id_from_pos", height, position) == txids[2]
        reply = await client.request("blockchain.transaction.id_from_pos", height, position, True)
        assert reply["tx_hash"] == txids[2]
        assert fold(txids[2], reply["merkle"], position) == c.block(c.block_hash(height)).raw[36:68]
        with pytest.raises(ElectrumRpcError, match="no tx at position"):
            await client.request("blockchain.transaction.id_from_pos", height, 99)

    run(chain, scenario)


def test_transaction_get_returns_the_raw_transaction(chain: EmbeddedChain) -> None:
    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        txid = c.fund(TestKey(b"get").address, 50_000).txid
        raw = await client.request("blockchain.transaction.get", txid)
        assert raw == c.get_tx(txid).raw.hex()
        c.mine(1)
        verbose = await client.request("blockchain.transaction.get", txid, True)
        assert (verbose["txid"], verbose["confirmations"], verbose["hex"]) == (txid, 1, raw)
        assert verbose["blockhash"] == c.tip()

    run(chain, scenario)


def test_transaction_get_of_an_unknown_txid_is_an_error(chain: EmbeddedChain) -> None:
    async def scenario(_chain: EmbeddedChain, client: ElectrumClient) -> None:
        with pytest.raises(ElectrumRpcError, match="No such"):
            await client.request("blockchain.transaction.get", "ab" * 32)

    run(chain, scenario)


def test_broadcast_puts_a_valid_transaction_in_the_mempool(chain: EmbeddedChain) -> None:
    key = TestKey(b"broadcast")
    outpoint = chain.fund(key.address, 100_000, confirm=True)
    raw = key.spend([(outpoint, 100_000)], [SpendOutput(key.script_pubkey, 99_000)])

    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        txid = await client.request("blockchain.transaction.broadcast", raw.hex())
        assert txid in c.mempool()

    run(chain, scenario)


def test_broadcast_of_a_spend_of_a_spent_output_is_refused_with_the_reason(chain: EmbeddedChain) -> None:
    key = TestKey(b"broadcast")
    outpoint = chain.fund(key.address, 100_000, confirm=True)
    first = key.spend([(outpoint, 100_000)], [SpendOutput(key.script_pubkey, 99_000)])
    second = key.spend([(outpoint, 100_000)], [SpendOutput(key.script_pubkey, 98_000)])
    chain.send_raw(first)
    chain.mine(1)

    async def scenario(_chain: EmbeddedChain, client: ElectrumClient) -> None:
        with pytest.raises(ElectrumRpcError, match="rejected by network rules") as caught:
            await client.request("blockchain.transaction.broadcast", second.hex())
        assert caught.value.code == BAD_REQUEST
        assert "bad-txns-inputs-missingorspent" in caught.value.message

    run(chain, scenario)


# ----- scripthashes
def test_scripthash_status_follows_the_protocol_formula_from_mempool_to_block(chain: EmbeddedChain) -> None:
    address = TestKey(b"status").address
    sh = scripthash(address)

    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        assert await client.request("blockchain.scripthash.subscribe", sh) is None
        txid = c.fund(address, 70_000).txid
        note = await notification_for(client, "blockchain.scripthash.subscribe")
        assert note.params == [sh, expected_status([(txid, 0)])]
        history = await client.request("blockchain.scripthash.get_history", sh)
        assert history == [{"tx_hash": txid, "height": 0, "fee": history[0]["fee"]}]
        assert history[0]["fee"] > 0
        c.mine(1)
        note = await notification_for(client, "blockchain.scripthash.subscribe")
        assert note.params == [sh, expected_status([(txid, c.height())])]
        assert await client.request("blockchain.scripthash.get_history", sh) == [
            {"tx_hash": txid, "height": c.height()}
        ]

    run(chain, scenario)


def test_a_mempool_child_of_a_mempool_parent_has_height_minus_one(chain: EmbeddedChain) -> None:
    key = TestKey(b"parent")
    parent = chain.fund(key.address, 100_000)
    child_raw = key.spend([(parent, 100_000)], [SpendOutput(key.script_pubkey, 99_000)])
    child = chain.send_raw(child_raw)
    sh = scripthash(key.address)

    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        history = await client.request("blockchain.scripthash.get_history", sh)
        assert [(h["tx_hash"], h["height"]) for h in history] == [(parent.txid, 0), (child, -1)]
        assert await client.request("blockchain.scripthash.subscribe", sh) == expected_status(
            [(parent.txid, 0), (child, -1)]
        )
        assert await client.request("blockchain.scripthash.get_mempool", sh) == history

    run(chain, scenario)


def test_listunspent_and_balance_follow_a_spend(chain: EmbeddedChain) -> None:
    key = TestKey(b"balance")
    outpoint = chain.fund(key.address, 100_000, confirm=True)
    sh = scripthash(key.address)
    spend = key.spend([(outpoint, 100_000)], [SpendOutput(key.script_pubkey, 60_000)])

    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        assert await client.request("blockchain.scripthash.listunspent", sh) == [
            {"tx_hash": outpoint.txid, "tx_pos": 0, "height": c.height(), "value": 100_000}
        ]
        assert await client.request("blockchain.scripthash.get_balance", sh) == {
            "confirmed": 100_000,
            "unconfirmed": 0,
        }
        txid = c.send_raw(spend)
        assert await client.request("blockchain.scripthash.listunspent", sh) == [
            {"tx_hash": txid, "tx_pos": 0, "height": 0, "value": 60_000}
        ]
        # ElectrumX's meaning: confirmed UTXOs, plus the mempool's net effect.
        assert await client.request("blockchain.scripthash.get_balance", sh) == {
            "confirmed": 100_000,
            "unconfirmed": -40_000,
        }
        c.mine(1)
        assert await client.request("blockchain.scripthash.get_balance", sh) == {
            "confirmed": 60_000,
            "unconfirmed": 0,
        }

    run(chain, scenario)


def test_unsubscribed_scripthashes_get_no_notifications(chain: EmbeddedChain) -> None:
    quiet, loud = TestKey(b"quiet").address, TestKey(b"loud").address

    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        await client.request("blockchain.scripthash.subscribe", scripthash(quiet))
        await client.request("blockchain.scripthash.subscribe", scripthash(loud))
        assert await client.request("blockchain.scripthash.unsubscribe", scripthash(quiet)) is True
        c.fund(quiet, 20_000)
        c.fund(loud, 20_000)
        note = await notification_for(client, "blockchain.scripthash.subscribe")
        assert note.params[0] == scripthash(loud)
        assert client.notifications.empty()

    run(chain, scenario)


def test_a_reorg_moves_history_back_to_the_mempool_and_notifies(chain: EmbeddedChain) -> None:
    address = TestKey(b"reorg").address
    sh = scripthash(address)
    txid = chain.fund(address, 30_000, confirm=True).txid
    mined_at = chain.height()

    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        assert await client.request("blockchain.scripthash.subscribe", sh) == expected_status(
            [(txid, mined_at)]
        )
        c.invalidate_block(c.block_hash(mined_at))
        note = await notification_for(client, "blockchain.scripthash.subscribe")
        assert note.params == [sh, expected_status([(txid, 0)])]
        c.mine(2)
        note = await notification_for(client, "blockchain.scripthash.subscribe")
        assert note.params == [sh, expected_status([(txid, mined_at)])]

    run(chain, scenario)


# ----- fees
def test_estimatefee_and_relayfee_are_the_chains_rates_in_btc_per_kb(chain: EmbeddedChain) -> None:
    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        for target in (1, 2, 6, 25, 144):
            fee = await client.request("blockchain.estimatefee", target)
            assert round(fee * 100_000_000) == c.estimate_fee(target).feerate_sat_per_kvb
        relay = await client.request("blockchain.relayfee")
        assert round(relay * 100_000_000) == c.rules.min_relay_fee_sat_per_kvb

    run(chain, scenario)


def test_fee_histogram_counts_the_mempool_with_strictly_decreasing_rates(chain: EmbeddedChain) -> None:
    for n in range(5):
        chain.fund(TestKey(b"histogram").address, 10_000 + n)

    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        histogram = await client.request("mempool.get_fee_histogram")
        rates = [rate for rate, _ in histogram]
        assert rates == sorted(set(rates), reverse=True)
        assert sum(size for _, size in histogram) == sum(c.mempool_entry(t).vsize for t in c.mempool())
        c.mine(1)
        assert await client.request("mempool.get_fee_histogram") == []

    run(chain, scenario)


def test_a_transaction_the_server_did_not_see_arrive_is_still_found(chain: EmbeddedChain) -> None:
    # Replies never lag the chain: the index catches up before answering, not only on notifications.
    address = TestKey(b"late").address

    async def scenario(c: EmbeddedChain, client: ElectrumClient) -> None:
        outpoint: OutPoint = c.fund(address, 40_000)
        raw = await client.request("blockchain.transaction.get", outpoint.txid)
        assert CTransaction.deserialize(bytes.fromhex(raw)).vout[0].nValue == 40_000
        assert await client.request("blockchain.scripthash.get_balance", scripthash(address)) == {
            "confirmed": 0,
            "unconfirmed": 40_000,
        }

    run(chain, scenario)


def test_boltcheck_electrum_server_process_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "electrum-server",
            "--premine",
            "3",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())

        async def ask() -> Any:
            client = await ElectrumClient.connect("127.0.0.1", ready["electrum_port"])
            try:
                await client.request("server.version", "test", PROTOCOL_VERSION)
                return await client.request("blockchain.headers.subscribe")
            finally:
                await client.close()

        assert asyncio.run(ask())["height"] == 3
        assert ready["electrum_server"] == f"127.0.0.1:{ready['electrum_port']}:t"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
