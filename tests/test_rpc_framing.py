"""The node's JSON-RPC socket as Core Lightning clients use it: mode 0600, a request split across writes,
several requests on one connection, replies each followed by a blank line, Core Lightning's error codes,
positional and named parameters."""

from __future__ import annotations

import asyncio
import hashlib
import json
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from harness.chain.embedded import EmbeddedChain
from harness.drivers.reference import EmbeddedChainSource
from reference_node.node import LightningNode
from reference_node.nodekey import Entropy, NodeKey
from reference_node.rpc import RPC_FILE, RpcError, RpcServer, parse_msat


def _with_server(tmp_path: Path, body: Callable[[RpcServer], Awaitable[None]]) -> None:
    async def scenario() -> None:
        with EmbeddedChain(tmp_path / "chain") as chain:
            node = LightningNode(
                NodeKey.from_secret(hashlib.sha256(b"rpc").digest()),
                EmbeddedChainSource(chain),
                tmp_path / "node",
                entropy=Entropy(b"rpc"),
            )
            await node.start()
            stopped = asyncio.Event()
            server = RpcServer(node, tmp_path / "node" / RPC_FILE, stopped.set)
            await server.start()
            try:
                await body(server)
            finally:
                await server.close()
                await node.stop()

    asyncio.run(scenario())


async def _exchange(path: Path, *chunks: bytes, replies: int = 1) -> list[dict[str, object]]:
    reader, writer = await asyncio.open_unix_connection(str(path))
    for chunk in chunks:
        writer.write(chunk)
        await writer.drain()
    answers = [json.loads(await reader.readuntil(b"\n\n")) for _ in range(replies)]
    writer.close()
    return answers


def test_socket_is_private_to_the_user(tmp_path: Path) -> None:
    async def body(server: RpcServer) -> None:
        assert stat.S_IMODE(server.socket_path.stat().st_mode) == 0o600

    _with_server(tmp_path, body)


def test_a_request_split_across_writes_gets_one_reply(tmp_path: Path) -> None:
    async def body(server: RpcServer) -> None:
        request = json.dumps(
            {"jsonrpc": "2.0", "id": "x:getinfo#1", "method": "getinfo", "params": {}}
        ).encode()
        [reply] = await _exchange(server.socket_path, request[:10], request[10:])
        assert reply["id"] == "x:getinfo#1"
        assert isinstance(reply["result"], dict) and reply["result"]["network"] == "regtest"

    _with_server(tmp_path, body)


def test_two_requests_on_one_connection_get_two_replies_in_order(tmp_path: Path) -> None:
    async def body(server: RpcServer) -> None:
        first = {"jsonrpc": "2.0", "id": 1, "method": "newaddr", "params": []}
        second = {"jsonrpc": "2.0", "id": 2, "method": "listfunds", "params": {}}
        replies = await _exchange(
            server.socket_path, (json.dumps(first) + json.dumps(second)).encode(), replies=2
        )
        assert [r["id"] for r in replies] == [1, 2]

    _with_server(tmp_path, body)


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        ({"method": "no-such-method", "params": {}}, -32601),
        ({"method": "invoice", "params": {"label": "x"}}, -32602),
        ({"method": "getinfo", "params": {"unknown": 1}}, -32602),
        ({"method": "newaddr", "params": ["p2tr"]}, -32602),
        ({"method": "pay", "params": {"bolt11": "lnbcrt1garbage"}}, -32602),
    ],
    ids=["unknown-method", "missing-param", "unknown-param", "unsupported-address-type", "bad-bolt11"],
)
def test_errors_carry_core_lightning_codes(
    tmp_path: Path, request_body: dict[str, object], code: int
) -> None:
    async def body(server: RpcServer) -> None:
        request = {"jsonrpc": "2.0", "id": 7, **request_body}
        [reply] = await _exchange(server.socket_path, json.dumps(request).encode())
        error = reply["error"]
        assert isinstance(error, dict) and error["code"] == code

    _with_server(tmp_path, body)


def test_positional_and_named_parameters_are_equivalent(tmp_path: Path) -> None:
    async def body(server: RpcServer) -> None:
        named = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "invoice",
            "params": {"amount_msat": "5sat", "label": "a", "description": "d"},
        }
        positional = {"jsonrpc": "2.0", "id": 2, "method": "invoice", "params": [5000, "b", "d"]}
        replies = await _exchange(
            server.socket_path, json.dumps(named).encode(), json.dumps(positional).encode(), replies=2
        )
        listed = await _exchange(
            server.socket_path,
            json.dumps({"jsonrpc": "2.0", "id": 3, "method": "listinvoices", "params": {}}).encode(),
        )
        result = listed[0]["result"]
        assert isinstance(result, dict)
        assert [i["amount_msat"] for i in result["invoices"]] == [5000, 5000]
        assert all("result" in r for r in replies)

    _with_server(tmp_path, body)


@pytest.mark.parametrize(
    ("value", "unit", "msat"),
    [
        (7, "msat", 7),
        (7, "sat", 7000),
        ("7msat", "sat", 7),
        ("7sat", "msat", 7000),
        ("1btc", "sat", 100_000_000_000),
    ],
)
def test_amounts_in_core_lightning_notation(value: object, unit: str, msat: int) -> None:
    assert parse_msat(value, unit) == msat


@pytest.mark.parametrize("value", ["7 sat", "-1", True, None, "1.5sat"])
def test_malformed_amounts_are_invalid_params(value: object) -> None:
    with pytest.raises(RpcError) as raised:
        parse_msat(value)
    assert raised.value.code == -32602
