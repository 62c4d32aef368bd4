"""The child probe, run for real under real interpreters, and its parser on captured documents."""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from envcheck.errors import ProbeError
from envcheck.facts.model import Missing, Torch
from envcheck.probes.interpreter import cudnn_code, parse_child, parse_version_py, run_child
from envcheck.runner import SubprocessRunner

PYENV = Path.home() / ".pyenv" / "versions"


def _pyenv(prefix: str) -> str | None:
    for d in sorted(PYENV.glob(prefix + "*")) if PYENV.is_dir() else []:
        exe = d / "bin" / "python"
        if exe.exists():
            return str(exe)
    return None


def _script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_probe_of_this_interpreter_matches_sys() -> None:
    facts = parse_child(run_child(SubprocessRunner(), sys.executable), sys.executable)
    assert facts.python.version == ".".join(map(str, sys.version_info[:3]))
    assert facts.python.tag == f"cp{sys.version_info[0]}{sys.version_info[1]}"
    assert facts.python.executable == sys.executable
    names = {d.name for d in facts.dists}
    assert {"pytest", "packaging"} <= names  # installed in the test environment
    assert facts.platform.system == __import__("platform").system()


def test_probe_never_imports_torch_or_third_party() -> None:
    source = (Path(__file__).parents[2] / "envcheck" / "probes" / "_child.py").read_text()
    imports = {
        line.split()[1].split(".")[0] for line in source.splitlines() if line.strip().startswith(("import ", "from "))
    }
    stdlib = set(sys.stdlib_module_names) if hasattr(sys, "stdlib_module_names") else imports
    assert imports <= stdlib, imports - stdlib


@pytest.mark.skipif(_pyenv("3.6") is None, reason="no Python 3.6 here")
def test_probe_runs_under_python36() -> None:
    exe = _pyenv("3.6")
    assert exe
    facts = parse_child(run_child(SubprocessRunner(), exe), exe)
    assert facts.python.version.startswith("3.6.")


@pytest.mark.skipif(_pyenv("2.7") is None, reason="no Python 2.7 here")
def test_python2_is_refused_with_one_line() -> None:
    exe = _pyenv("2.7")
    assert exe
    with pytest.raises(ProbeError, match=r"is Python 2\.7\.\d+; envcheck inspects Python 3\.6 or newer"):
        parse_child(run_child(SubprocessRunner(), exe), exe)


def test_missing_interpreter(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="no such file"):
        run_child(SubprocessRunner(), str(tmp_path / "nope" / "python"))


def test_directory_is_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="is a directory") as info:
        run_child(SubprocessRunner(), str(tmp_path) + os.sep)
    assert "bin" in info.value.hint


def test_program_not_named_python_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    exe = _script(tmp_path, "rm-everything", f"touch {marker}")
    with pytest.raises(ProbeError, match="does not look like a Python interpreter"):
        run_child(SubprocessRunner(), exe)
    assert not marker.exists()


def test_non_executable_file(tmp_path: Path) -> None:
    path = tmp_path / "python3"
    path.write_text("not a program")
    with pytest.raises(ProbeError, match=r"cannot run .*not executable"):
        run_child(SubprocessRunner(), str(path))


def test_binary_garbage_named_python(tmp_path: Path) -> None:
    path = tmp_path / "python"
    path.write_bytes(b"\x00\x01garbage" * 10)
    path.chmod(0o755)
    with pytest.raises(ProbeError, match=f"cannot run {path}"):
        run_child(SubprocessRunner(), str(path))


def test_broken_interpreter_that_crashes(tmp_path: Path) -> None:
    exe = _script(tmp_path, "python3", "echo 'Fatal Python error: init_fs_encoding' >&2; exit 1")
    with pytest.raises(ProbeError, match=r"not a working Python 3 interpreter .*init_fs_encoding"):
        run_child(SubprocessRunner(), exe)


def test_interpreter_that_segfaults(tmp_path: Path) -> None:
    exe = _script(tmp_path, "python3", "kill -SEGV $$")
    with pytest.raises(ProbeError, match="SIGSEGV"):
        run_child(SubprocessRunner(), exe)


def test_hanging_interpreter_times_out(tmp_path: Path) -> None:
    exe = _script(tmp_path, "python3", "sleep 30")
    with pytest.raises(ProbeError, match="did not answer the probe within 1 s"):
        run_child(SubprocessRunner(), exe, timeout=1)


def test_unreadable_site_packages_is_reported_not_fatal() -> None:
    """A sys.path entry that cannot be listed becomes a reported path error, not a crash."""
    import json
    import tempfile

    argv_prefix: list[str] = [sys.executable]
    if os.geteuid() == 0:  # root lists everything: run the probe as nobody instead
        setpriv, system_python = shutil.which("setpriv"), shutil.which("python3", path="/usr/bin")
        if not (setpriv and system_python):
            pytest.skip("running as root without setpriv and /usr/bin/python3")
        argv_prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", system_python]
    base = Path(tempfile.mkdtemp(prefix="envcheck-locked-"))
    base.chmod(0o755)
    locked = base / "site"
    locked.mkdir()
    locked.chmod(0o311)  # traversable, not listable
    try:
        env = dict(os.environ, PYTHONPATH=str(locked))
        source = (Path(__file__).parents[2] / "envcheck/probes/_child.py").read_text()
        done = SubprocessRunner().run([*argv_prefix, "-c", source], timeout=20, env=env, cwd=str(base))
    finally:
        locked.chmod(0o755)
        shutil.rmtree(base)
    facts = parse_child(json.loads(done.stdout))
    assert any(str(locked) in e and "PermissionError" in e for e in facts.path_errors), facts.path_errors


TORCH_213_VERSION_PY = """from typing import Optional

__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip', 'rocm', 'xpu']
__version__ = '2.13.0+cpu'
debug = False
cuda: Optional[str] = None
git_version = 'cf30153c4c131c8164ee7798e5022d810682e2cb'
hip: Optional[str] = None
"""

TORCH_21_CU121_VERSION_PY = """__version__ = '2.1.2+cu121'
debug = False
cuda = '12.1'
git_version = 'a8e7c98cb95ff97bb30a728c6b2a1ce6bff946eb'
hip = None
"""


def test_parse_version_py_reads_literals_without_executing() -> None:
    assert parse_version_py(TORCH_213_VERSION_PY)["__version__"] == "2.13.0+cpu"
    assert parse_version_py(TORCH_213_VERSION_PY)["cuda"] is None
    values = parse_version_py(TORCH_21_CU121_VERSION_PY)
    assert (values["cuda"], values["debug"], values["hip"]) == ("12.1", False, None)
    assert parse_version_py("import os; os.system('boom')\n") == {}


def _doc(**packages: object) -> dict[str, object]:
    return {
        "probe": 1,
        "python": {"version": "3.11.7", "implementation": "CPython", "executable": "/v/bin/python",
                   "prefix": "/v", "base_prefix": "/usr", "tag": "cp311"},
        "platform": {"system": "Linux", "machine": "x86_64", "glibc": "glibc 2.36"},
        "dists": [
            {"name": "torch", "version": "2.1.2+cu121", "location": "/v/site"},
            {"name": "nvidia_cudnn_cu12", "version": "8.9.2.26", "location": "/v/site"},
            {"name": "mmcv_lite", "version": "2.2.0", "location": "/v/site"},
        ],
        "packages": packages,
    }  # fmt: skip


def test_parse_child_torch_cuda_build_and_cudnn_from_wheel() -> None:
    facts = parse_child(_doc(torch={"dir": "/v/site/torch", "version_py": TORCH_21_CU121_VERSION_PY}))
    assert isinstance(facts.torch, Torch)
    assert (facts.torch.version, facts.torch.cuda, facts.torch.cudnn) == ("2.1.2+cu121", "12.1", "8902")
    assert facts.torch.cuda_tag == "cu121" and facts.torch.minor == "2.1"
    assert facts.python.virtualenv == "/v" and facts.platform.glibc == "2.36"


def test_parse_child_reports_missing_torch_with_reason() -> None:
    facts = parse_child(_doc(torch=None))
    assert isinstance(facts.torch, Missing) and "not installed" in facts.torch.reason


def test_parse_child_mmcv_lite_has_no_ops() -> None:
    facts = parse_child(_doc(mmcv={"dir": "/v/site/mmcv", "ext_files": [], "version_py": "__version__ = '2.2.0'\n"}))
    assert facts.mmcv and facts.mmcv.dist == "mmcv-lite" and not facts.mmcv.ops
    assert facts.mmcv.flavour == "lite"


@pytest.mark.parametrize(
    ("files", "code"),
    [
        (["libcudnn.so.9.1.0"], "90100"),
        (["libcudnn.so.8.9.2", "libcudnn_ops_infer.so.8"], "8902"),
        (["cudnn64_9.dll"], None),
        ([], None),
    ],
)
def test_cudnn_code(files: list[str], code: str | None) -> None:
    assert cudnn_code(files, {}) == code


def test_dist_info_names_with_local_versions(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "torch-2.1.2+cu121.dist-info").mkdir(parents=True)
    (site / "mmcv-2.1.0.dist-info").mkdir()
    (site / "mmcv-2.1.0.dist-info" / "direct_url.json").write_text(
        '{"url": "file:///src/mmcv", "dir_info": {"editable": true}}'
    )
    (site / "weird.egg-info").mkdir()
    (site / "weird.egg-info" / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: Weird-Pkg\nVersion: 0.3\n\nbody")
    env = dict(os.environ, PYTHONPATH=str(site))
    import json

    done = SubprocessRunner().run(
        [sys.executable, "-c", (Path(__file__).parents[2] / "envcheck/probes/_child.py").read_text()],
        timeout=20,
        env=env,
    )
    facts = parse_child(json.loads(done.stdout))
    found = {d.name: d for d in facts.dists if d.location == str(site)}
    assert found["torch"].version == "2.1.2+cu121"
    assert found["mmcv"].editable
    assert found["weird-pkg"].version == "0.3"
