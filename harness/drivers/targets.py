"""Which implementation a run tests: `reference`, `reference:defect=NAME`, `cln`, `lnd`, ... (any
implementation harness/drivers/registry.py knows)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.drivers.registry import implementation_names

CHAINS = ("embedded", "bitcoind")
LAUNCHERS = ("process", "docker", "attach")  # harness/launchers: LauncherKind
_TARGET = re.compile(r"^(?P<impl>[a-z][a-z0-9_-]*)(?::defect=(?P<defect>[a-z0-9_][a-z0-9_-]*))?$")


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
            raise TargetSpecError(f"bad target {text!r}: expected IMPLEMENTATION or reference:defect=NAME")
        implementation, defect = match.group("impl"), match.group("defect")
        known = implementation_names()
        if implementation not in known:
            raise TargetSpecError(
                f"unknown implementation {implementation!r}: expected one of {', '.join(known)}"
            )
        if defect is not None and implementation != "reference":
            raise TargetSpecError(
                f"{text!r}: defects exist only in the reference node (reference:defect=NAME)"
            )
        return cls(implementation, defect)

    def __str__(self) -> str:
        return self.implementation if self.defect is None else f"{self.implementation}:defect={self.defect}"
