"""The report a person reads: a line per check where there is no terminal, failures with their fix, the verdict."""

from __future__ import annotations

import io

from rich.console import Console

from envcheck.render.smoke_console import SmokeProgress, print_results
from envcheck.runner import SubprocessRunner
from envcheck.smoke import CHECKS
from envcheck.smoke.result import SmokeResult
from envcheck.smoke.run import default_diagnoser

RESULTS = [
    SmokeResult("torch", "pass", "cpu", 1.8, "torch 2.13.0+cpu · matmul, conv2d, round trip"),
    SmokeResult(
        "mmcv",
        "fail",
        "cpu",
        3.4,
        "ModuleNotFoundError: No module named 'mmcv._ext'\n  File \"ext_loader.py\", line 13, in load_ext",
        diagnosis="mmcv-ops-missing",
        fix=("python -m pip uninstall -y mmcv mmcv-lite mmcv-full",),
    ),
    SmokeResult("mmocr", "skip", "auto", 0.1, "mmocr is not installed in /venv/bin/python"),
]


def test_no_terminal_prints_a_line_per_check_then_failures_and_verdict() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200, highlight=False)
    checks = [CHECKS["torch"], CHECKS["mmcv"], CHECKS["mmocr"]]
    with SmokeProgress(console, checks, "/venv/bin/python", "auto") as progress:
        for check, result in zip(checks, RESULTS):
            progress.on_start(check)
            progress.on_done(result)
    print_results(console, RESULTS, live_shown=False)
    text = out.getvalue()
    assert "envcheck smoke · /venv/bin/python · device auto" in text
    assert "✓ pass torch" in text and "✗ fail mmcv" in text and "- skip mmocr" in text
    assert "diagnosis: mmcv-ops-missing" in text
    assert "$ python -m pip uninstall -y mmcv mmcv-lite mmcv-full" in text
    assert 'File "ext_loader.py", line 13' in text
    assert text.rstrip().endswith("1 passed, 1 failed, 1 skipped in 5.3 s")


def test_a_terminal_gets_the_final_table() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, color_system=None)
    print_results(console, RESULTS, live_shown=True)
    text = out.getvalue()
    assert "[mmcv-ops-missing]" in text and "check" in text and "device" in text


def test_all_skipped_says_nothing_was_there() -> None:
    out = io.StringIO()
    print_results(Console(file=out, force_terminal=False, width=200), RESULTS[2:], live_shown=False)
    assert "no toolkit is installed" in out.getvalue()


def test_default_diagnoser_works_without_facts() -> None:
    """Facts sharpen the fix; an interpreter that cannot be probed still gets its diagnosis."""
    diagnoser = default_diagnoser("/nonexistent/bin/python", SubprocessRunner())
    found = diagnoser("Traceback (most recent call last):\nModuleNotFoundError: No module named 'mmcv._ext'\n")
    assert found is not None and found.code == "mmcv-ops-missing"
    assert diagnoser("") is None
