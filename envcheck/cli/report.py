"""`envcheck report FILE|DIR...`: many documents folded into groups of identical stacks (envcheck.fleet)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from envcheck.errors import UsageError

EXIT_OK, EXIT_PROBLEMS = 0, 1


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    help_text = "fold many inspect/doctor/smoke documents (or fleet envelopes) into groups of identical stacks"
    p = sub.add_parser(
        "report", help=help_text,
        description=help_text + ". Exit 0: one group, no error finding; 1: drift, an error finding, or a node "
        "that answered nothing.",
    )  # fmt: skip
    p.add_argument("paths", nargs="*", metavar="FILE|DIR", help="documents; a directory means its *.json")
    p.add_argument("--json", action="store_true", help="print the report as JSON (schema 1)")


def _print_lines(lines: list[str]) -> None:
    sys.stdout.write("".join(line + "\n" for line in lines))


def _emit(report: Any, as_json: bool) -> int:
    from envcheck.render.fleet import report_lines

    if as_json:
        # Indented for a person up to 100 nodes; beyond, compact (the C encoder: 1,000 nodes in 0.1 s, not 0.7 s).
        indent = 2 if len(report.nodes) <= 100 else None
        sys.stdout.write(json.dumps(report.to_json(), indent=indent) + "\n")
    else:
        _print_lines(report_lines(report))
    return int(report.exit_code)


def cmd_report(args: argparse.Namespace) -> int:
    from envcheck.fleet.documents import load_nodes
    from envcheck.fleet.report import build_report

    nodes, unreachable = load_nodes(args.paths)
    if not nodes and not unreachable:
        raise UsageError("no nodes in these documents")
    return _emit(build_report(nodes, unreachable), args.json)
