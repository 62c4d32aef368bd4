"""A real patched build: xtcocotools 1.14.3's sdist on Python 3.13 (KeyError: '__version__' unpatched).

Throwaway Python 3.13 venv (pyenv's), real PyPI, envcheck's installer: fetch the sdist, apply
matrices/patches/xtcocotools-pep667-get-version.patch, build the C extension without isolation, cache
the wheel under the patch's key, install it, import xtcocotools._mask. About half a minute here.
"""

from __future__ import annotations

import glob
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from envcheck.install.installer import Installer
from envcheck.install.snapshot import read_layout
from envcheck.install.steps import prepare, reach_https
from envcheck.install.wheelcache import WheelCache
from envcheck.matrix import load_matrix
from envcheck.plan.model import Plan, Step
from envcheck.render.progress import LineProgress, StepLog
from envcheck.runner import SubprocessRunner

pytestmark = [pytest.mark.integration, pytest.mark.network]


def python313() -> str | None:
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(os.path.join(root, "versions", "3.13.*", "bin", "python3.13")))
    return found[0] if found else None


@pytest.fixture(scope="module")
def venv313(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = python313()
    if base is None:
        pytest.skip("no Python 3.13 under pyenv (~/.pyenv/versions/3.13.*)")
    if reach_https("pypi.org") is not None:
        pytest.skip("PyPI is not reachable from here")
    where = tmp_path_factory.mktemp("py313") / "venv"
    subprocess.run([base, "-m", "venv", str(where)], check=True)
    python = str(where / "bin" / "python")
    # What the plan's "build tooling" step installs before a no-isolation build of xtcocotools.
    subprocess.run([python, "-m", "pip", "install", "-q", "numpy", "cython", "setuptools<82", "wheel"], check=True)
    return python


def test_xtcocotools_builds_patched_on_python_313_and_imports(venv313: str, tmp_path: Path) -> None:
    matrix = load_matrix()
    runner = SubprocessRunner()
    layout = read_layout(runner, venv313)
    patch = matrix.builds.patches["xtcocotools-pep667-get-version"]
    step = Step("pip", (venv313, "-m", "pip", "install", "--no-build-isolation", "xtcocotools==1.14.3"),
                "build patched upstream xtcocotools 1.14.3", compiles=True, minutes=0.2, patch=patch.name)  # fmt: skip
    from envcheck.facts.model import Environment, PlatformInfo, PythonInfo

    env = Environment(python=PythonInfo("3.13.0", executable=venv313, tag="cp313"),
                      platform=PlatformInfo("Linux", "x86_64", cpus=2))  # fmt: skip
    cache = WheelCache(tmp_path / "cache")
    prepared = prepare(Plan(("mmpose",), "py313", steps=(step,)), env, layout, cache, matrix=matrix)
    assert prepared.actions[0].kind == "build" and prepared.actions[0].patch == patch
    log = StepLog(tmp_path / "log.txt")
    inst = Installer(prepared, matrix, runner, LineProgress(Console(file=io.StringIO())), log,
                     check_imports=False, inspect=lambda py: env)  # fmt: skip
    try:
        outcome = inst.carry_out()
    finally:
        log.close()
    assert outcome.compiled, (tmp_path / "log.txt").read_text()[-3000:]
    (entry,) = cache.entries()
    assert entry.key.patch == f"{patch.name}@{patch.digest}" and entry.path.name.endswith(
        "-cp313-cp313-linux_x86_64.whl"
    )
    code = "import xtcocotools, xtcocotools._mask as m; from xtcocotools.coco import COCO; print(xtcocotools.__file__)"
    done = subprocess.run([venv313, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "site-packages" in done.stdout
    print(f"built in {entry.seconds:.1f} s on Python 3.13 ({sys.platform})")
