"""Real child processes with fake packages on PYTHONPATH: a crash, a hang or a raise is one failed check."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from envcheck.explain.diagnose import diagnose
from envcheck.smoke import CHECKS
from envcheck.smoke.result import SmokeResult
from envcheck.smoke.run import SmokeOptions, run_checks
from envcheck.smoke.spec import SmokeCheck
from tests.smoke.fakes import FAKE_TORCH, MMOCR_INIT, compile_missing_symbol_ext, mmcv_files, mmdet_files, write

pytestmark = pytest.mark.integration


def light_diagnoser(text: str):  # type: ignore[no-untyped-def]
    found = diagnose(text)
    return found[0] if found else None


def run(
    site: Path, names: list[str], timeout: float = 30.0, checks: list[SmokeCheck] | None = None
) -> dict[str, SmokeResult]:
    environ = {**os.environ, "PYTHONPATH": str(site)}
    chosen = checks if checks is not None else [CHECKS[n] for n in names]
    results = run_checks(
        chosen, SmokeOptions(sys.executable, timeout=timeout), diagnoser=light_diagnoser, environ=environ
    )
    return {r.toolkit: r for r in results}


def test_segfault_hang_raise_and_absent_are_each_one_result(tmp_path: Path) -> None:
    site = write(
        tmp_path,
        {
            "torch/__init__.py": FAKE_TORCH,
            "mmdet/__init__.py": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
            "mmseg/__init__.py": "import time\n\ndef _wait():\n    time.sleep(600)\n\n_wait()\n",
            "mmpose/__init__.py": "raise ImportError('libGL.so.1: cannot open shared object file: No such file or directory')\n",
        },
    )
    absent = SmokeCheck(
        "absent", "envcheck_no_such_module_xyz", "envcheck-absent", "nothing", "def check(ctx):\n    return 'ran'\n"
    )
    started = time.monotonic()
    results = run(site, [], timeout=4.0, checks=[CHECKS["mmdet"], CHECKS["mmseg"], CHECKS["mmpose"], absent])
    assert time.monotonic() - started < 20

    crashed = results["mmdet"]
    assert crashed.status == "fail" and crashed.headline == "killed by SIGSEGV"
    assert "Segmentation fault" in crashed.detail  # faulthandler's report made it out before the crash
    assert 'mmdet/__init__.py", line 2 in <module>' in crashed.detail  # the innermost frame: where it died
    assert crashed.device == "cpu"  # the child said where it ran before it died

    hung = results["mmseg"]
    assert hung.status == "fail" and hung.headline == "timed out after 4 s"
    assert "line 4 in _wait" in hung.detail  # the stack dumped shortly before the kill says where it hung
    assert 3.5 < hung.seconds < 10

    raised = results["mmpose"]
    assert raised.status == "fail"
    assert raised.headline.startswith("ImportError: libGL.so.1")
    assert raised.diagnosis == "lib-gl"
    assert raised.device == "cpu"

    assert results["absent"].status == "skip"
    assert "not installed" in results["absent"].detail


def test_a_crash_after_a_progress_line_keeps_what_had_passed(tmp_path: Path) -> None:
    """As on the H200: mmcv's ops passed, then get_compiling_cuda_version() killed the process."""
    source = (
        "def check(ctx):\n"
        "    ctx.device = 'cpu'\n"
        "    ctx.progress('nms passed on cpu')\n"
        "    import ctypes\n"
        "    ctypes.string_at(0)\n"  # a real SIGSEGV inside a C call
    )
    crash = SmokeCheck("crashy", "json", "json", "a crash after progress", source)
    result = run(tmp_path, [], checks=[crash])["crashy"]
    assert result.status == "fail" and result.headline == "killed by SIGSEGV (after: nms passed on cpu)"
    assert "Segmentation fault" in result.detail


def test_network_is_refused_inside_a_check(tmp_path: Path) -> None:
    source = (
        "def check(ctx):\n"
        "    import socket\n"
        "    socket.create_connection(('192.0.2.1', 443), timeout=5)\n"
        "    return 'downloaded'\n"
    )
    site = write(tmp_path, {"torch/__init__.py": FAKE_TORCH, "netpkg/__init__.py": ""})
    check = SmokeCheck("net", "netpkg", "netpkg", "tries the network", source)
    r = run(site, [], checks=[check])["net"]
    assert r.status == "fail"
    assert "network access is disabled" in r.headline


def test_broken_stack_mmcv_lite_under_mmdet(tmp_path: Path) -> None:
    """mmcv without compiled ops (what mmcv-lite is) and mmdet: both checks fail, mmcv-ops-missing."""
    site = write(tmp_path, {"torch/__init__.py": FAKE_TORCH, **mmcv_files("2.1.0"), **mmdet_files("3.3.0")})
    results = run(site, ["mmcv", "mmdet"])
    for name in ("mmcv", "mmdet"):
        assert results[name].status == "fail", results[name]
        assert results[name].headline == "ModuleNotFoundError: No module named 'mmcv._ext'"
        assert results[name].diagnosis == "mmcv-ops-missing"


@pytest.mark.skipif(sys.platform != "linux", reason="an ELF shared object")
def test_broken_stack_mmcv_ops_built_for_another_torch(tmp_path: Path) -> None:
    site = write(tmp_path, {"torch/__init__.py": FAKE_TORCH, **mmcv_files("2.1.0"), **mmdet_files("3.3.0")})
    if compile_missing_symbol_ext(site / "mmcv") is None:
        pytest.skip("no C compiler")
    results = run(site, ["mmcv", "mmdet"])
    for name in ("mmcv", "mmdet"):
        r = results[name]
        assert r.status == "fail"
        assert "undefined symbol: _ZN3c10" in r.headline
        assert r.diagnosis == "abi-undefined-symbol"


def test_broken_stack_mmocr_with_mmdet_3_3(tmp_path: Path) -> None:
    site = write(
        tmp_path,
        {
            "torch/__init__.py": FAKE_TORCH,
            **mmcv_files("2.1.0"),
            **mmdet_files("3.3.0"),
            "mmocr/__init__.py": MMOCR_INIT,
        },
    )
    r = run(site, ["mmocr"])["mmocr"]
    assert r.status == "fail"
    assert r.headline.startswith("AssertionError: MMDetection 3.3.0 is incompatible with MMOCR 1.0.1")
    assert r.diagnosis == "version-guard"
    assert r.version is None or r.version == "1.0.1"


def test_cuda_requested_without_a_gpu(tmp_path: Path) -> None:
    """The torch check fails in torch's own words; the toolkits skip (no GPU for a GPU run)."""
    fake_torch = FAKE_TORCH + (
        "\n\ndef zeros(*args, **kwargs):\n    raise AssertionError('Torch not compiled with CUDA enabled')\n"
    )
    site = write(tmp_path, {"torch/__init__.py": fake_torch, **mmcv_files("2.1.0"), **mmdet_files("3.3.0")})
    environ = {**os.environ, "PYTHONPATH": str(site)}
    results = run_checks(
        [CHECKS["torch"], CHECKS["mmdet"]],
        SmokeOptions(sys.executable, device="cuda", timeout=30),
        diagnoser=light_diagnoser,
        environ=environ,
    )
    torch, mmdet = results
    assert torch.status == "fail" and torch.diagnosis == "torch-cpu-only"
    assert torch.headline == "AssertionError: Torch not compiled with CUDA enabled"
    assert mmdet.status == "skip" and "no CUDA device" in mmdet.detail
