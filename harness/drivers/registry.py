"""Factories that make a NodeDriver or a PeerSession for a scenario node, by implementation name.

Other modules (launchers for cln/lnd, later) call `register_driver` to plug theirs in; the executor
calls `create_driver` / `create_peer`. An implementation nobody registered is an UnsupportedOperation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.drivers.base import NodeDriver, UnsupportedOperation
from harness.drivers.peer import PeerSession

#: the implementation name of the reference node acting as a scripted, message-level peer
SCRIPTED = "scripted"


@dataclass(frozen=True)
class NodeSetup:
    """Everything a factory needs to make one node of one scenario run."""

    name: str
    implementation: str
    private_key: bytes  # derived from the scenario seed; never logged
    workdir: Path
    defect: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    chain: Any = None  # the scenario's ChainBackend, for drivers that serve it to their node (electrum)


DriverFactory = Callable[[NodeSetup], NodeDriver]
PeerFactory = Callable[[NodeSetup], PeerSession]

#: implementations `_load_builtin` registers (named here so that validating a scenario or a --target
#: does not import every driver); add a name here when adding one there.
BUILTIN_IMPLEMENTATIONS = ("reference", "reference-process", "cln", "lnd", "electrum", "ldk")

_DRIVERS: dict[str, DriverFactory] = {}
_PEERS: dict[str, PeerFactory] = {}


def register_driver(implementation: str, factory: DriverFactory) -> None:
    _DRIVERS[implementation] = factory


def register_peer(implementation: str, factory: PeerFactory) -> None:
    _PEERS[implementation] = factory


def _load_builtin() -> None:
    # Imported on first use: the reference adapters import reference_node, which the loader does not need.
    from harness.drivers.reference import ReferenceDriver, ReferenceProcessDriver, ScriptedPeerSession

    _DRIVERS.setdefault("reference", ReferenceDriver.from_setup)
    # the same node as a `boltcheck node` process, driven over its Core Lightning-compatible JSON-RPC
    _DRIVERS.setdefault("reference-process", ReferenceProcessDriver.from_setup)
    # cln and lnd: launched (process, docker) or attached per LaunchOptions (harness/launchers/)
    from harness.launchers.session import cln_driver_factory, lnd_driver_factory

    _DRIVERS.setdefault("cln", cln_driver_factory)
    _DRIVERS.setdefault("lnd", lnd_driver_factory)
    _PEERS.setdefault(SCRIPTED, ScriptedPeerSession.from_setup)
    from harness.drivers import electrum

    _DRIVERS.setdefault("electrum", electrum.from_setup)
    from harness.drivers.ldk import LdkDriver

    _DRIVERS.setdefault("ldk", LdkDriver.from_setup)


def implementation_names() -> list[str]:
    """Every implementation a node or a --target may name (`scripted` aside)."""
    return sorted({*BUILTIN_IMPLEMENTATIONS, *_DRIVERS})


def create_driver(setup: NodeSetup) -> NodeDriver:
    _load_builtin()
    factory = _DRIVERS.get(setup.implementation)
    if factory is None:
        raise UnsupportedOperation(
            setup.implementation, "start", f"no {setup.implementation} driver is registered"
        )
    return factory(setup)


def create_peer(setup: NodeSetup) -> PeerSession:
    _load_builtin()
    factory = _PEERS.get(setup.implementation)
    if factory is None:
        raise UnsupportedOperation(setup.implementation, "scripted peer", "no scripted peer is registered")
    return factory(setup)
