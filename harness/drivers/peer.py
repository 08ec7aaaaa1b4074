"""PeerSession: the message-level side of a scenario (the reference node as a scripted peer).

Steps in harness/scenarios/steps/messages.py call only this interface. `ScriptedPeerSession` adapts
reference_node.scripted_peer.ScriptedPeer to it; tests can provide their own PeerSession.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from harness.drivers.base import NodeAddress


class Direction(Enum):
    SENT = "sent"  # scripted peer -> node under test
    RECEIVED = "received"  # node under test -> scripted peer
    EVENT = "event"  # connect, disconnect, timeout...


@dataclass(frozen=True)
class TraceEntry:
    """One line of a message sequence chart."""

    direction: Direction
    name: str
    elapsed_s: float
    fields: Mapping[str, Any] = field(default_factory=dict)
    raw_hex: str = ""


class ExpectationFailed(AssertionError):
    """The node under test did not do what the step expected (a requirement failure, with details)."""


@dataclass(frozen=True)
class ReceivedMessage:
    name: str
    fields: Mapping[str, Any]


class PeerSession(abc.ABC):
    """A scripted Lightning peer: connects to a node and sends/expects single messages."""

    @abc.abstractmethod
    async def connect(self, target: NodeAddress, exchange_init: bool, timeout_s: float) -> None: ...

    @abc.abstractmethod
    async def send(self, message: str, fields: Mapping[str, Any]) -> None:
        """Send a message: given fields as YAML gives them (hex strings for bytes), the rest filled in."""

    @abc.abstractmethod
    async def send_raw(self, data: bytes) -> None: ...

    @abc.abstractmethod
    async def expect(
        self,
        message: str,
        fields: Mapping[str, Any],
        timeout_s: float,
        skip_keepalive: bool = True,
        *,
        skip_gossip: bool = False,
    ) -> ReceivedMessage:
        """The next message (passing over ping/pong when `skip_keepalive`, and BOLT 7 gossip traffic
        when `skip_gossip`) must be `message` with `fields` matching; raise ExpectationFailed otherwise."""

    @abc.abstractmethod
    async def expect_error_or_warning(self, timeout_s: float) -> ReceivedMessage: ...

    @abc.abstractmethod
    async def expect_disconnect(self, timeout_s: float) -> None: ...

    @abc.abstractmethod
    async def expect_no_disconnect(self, timeout_s: float) -> None:
        """Ping barrier: a pong proves the node still talks and processed everything sent before."""

    @abc.abstractmethod
    def trace(self) -> list[TraceEntry]: ...

    @abc.abstractmethod
    async def close(self) -> None: ...
