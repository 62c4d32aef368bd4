"""`envcheck setup` ends with the smoke checks of what it installed: which checks, and the verdict they decide."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Callable, cast

import pytest
from rich.console import Console

from envcheck.cli import _setup_smoke
from envcheck.install.installer import Outcome
from envcheck.install.setup_smoke import judge_smoke, rollback_command, setup_checks
from envcheck.install.snapshot import Snapshot
from envcheck.install.steps import prepare
from envcheck.install.wheelcache import WheelCache
from envcheck.plan.model import Plan
from envcheck.render.install_console import verdict
from envcheck.runner import Completed
from envcheck.smoke.child import MARKER
from envcheck.smoke.result import SmokeResult
from tests.install.test_install import LAYOUT, build_plan, make_env


def test_the_checks_are_the_stacks_foundations_and_its_toolkits() -> None:
    plan = Plan(("mmdet", "mmsegmentation"), "t", stack={"torch": "2.13.0+cpu", "mmcv": "2.1.0", "mmengine": "0.10.7",
                                                          "mmdet": "3.3.0", "mmsegmentation": "1.2.2", "numpy": "2.2"})  # fmt: skip
    assert [c.toolkit for c in setup_checks(plan)] == ["torch", "mmcv", "mmengine", "mmdet", "mmseg"]


def result(toolkit: str, status: str, detail: str = "ok") -> SmokeResult:
    return SmokeResult(toolkit, status, "cpu", 1.0, detail)  # type: ignore[arg-type]


def test_ok_only_when_no_check_failed() -> None:
    ok = judge_smoke([result("torch", "pass"), result("mmdeploy", "skip", "no onnxruntime")], "/v/bin/python")
    assert ok.ok and ok.line == "smoke: 1 passed, 1 skipped (mmdeploy)"
    bad = judge_smoke([result("torch", "pass"), result("mmdet", "fail", "KeyError: 'x'\ntrace")], "/v/bin/python")
    assert not bad.ok and [r.toolkit for r in bad.failed] == ["mmdet"]
    assert "mmdet: KeyError: 'x'" in bad.line and "`envcheck rollback --python /v/bin/python --yes`" in bad.line
    assert rollback_command("/v/bin/python") == "envcheck rollback --python /v/bin/python --yes"


class SmokeRunner:
    """Answers each smoke child with the verdict `status_of(toolkit)` (the child's own JSON marker line)."""

    def __init__(self, status_of: Callable[[str], str]) -> None:
        self.status_of = status_of

    def which(self, program: str, path: str | None = None) -> str | None:
        return program

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
            cwd: str | None = None, on_line: Callable[[str], None] | None = None) -> Completed:  # fmt: skip
        if len(argv) < 4:  # the diagnoser's probe of the interpreter, after a failure: not needed here
            return Completed(tuple(argv), 1, "")
        toolkit = json.loads(argv[3])["module"]  # the checks here import their toolkit's own module
        status = self.status_of(toolkit)
        doc = {
            "status": status,
            "device": "cpu",
            "detail": "ran",
            "error": "AssertionError: boxes" if status == "fail" else "",
        }
        return Completed(tuple(argv), 0, f"log line\n{MARKER}{json.dumps(doc)}\n")


class Snap:
    discarded = False

    def discard(self, background: bool = False) -> None:
        self.discarded = True


@pytest.mark.parametrize("failing", [None, "mmdet"])
def test_setup_smoke_decides_the_verdict_and_the_snapshot(tmp_path: Path, failing: str | None) -> None:
    prepared = prepare(build_plan(), make_env(), LAYOUT, WheelCache(tmp_path))
    snap = Snap()
    outcome = Outcome(snapshot=cast(Snapshot, snap), seconds=12.0)
    runner = SmokeRunner(lambda t: "fail" if failing and t == failing else "pass")
    code, line = _setup_smoke(Console(file=io.StringIO()), prepared, outcome, runner, sys.executable)
    final = verdict(prepared, outcome, smoke=line, smoke_ok=code == 0)
    if failing is None:
        assert code == 0 and snap.discarded and line == "smoke: 4 passed"
        assert final.startswith("envcheck setup: OK — mmdet 3.3.0 on torch 2.13.0+cpu") and "smoke: 4 passed" in final
    else:
        assert code == 1 and not snap.discarded, "a failed check keeps the snapshot for the rollback"
        assert final.startswith("envcheck setup: FAILED — mmdet 3.3.0 on torch 2.13.0+cpu")
        assert "mmdet: AssertionError: boxes" in final and f"envcheck rollback --python {sys.executable} --yes" in final
