"""`boltcheck chain` answers what Core Lightning and lnd ask a bitcoind, in the shapes they parse, and so
does a real bitcoind: every check that is about bitcoind's behaviour runs on both (the real one under the
marker `bitcoind`, skipped without a binary), so the facade is held to what the real program answers.

Core Lightning's bcli plugin (plugins/bcli.c) runs bitcoin-cli: `getnetworkinfo` (version >= 220000 and
`localrelay` at start), `echo`, `getblockchaininfo` (chain, headers, blocks, initialblockdownload),
`getmempoolinfo` (mempoolminfee, minrelaytxfee) then `estimatesmartfee` 2 CONSERVATIVE, 6/12/100
ECONOMICAL, `getblockhash` (exit status 8 past the tip) and `getblock HASH 0`, `gettxout`, and
`sendrawtransaction HEX [0]` (exit status 27 counts as success).
lnd's bitcoind backend with `bitcoind.rpcpolling=1` (btcwallet chain/bitcoind_rpc_events.go): `getnetworkinfo`
(>= 240000 switches on `gettxspendingprevout`), `getblockchaininfo` blocks, `getblockhash` + `getblock HASH 0`
per new height, `getrawmempool` then batched `getrawtransaction`, plus the notifier's `getblockheader`,
`getrawtransaction` verbose, `testmempoolaccept`, `sendrawtransaction`.

One deliberate difference: on regtest bitcoind has no fee estimates (no transaction history), while the
facade answers deterministic ones; those checks run on the facade only, and the real bitcoind's answer
is checked on its own (it is why the launchers force Core Lightning's feerates).

The client is python-bitcoinlib's RawProxy (independent of our server); bitcoin-cli's exit status is the
absolute value of the RPC error code, so the codes are checked as the programs see them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import bitcoin.rpc
import pytest
from bitcoin.core import CBlock, CTransaction, b2lx, x

from harness.chain import EmbeddedChain, OutPoint
from harness.chain.bitcoind_launcher import btc_per_kvb, find_bitcoind, launch_bitcoind
from harness.chain.policy import COINBASE_MATURITY, DEFAULT_MIN_RELAY_TX_FEE_SAT_PER_KVB
from harness.chain.rpc_server import ChainRpcServer
from harness.chain.testkit import SpendOutput, TestKey

COIN = 100_000_000
FUND_SAT = 200_000
FEE_SAT = 1_000
RPC_INVALID_PARAMETER = -8  # bitcoin-cli exits 8: bcli reads "no block at this height"
RPC_VERIFY_ALREADY_IN_CHAIN = -27  # bitcoin-cli exits 27: bcli's sendrawtransaction counts it a success
RPC_VERIFY_REJECTED = -26
CLN_MIN_BITCOIND_VERSION = 220000  # bcli parse_getnetworkinfo_result
BTCWALLET_SPENDING_PREVOUT_VERSION = 240000  # btcwallet hasSpendingPrevoutRPC
CLN_ESTIMATES = [(2, "CONSERVATIVE"), (6, "ECONOMICAL"), (12, "ECONOMICAL"), (100, "ECONOMICAL")]


class Chain(Protocol):
    """What the checks do to the chain behind the RPC (EmbeddedChain and BitcoindChain both have it)."""

    def height(self) -> int: ...

    def tip(self) -> str: ...

    def mine(self, n: int, address: str | bytes | None = None) -> list[str]: ...

    def send_raw(self, tx: bytes | str) -> str: ...

    def fund(self, address: str | bytes, amount_sat: int, confirm: bool = False) -> OutPoint: ...


class Served:
    """A chain behind a bitcoind RPC at `url`, and a test key funded from that chain's faucet."""

    def __init__(self, chain: Chain, url: str, close: Callable[[], None]) -> None:
        self.chain = chain
        self.url = url
        self._close = close
        self.key = TestKey(b"bitcoind-rpc-clients-key")

    def proxy(self) -> Any:
        return bitcoin.rpc.RawProxy(service_url=self.url, timeout=60)

    def coin(self, value_sat: int = FUND_SAT) -> tuple[OutPoint, int]:
        outpoint = self.chain.fund(self.key.address, value_sat, confirm=True)
        return outpoint, value_sat

    def spend(self, coin: tuple[OutPoint, int], fee_sat: int = FEE_SAT) -> bytes:
        output = SpendOutput(self.key.script_pubkey, coin[1] - fee_sat)
        return self.key.spend([coin], [output])

    def close(self) -> None:
        self._close()


def serve_embedded(data_dir: Path) -> Served:
    """`boltcheck chain`'s RPC facade over an in-process EmbeddedChain."""
    chain = EmbeddedChain(data_dir, seed=b"bitcoind-rpc-clients")
    password = secrets.token_hex(16)
    server = ChainRpcServer(chain, port=0, user="boltcheck", password=password)
    server.start()

    def close() -> None:
        server.close()
        chain.close()

    return Served(chain, f"http://boltcheck:{password}@127.0.0.1:{server.port}/", close)


def serve_bitcoind(data_dir: Path) -> Served:
    """A real bitcoind on regtest (the launcher's flags), its wallet faucet holding a mature coinbase."""
    launched = launch_bitcoind(data_dir=data_dir)
    try:
        launched.chain.mine(COINBASE_MATURITY + 1)
        cookie = (data_dir / "regtest" / ".cookie").read_text().strip()  # user:password
    except BaseException:
        launched.stop()
        raise
    return Served(launched.chain, f"http://{cookie}@127.0.0.1:{launched.rpc_port}/", launched.stop)


@pytest.fixture(scope="module")
def facade(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = serve_embedded(tmp_path_factory.mktemp("bitcoind-rpc-clients"))
    yield served
    served.close()


@pytest.fixture(
    scope="module", params=["boltcheck-chain", pytest.param("bitcoind", marks=pytest.mark.bitcoind)]
)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The same checks on the facade and on a real bitcoind."""
    if request.param == "boltcheck-chain":
        yield request.getfixturevalue("facade")
        return
    if find_bitcoind() is None:
        pytest.skip("needs bitcoind (BOLTCHECK_BITCOIND_BIN, $BITCOIND or PATH)")
    real = serve_bitcoind(tmp_path_factory.mktemp("bitcoind"))
    yield real
    real.close()


def rpc_error_code(excinfo: pytest.ExceptionInfo[bitcoin.rpc.JSONRPCError]) -> int:
    return int(excinfo.value.error["code"])


def txid_of(raw: bytes) -> str:
    return str(b2lx(CTransaction.deserialize(raw).GetTxid()))


# ----- Core Lightning (bcli through bitcoin-cli)


def test_cln_startup_check_sees_a_supported_version_with_transaction_relay(served: Served) -> None:
    info = served.proxy().getnetworkinfo()
    assert isinstance(info["version"], int) and info["version"] >= CLN_MIN_BITCOIND_VERSION
    assert info["localrelay"] is True


def test_cln_echo_returns_its_arguments(served: Served) -> None:
    assert served.proxy().echo("hello world") == ["hello world"]


def test_cln_getchaininfo_fields_are_present_and_typed(served: Served) -> None:
    info = served.proxy().getblockchaininfo()
    assert info["chain"] == "regtest"
    assert isinstance(info["headers"], int) and isinstance(info["blocks"], int)
    assert info["headers"] == info["blocks"] == served.chain.height()
    assert info["initialblockdownload"] is False


@pytest.mark.parametrize(("target", "mode"), CLN_ESTIMATES)
def test_cln_estimatefees_gets_a_feerate_for_each_target_and_mode(
    facade: Served, target: int, mode: str
) -> None:
    floor = facade.proxy().getmempoolinfo()
    result = facade.proxy().estimatesmartfee(target, mode)
    assert isinstance(result["feerate"], Decimal)
    assert result["feerate"] >= max(floor["mempoolminfee"], floor["minrelaytxfee"])
    assert 1 <= result["blocks"] <= max(target, 2)


@pytest.mark.bitcoind
@pytest.mark.parametrize("served", ["bitcoind"], indirect=True)
def test_regtest_bitcoind_has_no_fee_estimate_so_cln_feerates_are_forced(served: Served) -> None:
    result = served.proxy().estimatesmartfee(6, "ECONOMICAL")
    assert "feerate" not in result
    assert result["errors"] and result["blocks"] == 0


def test_cln_fee_floor_is_the_embedded_chains_min_relay_fee(served: Served) -> None:
    # a real bitcoind is started with this floor pinned (relay_policy_arguments: v30 lowered the default)
    info = served.proxy().getmempoolinfo()
    floor = Decimal(btc_per_kvb(DEFAULT_MIN_RELAY_TX_FEE_SAT_PER_KVB))
    assert info["mempoolminfee"] == info["minrelaytxfee"] == floor


@pytest.mark.parametrize("mode", ["economical", "Conservative", "UNSET"])
def test_estimatesmartfee_takes_mode_names_in_any_case(served: Served, mode: str) -> None:
    result = served.proxy().estimatesmartfee(6, mode)
    assert isinstance(result["blocks"], int)  # with a feerate, or (regtest bitcoind) with "errors"


@pytest.mark.parametrize("mode", ["economical", "Conservative", "UNSET"])
def test_the_facade_estimates_a_feerate_for_any_mode_name_case(facade: Served, mode: str) -> None:
    assert "feerate" in facade.proxy().estimatesmartfee(6, mode)


def test_estimatesmartfee_refuses_an_unknown_mode(served: Served) -> None:
    with pytest.raises(bitcoin.rpc.JSONRPCError) as excinfo:
        served.proxy().estimatesmartfee(6, "FAST")
    assert rpc_error_code(excinfo) == RPC_INVALID_PARAMETER
    assert "estimate_mode" in excinfo.value.error["message"]


def test_cln_getrawblockbyheight_gets_the_block_whose_header_hashes_to_the_hash(served: Served) -> None:
    proxy = served.proxy()
    height = served.chain.height()
    block_hash = proxy.getblockhash(height)
    assert len(block_hash) == 64
    raw = x(proxy.getblock(block_hash, 0))
    assert hashlib.sha256(hashlib.sha256(raw[:80]).digest()).digest()[::-1].hex() == block_hash
    assert b2lx(CBlock.deserialize(raw).GetHash()) == block_hash


def test_cln_getblockhash_past_the_tip_exits_8(served: Served) -> None:
    with pytest.raises(bitcoin.rpc.JSONRPCError) as excinfo:
        served.proxy().getblockhash(served.chain.height() + 1)
    assert rpc_error_code(excinfo) == RPC_INVALID_PARAMETER


def test_cln_getutxout_reads_value_and_script_of_an_unspent_output(served: Served) -> None:
    outpoint, value_sat = served.coin()
    result = served.proxy().gettxout(outpoint.txid, outpoint.vout)
    assert result["value"] * COIN == value_sat
    assert x(result["scriptPubKey"]["hex"]) == served.key.script_pubkey


def test_cln_getutxout_of_a_spent_output_is_null(served: Served) -> None:
    coin = served.coin()
    served.chain.send_raw(served.spend(coin))
    assert served.proxy().gettxout(coin[0].txid, coin[0].vout) is None


def test_cln_sendrawtransaction_with_maxfeerate_0_accepts_a_high_fee(served: Served) -> None:
    coin = served.coin(5_000_000)
    # 2_000_000 sat on ~110 vbytes is above bitcoind's default maxfeerate of 0.10 BTC/kvB (10_000 sat/vB)
    raw = served.spend(coin, fee_sat=2_000_000)
    with pytest.raises(bitcoin.rpc.JSONRPCError):
        served.proxy().sendrawtransaction(raw.hex())
    assert served.proxy().sendrawtransaction(raw.hex(), 0) == txid_of(raw)


def test_cln_sendrawtransaction_of_a_confirmed_transaction_exits_27(served: Served) -> None:
    raw = served.spend(served.coin())
    served.proxy().sendrawtransaction(raw.hex())
    served.chain.mine(1)
    with pytest.raises(bitcoin.rpc.JSONRPCError) as excinfo:
        served.proxy().sendrawtransaction(raw.hex())
    assert rpc_error_code(excinfo) == RPC_VERIFY_ALREADY_IN_CHAIN


def test_cln_sendrawtransaction_of_a_mempool_transaction_answers_its_txid(served: Served) -> None:
    raw = served.spend(served.coin())
    proxy = served.proxy()
    assert proxy.sendrawtransaction(raw.hex()) == proxy.sendrawtransaction(raw.hex()) == txid_of(raw)


# ----- lnd (bitcoind backend, rpcpolling)


def test_lnd_sees_a_version_that_uses_gettxspendingprevout(served: Served) -> None:
    assert served.proxy().getnetworkinfo()["version"] >= BTCWALLET_SPENDING_PREVOUT_VERSION


def test_lnd_block_poll_fetches_every_new_height_as_a_raw_block(served: Served) -> None:
    proxy = served.proxy()
    known = proxy.getblockchaininfo()["blocks"]
    mined = served.chain.mine(3)
    assert proxy.getblockchaininfo()["blocks"] == known + 3
    fetched = []
    for height in range(known + 1, known + 4):
        block = CBlock.deserialize(x(proxy.getblock(proxy.getblockhash(height), 0)))
        fetched.append(b2lx(block.GetHash()))
    assert fetched == mined


def test_lnd_mempool_poll_lists_new_transactions_and_fetches_them_in_one_batch(served: Served) -> None:
    raws = [served.spend(served.coin()) for _ in range(2)]
    for raw in raws:
        served.chain.send_raw(raw)
    proxy = served.proxy()
    txids = proxy.getrawmempool()
    assert {txid_of(raw) for raw in raws} <= set(txids)
    wanted = [txid_of(raw) for raw in raws]
    calls = [
        {"jsonrpc": "1.0", "id": i, "method": "getrawtransaction", "params": [txid]}
        for i, txid in enumerate(wanted)
    ]
    replies = sorted(proxy._batch(calls), key=lambda reply: reply["id"])
    assert [x(reply["result"]) for reply in replies] == raws


def test_lnd_gettxspendingprevout_names_the_mempool_spender(served: Served) -> None:
    spent, unspent = served.coin(), served.coin()
    raw = served.spend(spent)
    served.chain.send_raw(raw)
    outputs = [
        {"txid": spent[0].txid, "vout": spent[0].vout},
        {"txid": unspent[0].txid, "vout": unspent[0].vout},
    ]
    result = served.proxy().gettxspendingprevout(outputs)
    assert result == [
        {"txid": spent[0].txid, "vout": spent[0].vout, "spendingtxid": txid_of(raw)},
        {"txid": unspent[0].txid, "vout": unspent[0].vout},
    ]


def test_gettxspendingprevout_refuses_an_empty_list(served: Served) -> None:
    with pytest.raises(bitcoin.rpc.JSONRPCError) as excinfo:
        served.proxy().gettxspendingprevout([])
    assert rpc_error_code(excinfo) == RPC_INVALID_PARAMETER


def test_gettxspendingprevout_refuses_a_negative_vout(served: Served) -> None:
    outpoint, _ = served.coin()
    with pytest.raises(bitcoin.rpc.JSONRPCError) as excinfo:
        served.proxy().gettxspendingprevout([{"txid": outpoint.txid, "vout": -1}])
    assert rpc_error_code(excinfo) == RPC_INVALID_PARAMETER


def test_lnd_block_header_verbose_links_to_its_parent(served: Served) -> None:
    proxy = served.proxy()
    height = served.chain.height()
    header = proxy.getblockheader(proxy.getblockhash(height), True)
    assert header["height"] == height
    assert header["previousblockhash"] == proxy.getblockhash(height - 1)
    assert {"hash", "time", "bits", "nonce", "merkleroot", "version", "confirmations"} <= header.keys()
    raw_header = x(proxy.getblockheader(header["hash"], False))
    assert len(raw_header) == 80
    assert hashlib.sha256(hashlib.sha256(raw_header).digest()).digest()[::-1].hex() == header["hash"]


def test_lnd_confirmation_lookup_reads_block_and_depth_of_a_transaction(served: Served) -> None:
    outpoint, _ = served.coin()
    confirmed_in = served.chain.tip()
    served.chain.mine(1)
    result = served.proxy().getrawtransaction(outpoint.txid, 1)
    assert result["confirmations"] == 2
    assert result["blockhash"] == confirmed_in
    assert result["txid"] == outpoint.txid


def test_lnd_checks_with_testmempoolaccept_before_sending(served: Served) -> None:
    raw = served.spend(served.coin())
    proxy = served.proxy()
    [verdict] = proxy.testmempoolaccept([raw.hex()])
    assert verdict["allowed"] is True and verdict["txid"] == txid_of(raw)
    assert verdict["fees"]["base"] * COIN == FEE_SAT
    assert proxy.sendrawtransaction(raw.hex()) == txid_of(raw)


def test_lnd_testmempoolaccept_reports_a_double_spend_with_bitcoinds_reason(served: Served) -> None:
    coin = served.coin()
    served.chain.send_raw(served.spend(coin))
    conflicting = served.spend(coin, fee_sat=FEE_SAT + 1)  # not enough more fee to replace (BIP 125 rule 4)
    [verdict] = served.proxy().testmempoolaccept([conflicting.hex()])
    assert verdict["allowed"] is False
    assert verdict["reject-reason"].startswith("insufficient fee")
