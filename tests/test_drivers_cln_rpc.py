"""ClnRpc and ClnDriver against a fake lightningd: a unix-socket JSON-RPC server replaying responses
transcribed from Core Lightning's documentation (tests/data/api_responses/cln). It checks what we send
and how we read answers; it is not interop (that needs lightningd: tests marked `cln`)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.drivers.base import (
    ChannelState,
    NodeAddress,
    OpenChannelOptions,
    UnsupportedOperation,
    WaitTimeout,
)
from harness.drivers.cln import ClnDriver, ClnRpc, ClnRpcEndpoint, ClnRpcError, ClnTransportError
from harness.launchers.attach import AttachedNodeHandle

DATA = Path(__file__).parent / "data" / "api_responses" / "cln"


def response(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())["response"]
    return data


Answer = dict[str, Any] | ClnRpcError | Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class FakeLightningd:
    answers: dict[str, Answer]
    chunk: int = 0  # > 0: send the answer in pieces of this size
    requests: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder, buffer = json.JSONDecoder(), ""
        while True:
            buffer += (await reader.read(4096)).decode()
            try:
                request, _ = decoder.raw_decode(buffer)
                break
            except json.JSONDecodeError:
                continue
        self.requests.append(request)
        answer = self.answers[request["method"]]
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": request["id"]}
        if isinstance(answer, ClnRpcError):
            body["error"] = {"code": answer.code, "message": answer.message}
        else:
            body["result"] = answer(request["params"]) if callable(answer) else answer
        data = (json.dumps(body) + "\n\n").encode()
        pieces = [data[i : i + self.chunk] for i in range(0, len(data), self.chunk)] if self.chunk else [data]
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
        writer.close()

    def methods(self) -> list[str]:
        return [r["method"] for r in self.requests]


@asynccontextmanager
async def serving(fake: FakeLightningd) -> AsyncIterator[Path]:
    with tempfile.TemporaryDirectory(prefix="bc-", dir="/tmp") as directory:
        path = Path(directory) / "lightning-rpc"
        server = await asyncio.start_unix_server(fake.handle, str(path))
        try:
            yield path
        finally:
            server.close()
            await server.wait_closed()


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_requests_are_jsonrpc2_with_named_params_and_cln_style_ids() -> None:
    fake = FakeLightningd({"getinfo": response("getinfo.json")})

    async def scenario() -> None:
        async with serving(fake) as path:
            await ClnRpc(ClnRpcEndpoint(unix_path=path)).call("getinfo")

    run(scenario())
    (request,) = fake.requests
    assert request["jsonrpc"] == "2.0" and request["params"] == {}
    assert request["id"].startswith("boltcheck:getinfo#")


def test_an_answer_arriving_in_small_pieces_is_reassembled() -> None:
    fake = FakeLightningd({"listpeerchannels": response("listpeerchannels.2.json")}, chunk=7)

    async def scenario() -> dict[str, Any]:
        async with serving(fake) as path:
            return await ClnRpc(ClnRpcEndpoint(unix_path=path)).call("listpeerchannels")

    assert run(scenario()) == response("listpeerchannels.2.json")


def test_a_jsonrpc_error_raises_cln_rpc_error_with_method_and_code() -> None:
    fake = FakeLightningd({"connect": ClnRpcError("connect", 402, "Connection refused")})

    async def scenario() -> None:
        async with serving(fake) as path:
            await ClnRpc(ClnRpcEndpoint(unix_path=path)).call("connect", {"id": "02" * 33})

    with pytest.raises(ClnRpcError) as caught:
        run(scenario())
    assert (caught.value.method, caught.value.code, caught.value.message) == (
        "connect",
        402,
        "Connection refused",
    )


def test_a_missing_socket_is_an_os_error_the_readiness_loop_retries() -> None:
    async def scenario() -> None:
        await ClnRpc(ClnRpcEndpoint(unix_path=Path("/tmp/bc-no-such-dir/lightning-rpc"))).call("getinfo")

    with pytest.raises(OSError):
        run(scenario())


def test_a_silent_lightningd_is_a_transport_error_after_the_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(4096)
        await asyncio.Event().wait()  # never answers; cancelled when the server closes

    async def scenario() -> None:
        with tempfile.TemporaryDirectory(prefix="bc-", dir="/tmp") as directory:
            path = Path(directory) / "rpc"
            server = await asyncio.start_unix_server(silent, str(path))
            try:
                await ClnRpc(ClnRpcEndpoint(unix_path=path), timeout_s=0.2).call("getinfo")
            finally:
                server.close()

    with pytest.raises(ClnTransportError, match="no answer"):
        run(scenario())


def driver_for(path: Path, developer: bool = False) -> ClnDriver:
    return ClnDriver(
        AttachedNodeHandle("cln", "cln"), ClnRpcEndpoint(unix_path=path), None, developer=developer
    )


def test_start_waits_until_getinfo_has_no_sync_warning() -> None:
    synced = response("getinfo.json")
    answers = iter([dict(synced, warning_bitcoind_sync="Bitcoind is not up-to-date with network."), synced])
    fake = FakeLightningd({"getinfo": lambda params: next(answers)})

    async def scenario() -> ClnDriver:
        async with serving(fake) as path:
            driver = driver_for(path)
            await driver.start()
            return driver

    driver = run(scenario())
    assert fake.methods() == ["getinfo", "getinfo"]
    assert driver.node_id.hex() == synced["id"]
    binding = synced["binding"][0]
    assert (driver.address.host, driver.address.port) == (binding["address"], binding["port"])


def test_open_channel_sends_fundchannel_and_returns_the_listed_channel() -> None:
    channels = response("listpeerchannels.1.json")
    channel = channels["channels"][0]
    fake = FakeLightningd(
        {
            "fundchannel": dict(response("fundchannel.1.json"), channel_id=channel["channel_id"]),
            "listpeerchannels": channels,
            "listclosedchannels": {"closedchannels": []},
        }
    )
    peer = bytes.fromhex(channel["peer_id"])

    async def scenario() -> Any:
        async with serving(fake) as path:
            options = OpenChannelOptions(announce=False, channel_type="anchors")
            return await driver_for(path).open_channel(peer, 1_000_000, 5000, options)

    info = run(scenario())
    params = fake.requests[0]["params"]
    assert params == {
        "id": channel["peer_id"],
        "amount": 1_000_000,
        "announce": False,
        "push_msat": 5000,
        "channel_type": [12, 22],
    }
    assert info.channel_id.hex() == channel["channel_id"] and info.state is ChannelState.NORMAL


def test_an_unknown_channel_type_is_unsupported_before_any_call() -> None:
    fake = FakeLightningd({})

    async def scenario() -> None:
        async with serving(fake) as path:
            await driver_for(path).open_channel(
                b"\x02" * 33, 100_000, 0, OpenChannelOptions(channel_type="warp")
            )

    with pytest.raises(UnsupportedOperation, match="warp"):
        run(scenario())
    assert fake.requests == []


def test_a_failed_pay_is_a_failed_payment_result_with_the_decoded_hash() -> None:
    invoice = response("invoice.1.json")
    fake = FakeLightningd(
        {
            "decode": {"type": "bolt11 invoice", "valid": True, "payment_hash": invoice["payment_hash"]},
            "pay": ClnRpcError("pay", 205, "Could not find a route"),
        }
    )

    async def scenario() -> Any:
        async with serving(fake) as path:
            return await driver_for(path).pay(invoice["bolt11"], timeout_s=5.0)

    result = run(scenario())
    assert not result.succeeded and result.payment_hash.hex() == invoice["payment_hash"]
    assert fake.requests[1]["params"] == {"bolt11": invoice["bolt11"], "retry_for": 5}


def test_force_close_uses_dev_fail_on_a_developer_node() -> None:
    channels = response("listpeerchannels.1.json")
    channel = channels["channels"][0]
    fake = FakeLightningd(
        {"listpeerchannels": channels, "listclosedchannels": {"closedchannels": []}, "dev-fail": {}}
    )

    async def scenario() -> None:
        async with serving(fake) as path:
            await driver_for(path, developer=True).close(bytes.fromhex(channel["channel_id"]), force=True)

    run(scenario())
    assert fake.requests[-1] == {
        **fake.requests[-1],
        "method": "dev-fail",
        "params": {"id": channel["peer_id"]},
    }


def test_force_close_without_developer_mode_disconnects_then_closes_unilaterally() -> None:
    channels = response("listpeerchannels.1.json")
    channel = channels["channels"][0]
    fake = FakeLightningd(
        {
            "listpeerchannels": channels,
            "listclosedchannels": {"closedchannels": []},
            "disconnect": {},
            "close": response("close.1.json"),
        }
    )

    async def scenario() -> None:
        async with serving(fake) as path:
            await driver_for(path).close(bytes.fromhex(channel["channel_id"]), force=True)

    run(scenario())
    assert fake.methods()[-2:] == ["disconnect", "close"]
    assert fake.requests[-1]["params"] == {"id": channel["channel_id"], "unilateraltimeout": 1}


def test_connect_routes_the_peer_address_and_names_the_peer() -> None:
    fake = FakeLightningd({"connect": response("connect.1.json")})
    routed = NodeAddress(b"\x03" * 33, "cln-b", 9735)

    async def scenario() -> None:
        async with serving(fake) as path:
            driver = ClnDriver(
                AttachedNodeHandle("a", "cln"),
                ClnRpcEndpoint(unix_path=path),
                ("127.0.0.1", 1),
                developer=True,
                route_peer=lambda address: routed,
            )
            await driver.connect(NodeAddress(b"\x03" * 33, "127.0.0.1", 20001), timeout_s=5.0)

    run(scenario())
    assert fake.requests[0]["params"] == {"id": "03" * 33, "host": "cln-b", "port": 9735}


def test_waiting_for_a_state_that_never_comes_times_out_with_the_current_state() -> None:
    channels = response("listpeerchannels.1.json")
    fake = FakeLightningd({"listpeerchannels": channels, "listclosedchannels": {"closedchannels": []}})
    channel_id = bytes.fromhex(channels["channels"][0]["channel_id"])

    async def scenario() -> None:
        async with serving(fake) as path:
            await driver_for(path).wait_for_channel_state(channel_id, ChannelState.CLOSED, timeout_s=0.3)

    with pytest.raises(WaitTimeout, match="current state: \\['normal'\\]"):
        run(scenario())


def test_force_close_falls_back_when_dev_fail_cannot_pick_the_channel() -> None:
    channels = response("listpeerchannels.1.json")
    first = channels["channels"][0]
    second = dict(first, channel_id="ab" * 32, short_channel_id="200x1x0")  # a second channel, same peer
    fake = FakeLightningd(
        {
            "listpeerchannels": {"channels": [first, second]},
            "listclosedchannels": {"closedchannels": []},
            "disconnect": {},
            "close": response("close.1.json"),
        }
    )

    async def scenario() -> None:
        async with serving(fake) as path:
            await driver_for(path, developer=True).close(bytes.fromhex(first["channel_id"]), force=True)

    run(scenario())
    assert "dev-fail" not in fake.methods()
    assert fake.methods()[-2:] == ["disconnect", "close"]


def test_new_address_asks_for_a_p2tr_address() -> None:
    fake = FakeLightningd({"newaddr": response("newaddr.2.json")})

    async def scenario() -> str:
        async with serving(fake) as path:
            return await driver_for(path).new_address()

    assert run(scenario()) == response("newaddr.2.json")["p2tr"]
    assert fake.requests[0]["params"] == {"addresstype": "p2tr"}


def test_onchain_balance_waits_until_lightningd_reached_its_backends_tip() -> None:
    # getchaininfo's fields: doc/developers-guide/plugin-development/bitcoin-backend.md (v25.12)
    tip = response("waitblockheight.2.json")["blockheight"]
    chaininfo = {"chain": "regtest", "headercount": tip, "blockcount": tip, "ibd": False}
    fake = FakeLightningd(
        {
            "getchaininfo": chaininfo,
            "waitblockheight": response("waitblockheight.2.json"),
            "listfunds": response("listfunds.json"),
        }
    )

    async def scenario() -> int:
        async with serving(fake) as path:
            return await driver_for(path).onchain_balance_sat()

    run(scenario())
    assert fake.methods() == ["getchaininfo", "waitblockheight", "listfunds"]
    assert fake.requests[1]["params"]["blockheight"] == tip


def test_a_channel_is_irrevocably_resolved_once_lightningd_forgot_it() -> None:
    live = response("listpeerchannels.1.json")
    closed = response("listclosedchannels.json")
    live_id = bytes.fromhex(live["channels"][0]["channel_id"])
    forgotten_id = bytes.fromhex(closed["closedchannels"][0]["channel_id"])
    fake = FakeLightningd({"listpeerchannels": live, "listclosedchannels": closed})

    async def scenario() -> tuple[bool, bool, bool]:
        async with serving(fake) as path:
            driver = driver_for(path)
            return (
                await driver.channel_irrevocably_resolved(live_id),
                await driver.channel_irrevocably_resolved(forgotten_id),
                await driver.channel_irrevocably_resolved(b"\x07" * 32),
            )

    assert run(scenario()) == (False, True, False)
