"""The fleet's parts of inspect and doctor: the node name and stack fingerprint, and `doctor --baseline`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from envcheck.errors import UsageError

if TYPE_CHECKING:
    from envcheck.doctor import Finding
    from envcheck.facts.model import Environment

REDACTED = "<redacted>"


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
    from envcheck.facts.document import to_document
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
