"""YAML with line numbers: mappings and lists remember where each of their entries starts.

Every loader error names FILE:LINE, so the values the loader validates carry their marks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class LineDict(dict[str, Any]):
    """A YAML mapping; `line` is where it starts, `key_lines[k]` where key k is (1-based)."""

    line: int
    key_lines: dict[str, int]
    value_lines: dict[str, int]


class LineList(list[Any]):
    """A YAML sequence; `line` is where it starts, `item_lines[i]` where item i starts (1-based)."""

    line: int
    item_lines: list[int]


class ScenarioSyntaxError(ValueError):
    """The file is not valid YAML, or uses YAML features the scenario format forbids."""


class _LineLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:  # type: ignore[override]
        mapping = LineDict()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        mapping.value_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise ScenarioSyntaxError(
                    f"line {key_node.start_mark.line + 1}: keys must be strings, got {key!r}"
                )
            if key in mapping:
                raise ScenarioSyntaxError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = key_node.start_mark.line + 1
            mapping.value_lines[key] = value_node.start_mark.line + 1
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> LineList:
        items = LineList(self.construct_object(child, deep=True) for child in node.value)
        items.line = node.start_mark.line + 1
        items.item_lines = [child.start_mark.line + 1 for child in node.value]
        return items


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence)


def load_yaml_with_lines(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise ScenarioSyntaxError(f"{path}:{line}: invalid YAML: {exc.problem}") from exc
    except ScenarioSyntaxError as exc:
        raise ScenarioSyntaxError(f"{path}:{str(exc).removeprefix('line ')}") from exc
