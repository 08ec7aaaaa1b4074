"""`send_bad_act_one` judges a responder by what it does after a bad Act One (raw TCP servers here)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from harness.drivers.base import NodeAddress
from harness.drivers.peer import ExpectationFailed
from harness.scenarios.steps.transport import SendBadActOne

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Ctx:
    port: int
    rng: random.Random = field(default_factory=lambda: random.Random(1))

    def address(self, name: str) -> NodeAddress:
        return NodeAddress(bytes(33), "127.0.0.1", self.port)


async def _against(handler: Handler, timeout_s: float) -> str | None:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        ctx = Ctx(int(server.sockets[0].getsockname()[1]))
        return await SendBadActOne(to="target", version=1, timeout_s=timeout_s).run(ctx)  # type: ignore[arg-type]
    finally:
        server.close()


async def _closes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readexactly(50)
    writer.close()


async def _answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readexactly(50)
    writer.write(bytes(50))
    await writer.drain()
    await reader.read()  # until the step hangs up


async def _ignores(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # never answers, never closes


def test_a_responder_that_closes_passes() -> None:
    assert asyncio.run(_against(_closes, 5)) == "closed after 0 bytes, no Act Two"


def test_a_responder_that_answers_with_act_two_fails() -> None:
    with pytest.raises(ExpectationFailed, match="answered with 50 bytes"):
        asyncio.run(_against(_answers, 5))


def test_a_responder_that_keeps_the_connection_open_fails() -> None:
    with pytest.raises(ExpectationFailed, match=r"still open after 0\.2s"):
        asyncio.run(_against(_ignores, 0.2))


def test_a_responder_that_talks_after_a_bad_act_three_fails() -> None:
    from coincurve import PrivateKey

    from harness.scenarios.steps.transport import ActThreeFault, SendBadActThree
    from reference_node.transport.handshake import ResponderHandshake

    static_key = PrivateKey(bytes(31) + b"\x07")

    async def lenient(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handshake = ResponderHandshake(static_key, PrivateKey(bytes(31) + b"\x09"))
        writer.write(handshake.respond(await reader.readexactly(50)))
        await reader.readexactly(66)  # accepts Act Three without checking it
        writer.write(b"\x00")
        await writer.drain()
        await reader.read()

    async def scenario() -> str | None:
        server = await asyncio.start_server(lenient, "127.0.0.1", 0)
        try:
            port = int(server.sockets[0].getsockname()[1])

            @dataclass
            class ResponderCtx(Ctx):
                def address(self, name: str) -> NodeAddress:
                    return NodeAddress(static_key.public_key.format(), "127.0.0.1", self.port)

            step = SendBadActThree(to="target", fault=ActThreeFault.FINAL_MAC, timeout_s=5)
            return await step.run(ResponderCtx(port))  # type: ignore[arg-type]
        finally:
            server.close()

    with pytest.raises(ExpectationFailed, match="sent more bytes after the bad Act Three"):
        asyncio.run(scenario())
