"""BOLT test vectors: a registry of checks, each driven by a data file in vectors/.

Every module here named `boltNN_<area>.py` defines `BOLT: int` and `cases() -> Iterable[VectorCase]`.
A case's `check` returns a short detail string on success and raises `VectorMismatch` (or any
exception) on failure. Expected values always come from the data files, never from code.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from harness.paths import vectors_dir

_MODULE_NAME = re.compile(r"^bolt(\d\d)_\w+$")


class VectorMismatch(AssertionError):
    """A computed value differs from the one the vector file gives."""


@dataclass(frozen=True)
class VectorCase:
    bolt: int
    id: str
    check: Callable[[], str]


@dataclass(frozen=True)
class VectorResult:
    bolt: int
    id: str
    status: Literal["pass", "fail"]
    detail: str


def expect_equal(what: str, actual: object, expected: object) -> None:
    """Raise VectorMismatch naming `what` unless actual == expected (bytes shown as hex)."""
    if actual != expected:
        raise VectorMismatch(f"{what}: expected {_show(expected)}, got {_show(actual)}")


def _show(value: object) -> str:
    if isinstance(value, bytes | bytearray):
        return value.hex() or "<empty>"
    return repr(value)


def load_json(relative_path: str) -> Any:
    """Load a vector data file from vectors/ (for example "bolt01/bigsize.json")."""
    path: Path = vectors_dir() / relative_path
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def all_cases(bolts: Iterable[int] | None = None) -> Iterator[VectorCase]:
    wanted = set(bolts) if bolts else None
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        match = _MODULE_NAME.match(module_info.name)
        if not match:
            continue
        if wanted is not None and int(match.group(1)) not in wanted:
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        yield from module.cases()


def run_case(case: VectorCase) -> VectorResult:
    try:
        detail = case.check()
    except Exception as exc:  # a vector run must report every failure, whatever its type
        return VectorResult(case.bolt, case.id, "fail", f"{type(exc).__name__}: {exc}")
    return VectorResult(case.bolt, case.id, "pass", detail)
