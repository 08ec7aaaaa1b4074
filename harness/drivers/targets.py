"""Which implementation a run tests: `reference`, `reference:defect=NAME`, `cln`, `lnd`."""

from __future__ import annotations

import re
from dataclasses import dataclass

KNOWN_IMPLEMENTATIONS = ("reference", "cln", "lnd", "electrum")
CHAINS = ("embedded", "bitcoind")
LAUNCHERS = ("process", "docker", "attach")  # harness/launchers: LauncherKind
_TARGET = re.compile(r"^(?P<impl>[a-z][a-z0-9_]*)(?::defect=(?P<defect>[a-z0-9_][a-z0-9_-]*))?$")


class TargetSpecError(ValueError):
    """A --target value that is not `IMPL` or `reference:defect=NAME`."""


@dataclass(frozen=True)
class TargetSpec:
    implementation: str
    defect: str | None = None

    @classmethod
    def parse(cls, text: str) -> TargetSpec:
        match = _TARGET.match(text.strip())
        if not match:
            raise TargetSpecError(
                f"bad target {text!r}: expected one of {KNOWN_IMPLEMENTATIONS} or reference:defect=NAME"
            )
        implementation, defect = match.group("impl"), match.group("defect")
        if implementation not in KNOWN_IMPLEMENTATIONS:
            raise TargetSpecError(
                f"unknown implementation {implementation!r}: expected one of {KNOWN_IMPLEMENTATIONS}"
            )
        if defect is not None and implementation != "reference":
            raise TargetSpecError(
                f"{text!r}: defects exist only in the reference node (reference:defect=NAME)"
            )
        return cls(implementation, defect)

    def __str__(self) -> str:
        return self.implementation if self.defect is None else f"{self.implementation}:defect={self.defect}"
