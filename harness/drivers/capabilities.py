"""What each implementation's driver can do, declared up front (no node is started to find out).

The interop matrix (`boltcheck run --impls A,B,...`) runs a scenario for a pair of implementations only
when both can do what the scenario's steps ask of their node; otherwise the pair is a skip whose reason
names the implementation and the missing capability ("electrum: no disconnect command"), decided before
anything starts, never a failure. The declarations mirror what the drivers implement (a driver that
lacks an operation raises UnsupportedOperation at run time; this table says so before the run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Capability(Enum):
    """An operation a scenario step needs from a driven node; the value reads in a skip reason."""

    CHANNEL_STATIC_REMOTEKEY = "static_remotekey channels"
    CHANNEL_ANCHORS = "anchors channels"
    DISCONNECT = "disconnect command"
    FORCE_CLOSE = "force close"
    KILL = "kill (SIGKILL)"
    # the reference node's adversarial controls (DESIGN.md "Faults"): withhold preimages, broadcast a
    # revoked commitment, drop or forge messages
    FAULT_CONTROLS = "fault controls"
    # withhold the preimages of HTLCs paid to the node, then release them (off chain or on chain): the
    # one fault control a node of another implementation can have (cln, through the harness's plugin)
    HOLD_PREIMAGES = "preimage withholding"


#: every channel type a scenario's `open_channel` can name, with the capability it needs (BOLT 2
#: channel_type; BOLT 9 bits 12/13 option_static_remotekey, 22/23 option_anchors_zero_fee_htlc_tx)
CHANNEL_TYPE_CAPABILITY: Mapping[str, Capability] = {
    "static_remotekey": Capability.CHANNEL_STATIC_REMOTEKEY,
    "anchors": Capability.CHANNEL_ANCHORS,
}


@dataclass(frozen=True)
class DriverCapabilities:
    """One implementation's declared capabilities, and the BOLT 9 features it insists on in its peers'
    `init` (it closes the connection otherwise), so the harness can give its reference peers those."""

    implementation: str
    capabilities: frozenset[Capability]
    required_peer_features: tuple[str, ...] = ()  # reference_node.wire.features.Feature names
    #: options a node of another implementation (key) gets when it meets this one in a scenario
    counterpart_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    notes: Mapping[Capability, str] = field(default_factory=dict)  # why a capability is missing
    #: how many times longer than the scenario's `timeout_s` (and its steps' limits) a scenario with this
    #: implementation may take: a node that polls its chain sees each mined block only after its poll
    #: interval, and BOLT 5 scenarios let it react block by block (hundreds of blocks)
    timeout_factor: float = 1.0

    def lacks(self, capability: Capability) -> str | None:
        """None when the implementation can do it, else the skip reason."""
        if capability in self.capabilities:
            return None
        note = self.notes.get(capability)
        return f"{self.implementation}: no {capability.value}" + (f" ({note})" if note else "")


_ALL = frozenset(Capability)
_COMMON = frozenset(
    {
        Capability.CHANNEL_STATIC_REMOTEKEY,
        Capability.CHANNEL_ANCHORS,
        Capability.DISCONNECT,
        Capability.FORCE_CLOSE,
    }
)
_FAULTS_NOTE = "withhold preimages, breach, drop or forge messages: the reference node's alone"
_PROCESS_NOTE = "driven over JSON-RPC; use the in-process `reference` target"

CAPABILITIES: Mapping[str, DriverCapabilities] = {
    "reference": DriverCapabilities("reference", _ALL),
    # the same node as a `boltcheck node` process: NodeDriver over its JSON-RPC; the fault controls stay with
    # the in-process node (the harness reaches them directly there)
    "reference-process": DriverCapabilities(
        "reference-process",
        _COMMON,
        notes={Capability.FAULT_CONTROLS: _PROCESS_NOTE},
    ),
    "ldk": DriverCapabilities(
        "ldk",
        _COMMON | {Capability.KILL},
        notes={Capability.FAULT_CONTROLS: _FAULTS_NOTE},
    ),
    "electrum": DriverCapabilities(
        "electrum",
        frozenset({Capability.CHANNEL_STATIC_REMOTEKEY, Capability.FORCE_CLOSE, Capability.KILL}),
        # lnworker.LNWALLET_FEATURES: Electrum 4.3.4 requires gossip_queries of every peer
        required_peer_features=("gossip_queries",),
        # Electrum 4.3.4 on regtest sends update_fee at 45000 sat/kw (its hard-coded regtest feerate). LDK's
        # default dust-exposure limit (a multiple of its own 253 sat/kw estimate) then fails every HTLC with
        # temporary_channel_failure, which BOLT 2 allows; a fixed limit lets the pair exchange payments.
        counterpart_options={"ldk": {"max_dust_htlc_exposure_msat": 1_000_000_000}},
        notes={
            Capability.CHANNEL_ANCHORS: "Electrum 4.3.4 opens and accepts static_remotekey channels only",
            Capability.DISCONNECT: "Electrum 4.3.4 has no command to drop one peer",
            Capability.FAULT_CONTROLS: _FAULTS_NOTE,
        },
    ),
    # lightningd polls bitcoind at most once a second (--dev-bitcoind-poll=1): ~1 s per block mined block
    # by block, where the in-process reference node takes milliseconds
    # the harness's plugin (harness/drivers/cln_hold_plugin.py, htlc_accepted hook) withholds preimages
    "cln": DriverCapabilities(
        "cln",
        _COMMON | {Capability.HOLD_PREIMAGES},
        notes={Capability.FAULT_CONTROLS: _FAULTS_NOTE},
        timeout_factor=10.0,
    ),
    "lnd": DriverCapabilities("lnd", _COMMON, notes={Capability.FAULT_CONTROLS: _FAULTS_NOTE}),
}


class UnknownImplementation(KeyError):
    """No capability declaration for an implementation (add one to CAPABILITIES with its driver)."""


def timeout_factor(implementations: Iterable[str]) -> float:
    """The largest timeout factor of the implementations a scenario runs (1 for undeclared ones)."""
    declared = (CAPABILITIES[i].timeout_factor for i in implementations if i in CAPABILITIES)
    return max(declared, default=1.0)


def capabilities_of(implementation: str) -> DriverCapabilities:
    try:
        return CAPABILITIES[implementation]
    except KeyError:
        raise UnknownImplementation(
            f"no capability declaration for {implementation!r} (harness/drivers/capabilities.py)"
        ) from None
