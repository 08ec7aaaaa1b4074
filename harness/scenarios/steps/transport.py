"""BOLT 8 handshake steps: a raw TCP peer sends a deliberately bad Act One (to a responder) or Act Two
(to an initiator) and watches what the node under test does.

These bypass the scripted peer's transport on purpose: it would never send a bad handshake.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum

from coincurve import PrivateKey

from harness.drivers.base import DriverError, NodeAddress
from harness.drivers.peer import ExpectationFailed
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, Step, StepContext
from reference_node.transport.handshake import InitiatorHandshake

# BOLT 8 "Act One": 1-byte version, 33-byte ephemeral public key, 16-byte MAC = 50 bytes; Act Two
# is 50 bytes too; Act Three is 66 bytes.
_ACT_LENGTH = 50
_ACT_THREE_LENGTH = 66
_MAC_LENGTH = 16


async def _read_until_closed(reader: asyncio.StreamReader, limit: int, timeout_s: float) -> bytes:
    """Bytes the node sends before it closes the connection (at most `limit`); ExpectationFailed if the
    connection is still open after `timeout_s`."""
    received = b""
    try:
        async with asyncio.timeout(timeout_s):
            while len(received) < limit:
                chunk = await reader.read(limit - len(received))
                if not chunk:
                    return received
                received += chunk
    except TimeoutError as exc:
        raise ExpectationFailed(f"the connection is still open after {timeout_s:g}s") from exc
    except ConnectionResetError:
        return received
    return received


def _bad_act(version: int, ctx: StepContext) -> bytes:
    ephemeral = PrivateKey(ctx.rng.randbytes(32)).public_key.format(compressed=True)
    # An all-zero MAC never verifies (it would need a ChaCha20-Poly1305 tag collision).
    return bytes([version]) + ephemeral + bytes(_MAC_LENGTH)


@register_step
@dataclass(frozen=True)
class SendBadActOne(Step):
    """Open a TCP connection to `to` and send an Act One the responder must refuse: `version` other
    than 0 (unknown handshake version), or version 0 with a MAC that cannot verify. The responder
    must close the connection without sending Act Two."""

    NAME = "send_bad_act_one"
    SUMMARY = "send an invalid BOLT 8 Act One; expect the connection closed without Act Two"
    USES_CHAIN = False
    to: DriverName
    version: int = 1
    timeout_s: float = 10.0

    def check_arguments(self) -> None:
        if not 0 <= self.version <= 255:
            raise ValueError(f"version is one byte, got {self.version}")

    async def run(self, ctx: StepContext) -> str | None:
        address = ctx.address(self.to)
        reader, writer = await asyncio.open_connection(address.host, address.port)
        try:
            writer.write(_bad_act(self.version, ctx))
            await writer.drain()
            received = await _read_until_closed(reader, _ACT_LENGTH, self.timeout_s)
        finally:
            writer.close()
        if len(received) >= _ACT_LENGTH:
            raise ExpectationFailed(f"the responder answered with {len(received)} bytes (an Act Two)")
        return f"closed after {len(received)} bytes, no Act Two"


@register_step
@dataclass(frozen=True)
class SendBadActTwo(Step):
    """Make `initiator` connect to a raw TCP responder that answers its Act One with an Act Two it must
    refuse: `version` other than 0, or version 0 with a MAC that cannot verify. The initiator must close
    the connection without sending Act Three, and its connect attempt must fail."""

    NAME = "send_bad_act_two"
    SUMMARY = "answer a node's Act One with an invalid Act Two; expect no Act Three"
    USES_CHAIN = False
    initiator: DriverName
    version: int = 1
    timeout_s: float = 10.0

    def check_arguments(self) -> None:
        if not 0 <= self.version <= 255:
            raise ValueError(f"version is one byte, got {self.version}")

    async def run(self, ctx: StepContext) -> str | None:
        accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await accepted.put((reader, writer))

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        host, port = server.sockets[0].getsockname()[:2]
        responder_id = PrivateKey(ctx.rng.randbytes(32)).public_key.format(compressed=True)
        connecting = asyncio.ensure_future(
            ctx.driver(self.initiator).connect(
                NodeAddress(responder_id, str(host), int(port)), self.timeout_s
            )
        )
        try:
            async with asyncio.timeout(self.timeout_s):
                reader, writer = await accepted.get()
                await reader.readexactly(_ACT_LENGTH)
            writer.write(_bad_act(self.version, ctx))
            await writer.drain()
            received = await _read_until_closed(reader, _ACT_THREE_LENGTH, self.timeout_s)
            writer.close()
            if len(received) >= _ACT_THREE_LENGTH:
                raise ExpectationFailed("the initiator answered with an Act Three")
            try:
                await asyncio.wait_for(connecting, self.timeout_s)
            except DriverError as exc:
                return f"the initiator closed after {len(received)} bytes; its connect failed: {exc}"
            raise ExpectationFailed("the initiator reported the connection as established")
        except TimeoutError as exc:
            raise ExpectationFailed(f"the initiator sent no Act One within {self.timeout_s:g}s") from exc
        finally:
            connecting.cancel()
            server.close()


class ActThreeFault(Enum):
    """Which part of Act Three (version || c || t, BOLT 8) `send_bad_act_three` corrupts."""

    VERSION = "version"  # an unknown handshake version
    STATIC_KEY_MAC = "static_key_mac"  # c = encryptWithAD(temp_k2, 1, h, s.pub): its MAC fails
    FINAL_MAC = "final_mac"  # t = encryptWithAD(temp_k3, 0, h, zero): its MAC fails


@register_step
@dataclass(frozen=True)
class SendBadActThree(Step):
    """Run Acts One and Two correctly against responder `to`, then send an Act Three with one `fault`.
    The responder must close the connection without sending anything further."""

    NAME = "send_bad_act_three"
    SUMMARY = "complete Acts One and Two, send a corrupted Act Three; expect a silent close"
    USES_CHAIN = False
    to: DriverName
    fault: ActThreeFault
    timeout_s: float = 10.0

    async def run(self, ctx: StepContext) -> str | None:
        address = ctx.address(self.to)
        handshake = InitiatorHandshake(
            PrivateKey(ctx.rng.randbytes(32)), address.node_id, PrivateKey(ctx.rng.randbytes(32))
        )
        reader, writer = await asyncio.open_connection(address.host, address.port)
        try:
            writer.write(handshake.act_one())
            await writer.drain()
            async with asyncio.timeout(self.timeout_s):
                act_two = await reader.readexactly(_ACT_LENGTH)
            act_three = bytearray(handshake.respond(act_two))
            if self.fault is ActThreeFault.VERSION:
                act_three[0] = 1
            elif self.fault is ActThreeFault.STATIC_KEY_MAC:
                act_three[1 + 33] ^= 0x01  # first byte of c's 16-byte MAC
            else:
                act_three[-1] ^= 0x01  # last byte of t
            writer.write(bytes(act_three))
            await writer.drain()
            received = await _read_until_closed(reader, 1, self.timeout_s)
        except TimeoutError as exc:
            raise ExpectationFailed(f"no Act Two within {self.timeout_s:g}s") from exc
        except asyncio.IncompleteReadError as exc:
            raise ExpectationFailed(
                f"the responder closed after {len(exc.partial)} bytes of Act Two"
            ) from exc
        finally:
            writer.close()
        if received:
            raise ExpectationFailed("the responder sent more bytes after the bad Act Three")
        return f"closed without further messages after Act Three with a bad {self.fault.value}"
