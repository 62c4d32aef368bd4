"""The end of `envcheck setup`: the smoke checks of what it installed, and the verdict they decide.

The promise of setup is "installed, and proved with inference". The install keeps its snapshot
until these checks pass: a failed check leaves the new stack in place (so it can be looked at) and
one command, `envcheck rollback --python PY --yes`, puts the environment back as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from envcheck.plan.model import Plan
from envcheck.smoke import ALIASES, CHECKS
from envcheck.smoke.result import SmokeResult
from envcheck.smoke.spec import SmokeCheck

FOUNDATIONS = ("torch", "mmcv", "mmengine")


def setup_checks(plan: Plan) -> list[SmokeCheck]:
    """The checks for the stack a plan installs: its foundations, then each toolkit with a check, in CHECKS order."""
    names = {ALIASES.get(n, n) for n in plan.stack}
    names |= {ALIASES.get(n, n) for n in plan.request if ALIASES.get(n, n) in CHECKS}
    return [c for name, c in CHECKS.items() if name in names]


def rollback_command(python: str) -> str:
    return f"envcheck rollback --python {python} --yes"


@dataclass(frozen=True)
class SmokeVerdict:
    ok: bool
    line: str  # the verdict's tail: "smoke: 5 passed" / "smoke FAILED: mmdet (...)"
    failed: tuple[SmokeResult, ...] = ()


def judge_smoke(results: Sequence[SmokeResult], python: str) -> SmokeVerdict:
    """OK only when no check failed; a failure names each check and its first error line, and the undo."""
    failed = tuple(r for r in results if r.status == "fail")
    passed = sum(1 for r in results if r.status == "pass")
    skipped = [r.toolkit for r in results if r.status == "skip"]
    if not failed:
        more = f", {len(skipped)} skipped ({', '.join(skipped)})" if skipped else ""
        return SmokeVerdict(True, f"smoke: {passed} passed{more}")
    what = "; ".join(f"{r.toolkit}: {r.headline}" + (f" [{r.diagnosis}]" if r.diagnosis else "") for r in failed)
    return SmokeVerdict(
        False,
        f"installed, but smoke FAILED — {what}; the snapshot is kept: `{rollback_command(python)}` undoes the install",
        failed,
    )
