"""Real stacks on this machine, when there are any (skipped elsewhere): smoke must tell good from broken.

Candidates: $ENVCHECK_SMOKE_PYTHON (paths separated by os.pathsep), /work/venvs/*, and the venvs that
`nox -s e2e` builds (.nox/e2e*/stack). Looked up on disk, never installed here.
"""

from __future__ import annotations

import glob
import os
import subprocess
from pathlib import Path

import pytest

from envcheck.smoke import CHECKS
from envcheck.smoke.result import SmokeResult
from envcheck.smoke.run import SmokeOptions, run_checks

pytestmark = pytest.mark.integration
ROOT = Path(__file__).parents[2]


def _candidates() -> list[Path]:
    found = [Path(p) for p in os.environ.get("ENVCHECK_SMOKE_PYTHON", "").split(os.pathsep) if p]
    found += [Path(p) for p in sorted(glob.glob("/work/venvs/*/bin/python"))]
    found += [Path(p) for p in sorted(glob.glob(str(ROOT / ".nox" / "e2e*" / "stack" / "bin" / "python")))]
    return [p for p in found if p.exists()]


def _site(python: Path) -> Path | None:
    hits = sorted(python.parent.parent.glob("lib/python3*/site-packages"))
    return hits[0] if hits else None


def _has(python: Path, *names: str) -> bool:
    site = _site(python)
    return site is not None and all((site / n).exists() or list(site.glob(n)) for n in names)


def _torch_version(python: Path) -> str:
    site = _site(python)
    try:
        text = (site / "torch" / "version.py").read_text(encoding="utf-8") if site else ""
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("'\"")
    return ""


def _first(*names: str, without: tuple[str, ...] = ()) -> Path:
    for python in _candidates():
        if _has(python, *names) and not any(_has(python, n) for n in without):
            return python
    pytest.skip(f"no venv on this machine with {', '.join(names)}")


def smoke(python: Path, names: list[str], environ: dict[str, str] | None = None) -> dict[str, SmokeResult]:
    results = run_checks([CHECKS[n] for n in names], SmokeOptions(str(python), timeout=240), environ=environ)
    return {r.toolkit: r for r in results}


def test_a_working_stack_passes_real_inference() -> None:
    python = _first("torch", "mmcv/_ext*.so", "mmengine", "mmdet", without=("mmcv_lite-*",))
    results = smoke(python, ["torch", "mmcv", "mmdet"])
    for name, r in results.items():
        assert r.status == "pass", (name, r.detail)
    assert "boxes" in results["mmdet"].detail


def test_mmcv_lite_under_mmdet_fails_with_its_diagnosis() -> None:
    python = _first("mmcv_lite-*", "mmdet", "torch")
    results = smoke(python, ["mmcv", "mmdet"])
    assert results["mmcv"].status == "fail" and results["mmcv"].diagnosis == "mmcv-ops-missing"
    # mmcv-lite 2.2 is also outside mmdet 3.x's guard; 2.1 gets as far as the missing ops
    assert results["mmdet"].status == "fail"
    assert results["mmdet"].diagnosis in ("mmcv-ops-missing", "version-guard")


def test_mmcv_built_for_another_torch_fails_with_undefined_symbol(tmp_path: Path) -> None:
    """A cached mmcv wheel compiled against torch 2.13, put in front of a torch 2.0 stack."""
    python = next(
        (p for p in _candidates() if _torch_version(p).startswith("2.0") and _has(p, "mmengine", "cv2")), None
    )
    wheels = sorted(glob.glob(os.path.expanduser("~/.cache/envcheck/wheels/mmcv-*_torch-2.1[0-9].*/mmcv-*.whl")))
    if python is None or not wheels:
        pytest.skip("needs a torch 2.0 stack and an mmcv wheel built for a newer torch in envcheck's cache")
    target = tmp_path / "overlay"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target), wheels[-1]],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    r = smoke(python, ["mmcv"], environ={**os.environ, "PYTHONPATH": str(target)})["mmcv"]
    assert r.status == "fail"
    assert "undefined symbol" in r.headline
    assert r.diagnosis == "abi-undefined-symbol"
