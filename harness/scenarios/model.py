"""A loaded, validated scenario."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.scenarios.step import Step

#: the placeholder a node's implementation may use for "the implementation under test"
TARGET_PLACEHOLDER = "${target}"
#: the second placeholder, for interop scenarios: the other implementation of the pair (A, B) that
#: `--impls` expands to (A is `${target}`, B is `${peer}`); without `--impls` it is the reference node
PEER_PLACEHOLDER = "${peer}"
PLACEHOLDERS = (TARGET_PLACEHOLDER, PEER_PLACEHOLDER)


@dataclass(frozen=True)
class NodeSpec:
    name: str
    implementation: str  # "reference", "scripted", "cln", "lnd", ... or one of PLACEHOLDERS
    options: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0

    @property
    def is_target(self) -> bool:
        return self.implementation == TARGET_PLACEHOLDER

    @property
    def is_peer(self) -> bool:
        return self.implementation == PEER_PLACEHOLDER


@dataclass(frozen=True)
class StepCall:
    """One entry of `steps`: the step, the requirement ids it evidences, where it is written."""

    index: int
    step: Step
    evidences: tuple[str, ...]
    note: str
    line: int

    @property
    def name(self) -> str:
        return self.step.NAME


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    path: Path
    nodes: Mapping[str, NodeSpec]
    requirements: tuple[str, ...]
    steps: tuple[StepCall, ...]
    timeout_s: float
    tags: tuple[str, ...] = ()

    @property
    def uses_chain(self) -> bool:
        return any(call.step.USES_CHAIN for call in self.steps)

    @property
    def is_interop(self) -> bool:
        """An interop scenario runs per ordered pair of implementations (`${target}`, `${peer}`)."""
        return any(node.is_peer for node in self.nodes.values())

    def evidenced(self) -> set[str]:
        return {rid for call in self.steps for rid in call.evidences}
