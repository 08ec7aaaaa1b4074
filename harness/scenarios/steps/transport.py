"""BOLT 8 handshake steps: a raw TCP client sends a deliberately bad Act One and watches the reply.

These bypass the scripted peer's transport on purpose: it would never send a bad handshake.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from coincurve import PrivateKey

from harness.drivers.peer import ExpectationFailed
from harness.scenarios.registry import register_step
from harness.scenarios.step import DriverName, Step, StepContext

# BOLT 8 "Act One": 1-byte version, 33-byte ephemeral public key, 16-byte MAC = 50 bytes; Act Two
# is 50 bytes too.
_ACT_LENGTH = 50
_MAC_LENGTH = 16


@register_step
@dataclass(frozen=True)
class SendBadActOne(Step):
    """Open a TCP connection to `to` and send an Act One the responder must refuse: `version` other
    than 0 (unknown handshake version), or version 0 with a MAC that cannot verify. The responder
    must close the connection without sending Act Two."""

    NAME = "send_bad_act_one"
    SUMMARY = "send an invalid BOLT 8 Act One; expect the connection closed without Act Two"
    to: DriverName
    version: int = 1
    timeout_s: float = 10.0

    def check_arguments(self) -> None:
        if not 0 <= self.version <= 255:
            raise ValueError(f"version is one byte, got {self.version}")

    async def run(self, ctx: StepContext) -> str | None:
        address = ctx.address(self.to)
        ephemeral = PrivateKey(ctx.rng.randbytes(32)).public_key.format(compressed=True)
        # An all-zero MAC never verifies (it would need a ChaCha20-Poly1305 tag collision).
        act_one = bytes([self.version]) + ephemeral + bytes(_MAC_LENGTH)
        reader, writer = await asyncio.open_connection(address.host, address.port)
        try:
            writer.write(act_one)
            await writer.drain()
            received = await self._read_until_closed(reader)
        finally:
            writer.close()
        if len(received) >= _ACT_LENGTH:
            raise ExpectationFailed(f"the responder answered with {len(received)} bytes (an Act Two)")
        return f"closed after {len(received)} bytes, no Act Two"

    async def _read_until_closed(self, reader: asyncio.StreamReader) -> bytes:
        received = b""
        try:
            async with asyncio.timeout(self.timeout_s):
                while len(received) < _ACT_LENGTH:
                    chunk = await reader.read(_ACT_LENGTH - len(received))
                    if not chunk:
                        return received
                    received += chunk
        except TimeoutError as exc:
            raise ExpectationFailed(f"the connection is still open after {self.timeout_s:g}s") from exc
        except ConnectionResetError:
            return received
        return received
