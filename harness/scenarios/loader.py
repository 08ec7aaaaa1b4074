"""Load and validate scenario files; every problem is reported as FILE:LINE: message.

Checked when the file loads, before anything runs: unknown top-level, node or step fields; unknown step
names; argument types and values; node names a step uses; requirement ids against the catalog; that the
scenario's `requirements` list and its steps' `evidences` agree.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any

from harness.drivers.registry import SCRIPTED, implementation_names
from harness.requirements import Catalog
from harness.scenarios.model import PLACEHOLDERS, NodeSpec, Scenario, StepCall
from harness.scenarios.registry import step_class, step_names
from harness.scenarios.source import LineDict, LineList, ScenarioSyntaxError, load_yaml_with_lines
from harness.scenarios.step import FieldsMarker, HexMarker, NodeKind, NodeRef, Step

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_NODE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_FIELDS = {"name": True, "description": True, "nodes": True, "requirements": True, "steps": True}
_TOP_OPTIONAL = {"tags", "timeout_s"}
_NODE_FIELDS = {"implementation", "options"}
_STEP_META = {"evidences", "note"}
# Options each implementation understands (see harness/drivers/reference.py); others pass through to
# their driver unchecked, since the target behind ${target} is only known at run time.
NODE_OPTIONS: dict[str, frozenset[str]] = {
    "scripted": frozenset({"features", "globalfeatures", "networks"}),
    "reference": frozenset({"features", "gossip"}),
}
DEFAULT_SCENARIO_TIMEOUT_S = 60.0
#: the manifest of named suites in suites/ (not a scenario)
SUITES_MANIFEST = "suites.yaml"


class ScenarioError(ValueError):
    """A scenario file is invalid; the message starts with FILE:LINE."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.detail = message


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Loader:
    def __init__(self, path: Path, catalog: Catalog) -> None:
        self.path = path
        self.catalog = catalog
        self.nodes: dict[str, NodeSpec] = {}

    def fail(self, line: int, message: str) -> ScenarioError:
        return ScenarioError(self.path, line, message)

    def check_fields(
        self, mapping: LineDict, allowed: Iterable[str], required: Iterable[str], what: str
    ) -> None:
        allowed_set = set(allowed)
        for key in mapping:
            if key not in allowed_set:
                raise self.fail(
                    mapping.key_lines[key],
                    f"unknown field {key!r} in {what}{_suggest(key, allowed_set)}; "
                    f"allowed: {', '.join(sorted(allowed_set))}",
                )
        for key in required:
            if key not in mapping:
                raise self.fail(mapping.line, f"{what} lacks required field {key!r}")

    def load(self) -> Scenario:
        try:
            document = load_yaml_with_lines(self.path)
        except ScenarioSyntaxError as exc:
            raise ScenarioError(self.path, 0, str(exc).split(": ", 1)[-1]) from exc
        if not isinstance(document, LineDict):
            raise self.fail(1, "a scenario is a YAML mapping (name, description, nodes, requirements, steps)")
        self.check_fields(document, [*_TOP_FIELDS, *_TOP_OPTIONAL], _TOP_FIELDS, "the scenario")
        name = self.string(document, "name")
        if not _NAME.match(name):
            raise self.fail(document.value_lines["name"], f"name {name!r} must match {_NAME.pattern}")
        description = self.string(document, "description")
        self.load_nodes(document)
        requirements = self.load_requirements(document)
        steps = self.load_steps(document)
        self.check_requirements_agree(document, requirements, steps)
        timeout_s = document.get("timeout_s", DEFAULT_SCENARIO_TIMEOUT_S)
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
            raise self.fail(
                document.value_lines.get("timeout_s", 0),
                f"timeout_s must be a positive number, got {timeout_s!r}",
            )
        tags = document.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise self.fail(document.value_lines.get("tags", 0), "tags must be a list of strings")
        return Scenario(
            name=name,
            description=description,
            path=self.path,
            nodes=dict(self.nodes),
            requirements=tuple(requirements),
            steps=tuple(steps),
            timeout_s=float(timeout_s),
            tags=tuple(tags),
        )

    def string(self, mapping: LineDict, key: str) -> str:
        value = mapping[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(mapping.value_lines[key], f"{key} must be a non-empty string, got {value!r}")
        return value

    def load_nodes(self, document: LineDict) -> None:
        nodes = document["nodes"]
        if not isinstance(nodes, LineDict) or not nodes:
            raise self.fail(
                document.value_lines["nodes"], "nodes must map node names to {implementation: ...}"
            )
        for node_name, spec in nodes.items():
            line = nodes.key_lines[node_name]
            if not _NODE_NAME.match(node_name):
                raise self.fail(line, f"node name {node_name!r} must match {_NODE_NAME.pattern}")
            if not isinstance(spec, LineDict):
                raise self.fail(line, f"node {node_name!r} must be a mapping with an implementation")
            self.check_fields(spec, _NODE_FIELDS, ["implementation"], f"node {node_name!r}")
            implementation = spec["implementation"]
            implementations = (SCRIPTED, *PLACEHOLDERS, *implementation_names())
            if implementation not in implementations:
                raise self.fail(
                    spec.value_lines["implementation"],
                    f"node {node_name!r}: unknown implementation {implementation!r}; "
                    f"expected one of {', '.join(implementations)}",
                )
            options = spec.get("options", {})
            if not isinstance(options, dict):
                raise self.fail(spec.value_lines["options"], f"node {node_name!r}: options must be a mapping")
            known = NODE_OPTIONS.get(implementation)
            if known is not None and isinstance(options, LineDict):
                self.check_fields(options, known, (), f"options of node {node_name!r} ({implementation})")
            self.nodes[node_name] = NodeSpec(node_name, implementation, _plain(options), line)
        peers = [node for node in self.nodes.values() if node.is_peer]
        if peers and not any(node.is_target for node in self.nodes.values()):
            raise self.fail(
                peers[0].line,
                "a node is ${peer} (the second implementation of an interop pair) but none is ${target}",
            )

    def requirement_id(self, value: Any, line: int) -> str:
        if not isinstance(value, str):
            raise self.fail(line, f"a requirement id must be a string, got {value!r}")
        if value not in self.catalog:
            raise self.fail(
                line,
                f"unknown requirement id {value!r}{_suggest(value, self.catalog.requirements)}: "
                "not in suites/requirements/",
            )
        return value

    def load_requirements(self, document: LineDict) -> list[str]:
        listed = document["requirements"]
        if not isinstance(listed, LineList) or not listed:
            raise self.fail(
                document.value_lines["requirements"], "requirements must be a non-empty list of ids"
            )
        ids = [self.requirement_id(v, listed.item_lines[i]) for i, v in enumerate(listed)]
        for i, rid in enumerate(ids):
            if rid in ids[:i]:
                raise self.fail(listed.item_lines[i], f"requirement {rid!r} listed twice")
        return ids

    def load_steps(self, document: LineDict) -> list[StepCall]:
        entries = document["steps"]
        if not isinstance(entries, LineList) or not entries:
            raise self.fail(document.value_lines["steps"], "steps must be a non-empty list")
        return [self.load_step(i, entry, entries.item_lines[i]) for i, entry in enumerate(entries)]

    def load_step(self, index: int, entry: Any, line: int) -> StepCall:
        if not isinstance(entry, LineDict):
            raise self.fail(line, "a step is a mapping: {<step name>: {arguments}, evidences: [ids]}")
        names = [k for k in entry if k not in _STEP_META]
        if len(names) != 1:
            raise self.fail(line, f"a step names exactly one step, found {names or 'none'}")
        name = names[0]
        cls = step_class(name)
        if cls is None:
            raise self.fail(entry.key_lines[name], f"unknown step {name!r}{_suggest(name, step_names())}")
        args = entry[name]
        if args is None:
            args = LineDict()
            args.line, args.key_lines, args.value_lines = entry.key_lines[name], {}, {}
        if not isinstance(args, LineDict):
            raise self.fail(
                entry.value_lines[name], f"step {name!r}: arguments must be a mapping, got {args!r}"
            )
        step = self.build_step(cls, args)
        evidences: list[str] = []
        if "evidences" in entry:
            listed = entry["evidences"]
            if not isinstance(listed, LineList) or not listed:
                raise self.fail(
                    entry.value_lines["evidences"], "evidences must be a non-empty list of requirement ids"
                )
            evidences = [self.requirement_id(v, listed.item_lines[i]) for i, v in enumerate(listed)]
        note = entry.get("note", "")
        if not isinstance(note, str):
            raise self.fail(entry.value_lines["note"], "note must be a string")
        return StepCall(index=index, step=step, evidences=tuple(evidences), note=note, line=line)

    def build_step(self, cls: type[Step], args: LineDict) -> Step:
        hints = typing.get_type_hints(cls, include_extras=True)
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        required = [
            n
            for n, f in fields.items()
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        self.check_fields(args, fields, required, f"step {cls.NAME!r}")
        values = {}
        for key, value in args.items():
            where = args.value_lines[key]
            values[key] = self.convert(hints[key], value, where, f"{cls.NAME}.{key}")
        step = cls(**values)
        try:
            step.check_arguments()
        except ValueError as exc:
            raise self.fail(args.line, f"step {cls.NAME!r}: {exc}") from exc
        return step

    def convert(self, hint: Any, value: Any, line: int, what: str) -> Any:
        origin = typing.get_origin(hint)
        if origin is typing.Annotated:
            base, *markers = typing.get_args(hint)
            for marker in markers:
                if isinstance(marker, NodeRef):
                    return self.node_name(marker.kind, value, line, what)
                if isinstance(marker, HexMarker):
                    return self.hex_bytes(value, line, what)
                if isinstance(marker, FieldsMarker):
                    if not isinstance(value, dict):
                        raise self.fail(line, f"{what}: expected a mapping of message fields, got {value!r}")
                    return {k: self.field_value(v, line, f"{what}.{k}") for k, v in value.items()}
            return self.convert(base, value, line, what)
        if origin in (types.UnionType, typing.Union):
            options = typing.get_args(hint)
            if value is None and type(None) in options:
                return None
            (non_none,) = [o for o in options if o is not type(None)]
            return self.convert(non_none, value, line, what)
        if origin is list:
            (item_hint,) = typing.get_args(hint)
            if not isinstance(value, list):
                raise self.fail(line, f"{what}: expected a list, got {value!r}")
            lines = value.item_lines if isinstance(value, LineList) else [line] * len(value)
            return [self.convert(item_hint, v, lines[i], f"{what}[{i}]") for i, v in enumerate(value)]
        if isinstance(hint, type) and issubclass(hint, Enum):
            choices = [m.value for m in hint]
            if value not in choices:
                raise self.fail(line, f"{what}: {value!r} is not one of {choices}")
            return hint(value)
        if hint is bool:
            if not isinstance(value, bool):
                raise self.fail(line, f"{what}: expected true or false, got {value!r}")
            return value
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(line, f"{what}: expected an integer, got {value!r}")
            return value
        if hint is float:
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise self.fail(line, f"{what}: expected a positive number, got {value!r}")
            return float(value)
        if hint is str:
            if not isinstance(value, str):
                raise self.fail(line, f"{what}: expected a string, got {value!r}")
            return value
        raise self.fail(line, f"{what}: the step declares an argument type the loader cannot read: {hint!r}")

    def node_name(self, kind: NodeKind, value: Any, line: int, what: str) -> str:
        if not isinstance(value, str) or value not in self.nodes:
            raise self.fail(
                line,
                f"{what}: unknown node {value!r}{_suggest(str(value), self.nodes)}; "
                f"nodes: {', '.join(self.nodes)}",
            )
        scripted = self.nodes[value].implementation == "scripted"
        if (kind is NodeKind.PEER and not scripted) or (kind is NodeKind.DRIVER and scripted):
            raise self.fail(line, f"{what}: node {value!r} is not a {kind.value}")
        return value

    def hex_bytes(self, value: Any, line: int, what: str) -> bytes:
        if isinstance(value, str):
            try:
                return bytes.fromhex(value)
            except ValueError as exc:
                raise self.fail(line, f"{what}: not a hex string: {exc}") from exc
        raise self.fail(line, f"{what}: expected a hex string, got {value!r}")

    def field_value(self, value: Any, line: int, what: str) -> Any:
        """Message field values: scalars, lists and nested records pass; {zeros: N} expands to N zero
        bytes in hex; {present: true|false} is a matcher for expect steps (a send rejects it)."""
        if isinstance(value, dict):
            if set(value) == {"zeros"} and isinstance(value["zeros"], int) and value["zeros"] >= 0:
                return "00" * value["zeros"]
            if set(value) == {"present"} and isinstance(value["present"], bool):
                return {"present": value["present"]}
            # nested records (`tlvs: {networks: {chains: [...]}}`)
            return {k: self.field_value(v, line, f"{what}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.field_value(v, line, what) for v in value]
        if value is None or isinstance(value, str | int | bool):
            return value
        raise self.fail(line, f"{what}: unsupported field value {value!r}")

    def check_requirements_agree(self, document: LineDict, listed: list[str], steps: list[StepCall]) -> None:
        evidenced = set()
        for call in steps:
            for rid in call.evidences:
                evidenced.add(rid)
                if rid not in listed:
                    raise self.fail(
                        call.line,
                        f"step {call.index} evidences {rid!r}, which the scenario's requirements do not list",
                    )
        for i, rid in enumerate(listed):
            if rid not in evidenced:
                raise self.fail(
                    document["requirements"].item_lines[i],
                    f"requirement {rid!r} is listed but no step evidences it",
                )


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_scenario(path: Path, catalog: Catalog) -> Scenario:
    """Load one scenario file; raise ScenarioError (FILE:LINE: message) if anything is wrong."""
    return _Loader(path, catalog).load()


def scenario_files(root: Path) -> list[Path]:
    """Scenario files under a folder (or the file itself), skipping the requirement catalog."""
    if root.is_file():
        return [root]
    # requirements/ is the catalog; defects/ holds what each reference defect must fail (not scenarios);
    # suites.yaml is the manifest of named suites (harness/scenarios/manifest.py)
    skipped = {"requirements", "defects"}
    return sorted(
        p
        for p in root.rglob("*.yaml")
        if not skipped & set(p.relative_to(root).parts) and p.name != SUITES_MANIFEST
    )
