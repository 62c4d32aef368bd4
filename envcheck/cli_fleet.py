"""The fleet commands' command line: report, diff, fleet, and the identity/baseline parts of inspect/doctor.

Parses, calls envcheck.fleet, prints, maps to exit codes (0 same / 1 drift or errors / 2 bad input).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from envcheck.errors import UsageError

if TYPE_CHECKING:
    from envcheck.doctor import Finding
    from envcheck.facts import Environment
    from envcheck.runner import Runner

EXIT_OK, EXIT_PROBLEMS = 0, 1
REDACTED = "<redacted>"


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    help_text = "fold many inspect/doctor/smoke documents (or fleet envelopes) into groups of identical stacks"
    p = sub.add_parser(
        "report", help=help_text,
        description=help_text + ". Exit 0: one group, no error finding; 1: drift, an error finding, or a node "
        "that answered nothing.",
    )  # fmt: skip
    p.add_argument("paths", nargs="*", metavar="FILE|DIR", help="documents; a directory means its *.json")
    p.add_argument("--json", action="store_true", help="print the report as JSON (schema 1)")
    help_text = "two machines side by side: the stack keys that differ, then every other fact"
    p = sub.add_parser(
        "diff", help=help_text, description=help_text + " (volatile keys ignored). Exit 0 same, 1 different."
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="inspect --json documents (or envelopes)")
    p.add_argument("--python", action="append", default=[], metavar="PATH", help="inspect this interpreter as a side")
    p.add_argument("--json", action="store_true", help="print the differences as JSON (schema 1)")
    p.add_argument("--timeout", type=float, default=5.0, help=argparse.SUPPRESS)
    help_text = "run inspect, doctor or smoke on every node of a Slurm cluster and print the report"
    p = sub.add_parser(
        "fleet", help=help_text,
        description=help_text + ": sinfo lists the usable nodes, srun -l runs one task per node. envcheck must be "
        "importable at the same path on every node (a shared home or venv). Exit as for `report`.",
    )  # fmt: skip
    p.add_argument("action", choices=("inspect", "doctor", "smoke"), help="what each node runs")
    p.add_argument("--slurm", action="store_true", help="use Slurm (the only engine so far; required)")
    p.add_argument("--nodes", metavar="LIST", help="only these nodes: node[01-08],gpu3 (default: all usable)")
    p.add_argument("--partition", metavar="P", help="only this partition")
    p.add_argument("--python", metavar="PATH", help="the interpreter each node inspects (the same path on every node)")
    p.add_argument("--json", action="store_true", help="print the report as JSON (schema 1)")
    p.add_argument("--out", metavar="DIR", help="also write one envelope per node to DIR/NODE.json")
    p.add_argument("--drain", action="store_true", help="print the scontrol lines that drain drifted/failing nodes")
    p.add_argument("--yes", action="store_true", help="with --drain: run them")
    p.add_argument("--timeout", type=float, default=0.0, metavar="S",
                   help="seconds for the whole fan-out (default 300; smoke 3600)")  # fmt: skip


def node_fields(
    doc: dict[str, Any], args: argparse.Namespace, stored: str | None = None, environ: Mapping[str, str] | None = None
) -> None:
    """Name the node and fingerprint the stack in an inspect/doctor document (in place).

    `stored`: the `--env FILE` the facts came from; its node keeps its name (this machine's is not it).
    """
    from pathlib import Path

    from envcheck.fleet.fingerprint import fingerprint
    from envcheck.probes.identity import node_name

    if stored:
        from envcheck.fleet.documents import read_json

        raw = read_json(Path(stored)) if stored != "-" else {}
        name = raw.get("node") if isinstance(raw, dict) else None
        doc["node"] = name if isinstance(name, str) else Path(stored).stem if stored != "-" else "stdin"
    else:
        doc["node"] = node_name(os.environ if environ is None else environ)[0]
    if getattr(args, "redact", False):
        doc["node"] = REDACTED
    doc["fingerprint"] = fingerprint(doc)


def baseline(args: argparse.Namespace, env: Environment, findings: list[Finding]) -> list[Finding]:
    """doctor --baseline GOLDEN.json: this machine's stack against the golden document's."""
    from pathlib import Path

    from envcheck.doctor.baseline import baseline_findings
    from envcheck.envdoc import to_document
    from envcheck.fleet.documents import kind_of, nodes_of, read_json
    from envcheck.matrix import load_matrix

    raw = read_json(Path(args.baseline))
    if not isinstance(raw, dict) or kind_of(raw) not in ("inspect", "envelope"):
        raise UsageError(f"--baseline {args.baseline}: expected an `envcheck inspect --json` document")
    golden = nodes_of(raw, args.baseline, "golden")[0][0].document
    if golden is None or kind_of(golden) != "inspect":
        raise UsageError(f"--baseline {args.baseline}: expected an `envcheck inspect --json` document")
    here = to_document(env, findings)
    return [*baseline_findings(env, here, golden, load_matrix(), args.baseline), *findings]


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


def _side(path: str | None, python: str | None, timeout: float) -> tuple[dict[str, Any], str]:
    from pathlib import Path

    from envcheck.fleet.documents import kind_of, nodes_of, read_json

    if python is not None:
        from envcheck.derive import complete
        from envcheck.envdoc import to_document
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


def cmd_fleet(args: argparse.Namespace, runner: Runner | None = None) -> int:
    from envcheck.fleet import slurm
    from envcheck.fleet.report import build_report
    from envcheck.runner import SubprocessRunner

    if not args.slurm:
        raise UsageError("name the engine: `envcheck fleet inspect --slurm` (Slurm is the only one so far)")
    if args.yes and not args.drain:
        raise UsageError("--yes goes with --drain")
    timeout = args.timeout or (3600.0 if args.action == "smoke" else 300.0)
    if timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    runner = runner or SubprocessRunner()
    slurm.require(runner, "srun")
    slurm.require(runner, "sinfo")
    listing = slurm.list_nodes(runner, nodes=args.nodes, partition=args.partition)
    command = [sys.executable, "-m", "envcheck.fleet.agent", args.action, "--json"]
    if args.python:  # the tasks run in / (see slurm.srun_argv): a relative path means the caller's directory
        command += ["--python", os.path.abspath(args.python) if os.sep in args.python else args.python]
    nodes = []
    if listing.usable:
        nodes = slurm.fan_out(runner, listing.usable, command, partition=args.partition, timeout=timeout)
    report = build_report(nodes, listing.unusable, engine="slurm")
    if args.out:
        _write_envelopes(args.out, nodes)
    code = _emit(report, args.json)
    if args.drain:
        reasons = report.drain_reasons()
        out = sys.stderr if args.json else sys.stdout
        for node, reason in reasons.items():
            line = slurm.drain_line(node, reason)
            if not args.yes:
                out.write(line + "\n")
                continue
            done = runner.run(slurm.drain_argv(node, reason), timeout=30.0)
            out.write(
                f"{'✓' if done.ok else '✗'} {line}" + ("" if done.ok else f"  ({done.describe_failure()})") + "\n"
            )
    return code


def _write_envelopes(out_dir: str, nodes: list[Any]) -> None:
    from pathlib import Path

    root = Path(out_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
        for n in nodes:
            envelope = {"schema": 1, "node": n.name, "exit": n.exit, "document": n.document, "reason": n.reason or None}
            (root / f"{n.name.replace(os.sep, '_')}.json").write_text(
                json.dumps(envelope, indent=1) + "\n", encoding="utf-8"
            )
    except OSError as exc:
        raise UsageError(f"--out {out_dir}: {exc.strerror or exc}") from None
