#!/usr/bin/env python3
"""Extract the BOLT 8 test vectors (Appendix A of 08-transport.md) into JSON files in vectors/bolt08/.

Usage: extract_bolt08_vectors.py SPEC_DIR [OUT_DIR]

SPEC_DIR holds 08-transport.md and SOURCE.txt (the spec commit). Three files are written:
transport-initiator.json, transport-responder.json and message-encryption.json. Every value in them is
copied from the spec text; nothing is computed here.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

SPEC_FILE = "08-transport.md"
APPENDIX = "Appendix A: Transport Test Vectors"

_HEX = r"(?:0x)?([0-9a-fA-F]+)"
_ACT_HEADER = re.compile(r"^# Act (One|Two|Three)$")
_ACT_NUMBER = {"One": 1, "Two": 2, "Three": 3}
_KEY_LINE = re.compile(r"^(rs\.pub|ls\.priv|ls\.pub|e\.priv|e\.pub)\s*[:=]\s*" + _HEX + "$")
_INPUT = re.compile(r"^input:\s*" + _HEX + "$")
_OUTPUT_HEX = re.compile(r"^output:\s*" + _HEX + "$")
_OUTPUT_ERROR = re.compile(r"^output:\s*ERROR \((ACT\d_[A-Z_]+)(?: (\d+))?\)$")
_OUTPUT_KEYS = re.compile(r"^output:\s*(sk,rk|rk,sk)=" + _HEX + r"\s*,\s*" + _HEX + "$")
_TRACE = re.compile(r"^# ([a-z_0-9]+(?:,[a-z_0-9]+)*)=(.+)$")
_MSG_OUTPUT = re.compile(r"^output (\d+):\s*" + _HEX + "$")
_MSG_KEY = re.compile(r"^(ck|sk|rk)=" + _HEX + "$")
_MSG_CLEARTEXT = re.compile(r"^# encrypt m: cleartext=" + _HEX + ",")
_MSG_ROTATION = re.compile(r"^# " + _HEX + r", " + _HEX + r" = HKDF\(" + _HEX + r", " + _HEX + r"\)$")


class ExtractionError(ValueError):
    """The spec text does not have the shape this extractor expects."""


def _section(text: str, heading: str) -> list[str]:
    """The stripped lines of a `## heading` section, up to the next heading of level 1 or 2."""
    lines = text.splitlines()
    try:
        start = lines.index(f"## {heading}")
    except ValueError as exc:
        raise ExtractionError(f"no '## {heading}' heading in {SPEC_FILE}") from exc
    body: list[str] = []
    for line in lines[start + 1 :]:
        if re.match(r"^#{1,2} ", line):
            break
        body.append(line.strip())
    return body


def _split_tests(lines: list[str]) -> list[list[str]]:
    tests: list[list[str]] = []
    for line in lines:
        if line.startswith("name:"):
            tests.append([line])
        elif tests and line and line != "```":
            tests[-1].append(line)
    return tests


def _trace_items(act: int, names: str, values: str) -> list[dict[str, Any]]:
    keys = names.split(",")
    parts = [p.strip() for p in values.split(",")]
    if len(parts) != len(keys):
        return []
    items = []
    for key, part in zip(keys, parts, strict=True):
        match = re.fullmatch(_HEX, part)
        if match:
            items.append({"act": act, "name": key, "hex": match.group(1).lower()})
    return items


def _parse_handshake_test(role: str, lines: list[str]) -> dict[str, Any]:
    test: dict[str, Any] = {"name": lines[0].split(":", 1)[1].strip(), "role": role, "keys": {}}
    steps: list[dict[str, Any]] = []
    trace: list[dict[str, Any]] = []
    act = 1
    for line in lines[1:]:
        if header := _ACT_HEADER.match(line):
            act = _ACT_NUMBER[header.group(1)]
        elif key := _KEY_LINE.match(line):
            test["keys"][key.group(1).replace(".", "_")] = key.group(2).lower()
        elif found := _INPUT.match(line):
            steps.append({"act": act, "kind": "input", "hex": found.group(1).lower()})
        elif found := _OUTPUT_KEYS.match(line):
            first, second = found.group(1).split(",")
            steps.append(
                {"act": act, "kind": "keys", first: found.group(2).lower(), second: found.group(3).lower()}
            )
        elif found := _OUTPUT_HEX.match(line):
            steps.append({"act": act, "kind": "output", "hex": found.group(1).lower()})
        elif found := _OUTPUT_ERROR.match(line):
            detail = found.group(2)
            steps.append({"act": act, "kind": "error", "error": found.group(1), "detail": detail})
        elif found := _TRACE.match(line):
            trace.extend(_trace_items(act, found.group(1), found.group(2)))
        elif not line.startswith("#"):
            raise ExtractionError(f"{test['name']}: unrecognised line {line!r}")
    test["steps"] = steps
    test["trace"] = trace
    return test


def _parse_message_test(lines: list[str]) -> dict[str, Any]:
    tests = _split_tests(lines)
    if len(tests) != 1:
        raise ExtractionError(f"expected one message encryption test, found {len(tests)}")
    lines = tests[0]
    test: dict[str, Any] = {"name": lines[0].split(":", 1)[1].strip(), "outputs": [], "rotations": []}
    for line in lines[1:]:
        if key := _MSG_KEY.match(line):
            test[key.group(1)] = key.group(2).lower()
        elif (clear := _MSG_CLEARTEXT.match(line)) and "message" not in test:
            test["message"] = clear.group(1).lower()
        elif out := _MSG_OUTPUT.match(line):
            test["outputs"].append({"index": int(out.group(1)), "hex": out.group(2).lower()})
        elif rot := _MSG_ROTATION.match(line):
            rotation = {
                "ck": rot.group(3).lower(),
                "k": rot.group(4).lower(),
                "next_ck": rot.group(1).lower(),
                "next_k": rot.group(2).lower(),
            }
            # The spec prints each rotation line twice (once per key pair step); keep one.
            if rotation not in test["rotations"]:
                test["rotations"].append(rotation)
    for required in ("ck", "sk", "rk", "message"):
        if required not in test:
            raise ExtractionError(f"message encryption test: no {required}")
    return test


def _source(section: str, commit: str) -> dict[str, str]:
    return {"bolt": "8", "spec_file": SPEC_FILE, "section": f"{APPENDIX} / {section}", "spec_commit": commit}


def extract(spec_dir: Path) -> dict[str, dict[str, Any]]:
    text = (spec_dir / SPEC_FILE).read_text(encoding="utf-8")
    commit = (spec_dir / "SOURCE.txt").read_text(encoding="utf-8").split()[1]
    initiator = [
        _parse_handshake_test("initiator", t) for t in _split_tests(_section(text, "Initiator Tests"))
    ]
    responder = [
        _parse_handshake_test("responder", t) for t in _split_tests(_section(text, "Responder Tests"))
    ]
    message = _parse_message_test(_section(text, "Message Encryption Tests"))
    return {
        "transport-initiator.json": {"source": _source("Initiator Tests", commit), "tests": initiator},
        "transport-responder.json": {"source": _source("Responder Tests", commit), "tests": responder},
        "message-encryption.json": {"source": _source("Message Encryption Tests", commit), "test": message},
    }


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    spec_dir = Path(argv[1])
    out_dir = (
        Path(argv[2]) if len(argv) == 3 else Path(__file__).resolve().parent.parent / "vectors" / "bolt08"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, content in extract(spec_dir).items():
        (out_dir / name).write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {out_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
