"""setup's smoke checks cover a fork stack: onedl-mmcv and onedl-mmengine are checked as mmcv and mmengine."""

from __future__ import annotations

from envcheck.install.setup_smoke import setup_checks
from envcheck.plan.model import Plan


def test_a_fork_stack_gets_every_foundation_check() -> None:
    stack = {"torch": "2.13.0+cu130", "onedl-mmcv": "2.3.6", "onedl-mmengine": "0.10.12",
             "onedl-mmdetection": "3.5.1", "onedl-mmsegmentation": "1.4.2"}  # fmt: skip
    plan = Plan(("mmdet", "mmseg"), "t", stack=stack)
    assert [c.toolkit for c in setup_checks(plan)] == ["torch", "mmcv", "mmengine", "mmdet", "mmseg"]


def test_a_mixed_stack_checks_mmengine_through_the_fork() -> None:
    stack = {"torch": "2.13.0+cpu", "mmcv": "2.1.0", "onedl-mmengine": "0.10.12", "mmdet": "3.3.0"}
    assert "mmengine" in [c.toolkit for c in setup_checks(Plan(("mmdet",), "t", stack=stack))]
