#!/usr/bin/env python3
"""Extract BOLT 1's test vectors (Appendices A-D of 01-messaging.md) into vectors/bolt01/*.json, and
wrap bolt07/extended-queries.json into vectors/bolt07/ with its source and zlib note.

Usage: scripts/extract_bolt01_vectors.py [SPEC_BOLTS_DIR [OUTPUT_VECTORS_DIR]]
(defaults: spec/bolts and this checkout's vectors/). The output is deterministic:
tests/test_wire_vector_extraction.py re-runs it into a temporary folder and compares.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def spec_commit(bolts: Path) -> str:
    return (bolts / "SOURCE.txt").read_text(encoding="utf-8").split()[1]


def section(text: str, heading: str) -> str:
    """The body of the markdown section whose heading line is exactly `heading`."""
    lines = text.splitlines()
    start = lines.index(heading)
    level = len(heading) - len(heading.lstrip("#"))
    body = []
    for line in lines[start + 1 :]:
        if line.startswith("#") and len(line) - len(line.lstrip("#")) <= level:
            break
        body.append(line)
    return "\n".join(body)


def json_block(body: str) -> Any:
    match = re.search(r"```json\n(.*?)```", body, re.S)
    if not match:
        raise SystemExit("no ```json block in section")
    return json.loads(match.group(1))


def source(
    commit: str, section_name: str, spec_file: str = "01-messaging.md", bolt: int = 1
) -> dict[str, Any]:
    return {"bolt": bolt, "spec_file": spec_file, "section": section_name, "spec_commit": commit}


def stream_hex(text: str) -> str:
    """'0x01 09 ffff' -> '0109ffff' (the spec separates type, length and value with spaces)."""
    return text.strip().removeprefix("0x").replace(" ", "")


_NAMESPACE_SENTENCE = re.compile(r"^(The following|In addition, the following) TLV stream", re.M)


def namespaces_of(paragraph: str) -> list[str]:
    if "any namespace" in paragraph or "either namespace" in paragraph:
        return ["n1", "n2"]
    found = re.findall(r"`(n\d)`", paragraph)
    if len(set(found)) != 1:
        raise SystemExit(f"cannot tell the namespace of: {paragraph!r}")
    return [found[0]]


def parse_values(text: str) -> dict[str, dict[str, Any]]:
    """'`tlv3` `node_id`=02ab `amount_msat_1`=1' -> {"tlv3": {"node_id": "02ab", "amount_msat_1": 1}}."""
    tokens = re.findall(r"`(\w+)`(?:=(\S+))?", text)
    record = tokens[0][0]
    values: dict[str, Any] = {}
    for name, raw in tokens[1:]:
        values[name] = int(raw) if raw.isdigit() else raw
    return {record: values}


def tlv_cases(body: str, kind: str) -> list[dict[str, Any]]:
    """Numbered `1. Invalid stream:`/`1. Valid stream:` items, under the sentence naming the namespace."""
    cases: list[dict[str, Any]] = []
    namespaces: list[str] = []
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if _NAMESPACE_SENTENCE.match(line):
            paragraph = " ".join(lines[i : i + 3])
            namespaces = namespaces_of(paragraph.split(":")[0])
        match = re.match(r"^1\. (Invalid|Valid) stream: (.*)$", line)
        if not match:
            continue
        detail = re.match(r"^2\. (Reason|Explanation|Values): (.*)$", lines[i + 1])
        if not detail:
            raise SystemExit(f"stream without a reason/values line: {line!r}")
        case: dict[str, Any] = {"stream": stream_hex(match.group(2)), "namespaces": namespaces}
        if detail.group(1) == "Values":
            case["values"] = parse_values(detail.group(2))
        else:
            case["explanation" if kind == "success" else "reason"] = detail.group(2)
            if kind == "success":
                case["values"] = None  # "should correctly decode, and be ignored"
        cases.append(case)
    return cases


def extension_cases(body: str) -> list[dict[str, Any]]:
    cases = []
    valid = True
    for line in body.splitlines():
        if line.startswith("The following `init` messages are valid"):
            valid = True
        elif line.startswith("The following `init` messages are invalid"):
            valid = False
        match = re.match(r"^- `0x([0-9a-f]+)`: (.*)$", line)
        if match:
            cases.append({"message": match.group(1), "valid": valid, "explanation": match.group(2)})
    return cases


def write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"{path}: {len(data['cases'])} cases")


def main() -> None:
    bolts = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "spec" / "bolts"
    )
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "vectors"
    extract(bolts, out / "bolt01", out / "bolt07")


def extract(bolts: Path, out01: Path, out07: Path) -> None:
    commit = spec_commit(bolts)
    text = (bolts / "01-messaging.md").read_text(encoding="utf-8")
    out01.mkdir(parents=True, exist_ok=True)

    appendix_a = "Appendix A: BigSize Test Vectors"
    for heading, name in (
        ("BigSize Decoding Tests", "bigsize-decoding"),
        ("BigSize Encoding Tests", "bigsize-encoding"),
    ):
        cases = json_block(section(text, f"### {heading}"))
        write(out01 / f"{name}.json", {"source": source(commit, f"{appendix_a} / {heading}"), "cases": cases})

    appendix_b = "Appendix B: Type-Length-Value Test Vectors"
    for heading, name, kind in (
        ("TLV Decoding Failures", "tlv-decoding-failures", "failure"),
        ("TLV Decoding Successes", "tlv-decoding-successes", "success"),
        ("TLV Stream Decoding Failure", "tlv-stream-decoding-failures", "failure"),
    ):
        data = {
            "source": source(commit, f"{appendix_b} / {heading}"),
            "namespaces_note": "n1 and n2 are the test namespaces Appendix B defines; "
            "harness/vectors/bolt01_tlv.py defines them with the project's TLV machinery.",
            "cases": tlv_cases(section(text, f"### {heading}"), kind),
        }
        write(out01 / f"{name}.json", data)

    appendix_c = "Appendix C: Message Extension"
    write(
        out01 / "message-extension.json",
        {"source": source(commit, appendix_c), "cases": extension_cases(section(text, f"## {appendix_c}"))},
    )

    appendix_d = "Appendix D: Signed Integers Test Vectors"
    cases = json_block(section(text, f"## {appendix_d}"))
    write(
        out01 / "signed-integers.json",
        {
            "source": source(commit, appendix_d),
            "note": "each value is encoded with the smallest of s8/s16/s32/s64 that holds it; "
            "the byte length says which type",
            "cases": cases,
        },
    )

    extended = json.loads((bolts / "bolt07" / "extended-queries.json").read_text(encoding="utf-8"))
    for case in extended:
        case["uses_zlib"] = "COMPRESSED_ZLIB" in json.dumps(case["msg"])
    out07.mkdir(parents=True, exist_ok=True)
    write(
        out07 / "extended-queries.json",
        {
            "source": source(
                commit, "Query Messages (bolt07/extended-queries.json)", "bolt07/extended-queries.json", 7
            ),
            "zlib_policy": (
                "07-routing-gossip.md now says encoding type 1 (COMPRESSED_ZLIB) 'MUST NOT be used'. "
                "The codec keeps encoded_short_ids / encoded_query_flags / encoded_timestamps as raw bytes, "
                "so every case still decodes and re-encodes byte for byte. Decoding the encoded arrays "
                "for processing (the default) raises ForbiddenEncodingError on zlib; cases with "
                "uses_zlib=true check that, and check the decompressed contents only through the explicit "
                "inspection mode (allow_zlib=True)."
            ),
            "cases": extended,
        },
    )


if __name__ == "__main__":
    main()
