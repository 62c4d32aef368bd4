"""The build toolchain: nvcc, the CUDA home torch would use, gcc/g++ and MSVC's cl."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path, PurePath

from envcheck.facts.model import CudaHome, Maybe, Missing, Tool, Toolchain
from envcheck.runner import Completed, Runner

# nvcc: the full "V12.1.105" when printed (it tells 12.4 GA from 12.4 U1, and major.minor is a
# prefix of it); "release 12.1" or the "Build cuda_13.0.r13.0" tag only when that is all there is.
_NVCC_FULL = re.compile(r"release \d+\.\d+,\s*V(\d+\.\d+(?:\.\d+)?)")
_NVCC_RELEASE = re.compile(r"release (\d+\.\d+)")
_NVCC_BUILD = re.compile(r"Build cuda_(\d+\.\d+)")
# GNU: "gcc (Debian 12.2.0-14) 12.2.0", "gcc (GCC) 14.2.1 20250207", "cc (crosstool-NG ...) 7.3.0".
_GNU = re.compile(r"^\S+\s+\(.*?\)\s+(\d+\.\d+(?:\.\d+)?)(?:\s|$)")
_GNU_V = re.compile(r"^gcc version (\d+\.\d+(?:\.\d+)?)", re.MULTILINE)  # `gcc -v`
_CLANG = re.compile(r"clang version (\d+\.\d+(?:\.\d+)?)")
_MSVC = re.compile(r"C/C\+\+.*?(\d+\.\d+\.\d+(?:\.\d+)?)")
_DEFAULT_CUDA_HOME = "/usr/local/cuda"


def parse_nvcc_version(text: str) -> str | None:
    """nvcc's version from `nvcc --version`: "12.1.105" (full), else "12.1"."""
    for pattern in (_NVCC_FULL, _NVCC_RELEASE, _NVCC_BUILD):
        m = pattern.search(text)
        if m:
            return m.group(1)
    return None


def parse_gcc_version(text: str) -> str | None:
    """A C/C++ compiler's version from its banner.

    GNU gcc/g++ (any vendor string, conda's cross-named cc, `gcc -v` too) -> "12.2.0";
    clang -> "clang 17.0.6" (not a GCC version, and so it reads); MSVC cl.exe -> "19.38.33133".
    """
    lines = [line.strip() for line in text.replace("\r\n", "\n").splitlines() if line.strip()]
    if not lines:
        return None
    clang = _CLANG.search(lines[0])
    if clang:
        return f"clang {clang.group(1)}"
    for line in lines[:3]:  # cl prints its banner on stderr, sometimes after a warning
        if "Microsoft" in line and "C/C++" in line:
            m = _MSVC.search(line)
            return m.group(1) if m else None
    gnu = _GNU.search(lines[0]) or _GNU_V.search("\n".join(lines))
    return gnu.group(1) if gnu else None


def _host_path(root: Path, path: str) -> Path:
    """A path named by the environment, seen under `root` (tests build fake trees there)."""
    if root == Path("/"):
        return Path(path)
    return root / path.lstrip("/\\")


def _cuda_version_file(home: Path) -> str | None:
    try:
        data = json.loads((home / "version.json").read_text(encoding="utf-8"))
        version = data.get("cuda", {}).get("version")
        if isinstance(version, str):
            return version
    except (OSError, ValueError, AttributeError):
        pass
    try:  # CUDA <= 11.0 ships version.txt: "CUDA Version 11.0.228"
        m = re.search(r"(\d+\.\d+(?:\.\d+)?)", (home / "version.txt").read_text(encoding="utf-8"))
        return m.group(1) if m else None
    except OSError:
        return None


def _cuda_home(root: Path, environ: Mapping[str, str], nvcc_on_path: str | None) -> Maybe[CudaHome]:
    """Where torch.utils.cpp_extension looks: CUDA_HOME, CUDA_PATH, nvcc's prefix, the default."""
    chosen: tuple[str, str] | None = None
    for variable in ("CUDA_HOME", "CUDA_PATH"):
        if environ.get(variable):
            chosen = (environ[variable], variable)
            break
    if chosen is None and nvcc_on_path:
        chosen = (str(PurePath(nvcc_on_path).parent.parent), "PATH:nvcc")
    if chosen is None and _host_path(root, _DEFAULT_CUDA_HOME).is_dir():
        chosen = (_DEFAULT_CUDA_HOME, "default:" + _DEFAULT_CUDA_HOME)
    if chosen is None:
        return Missing(
            f"no CUDA toolkit: CUDA_HOME and CUDA_PATH unset, no nvcc on PATH, {_DEFAULT_CUDA_HOME} absent",
            "CUDA_HOME",
        )
    path, variable = chosen
    home = _host_path(root, path)
    has_nvcc = (home / "bin/nvcc").is_file() or (home / "bin/nvcc.exe").is_file()
    return CudaHome(path, variable, home.is_dir(), has_nvcc, _cuda_version_file(home))


def _tool(slot: str, done: Completed, path: str, source: str, timeout: float) -> Maybe[Tool]:
    name = PurePath(path).name
    if done.timed_out:
        return Missing(f"{name} timed out after {timeout:g} s", path)
    if slot == "nvcc":
        version = parse_nvcc_version(done.stdout)
    else:  # cl writes its banner to stderr; gcc and clang to stdout
        version = parse_gcc_version(done.stdout if done.stdout.strip() else done.stderr)
    if version is None:  # cl exits non-zero without a source file; its banner still counts
        detail = done.describe_failure() if not done.ok else "no version in its output"
        return Missing(f"{name}: {detail}", path)
    return Tool(path, version, source)


def _plans(
    runner: Runner, environ: Mapping[str, str], search: str, system: str
) -> dict[str, tuple[list[str], str] | Missing]:
    """(argv, where it was found) per compiler slot, or why there is nothing to run."""
    plans: dict[str, tuple[list[str], str] | Missing] = {}
    for slot, variable, default in (("gcc", "CC", "gcc"), ("gxx", "CXX", "g++")):
        words = shlex.split(environ.get(variable, "")) or [default]  # CC="ccache gcc" is common
        found = runner.which(words[0], search)
        source = variable if environ.get(variable) else "PATH"
        if found:
            plans[slot] = ([found, *words[1:], "--version"], source)
        else:
            plans[slot] = Missing(f"{words[0]} not found on PATH", source)
    if system != "Windows":
        plans["msvc"] = Missing("MSVC is only used on Windows", "platform")
    else:
        cl = runner.which("cl", search)  # on PATH only inside a VS developer shell (vcvarsall)
        plans["msvc"] = ([cl], "PATH") if cl else Missing("cl.exe not on PATH", "PATH")
    return plans


def probe_toolchain(
    runner: Runner,
    root: Path = Path("/"),
    environ: Mapping[str, str] | None = None,
    timeout: float = 5.0,
    *,
    system: str = "Linux",
) -> Toolchain:
    """nvcc, CUDA home, gcc, g++ (CC/CXX respected) and, on Windows, cl; commands run concurrently.

    `environ` is the environment to search (None: an empty one); `system` is platform.system().
    """
    environ = environ if environ is not None else {}
    search = environ.get("PATH", "")  # never None: that would make which() read os.environ
    nvcc_on_path = runner.which("nvcc", search)
    cuda_home = _cuda_home(root, environ, nvcc_on_path)
    plans = _plans(runner, environ, search, system)
    if nvcc_on_path:
        plans["nvcc"] = ([nvcc_on_path, "--version"], "PATH")
    elif isinstance(cuda_home, CudaHome) and cuda_home.has_nvcc:
        binary = _host_path(root, cuda_home.path) / "bin" / "nvcc"
        plans["nvcc"] = ([str(binary), "--version"], cuda_home.variable)
    else:
        plans["nvcc"] = Missing("nvcc not found on PATH nor in a CUDA home", "PATH")

    results: dict[str, Maybe[Tool]] = {}
    with ThreadPoolExecutor(max_workers=len(plans)) as pool:  # cost = the slowest, not the sum
        futures: dict[str, tuple[Future[Completed], list[str], str]] = {}
        for slot, plan in plans.items():
            if isinstance(plan, Missing):
                results[slot] = plan
            else:
                futures[slot] = (pool.submit(runner.run, plan[0], timeout=timeout), *plan)
        for slot, (future, argv, source) in futures.items():
            results[slot] = _tool(slot, future.result(), argv[0], source, timeout)
    return Toolchain(
        nvcc=results["nvcc"],
        cuda_home=cuda_home,
        gcc=results["gcc"],
        gxx=results["gxx"],
        msvc=results["msvc"],
    )
