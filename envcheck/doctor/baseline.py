"""The baseline rule: this machine's stack against a golden `inspect --json` document (for health checks)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from envcheck.doctor import Finding, pip_install, python_cmd
from envcheck.facts.model import Environment
from envcheck.fleet.diff import diff_documents
from envcheck.fleet.fingerprint import STACK_PACKAGES, other_packages, stack_of
from envcheck.matrix import Matrix

CODE = "baseline-drift"
_NOT_PIP = ("python", "platform", "driver", "gpus")  # what pip cannot change: the node itself differs


def _install_line(env: Environment, golden: Mapping[str, str], matrix: Matrix) -> str:
    """The planner's line that puts the golden stack here: its toolkits pinned, its torch build kept."""
    toolkits = [f"{n}=={v}" for n, v in golden.items() if matrix.toolkit_name(n) == n]
    torch = golden.get("torch", "-")
    if not toolkits:
        if torch in ("-", "?"):
            return ""
        cuda = golden.get("torch.cuda", "cpu")
        tag = "cpu" if cuda in ("cpu", "-") else "cu" + cuda.replace(".", "")
        url = matrix.torch_index_url(tag) if matrix.torch_index else ""
        return pip_install(env, f"torch=={torch.split('+')[0]}", *(("--index-url", url) if url else ()))
    flags: list[str] = []
    if torch not in ("-", "?"):
        flags += ["--torch", torch.split("+")[0]]
        cuda = golden.get("torch.cuda", "cpu")
        flags += ["--cuda", "cpu" if cuda in ("cpu", "-") else "cu" + cuda.replace(".", "")]
    where = ["--python", python_cmd(env)] if env.python and env.python.executable else []
    return " ".join(("envcheck install", *(shlex.quote(t) for t in toolkits), *flags, *where, "--yes"))


def baseline_findings(
    env: Environment, here: Mapping[str, Any], golden: Mapping[str, Any], matrix: Matrix, origin: str
) -> list[Finding]:
    """One error finding per stack key that differs from the golden document, one warning for the rest."""
    golden_stack = stack_of(golden)
    rows = [r for r in diff_documents(golden, here) if r.stack]
    findings: list[Finding] = []
    install = _install_line(env, golden_stack, matrix)
    for row in rows:
        why = f"every node must run the same stack ({origin}); a job spread over nodes that differ fails or diverges"
        if row.path in _NOT_PIP:  # pip cannot change it: the node (its interpreter, driver or GPUs) must
            fix: tuple[str, ...] = ()
            why = f"pip cannot change this node's {row.path}: rebuild it to match the baseline ({origin})"
        elif row.path == "numpy" or (row.path not in ("torch", "torch.cuda", "mmcv", "mmcv.ops") and not install):
            fix = (pip_install(env, f"{row.path}=={row.a}"),) if row.a not in ("-", "?") else ()
        else:
            fix = (install,) if install else ()
        findings.append(
            Finding(
                CODE,
                "error",
                f"{row.path} is {row.b} here, {row.a} in the baseline",
                why,
                fix,
                origin,
            )
        )
    mine, theirs = other_packages(here), other_packages(golden)
    changed = sorted(k for k in {*mine, *theirs} if mine.get(k) != theirs.get(k) and k not in STACK_PACKAGES)
    if changed:
        shown = ", ".join(
            f"{k} {mine.get(k, '<absent>')} (baseline {theirs.get(k, '<absent>')})" for k in changed[:5]
        ) + (f" … +{len(changed) - 5} more" if len(changed) > 5 else "")
        findings.append(
            Finding(
                CODE + "-packages",
                "warning",
                f"{len(changed)} other package{'s' if len(changed) != 1 else ''} differ from the baseline",
                shown,
                (f"envcheck diff {shlex.quote(origin)} --python {python_cmd(env)}",),
                origin,
            )
        )
    return findings
