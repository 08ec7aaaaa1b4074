"""What a step is: a frozen dataclass whose fields are its typed arguments, plus an async `run`.

The loader builds each step from YAML by reading the dataclass's type hints, so a step module states its
argument schema once, in Python types:

    @register_step
    @dataclass(frozen=True)
    class Send(Step):
        NAME = "send"
        SUMMARY = "the scripted peer sends one message"
        peer: PeerName
        message: str
        fields: MessageFields = field(default_factory=dict)

        async def run(self, ctx: StepContext) -> str | None: ...

Argument types the loader understands: str, int, float, bool, X | None, list[X], Enum subclasses, and
the markers below (node names checked against the scenario's nodes, hex bytes, message fields).
"""

from __future__ import annotations

import abc
import random
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from harness.chain import ChainBackend
    from harness.drivers.base import NodeAddress, NodeDriver
    from harness.drivers.peer import PeerSession


class NodeKind(Enum):
    ANY = "any node"
    PEER = "scripted peer (implementation: scripted)"
    DRIVER = "driven node (not implementation: scripted)"


@dataclass(frozen=True)
class NodeRef:
    """Marks a str argument as the name of a node of the scenario, of this kind."""

    kind: NodeKind


@dataclass(frozen=True)
class HexMarker:
    """Marks a bytes argument given in YAML as a hex string."""


@dataclass(frozen=True)
class FieldsMarker:
    """Marks a mapping of message fields (values: int, hex string, bool, list, or {zeros: N})."""


NodeName = Annotated[str, NodeRef(NodeKind.ANY)]
PeerName = Annotated[str, NodeRef(NodeKind.PEER)]
DriverName = Annotated[str, NodeRef(NodeKind.DRIVER)]
HexBytes = Annotated[bytes, HexMarker()]
MessageFields = Annotated[Mapping[str, Any], FieldsMarker()]


class StepContext(Protocol):
    """What a running step may use; the executor provides it."""

    @property
    def scenario_seed(self) -> int: ...

    @property
    def rng(self) -> random.Random: ...

    @property
    def workdir(self) -> Path: ...

    @property
    def default_timeout_s(self) -> float: ...

    def is_peer(self, name: str) -> bool:
        """True for a scripted peer (a PeerSession), False for a driven node (a NodeDriver)."""
        ...

    def peer(self, name: str) -> PeerSession: ...

    def driver(self, name: str) -> NodeDriver: ...

    def address(self, name: str) -> NodeAddress: ...

    @property
    def chain(self) -> ChainBackend:
        """The scenario's regtest chain (--chain), started on first use and closed at the end."""
        ...

    def record_txid(self, txid: str) -> None: ...

    def set_value(self, key: str, value: object) -> None: ...

    def get_value(self, key: str) -> object: ...


class Step(abc.ABC):
    """One scenario step; subclasses are frozen dataclasses registered with `register_step`."""

    NAME: ClassVar[str]
    SUMMARY: ClassVar[str]
    #: False for steps that never need the chain, directly or through a driver (message-level steps).
    #: A scenario whose steps all say False gives its driven nodes no chain, so they start faster.
    USES_CHAIN: ClassVar[bool] = True

    def check_arguments(self) -> None:
        """Raise ValueError for argument combinations the types alone cannot rule out."""
        return None

    def timeout(self) -> float | None:
        """The step's own time limit in seconds, when it has a `timeout_s` argument."""
        value = getattr(self, "timeout_s", None)
        return float(value) if isinstance(value, int | float) else None

    @abc.abstractmethod
    async def run(self, ctx: StepContext) -> str | None:
        """Do the step; return a short detail for the report. Raise ExpectationFailed when the node
        under test misbehaves, UnsupportedOperation when a driver cannot do it yet."""
