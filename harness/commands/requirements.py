"""`boltcheck requirements`: build the catalog from the BOLTs, check its quotes, show coverage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.paths import project_root
from harness.requirements import build_catalog, catalog_dir, check_quotes, load_catalog


def _default_bolts_dir() -> Path:
    # the spec copy vendored with the project (spec/bolts, CC-BY 4.0), the one the catalog was built from
    return project_root() / "spec" / "bolts"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("requirements", help="build or check the requirement catalog; coverage")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    build = actions.add_parser("build", help="extract every normative sentence into suites/requirements/")
    build.add_argument("--bolts", type=Path, default=None, help="folder of the BOLT markdown files")
    build.add_argument("--out", type=Path, default=None, help="catalog folder (default suites/requirements)")
    build.set_defaults(func=run_build)

    check = actions.add_parser("check", help="verify every catalogued quote still appears in the spec")
    check.add_argument("--bolts", type=Path, default=None, help="folder of the BOLT markdown files")
    check.set_defaults(func=run_check)

    coverage = actions.add_parser("coverage", help="checked/total requirements per BOLT and per level")
    coverage.add_argument("--report", type=Path, default=None, help="a report.json to add passed/failed from")
    coverage.add_argument("--suites", type=Path, default=None, help="scenario folder (default suites/)")
    coverage.set_defaults(func=run_coverage)


def run_build(args: argparse.Namespace) -> int:
    bolts_dir = args.bolts or _default_bolts_dir()
    out_dir = args.out or catalog_dir()
    results = build_catalog(bolts_dir, out_dir)
    for result in results:
        print(f"BOLT {result.bolt}: {result.count} requirements ({result.new_ids} new ids) -> {result.path}")
    print(f"total: {sum(r.count for r in results)} requirements")
    return 0 if results else 1


def run_check(args: argparse.Namespace) -> int:
    bolts_dir = args.bolts or _default_bolts_dir()
    catalog = load_catalog()
    missing = check_quotes(catalog, bolts_dir)
    for item in missing:
        print(f"MISSING {item.requirement_id} ({item.spec_file}): {item.quote}")
    quoted = len(catalog) - len({m.requirement_id for m in missing})
    print(f"{quoted}/{len(catalog)} requirements quoted verbatim")
    return 1 if missing else 0


def run_coverage(args: argparse.Namespace) -> int:
    # Imported here: coverage needs the scenario loader, which the build/check actions do not.
    from harness.requirements.coverage import compute_coverage, format_coverage

    coverage = compute_coverage(load_catalog(), args.suites, args.report)
    sys.stdout.write(format_coverage(coverage))
    return 0
