"""The post-install check: does the environment now hold the planned stack, and does it import?

Three questions, each a reason to roll back when the answer is no:
1. every planned distribution is installed at the planned version (pip may have been talked
   out of one by a constraint, or a later step may have replaced it);
2. doctor finds no error about the planned packages (new errors, or errors naming them), and
   mmcv has its compiled ops when the plan installs full mmcv;
3. the toolkits import: each in the target interpreter, in a scratch directory so a source tree
   in the current directory is never what gets imported. This runs the import-time version
   guards (mmdet's assert on mmcv/mmengine) and loads mmcv's `_ext` (undefined symbols).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from envcheck.doctor import Finding, diagnose_environment
from envcheck.facts.model import Environment, Mmcv, parse_version
from envcheck.matrix import Matrix
from envcheck.plan.model import Plan
from envcheck.runner import Runner

IMPORT_SOURCE = (
    "import importlib, json, sys\n"
    "out = {}\n"
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        importlib.import_module(name)\n"
    "        out[name] = None\n"
    "    except BaseException as exc:\n"
    "        out[name] = '%s: %s' % (type(exc).__name__, str(exc).strip().splitlines()[0] if str(exc).strip() else '')\n"
    "print(json.dumps(out))\n"
)


@dataclass(frozen=True)
class Problem:
    code: str
    text: str


@dataclass(frozen=True)
class CheckResult:
    env: Environment
    findings: tuple[Finding, ...]
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def same_version(have: str | None, want: str) -> bool:
    """2.13.0+cpu == 2.13.0+cpu; a planned version without a build tag matches any build of it, and an
    installed one without a tag matches any planned build: PyPI's torch 2.0.1 is the distribution "2.0.1"
    although torch.__version__ says 2.0.1+cu117 (the build is what the index chose, not the metadata)."""
    h, w = parse_version(have), parse_version(want)
    if h is None or w is None:
        return have == want
    return h == w if (w.local and h.local) else h.public == w.public


def import_names(plan: Plan, matrix: Matrix) -> list[str]:
    names: list[str] = []
    if "mmcv" in plan.stack:
        names.append("mmcv.ops")
    if "mmengine" in plan.stack:
        names.append("mmengine")
    for dist, version in plan.stack.items():
        release = matrix.toolkit(dist, version) if dist in matrix.toolkits else None
        if release is not None:
            names.append(release.import_name)
    return names


def import_check(runner: Runner, python: str, modules: Sequence[str], timeout: float = 300.0) -> dict[str, str]:
    """{module: error} for each module that does not import (empty: all import)."""
    if not modules:
        return {}
    with tempfile.TemporaryDirectory(prefix="envcheck-import-") as scratch:
        done = runner.run([python, "-c", IMPORT_SOURCE, *modules], timeout=timeout, cwd=scratch)
    try:
        doc = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {m: f"the import check did not finish ({done.describe_failure()})" for m in modules}
    return {m: str(err) for m, err in doc.items() if err}


def _mentions(finding: Finding, names: Sequence[str]) -> bool:
    text = f"{finding.title} {finding.why}".lower()
    return any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text) for n in names)


def relevant_errors(before: Sequence[Finding], after: Sequence[Finding], names: Sequence[str]) -> list[Finding]:
    """Errors the install caused or failed to fix: new ones, and any that name a planned package."""
    old = {(f.code, f.title) for f in before}
    return [f for f in after if f.severity == "error" and ((f.code, f.title) not in old or _mentions(f, names))]


def check(
    plan: Plan,
    env_after: Environment,
    matrix: Matrix,
    before: Sequence[Finding],
    runner: Runner,
    python: str,
    *,
    imports: bool = True,
) -> CheckResult:
    findings = diagnose_environment(env_after, matrix)
    problems: list[Problem] = []
    for name, want in plan.stack.items():
        have = env_after.packages.get(canonicalize_name(name))
        if have is None:
            problems.append(Problem("missing-dependency", f"{name} {want} is not installed after the install"))
        elif not same_version(have, want):
            problems.append(Problem("version-mismatch", f"{name} is {have}, the plan installs {want}"))
    mmcv = env_after.mmcv
    if "mmcv" in plan.stack and isinstance(mmcv, Mmcv) and not mmcv.ops:
        problems.append(Problem("mmcv-ops-missing", f"{mmcv.dist} {mmcv.version} has no compiled ops (no mmcv/_ext*)"))
    # A kept torch is the user's: an error about it that was there before is not the plan's doing.
    keep = () if plan.torch_changed else ("torch", "torchvision")
    names: list[str] = [str(canonicalize_name(n)) for n in plan.stack if n not in keep]
    names += [m.split(".")[0] for m in import_names(plan, matrix)]
    for f in relevant_errors(before, findings, names):
        problems.append(Problem(f.code, f.title))
    if imports and not problems:
        for module, error in import_check(runner, python, import_names(plan, matrix)).items():
            code = (
                "mmcv-version-guard"
                if "AssertionError" in error and "incompatible" in error.lower()
                else "import-failed"
            )
            if module == "mmcv.ops" and "_ext" in error:
                code = "mmcv-ops-missing"
            elif "undefined symbol" in error:
                code = "abi-undefined-symbol"
            problems.append(Problem(code, f"`import {module}` fails: {error}"))
    return CheckResult(env_after, tuple(findings), tuple(problems))
