"""`envcheck diff A B`: two machines side by side, files or --python targets (envcheck.fleet.diff)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from envcheck.cli.report import EXIT_OK, EXIT_PROBLEMS, _print_lines
from envcheck.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    help_text = "two machines side by side: the stack keys that differ, then every other fact"
    p = sub.add_parser(
        "diff", help=help_text, description=help_text + " (volatile keys ignored). Exit 0 same, 1 different."
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="inspect --json documents (or envelopes)")
    p.add_argument("--python", action="append", default=[], metavar="PATH", help="inspect this interpreter as a side")
    p.add_argument("--json", action="store_true", help="print the differences as JSON (schema 1)")
    p.add_argument("--timeout", type=float, default=5.0, help=argparse.SUPPRESS)


def _side(path: str | None, python: str | None, timeout: float) -> tuple[dict[str, Any], str]:
    from pathlib import Path

    from envcheck.fleet.documents import kind_of, nodes_of, read_json

    if python is not None:
        from envcheck.facts.complete import complete
        from envcheck.facts.document import to_document
        from envcheck.matrix import load_matrix
        from envcheck.probes.collect import inspect_environment

        return to_document(complete(inspect_environment(python, timeout=timeout), load_matrix())), python
    assert path is not None
    raw = read_json(Path(path))
    if not isinstance(raw, dict) or kind_of(raw) not in ("inspect", "envelope"):
        raise UsageError(f"{path}: expected an `envcheck inspect --json` document (or a fleet envelope)")
    doc = nodes_of(raw, path, Path(path).stem)[0][0].document
    if doc is None or kind_of(doc) != "inspect":
        raise UsageError(f"{path}: holds no inspect document")
    return dict(doc), path


def cmd_diff(args: argparse.Namespace) -> int:
    from envcheck.fleet.diff import diff_documents
    from envcheck.render.fleet import diff_lines

    sides: list[tuple[str | None, str | None]] = [(f, None) for f in args.files] + [(None, p) for p in args.python]
    if len(sides) != 2:
        raise UsageError(f"diff compares two machines: give two of FILE / --python PATH ({len(sides)} given)")
    (a, a_name), (b, b_name) = (_side(f, p, args.timeout) for f, p in sides)
    rows = diff_documents(a, b)
    if args.json:
        doc = {"schema": 1, "a": a_name, "b": b_name, "same": not rows,
               "differences": [{"path": r.path, "a": r.a, "b": r.b, "stack": r.stack} for r in rows]}  # fmt: skip
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        _print_lines(diff_lines(rows, a_name, b_name))
    return EXIT_PROBLEMS if rows else EXIT_OK
