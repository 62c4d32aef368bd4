"""The per-node side of `envcheck fleet`: run one envcheck command here, print one envelope.

`python -m envcheck.cli.agent inspect --json [--python PATH]` runs on each node (one srun task each)
and prints {"schema": 1, "node", "exit", "document", "reason"} as indented JSON: short lines, so `srun -l`
labels every line and the gathering side can take the tasks apart again. The node is named by the
scheduler (SLURMD_NODENAME) where there is one. An entry point beside `envcheck`'s own: it prints.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from envcheck.probes.identity import node_name

COMMANDS = ("inspect", "doctor", "smoke")


def envelope(argv: Sequence[str]) -> dict[str, Any]:
    """Run `envcheck ARGV` in this process with its output captured; wrap what it printed."""
    from envcheck.cli import main

    name, _ = node_name(os.environ)
    if not argv or argv[0] not in COMMANDS:
        return {"schema": 1, "node": name, "exit": 2, "document": None,
                "reason": f"agent: expected one of {', '.join(COMMANDS)}"}  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*argv, "--json"] if "--json" not in argv else list(argv))
    document: Any = None
    reason = ""
    try:
        document = json.loads(out.getvalue())
    except json.JSONDecodeError:
        lines = (err.getvalue() or out.getvalue()).strip().splitlines()
        reason = lines[-1].removeprefix("envcheck: ").removeprefix("error: ") if lines else f"exit {code} and no output"
    if document is not None and not isinstance(document, dict):
        document, reason = None, "the command printed JSON that is not an object"
    return {"schema": 1, "node": name, "exit": code, "document": document, "reason": reason or None}


def main(argv: Sequence[str] | None = None) -> int:
    doc = envelope(sys.argv[1:] if argv is None else argv)
    sys.stdout.write(json.dumps(doc, indent=1) + "\n")
    sys.stdout.flush()
    return 0  # the command's exit travels inside the envelope; srun's own exit means "the task ran"


if __name__ == "__main__":
    sys.exit(main())
