"""Toolchain probe: nvcc/gcc/clang/cl banners from real captures, the probe on fake trees."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Callable

import pytest

from envcheck.facts.model import CudaHome, Missing, Tool, parse_version
from envcheck.probes.toolchain import parse_gcc_version, parse_nvcc_version, probe_toolchain
from envcheck.runner import Completed, SubprocessRunner
from tests.probes.helpers import FakeRunner, assert_sourced, cases, done, read_capture, timed_out

Tree = Callable[..., Path]

NVCC = {
    "10.1-no-build-line": "10.1.243",
    "11.0": "11.0.194",
    "11.1": "11.1.105",
    "11.5": "11.5.119",
    "11.6-arch": "11.6.124",
    "12.4-h20": "12.4.99",
    "12.6": "12.6.20",
    "13.0-debian-here": "13.0.88",
}
GCC = {
    "debian12-gcc-here": "12.2.0",
    "debian12-gxx-here": "12.2.0",
    "ubuntu22-11.4": "11.4.0",
    "arch-12.1": "12.1.0",
    "fedora-redhat-5.3": "5.3.1",
    "german-14.2": "14.2.1",
    "anaconda-gcc-11.2": "11.2.0",
    "anaconda-gxx-11.2": "11.2.0",
    "conda-cos6-7.3": "7.3.0",
    "gcc-v-10.2": "10.2.0",
}
CLANG = {
    "ubuntu-10.0.1": "clang 10.0.1",
    "clang-cl-11-windows": "clang 11.0.0",
    "centos6-2.8": "clang 2.8",
}
MSVC = {
    "cl-19.27-x64": "19.27.29111",
    "cl-19.26-unknown-option": "19.26.28806",
    "cl-19.13-vs2017": "19.13.26131.1",
}
EXPECTED = {"nvcc": NVCC, "gcc": GCC, "clang": CLANG, "msvc": MSVC}


@pytest.mark.parametrize("tool", sorted(EXPECTED))
def test_every_capture_is_sourced_and_tested(tool: str) -> None:
    assert_sourced(tool)
    assert cases(tool) == set(EXPECTED[tool])


@pytest.mark.parametrize("case", sorted(NVCC))
def test_parse_nvcc_version(case: str) -> None:
    text = read_capture(f"nvcc/{case}")
    assert parse_nvcc_version(text) == NVCC[case]
    assert parse_nvcc_version(text.replace("\n", "\r\n")) == NVCC[case]


def test_parse_nvcc_version_fallbacks() -> None:
    # Only the release, or only the Build tag, survived (users paste partial output).
    assert parse_nvcc_version("Cuda compilation tools, release 12.1") == "12.1"
    assert parse_nvcc_version("Build cuda_13.0.r13.0/compiler.36424714_0") == "13.0"
    assert parse_nvcc_version("bash: nvcc: command not found") is None
    assert parse_nvcc_version("") is None


@pytest.mark.parametrize(("tool", "case"), [(t, c) for t in ("gcc", "clang", "msvc") for c in sorted(EXPECTED[t])])
def test_parse_gcc_version(tool: str, case: str) -> None:
    text = read_capture(f"{tool}/{case}")
    assert parse_gcc_version(text) == EXPECTED[tool][case]
    assert parse_gcc_version(text.replace("\n", "\r\n")) == EXPECTED[tool][case]


def test_gcc_versions_parse_and_clang_does_not() -> None:
    # Consumers compare GCC versions with packaging; "clang 10.0.1" must not pass as one.
    assert parse_version(parse_gcc_version(read_capture("gcc/ubuntu22-11.4")))
    assert parse_version(parse_gcc_version(read_capture("clang/ubuntu-10.0.1"))) is None


@pytest.mark.parametrize("text", ["", "\n\n", "gcc: command not found", "Segmentation fault", "\x00\ufffd garbage (x)"])
def test_parse_gcc_version_garbage(text: str) -> None:
    assert parse_gcc_version(text) is None


# ----------------------------------------------------------------------------- the probe

ENV = {"PATH": "/usr/local/bin:/usr/bin"}


def linux_runner(replies: dict[str, Completed]) -> FakeRunner:
    """/usr/bin/<name> for each name, answering `--version` with its reply."""
    runner = FakeRunner()
    for name, reply in replies.items():
        runner.replies[(runner.install(f"/usr/bin/{name}"), "--version")] = reply
    return runner


def test_probe_everything_on_path(tree: Tree) -> None:
    root = tree(dirs=["usr/local/cuda-13.0/bin"])
    runner = linux_runner(
        {
            "gcc": done(read_capture("gcc/debian12-gcc-here")),
            "g++": done(read_capture("gcc/debian12-gxx-here")),
        }
    )
    nvcc = runner.install("/usr/local/cuda-13.0/bin/nvcc")
    runner.replies[(nvcc, "--version")] = done(read_capture("nvcc/13.0-debian-here"))
    (root / "usr/local/cuda-13.0/bin/nvcc").write_text("")
    env = {"PATH": "/usr/local/cuda-13.0/bin:/usr/bin"}
    chain = probe_toolchain(runner, root, env)
    assert chain.nvcc == Tool(nvcc, "13.0.88", "PATH")
    assert chain.gcc == Tool("/usr/bin/gcc", "12.2.0", "PATH")
    assert chain.gxx == Tool("/usr/bin/g++", "12.2.0", "PATH")
    # torch.utils.cpp_extension falls back to nvcc's prefix when CUDA_HOME is unset.
    assert chain.cuda_home == CudaHome("/usr/local/cuda-13.0", "PATH:nvcc", True, True, None)
    assert chain.msvc == Missing("MSVC is only used on Windows", "platform")


def test_probe_cuda_home_with_version_json(tree: Tree) -> None:
    version_json = json.dumps({"cuda": {"name": "CUDA SDK", "version": "12.1.1"}})
    root = tree({"opt/cuda-12.1/bin/nvcc": "", "opt/cuda-12.1/version.json": version_json})
    runner = FakeRunner()
    nvcc = str(root / "opt/cuda-12.1/bin/nvcc")
    runner.replies[(nvcc, "--version")] = done(read_capture("nvcc/12.4-h20"))
    chain = probe_toolchain(runner, root, {"PATH": "/usr/bin", "CUDA_HOME": "/opt/cuda-12.1"})
    assert chain.cuda_home == CudaHome("/opt/cuda-12.1", "CUDA_HOME", True, True, "12.1.1")
    # nvcc is not on PATH: the one in CUDA_HOME is run, and says which it is.
    assert chain.nvcc == Tool(nvcc, "12.4.99", "CUDA_HOME")


def test_probe_cuda_path_missing_dir(tmp_path: Path, fake_runner: FakeRunner) -> None:
    env = {"PATH": "/usr/bin", "CUDA_PATH": "/opt/cuda-11.8"}
    chain = probe_toolchain(fake_runner, tmp_path, env)
    assert chain.cuda_home == CudaHome("/opt/cuda-11.8", "CUDA_PATH", False, False, None)
    assert chain.nvcc == Missing("nvcc not found on PATH nor in a CUDA home", "PATH")


def test_probe_default_cuda_home_version_txt(tree: Tree, fake_runner: FakeRunner) -> None:
    root = tree({"usr/local/cuda/version.txt": "CUDA Version 11.0.228\n"})
    chain = probe_toolchain(fake_runner, root, {"PATH": "/usr/bin"})
    assert chain.cuda_home == CudaHome("/usr/local/cuda", "default:/usr/local/cuda", True, False, "11.0.228")


def test_probe_nothing_installed(tmp_path: Path, fake_runner: FakeRunner) -> None:
    chain = probe_toolchain(fake_runner, tmp_path, {"PATH": "/usr/bin"})
    assert isinstance(chain.cuda_home, Missing) and "no CUDA toolkit" in chain.cuda_home.reason
    assert chain.gcc == Missing("gcc not found on PATH", "PATH")
    assert chain.gxx == Missing("g++ not found on PATH", "PATH")
    assert fake_runner.calls == []


def test_probe_respects_cc_and_cxx(tmp_path: Path) -> None:
    runner = FakeRunner()
    ccache = runner.install("/usr/bin/ccache")
    clangxx = runner.install("/usr/lib/llvm-10/bin/clang++")
    runner.replies[(ccache, "x86_64-conda_cos6-linux-gnu-cc", "--version")] = done(read_capture("gcc/conda-cos6-7.3"))
    runner.replies[(clangxx, "--version")] = done(read_capture("clang/ubuntu-10.0.1"))
    env = {
        "PATH": "/usr/lib/llvm-10/bin:/usr/bin",
        "CC": "ccache x86_64-conda_cos6-linux-gnu-cc",
        "CXX": "clang++",
    }
    chain = probe_toolchain(runner, tmp_path, env)
    assert chain.gcc == Tool(ccache, "7.3.0", "CC")
    assert chain.gxx == Tool(clangxx, "clang 10.0.1", "CXX")
    assert (ccache, "x86_64-conda_cos6-linux-gnu-cc", "--version") in runner.calls


def test_probe_cc_not_found(tmp_path: Path, fake_runner: FakeRunner) -> None:
    chain = probe_toolchain(fake_runner, tmp_path, {"PATH": "/usr/bin", "CC": "gcc-99"})
    assert chain.gcc == Missing("gcc-99 not found on PATH", "CC")


def test_probe_timeout_and_crash_are_values(tmp_path: Path) -> None:
    crash = done(stderr="g++: internal compiler error: Segmentation fault", returncode=4)
    runner = linux_runner({"gcc": timed_out(5), "g++": crash})
    chain = probe_toolchain(runner, tmp_path, ENV, timeout=5)
    assert chain.gcc == Missing("gcc timed out after 5 s", "/usr/bin/gcc")
    assert chain.gxx == Missing("g++: exit 4: g++: internal compiler error: Segmentation fault", "/usr/bin/g++")


def test_probe_windows_cl_banner_on_stderr(tmp_path: Path) -> None:
    runner = FakeRunner()
    folder = r"C:\Program Files\Microsoft Visual Studio\2022\BuildTools\VC\Tools\MSVC\14.29\bin"
    cl = runner.install(folder + r"\Hostx64\x64\cl.exe", folder, "cl")
    # cl writes its banner to stderr and fails without a source file; the banner still counts.
    banner = read_capture("msvc/cl-19.26-unknown-option").replace("\n", "\r\n")
    runner.replies[(cl,)] = done(stderr=banner, returncode=2)
    chain = probe_toolchain(runner, tmp_path, {"PATH": folder}, system="Windows")
    assert chain.msvc == Tool(cl, "19.26.28806", "PATH")
    assert chain.gcc == Missing("gcc not found on PATH", "PATH")


def test_probe_windows_without_dev_shell(tmp_path: Path, fake_runner: FakeRunner) -> None:
    chain = probe_toolchain(fake_runner, tmp_path, {"PATH": r"C:\Python311"}, system="Windows")
    assert chain.msvc == Missing("cl.exe not on PATH", "PATH")


def test_probe_runs_commands_concurrently(tree: Tree) -> None:
    # Three commands each wait for the other two: run one after another, they would break
    # the barrier (after 10 s) instead of all passing it.
    barrier = threading.Barrier(3, timeout=10)

    def meet(reply: Completed) -> Callable[[Sequence[str]], Completed]:
        def answer(argv: Sequence[str]) -> Completed:
            barrier.wait()
            return reply

        return answer

    root = tree({"usr/local/cuda/bin/nvcc": ""})
    runner = FakeRunner()
    for name, case in (("gcc", "gcc/ubuntu22-11.4"), ("g++", "gcc/anaconda-gxx-11.2")):
        runner.replies[(runner.install(f"/usr/bin/{name}"), "--version")] = meet(done(read_capture(case)))
    nvcc = str(root / "usr/local/cuda/bin/nvcc")
    runner.replies[(nvcc, "--version")] = meet(done(read_capture("nvcc/11.5")))
    chain = probe_toolchain(runner, root, {"PATH": "/usr/bin"})
    assert chain.nvcc == Tool(nvcc, "11.5.119", "default:/usr/local/cuda")
    assert isinstance(chain.gcc, Tool) and chain.gcc.version == "11.4.0"
    assert isinstance(chain.gxx, Tool) and chain.gxx.version == "11.2.0"


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs a gcc on PATH")
def test_real_gcc_on_this_machine(tmp_path: Path) -> None:
    path = shutil.which("gcc")
    assert path is not None
    chain = probe_toolchain(SubprocessRunner(), tmp_path, {"PATH": str(Path(path).parent)})
    assert isinstance(chain.gcc, Tool) and chain.gcc.path == path
    assert parse_version(chain.gcc.version) is not None
