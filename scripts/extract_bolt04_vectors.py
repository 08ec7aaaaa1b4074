#!/usr/bin/env python3
"""Produce vectors/bolt04/ from the BOLT 4 spec: the five JSON vector files (copied with a "source"
object) and the two markdown traces of 04-onion-routing.md "Test Vector" (Returning Errors,
Returning success), extracted into JSON.

Usage: extract_bolt04_vectors.py SPEC_DIR [OUT_DIR]

SPEC_DIR holds 04-onion-routing.md, SOURCE.txt and bolt04/*.json. Every value written is copied
from the spec; nothing is computed here.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

SPEC_FILE = "04-onion-routing.md"
JSON_FILES = {
    "onion-test.json": "Packet Construction / Onion Decryption",
    "onion-error-test.json": "Returning Errors, legacy failure without attribution",
    "route-blinding-test.json": "Route Blinding",
    "blinded-payment-onion-test.json": "Route Blinding, payment onion",
    "blinded-onion-message-onion-test.json": "Onion Messages",
}

_KV = re.compile(r"^\s*([a-z_]+(?:\[\d\])?)\s*=\s*(.+?)\s*$")
_NODE_VALUE = re.compile(r"^\s*(error packet|attribution data) for node (\d+):\s*([0-9a-f]*)\s*$")


class ExtractionError(ValueError):
    """The spec text does not have the shape this extractor expects."""


def _spec_commit(spec_dir: Path) -> str:
    match = re.search(r"\b([0-9a-f]{40})\b", (spec_dir / "SOURCE.txt").read_text(encoding="utf-8"))
    if not match:
        raise ExtractionError("no 40-hex commit in SOURCE.txt")
    return match.group(1)


def _source(commit: str, section: str) -> dict[str, str]:
    return {"bolt": "4", "spec_file": SPEC_FILE, "section": section, "spec_commit": commit}


def _section_lines(text: str, heading: str, after: str) -> list[str]:
    """Lines of `## heading` found after the `after` heading, up to the next level-1/2 heading."""
    lines = text.splitlines()
    start = lines.index(after)
    try:
        begin = lines.index(f"## {heading}", start)
    except ValueError as exc:
        raise ExtractionError(f"no '## {heading}' after '{after}'") from exc
    body = []
    for line in lines[begin + 1 :]:
        if re.match(r"^#{1,2} ", line):
            break
        body.append(line)
    return body


def _hex(value: str) -> str:
    value = value.removeprefix("0x")
    if not re.fullmatch(r"[0-9a-f]+", value):
        raise ExtractionError(f"not hex: {value[:40]}")
    return value


def _returning_errors(lines: list[str], commit: str) -> dict[str, Any]:
    params: dict[str, str] = {}
    erring: dict[str, str] = {}
    forwarding: list[dict[str, Any]] = []
    stage = "parameters"
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("# creating error message"):
            stage = "erring"
            continue
        if stripped.startswith("# forwarding error packet"):
            stage = "forwarding"
            forwarding.append({})
            continue
        node_value = _NODE_VALUE.match(line)
        if node_value:
            kind, node, value = node_value.groups()
            forwarding[-1]["node"] = int(node)
            forwarding[-1]["error_packet" if kind == "error packet" else "attribution_data"] = _hex(value)
            continue
        kv = _KV.match(line)
        if not kv:
            continue
        key, value = kv.groups()
        if stage == "parameters":
            params[key] = value
        elif stage == "erring":
            erring[key] = _hex(value)
        else:
            forwarding[-1][key] = _hex(value)
    nhops = int(params["nhops"])
    tlv_value = re.fullmatch(r"\[(\d+), (\d+), \.\.\., (\d+)\] \((\d+) bytes\)", params["value"])
    if not tlv_value or len(set(tlv_value.groups()[:3])) != 1:
        raise ExtractionError(f"unexpected tlv value description: {params['value']}")
    failure_source = re.fullmatch(r"node (\d+)", params["failure_source"])
    if not failure_source:
        raise ExtractionError(f"unexpected failure_source: {params['failure_source']}")
    return {
        "source": _source(commit, "Test Vector / Returning Errors"),
        "session_key": _hex(params["sessionkey"]),
        "hops": [
            {"pubkey": _hex(params[f"pubkey[{i}]"]), "htlc_hold_time": int(params[f"htlc_hold_time[{i}]"])}
            for i in range(nhops)
        ],
        "failure_source": int(failure_source.group(1)),
        "failure_message": {
            "name": params["failure_message"].strip("`"),
            "htlc_msat": int(params["htlc_msat"]),
            "height": int(params["height"]),
            "tlv_type": int(params["type"]),
            "tlv_value_byte": int(tlv_value.group(1)),
            "tlv_value_length": int(tlv_value.group(4)),
        },
        "erring_node": erring,
        "forwarding": forwarding,
    }


def _returning_success(lines: list[str], commit: str) -> dict[str, Any]:
    text = "\n".join(lines)
    found = re.findall(r"attribution data for node (\d+):\s*\n([0-9a-f]+)", text)
    if not found:
        raise ExtractionError("no attribution data in 'Returning success'")
    return {
        "source": _source(commit, "Test Vector / Returning success"),
        "comment": "Same parameters (session key, hops, hold times) as attributable-errors.json",
        "attribution_data": [{"node": int(node), "attribution_data": value} for node, value in found],
    }


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    spec_dir = Path(argv[1])
    default_out = Path(__file__).resolve().parent.parent / "vectors" / "bolt04"
    out_dir = Path(argv[2]) if len(argv) == 3 else default_out
    out_dir.mkdir(parents=True, exist_ok=True)
    commit = _spec_commit(spec_dir)
    outputs: dict[str, Any] = {}
    for name, section in JSON_FILES.items():
        data = json.loads((spec_dir / "bolt04" / name).read_text(encoding="utf-8"))
        outputs[name] = {"source": {**_source(commit, section), "file": f"bolt04/{name}"}, **data}
    text = (spec_dir / SPEC_FILE).read_text(encoding="utf-8")
    outputs["attributable-errors.json"] = _returning_errors(
        _section_lines(text, "Returning Errors", "# Test Vector"), commit
    )
    outputs["attributable-success.json"] = _returning_success(
        _section_lines(text, "Returning success", "# Test Vector"), commit
    )
    for name, data in outputs.items():
        (out_dir / name).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
