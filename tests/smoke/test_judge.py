"""judge(): a finished child (as the Runner reports it) becomes a result, without running anything."""

from __future__ import annotations

import json

from envcheck.explain.diagnose import diagnose
from envcheck.runner import Completed
from envcheck.smoke import CHECKS
from envcheck.smoke.child import MARKER
from envcheck.smoke.run import judge

MMDET = CHECKS["mmdet"]
TRACEBACK = """Traceback (most recent call last):
  File "<string>", line 161, in _run
  File "/venv/lib/python3.11/site-packages/mmcv/utils/ext_loader.py", line 13, in load_ext
    ext = importlib.import_module('mmcv.' + name)
          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
ModuleNotFoundError: No module named 'mmcv._ext'
"""


def seen(texts: list[str]):  # type: ignore[no-untyped-def]
    def diagnoser(text: str):  # type: ignore[no-untyped-def]
        texts.append(text)
        found = diagnose(text)
        return found[0] if found else None

    return diagnoser


def marker(**doc: object) -> str:
    return f"some output\n{MARKER}{json.dumps(doc)}\n"


def test_pass_keeps_the_childs_detail_and_device() -> None:
    done = Completed((), 0, marker(status="pass", device="cpu", detail="50 boxes", version="3.3.0"), "", 7.5)
    texts: list[str] = []
    r = judge(MMDET, done, "auto", seen(texts))
    assert (r.status, r.device, r.detail, r.version, r.seconds) == ("pass", "cpu", "50 boxes", "3.3.0", 7.5)
    assert r.diagnosis is None and texts == []  # nothing to diagnose


def test_reported_failure_leads_with_the_error_then_the_traceback_tail() -> None:
    error = "ModuleNotFoundError: No module named 'mmcv._ext'"
    done = Completed((), 0, marker(status="fail", device="cpu", detail=error, error=error), TRACEBACK, 3.0)
    r = judge(MMDET, done, "auto", seen([]))
    lines = r.detail.splitlines()
    assert lines[0] == error
    assert "ext_loader.py" in r.detail
    assert not any(set(line.strip()) <= {"^"} for line in lines)  # 3.11's caret lines dropped
    assert r.diagnosis == "mmcv-ops-missing"
    assert r.fix and any("pip" in step for step in r.fix)


def test_a_signal_is_a_failure_with_its_name() -> None:
    stderr = 'Fatal Python error: Segmentation fault\n\nCurrent thread 0x01 (most recent call first):\n  File "<string>", line 9'
    r = judge(MMDET, Completed((), -11, "partial output\n", stderr, 0.4), "cuda:0", None)
    assert r.status == "fail" and r.device == "cuda:0"
    assert r.headline == "killed by SIGSEGV"
    assert "Segmentation fault" in r.detail


def test_a_timeout_is_a_failure_that_says_so() -> None:
    done = Completed((), None, "", "Thread 0x01 (most recent call first):\n  File \"x.py\", line 3 in hang", 5.0,
                     error="timed out after 5 s")  # fmt: skip
    r = judge(MMDET, done, "auto", None)
    assert r.status == "fail" and r.headline == "timed out after 5 s"
    assert "in hang" in r.detail


def test_an_exit_without_a_result() -> None:
    r = judge(MMDET, Completed((), 3, "", "", 0.1), "cpu", None)
    assert r.headline == "exit 3 before reporting a result"
    r = judge(MMDET, Completed((), 134, "", "", 0.1), "cpu", None)
    assert r.headline.startswith("exit 134 (signal 6?)")
    r = judge(MMDET, Completed((), None, error="not found: /x/python"), "cpu", None)
    assert r.headline == "not found: /x/python"


def test_skip_is_passed_through() -> None:
    done = Completed((), 0, marker(status="skip", device=None, detail="mmdet is not installed"), "", 0.05)
    r = judge(MMDET, done, "auto", seen([]))
    assert (r.status, r.device, r.detail) == ("skip", "auto", "mmdet is not installed")


def test_ansi_codes_never_reach_the_detail() -> None:
    error = "UnpicklingError: Weights only load failed. \x1b[1mdo those steps only if you trust\x1b[0m."
    done = Completed((), 0, marker(status="fail", error=error, detail=error), error, 1.0)
    r = judge(MMDET, done, "cpu", seen([]))
    assert "\x1b" not in r.detail and "\x1b" not in r.log
    assert r.diagnosis == "weights-only"


def test_a_crash_after_progress_says_what_had_passed() -> None:
    stdout = marker(status="running", device="cuda:0", progress="nms, roi_align passed on cpu + cuda:0")
    stderr = 'Fatal Python error: Segmentation fault\n\nCurrent thread 0x01 (most recent call first):\n  File "/s/mmcv/ops/info.py", line 21 in get_compiling_cuda_version'
    r = judge(CHECKS["mmcv"], Completed((), -11, stdout, stderr, 19.6), "cuda:0", None)
    assert r.status == "fail" and r.device == "cuda:0"
    assert r.headline == "killed by SIGSEGV (after: nms, roi_align passed on cpu + cuda:0)"
    assert "get_compiling_cuda_version" in r.detail
