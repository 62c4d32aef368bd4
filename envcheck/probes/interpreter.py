"""The target interpreter: run the stdlib-only child probe in it, parse what it prints."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from envcheck.errors import ProbeError
from envcheck.facts.model import Dist, Maybe, Missing, Mmcv, PlatformInfo, PythonInfo, Torch
from envcheck.probes.elf import cuda_of_needed, needed_libraries
from envcheck.runner import Runner

CHILD = Path(__file__).with_name("_child.py")
_PYTHON_NAME = re.compile(r"python|pypy", re.I)
MIN_TARGET = (3, 6)


@dataclass(frozen=True)
class InterpreterFacts:
    """What the child probe found, parsed."""

    python: PythonInfo
    platform: PlatformInfo
    dists: tuple[Dist, ...]
    torch: Maybe[Torch]
    mmcv: Maybe[Mmcv]
    pkg_resources: bool | None
    colab_module: bool
    path_errors: tuple[str, ...] = ()


def run_child(runner: Runner, python: str, timeout: float = 20.0) -> dict[str, Any]:
    """Run the probe under `python`; a ProbeError says in one line why that was impossible."""
    if os.sep in python or (os.altsep and os.altsep in python):
        path = Path(python)
        if not path.exists():
            raise ProbeError(f"--python {python}: no such file")
        if path.is_dir():
            raise ProbeError(
                f"--python {python} is a directory",
                hint=f"point it at the interpreter, e.g. {path / 'bin' / 'python'}",
            )
    elif runner.which(python) is None:
        raise ProbeError(f"--python {python}: not found on PATH")
    if not _PYTHON_NAME.search(Path(python).name):
        # The probe runs `PROGRAM -c SOURCE`: never hand that to an arbitrary program.
        raise ProbeError(
            f"--python {python} does not look like a Python interpreter",
            hint="give the path of a python/python3/pypy3 executable",
        )
    source = CHILD.read_text(encoding="utf-8")
    done = runner.run([python, "-c", source], timeout=timeout)
    if done.returncode is None:
        if done.timed_out:
            raise ProbeError(f"{python} did not answer the probe within {timeout:g} s")
        raise ProbeError(f"cannot run {python}: {done.error}")
    try:
        doc = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else None
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or doc.get("probe") != 1:
        raise ProbeError(f"{python} is not a working Python 3 interpreter ({done.describe_failure()})")
    return doc


_ASSIGN = re.compile(r"^(\w+)\s*(?::[^=]*)?=\s*(.+?)\s*$", re.M)


def parse_version_py(text: str) -> dict[str, Any]:
    """Literal assignments of a generated version.py (torch's, mmcv's), never executed."""
    values: dict[str, Any] = {}
    for name, raw in _ASSIGN.findall(text or ""):
        if raw in ("None", "True", "False"):
            values[name] = {"None": None, "True": True, "False": False}[raw]
        elif len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
            values[name] = raw[1:-1]
    return values


_CUDNN_FILE = re.compile(r"(?:lib)?cudnn(?:64)?(?:_\w+?)?(?:\.so)?[._](\d+)(?:\.(\d+))?(?:\.(\d+))?")


def cudnn_code(files: list[str], dists: dict[str, str]) -> str | None:
    """cuDNN as torch.backends.cudnn.version() spells it (90100, 8902), from files or wheels."""
    version = None
    for name, ver in dists.items():
        if name.startswith("nvidia-cudnn-cu"):
            version = ver.split(".")[:3]
    if version is None:
        for f in files:
            m = _CUDNN_FILE.search(f)
            if m and m.group(2) is not None:
                version = [g for g in m.groups() if g is not None]
                break
    if not version:
        return None
    major, minor, patch = (int(x) for x in ([*version, "0", "0"])[:3])
    return str(major * 10000 + minor * 100 + patch if major >= 9 else major * 1000 + minor * 100 + patch)


def _torch(raw: dict[str, Any] | None, versions: dict[str, str]) -> Maybe[Torch]:
    if not raw:
        return Missing("torch is not installed in this interpreter", "importlib.util.find_spec")
    if "error" in raw:
        return Missing(f"looking for torch failed: {raw['error']}", "importlib.util.find_spec")
    values = parse_version_py(raw.get("version_py") or "")
    version = values.get("__version__") or versions.get("torch")
    if not version:
        return Missing("torch/version.py is missing or unreadable", raw.get("dir", ""))
    abi: bool | None = None
    for line in raw.get("cmake_flags") or []:
        if "_GLIBCXX_USE_CXX11_ABI=" in line:
            abi = "_GLIBCXX_USE_CXX11_ABI=1" in line
    return Torch(
        version=str(version),
        cuda=values.get("cuda"),
        hip=values.get("hip"),
        cudnn=cudnn_code(raw.get("lib_files") or [], versions) if values.get("cuda") else None,
        cxx11_abi=abi,
        debug=bool(values.get("debug", False)),
        location=raw.get("dir", ""),
    )


def _mmcv(raw: dict[str, Any] | None, dists: tuple[Dist, ...]) -> Maybe[Mmcv]:
    if not raw:
        return Missing("mmcv is not installed", "importlib.util.find_spec")
    if "error" in raw or not raw.get("dir"):
        return Missing(f"looking for mmcv failed: {raw.get('error', 'no package dir')}", "")
    location = str(Path(raw["dir"]).parent)
    owners = [d for d in dists if d.name in ("mmcv", "mmcv-full", "mmcv-lite")]
    owner = next((d for d in owners if d.location == location), owners[0] if owners else None)
    values = parse_version_py(raw.get("version_py") or "")
    version = str(values.get("__version__") or (owner.version if owner else "unknown"))
    ext_files = [f for f in raw.get("ext_files") or [] if not f.endswith((".py", ".pyc"))]
    ops_path = ext_files[0] if ext_files else None
    ops_cuda, source = None, ""
    if ops_path and ops_path.endswith(".so"):
        try:
            with open(ops_path, "rb") as fh:
                ops_cuda = cuda_of_needed(needed_libraries(fh))
            source = f"ELF DT_NEEDED of {Path(ops_path).name}"
        except OSError as exc:
            source = f"unreadable {ops_path}: {exc.strerror}"
    return Mmcv(
        version=version,
        dist=owner.name if owner else "mmcv",
        ops=ops_path is not None,
        ops_path=ops_path,
        ops_cuda=ops_cuda,
        ops_cuda_source=source,
        location=location,
    )


def parse_child(doc: dict[str, Any], python: str = "") -> InterpreterFacts:
    """Turn the child's raw JSON into facts; rejects Python 2 and too-old Python 3."""
    py = doc.get("python") or {}
    version = str(py.get("version", "0"))
    parts = tuple(int(x) for x in version.split(".")[:2] if x.isdigit())
    if parts < MIN_TARGET:
        raise ProbeError(
            f"{python or py.get('executable')} is Python {version}; "
            f"envcheck inspects Python {'.'.join(map(str, MIN_TARGET))} or newer"
        )
    prefix = str(py.get("prefix", ""))
    in_venv = prefix != str(py.get("base_prefix", prefix))
    plat = doc.get("platform") or {}
    glibc = plat.get("glibc") or None
    if glibc and glibc.startswith("glibc "):
        glibc = glibc.split()[1]
    dists = tuple(
        Dist(
            name=canonicalize_name(str(d.get("name", ""))),
            version=str(d.get("version", "")),
            location=str(d.get("location", "")),
            editable=bool(d.get("editable", False)),
            installer=str(d.get("installer", "")),
        )
        for d in doc.get("dists") or []
        if d.get("name")
    )
    versions: dict[str, str] = {}
    for d in dists:
        versions.setdefault(d.name, d.version)
    packages = doc.get("packages") or {}
    pkg_res = packages.get("pkg_resources")
    return InterpreterFacts(
        python=PythonInfo(
            version=version,
            implementation=str(py.get("implementation", "")),
            executable=str(py.get("executable", "")),
            prefix=prefix,
            virtualenv=prefix if in_venv else None,
            conda=prefix if py.get("conda_meta") else None,
            tag=str(py.get("tag", "")),
        ),
        platform=PlatformInfo(
            system=str(plat.get("system", sys.platform)),
            machine=str(plat.get("machine", "")),
            release=str(plat.get("release", "")),
            glibc=glibc,
            cpus=plat.get("cpus") if isinstance(plat.get("cpus"), int) else None,
        ),
        dists=dists,
        torch=_torch(packages.get("torch"), versions),
        mmcv=_mmcv(packages.get("mmcv"), dists),
        pkg_resources=None if isinstance(pkg_res, dict) and "error" in pkg_res else bool(pkg_res),
        colab_module=bool(packages.get("google.colab")),
        path_errors=tuple(f"{e['path']}: {e['error']}" for e in doc.get("path_errors") or []),
    )
