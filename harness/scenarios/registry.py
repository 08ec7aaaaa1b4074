"""The step registry: every module in harness/scenarios/steps/ registers its steps on import.

Adding steps (channels, chain, ...) means adding a module there; the core does not change.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import TypeVar

from harness.scenarios import steps as steps_package
from harness.scenarios.step import Step

S = TypeVar("S", bound=type[Step])

_STEPS: dict[str, type[Step]] = {}
_discovered = False


class StepRegistrationError(TypeError):
    """A step class is not a frozen dataclass with a unique NAME."""


def register_step(cls: S) -> S:
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:
        raise StepRegistrationError(f"{cls.__qualname__}: a step must be a frozen dataclass")
    name = getattr(cls, "NAME", None)
    if not isinstance(name, str) or not name:
        raise StepRegistrationError(f"{cls.__qualname__}: a step needs a NAME")
    existing = _STEPS.get(name)
    if existing is not None and existing is not cls:
        raise StepRegistrationError(
            f"step {name!r} registered twice: {existing.__qualname__}, {cls.__qualname__}"
        )
    _STEPS[name] = cls
    return cls


def discover_steps() -> None:
    """Import every module under harness/scenarios/steps/ once."""
    global _discovered
    if _discovered:
        return
    for module_info in sorted(pkgutil.iter_modules(steps_package.__path__), key=lambda m: m.name):
        if not module_info.name.startswith("_"):
            importlib.import_module(f"{steps_package.__name__}.{module_info.name}")
    _discovered = True


def step_class(name: str) -> type[Step] | None:
    discover_steps()
    return _STEPS.get(name)


def step_names() -> list[str]:
    discover_steps()
    return sorted(_STEPS)
