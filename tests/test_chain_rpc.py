"""`boltcheck chain` as a process, driven by an independent client: python-bitcoinlib's RPC proxies.

Also: raw HTTP for the protocol edges (auth, batches, malformed requests), a second process sharing the
chain, and an in-process RPC server sharing an EmbeddedChain object with in-process callers.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bitcoin.rpc
import pytest
from bitcoin.core import CTransaction, lx
from bitcoin.core.script import OP_CHECKLOCKTIMEVERIFY, OP_CHECKSEQUENCEVERIFY, OP_DROP, OP_TRUE, CScript

from harness.chain import EmbeddedChain, OutPoint
from harness.chain.address import script_to_address
from harness.chain.process import ChainProcess, launch_chain_process
from harness.chain.rpc_server import ChainRpcServer
from harness.chain.testkit import SpendOutput, TestKey, p2wsh_script_pubkey, spend_p2wsh

FEE_SAT = 1_000
READY_TIMEOUT_S = 60


def start_chain(data_dir: Path, *credentials: str) -> ChainProcess:
    if credentials:
        return launch_chain_process(data_dir, rpcuser=credentials[0], rpcpassword=credentials[1])
    return launch_chain_process(data_dir)


def stop_chain(chain: ChainProcess) -> int:
    return chain.stop()


def raw_proxy_for(chain: ChainProcess) -> Any:
    return bitcoin.rpc.RawProxy(service_url=chain.auth_url, timeout=60)


def proxy_for(chain: ChainProcess) -> Any:
    return bitcoin.rpc.Proxy(service_url=chain.auth_url, timeout=60)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChainProcess]:
    chain = start_chain(tmp_path_factory.mktemp("chain"))
    yield chain
    stop_chain(chain)


@pytest.fixture
def key() -> TestKey:
    return TestKey(b"rpc-test-key")


def fund(node: ChainProcess, key: TestKey, value_sat: int, confirm: bool = True) -> tuple[OutPoint, int]:
    result = raw_proxy_for(node).boltcheck_fund(key.address, f"{value_sat / 1e8:.8f}", confirm)
    return OutPoint(result["txid"], result["vout"]), value_sat


def post(node: ChainProcess, body: bytes, auth: str | None = None, method: str = "POST") -> tuple[int, Any]:
    token = auth or base64.b64encode(f"{node.user}:{node.password}".encode()).decode()
    request = urllib.request.Request(
        node.ready["rpc_url"], data=body if method == "POST" else None, method=method
    )
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, data = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, data = exc.code, exc.read()
    return status, json.loads(data) if data.startswith((b"{", b"[")) else data


# ----- the ready line and the process


def test_ready_line_names_url_port_cookie_and_pid(node: ChainProcess) -> None:
    assert node.ready["rpc_url"] == f"http://127.0.0.1:{node.ready['rpcport']}/"
    assert node.ready["pid"] == node.process.pid
    cookie = Path(node.ready["cookie"])
    assert cookie.read_text().startswith("__cookie__:")
    assert cookie.stat().st_mode & 0o077 == 0


def test_user_and_password_replace_the_cookie(tmp_path: Path) -> None:
    chain = start_chain(tmp_path, "alice", "s3cret")
    try:
        assert chain.ready["cookie"] is None
        assert not (tmp_path / ".cookie").exists()
        assert raw_proxy_for(chain).getblockcount() == 0
    finally:
        assert stop_chain(chain) == 0


def test_stop_rpc_ends_the_process_cleanly(tmp_path: Path) -> None:
    chain = start_chain(tmp_path)
    assert raw_proxy_for(chain).stop() == "boltcheck chain stopping"
    assert chain.process.wait(timeout=30) == 0
    assert not Path(chain.ready["cookie"]).exists()


def test_sigterm_ends_the_process_cleanly(tmp_path: Path) -> None:
    chain = start_chain(tmp_path)
    assert stop_chain(chain) == 0


# ----- mining, sending, looking up (python-bitcoinlib's Proxy as the independent client)


def test_proxy_mines_blocks_to_an_address(node: ChainProcess, key: TestKey) -> None:
    proxy = proxy_for(node)
    before = proxy.getblockcount()
    hashes = list(proxy.generatetoaddress(3, key.address))
    assert proxy.getblockcount() == before + 3
    assert proxy.getbestblockhash() == hashes[-1]
    block = proxy.getblock(hashes[0])
    assert block.GetHash() == hashes[0]
    assert bytes(block.vtx[0].vout[0].scriptPubKey) == key.script_pubkey


def test_proxy_sends_a_spend_and_reads_its_confirmations(node: ChainProcess, key: TestKey) -> None:
    proxy = proxy_for(node)
    coin = fund(node, key, 500_000)
    tx = CTransaction.deserialize(key.spend([coin], [SpendOutput(key.script_pubkey, coin[1] - FEE_SAT)]))
    txid = proxy.sendrawtransaction(tx)
    assert txid == tx.GetTxid()
    assert proxy.getrawtransaction(txid, True)["blockhash"] is None
    proxy.generatetoaddress(2, key.address)
    verbose = proxy.getrawtransaction(txid, True)
    assert verbose["confirmations"] == 2
    assert verbose["tx"].GetTxid() == txid
    assert proxy.gettxout(bitcoin.core.COutPoint(txid, 0))["confirmations"] == 2


def test_proxy_sees_a_bad_signature_rejected(node: ChainProcess, key: TestKey) -> None:
    coin = fund(node, key, 200_000)
    raw = key.spend([(coin[0], coin[1] + 1)], [SpendOutput(key.script_pubkey, coin[1] - FEE_SAT)])
    with pytest.raises(bitcoin.rpc.VerifyRejectedError) as info:
        proxy_for(node).sendrawtransaction(CTransaction.deserialize(raw))
    assert info.value.error["message"].startswith("mandatory-script-verify-flag-failed")


def test_proxy_sees_an_early_cltv_spend_rejected(node: ChainProcess, key: TestKey) -> None:
    raw_proxy = raw_proxy_for(node)
    lock_height = raw_proxy.getblockcount() + 20
    script = bytes(CScript([lock_height, OP_CHECKLOCKTIMEVERIFY, OP_DROP, OP_TRUE]))
    funded = raw_proxy.boltcheck_fund(script_to_address(p2wsh_script_pubkey(script)), "0.001", True)
    outputs = [SpendOutput(key.script_pubkey, 99_000)]
    raw = spend_p2wsh(OutPoint(funded["txid"], 0), script, outputs, sequence=0xFFFFFFFE, locktime=lock_height)
    with pytest.raises(bitcoin.rpc.VerifyRejectedError) as info:
        proxy_for(node).sendrawtransaction(CTransaction.deserialize(raw))
    assert info.value.error["message"] == "non-final"


def test_proxy_sees_an_early_csv_spend_rejected(node: ChainProcess, key: TestKey) -> None:
    raw_proxy = raw_proxy_for(node)
    script = bytes(CScript([5, OP_CHECKSEQUENCEVERIFY, OP_DROP, OP_TRUE]))
    funded = raw_proxy.boltcheck_fund(script_to_address(p2wsh_script_pubkey(script)), "0.001", True)
    raw = spend_p2wsh(
        OutPoint(funded["txid"], 0), script, [SpendOutput(key.script_pubkey, 99_000)], sequence=5
    )
    with pytest.raises(bitcoin.rpc.VerifyRejectedError) as info:
        proxy_for(node).sendrawtransaction(CTransaction.deserialize(raw))
    assert info.value.error["message"] == "non-BIP68-final"
    raw_proxy.generatetoaddress(4, key.address)
    assert raw_proxy.sendrawtransaction(raw.hex()) == CTransaction.deserialize(raw).GetTxid()[::-1].hex()


def test_proxy_sees_a_double_spend_rejected(node: ChainProcess, key: TestKey) -> None:
    proxy = proxy_for(node)
    coin = fund(node, key, 300_000)
    first = key.spend([coin], [SpendOutput(key.script_pubkey, coin[1] - FEE_SAT)])
    second = key.spend([coin], [SpendOutput(key.script_pubkey, coin[1] - FEE_SAT - 1)])
    proxy.sendrawtransaction(CTransaction.deserialize(first))
    with pytest.raises(bitcoin.rpc.VerifyRejectedError) as in_mempool:
        proxy.sendrawtransaction(CTransaction.deserialize(second))
    assert in_mempool.value.error["message"].startswith("insufficient fee")
    proxy.generatetoaddress(1, key.address)
    with pytest.raises(bitcoin.rpc.VerifyError) as confirmed:
        proxy.sendrawtransaction(CTransaction.deserialize(second))
    assert confirmed.value.error["message"] == "bad-txns-inputs-missingorspent"


def test_resending_a_confirmed_transaction_is_already_in_chain(node: ChainProcess, key: TestKey) -> None:
    coin = fund(node, key, 300_000)
    tx = CTransaction.deserialize(key.spend([coin], [SpendOutput(key.script_pubkey, coin[1] - FEE_SAT)]))
    proxy = proxy_for(node)
    proxy.sendrawtransaction(tx)
    proxy.generatetoaddress(1, key.address)
    with pytest.raises(bitcoin.rpc.VerifyAlreadyInChainError):
        proxy.sendrawtransaction(tx)


def test_fee_above_maxfeerate_is_refused(node: ChainProcess, key: TestKey) -> None:
    coin = fund(node, key, 300_000)
    raw = key.spend([coin], [SpendOutput(key.script_pubkey, coin[1] - 50_000)])  # ~450 sat/vB
    with pytest.raises(bitcoin.rpc.VerifyError) as info:
        raw_proxy_for(node).sendrawtransaction(raw.hex(), "0.001")
    assert info.value.error["message"].startswith("Fee exceeds maximum")
    assert raw_proxy_for(node).sendrawtransaction(raw.hex(), 0) in raw_proxy_for(node).getrawmempool()
    raw_proxy_for(node).generatetoaddress(1, key.address)


def test_unknown_transaction_lookup_is_an_index_error(node: ChainProcess) -> None:
    with pytest.raises(IndexError):
        proxy_for(node).getrawtransaction(lx("11" * 32))


# ----- result shapes


def test_blockchain_info_and_block_views_agree(node: ChainProcess, key: TestKey) -> None:
    rpc = raw_proxy_for(node)
    rpc.generatetoaddress(1, key.address)
    info = rpc.getblockchaininfo()
    tip = rpc.getbestblockhash()
    assert (info["chain"], info["blocks"], info["bestblockhash"]) == ("regtest", rpc.getblockcount(), tip)
    header = rpc.getblockheader(tip)
    block1 = rpc.getblock(tip)
    block2 = rpc.getblock(tip, 2)
    raw = rpc.getblock(tip, 0)
    assert header["height"] == block1["height"] == info["blocks"]
    assert header["confirmations"] == 1
    assert block1["tx"] == [t["txid"] for t in block2["tx"]]
    assert raw.startswith(rpc.getblockheader(tip, False))
    assert rpc.getblockhash(header["height"]) == tip
    assert rpc.getblockheader(header["previousblockhash"])["nextblockhash"] == tip


def test_mempool_views_describe_an_unconfirmed_payment(node: ChainProcess, key: TestKey) -> None:
    rpc = raw_proxy_for(node)
    coin = fund(node, key, 40_000, confirm=False)
    assert coin[0].txid in rpc.getrawmempool()
    entry = rpc.getmempoolentry(coin[0].txid)
    assert entry == rpc.getrawmempool(True)[coin[0].txid]
    assert entry["vsize"] > 0 and entry["fees"]["base"] > 0
    assert rpc.getmempoolinfo()["size"] == len(rpc.getrawmempool())
    rpc.generatetoaddress(1, key.address)


def test_testmempoolaccept_reports_without_accepting(node: ChainProcess, key: TestKey) -> None:
    rpc = raw_proxy_for(node)
    coin = fund(node, key, 60_000)
    raw = key.spend([coin], [SpendOutput(key.script_pubkey, coin[1] - FEE_SAT)]).hex()
    [result] = rpc.testmempoolaccept([raw])
    assert result["allowed"] is True
    assert round(result["fees"]["base"] * 100_000_000) == FEE_SAT
    assert result["txid"] not in rpc.getrawmempool()


def test_testmempoolaccept_evaluates_a_parent_and_child_together(node: ChainProcess, key: TestKey) -> None:
    rpc = raw_proxy_for(node)
    coin = fund(node, key, 80_000)
    parent = CTransaction.deserialize(key.spend([coin], [SpendOutput(key.script_pubkey, coin[1] - FEE_SAT)]))
    parent_txid = parent.GetTxid()[::-1].hex()
    parent_out = (OutPoint(parent_txid, 0), coin[1] - FEE_SAT)
    child = key.spend([parent_out], [SpendOutput(key.script_pubkey, parent_out[1] - FEE_SAT)])
    results = rpc.testmempoolaccept([parent.serialize().hex(), child.hex()])
    assert [r["allowed"] for r in results] == [True, True]
    [alone] = rpc.testmempoolaccept([child.hex()])
    assert (alone["allowed"], alone["reject-reason"]) == (False, "bad-txns-inputs-missingorspent")
    assert parent_txid not in rpc.getrawmempool()


def test_estimatesmartfee_is_deterministic_and_checks_its_target(node: ChainProcess) -> None:
    rpc = raw_proxy_for(node)
    assert rpc.estimatesmartfee(6) == rpc.estimatesmartfee(6)
    with pytest.raises(bitcoin.rpc.InvalidParameterError):
        rpc.estimatesmartfee(0)


def test_generateblock_mines_exactly_the_given_transactions(node: ChainProcess, key: TestKey) -> None:
    rpc = raw_proxy_for(node)
    coin = fund(node, key, 90_000, confirm=False)
    other = fund(node, key, 91_000, confirm=False)
    block_hash = rpc.generateblock(key.address, [coin[0].txid])["hash"]
    assert rpc.getblock(block_hash)["tx"][1:] == [coin[0].txid]
    assert other[0].txid in rpc.getrawmempool() and coin[0].txid not in rpc.getrawmempool()
    rpc.generatetoaddress(1, key.address)


def test_invalidateblock_moves_the_tip_back_and_restores_the_mempool(
    node: ChainProcess, key: TestKey
) -> None:
    rpc = raw_proxy_for(node)
    coin = fund(node, key, 95_000)
    tip, height = rpc.getbestblockhash(), rpc.getblockcount()
    rpc.invalidateblock(tip)
    assert rpc.getblockcount() == height - 1
    assert coin[0].txid in rpc.getrawmempool()
    assert rpc.getblockheader(tip)["confirmations"] == -1
    rpc.generatetoaddress(2, key.address)
    assert rpc.getrawtransaction(coin[0].txid, True)["confirmations"] == 2


def test_getchaintips_shows_an_invalidated_branch(node: ChainProcess, key: TestKey) -> None:
    rpc = raw_proxy_for(node)
    rpc.generatetoaddress(1, key.address)
    abandoned = rpc.getbestblockhash()
    rpc.invalidateblock(abandoned)
    rpc.generatetoaddress(2, key.address)
    tips = {t["hash"]: t for t in rpc.getchaintips()}
    assert tips[rpc.getbestblockhash()]["status"] == "active"
    assert (tips[abandoned]["status"], tips[abandoned]["branchlen"]) == ("invalid", 1)


def test_decoderawtransaction_matches_getrawtransaction(node: ChainProcess, key: TestKey) -> None:
    rpc = raw_proxy_for(node)
    coin = fund(node, key, 20_000)
    verbose = rpc.getrawtransaction(coin[0].txid, True)
    decoded = rpc.decoderawtransaction(verbose["hex"])
    assert decoded == {
        k: v
        for k, v in verbose.items()
        if k not in ("hex", "blockhash", "confirmations", "time", "blocktime")
    }


def test_echo_returns_its_arguments(node: ChainProcess) -> None:
    assert raw_proxy_for(node).echo("a", 1) == ["a", 1]


# ----- the protocol edges


def test_batch_request_answers_each_call_in_order(node: ChainProcess) -> None:
    body = json.dumps(
        [
            {"jsonrpc": "1.0", "id": 1, "method": "getblockcount", "params": []},
            {"jsonrpc": "1.0", "id": 2, "method": "nosuchmethod", "params": []},
            {"jsonrpc": "1.0", "id": 3, "method": "getblockhash", "params": [0]},
        ]
    ).encode()
    status, replies = post(node, body)
    assert status == 200
    assert [r["id"] for r in replies] == [1, 2, 3]
    assert replies[1]["error"]["code"] == -32601
    assert replies[2]["result"] == raw_proxy_for(node).getblockhash(0)


def test_malformed_json_is_a_parse_error(node: ChainProcess) -> None:
    status, reply = post(node, b"{not json")
    assert (status, reply["error"]["code"]) == (500, -32700)


def test_unknown_method_is_method_not_found(node: ChainProcess) -> None:
    status, reply = post(node, json.dumps({"id": 1, "method": "frobnicate", "params": []}).encode())
    assert (status, reply["error"]["code"]) == (404, -32601)


def test_request_without_a_method_is_invalid(node: ChainProcess) -> None:
    status, reply = post(node, json.dumps({"id": 1, "params": []}).encode())
    assert (status, reply["error"]["code"]) == (400, -32600)


def test_wrong_parameter_types_get_an_error_not_a_crash(node: ChainProcess) -> None:
    for method, params in [("getblockhash", ["x"]), ("getblock", [42]), ("generatetoaddress", [1, "nope"])]:
        status, reply = post(node, json.dumps({"id": 1, "method": method, "params": params}).encode())
        assert status == 500 and reply["error"]["code"] in (-1, -3, -5, -8)
    assert raw_proxy_for(node).getblockcount() >= 0


def test_bad_credentials_get_http_401(node: ChainProcess) -> None:
    status, _ = post(node, b"{}", auth=base64.b64encode(b"__cookie__:wrong").decode())
    assert status == 401


def test_get_requests_are_refused(node: ChainProcess) -> None:
    status, _ = post(node, b"", method="GET")
    assert status == 405


def test_jsonrpc_2_requests_get_jsonrpc_2_replies(node: ChainProcess) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": "a", "method": "getblockhash", "params": [999999]}).encode()
    status, reply = post(node, body)
    assert status == 200
    assert reply["jsonrpc"] == "2.0" and reply["error"]["code"] == -8 and "result" not in reply


# ----- sharing one chain


def test_a_second_process_mines_and_this_one_sees_it(node: ChainProcess, key: TestKey) -> None:
    rpc = raw_proxy_for(node)
    height = rpc.getblockcount()
    script = (
        "import sys, bitcoin.rpc\n"
        "p = bitcoin.rpc.RawProxy(service_url=sys.argv[1])\n"
        "print(p.generatetoaddress(4, sys.argv[2])[-1])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, node.auth_url, key.address],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert rpc.waitforblockheight(height + 4, 10_000)["height"] == height + 4
    assert rpc.getbestblockhash() == done.stdout.strip()


def test_in_process_and_rpc_users_share_one_embedded_chain(key: TestKey) -> None:
    with EmbeddedChain() as chain:
        server = ChainRpcServer(chain, user="u", password="p")
        server.start()
        try:
            rpc = bitcoin.rpc.RawProxy(service_url=f"http://u:p@127.0.0.1:{server.port}", timeout=30)
            chain.mine(2, key.address)
            assert rpc.getblockcount() == 2
            funded = rpc.boltcheck_fund(key.address, "0.01")
            assert chain.mempool() == [funded["txid"]]
            assert chain.get_utxo(OutPoint(funded["txid"], 0)) is not None
        finally:
            server.close()


def test_cli_help_lists_the_chain_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "chain", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ},
    )
    assert "--rpcport" in result.stdout and "--data-dir" in result.stdout
