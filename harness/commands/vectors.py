"""`boltcheck vectors`: run every BOLT test vector the project has, from vectors/."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from harness.vectors import all_cases, run_case


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("vectors", help="check every BOLT test vector, byte for byte")
    parser.add_argument("--bolt", type=int, action="append", metavar="N", help="only this BOLT (repeatable)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    results = [run_case(case) for case in all_cases(args.bolt)]
    failed = [r for r in results if r.status == "fail"]
    if args.json:
        json.dump({"results": [asdict(r) for r in results]}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        for result in results:
            mark = "PASS" if result.status == "pass" else "FAIL"
            print(f"{mark} bolt{result.bolt:02d} {result.id}: {result.detail}")
        by_bolt: dict[int, list[int]] = {}
        for result in results:
            counts = by_bolt.setdefault(result.bolt, [0, 0])
            counts[0 if result.status == "pass" else 1] += 1
        for bolt, (passed, fail) in sorted(by_bolt.items()):
            print(f"BOLT {bolt}: {passed} passed, {fail} failed")
    if not results:
        print("no vectors selected", file=sys.stderr)
        return 1
    return 1 if failed else 0
