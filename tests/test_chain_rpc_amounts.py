"""`boltcheck chain` writes BTC amounts as bitcoind does: fixed-point with 8 decimals, no exponent.

Core Lightning's bcli plugin reads amounts with json_to_bitcoin_amount (common/json_parse.c), which takes
only digits and one '.'; a `1e-05` (json.dumps of 0.00001) made lightningd v25.12 stop at start.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.request
from collections.abc import Iterator

import pytest

from harness.chain import EmbeddedChain
from harness.chain.rpc_format import btc, dumps_rpc
from harness.chain.rpc_server import ChainRpcServer

AMOUNT = re.compile(rb'"(mempoolminfee|minrelaytxfee|incrementalrelayfee|total_fee)": ([^,}]+)')


@pytest.fixture(scope="module")
def server() -> Iterator[ChainRpcServer]:
    with EmbeddedChain() as chain:
        rpc = ChainRpcServer(chain, user="u", password="p")
        rpc.start()
        try:
            yield rpc
        finally:
            rpc.close()


def raw_reply(server: ChainRpcServer, method: str) -> bytes:
    body = json.dumps({"jsonrpc": "1.0", "id": 1, "method": method, "params": []}).encode()
    request = urllib.request.Request(server.url, data=body, method="POST")
    request.add_header("Authorization", "Basic " + base64.b64encode(b"u:p").decode())
    with urllib.request.urlopen(request, timeout=30) as response:
        data: bytes = response.read()
    return data


def test_getmempoolinfo_amounts_are_fixed_point_with_eight_decimals(server: ChainRpcServer) -> None:
    found = dict(AMOUNT.findall(raw_reply(server, "getmempoolinfo")))
    assert set(found) == {b"mempoolminfee", b"minrelaytxfee", b"incrementalrelayfee", b"total_fee"}
    for literal in found.values():
        assert re.fullmatch(rb"\d+\.\d{8}", literal), literal


@pytest.mark.parametrize("amount_sat", [0, 1, 1000, 99_999_999, 100_000_000, 2_100_000_000_000_000])
def test_an_amount_reads_back_as_the_same_satoshis(amount_sat: int) -> None:
    literal = dumps_rpc({"value": btc(amount_sat)})
    assert json.loads(literal)["value"] == pytest.approx(amount_sat / 100_000_000)
    written = literal.split(": ")[1].rstrip("}")
    whole, fraction = written.split(".")
    assert int(whole) * 100_000_000 + int(fraction) == amount_sat and len(fraction) == 8


def test_a_btc_amount_still_compares_as_a_float() -> None:
    assert btc(1000) == 0.00001
