"""`envcheck fleet inspect|doctor|smoke --slurm`: one agent per node, then the report (envcheck.fleet.slurm)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from envcheck.cli.report import _emit
from envcheck.errors import UsageError

if TYPE_CHECKING:
    from envcheck.runner import Runner


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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
    command = [sys.executable, "-m", "envcheck.cli.agent", args.action, "--json"]
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
