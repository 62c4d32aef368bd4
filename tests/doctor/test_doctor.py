"""Doctor rules on facts: each rule fires on the broken case it names, and stays quiet on a healthy one."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from envcheck.doctor import Finding, diagnose_environment, worst
from envcheck.facts.complete import complete
from envcheck.facts.model import (
    CudaHome,
    DeepTorch,
    Dist,
    Driver,
    Environment,
    Gpu,
    Mmcv,
    PlatformInfo,
    PythonInfo,
    Tool,
    Toolchain,
    Torch,
)
from envcheck.matrix import Matrix, load_matrix
from envcheck.probes.interpreter import parse_child
from envcheck.runner import SubprocessRunner
from tests import DATA, ROOT

SITE = "/v/lib/python3.10/site-packages"


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return load_matrix()


def env_of(
    packages: dict[str, str],
    *,
    python: str = "3.10.14",
    torch: Torch | None = None,
    mmcv: Mmcv | None = None,
    gpus: tuple[Gpu, ...] = (),
    driver: Driver | None = None,
    toolchain: Toolchain | None = None,
    pkg_resources: bool | None = True,
    deep: DeepTorch | None = None,
) -> Environment:
    from envcheck.facts.model import Missing

    tag = "cp" + "".join(python.split(".")[:2])
    dists = tuple(Dist(n, v, SITE) for n, v in packages.items())
    return Environment(
        python=PythonInfo(python, "CPython", "/v/bin/python", "/v", virtualenv="/v", tag=tag),
        platform=PlatformInfo("Linux", "x86_64", glibc="2.35", cpus=2),
        dists=dists,
        torch=torch if torch is not None else Missing("torch is not installed"),
        mmcv=mmcv if mmcv is not None else Missing("mmcv is not installed"),
        gpus=gpus,
        driver=driver if driver is not None else Missing("no NVIDIA driver"),
        toolchain=toolchain or Toolchain(),
        pkg_resources=pkg_resources,
        deep=deep if deep is not None else Missing("not run"),
    )


def codes(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.code, []).append(f)
    return out


TORCH_21 = Torch("2.1.2+cu121", cuda="12.1", arch_list=("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"))
HEALTHY = {
    "torch": "2.1.2+cu121",
    "mmcv": "2.1.0",
    "mmengine": "0.10.7",
    "mmdet": "3.3.0",
    "numpy": "1.26.4",
    "setuptools": "69.5.1",
    "pip": "24.0",
}
T4 = Gpu(0, "Tesla T4", "7.5", 15360)
DRIVER_535 = Driver("535.104.05", cuda_max="12.2")


def test_healthy_cuda_stack_has_no_errors(matrix: Matrix) -> None:
    env = env_of(
        HEALTHY,
        torch=TORCH_21,
        mmcv=Mmcv("2.1.0", "mmcv", ops=True, ops_cuda="12"),
        gpus=(T4,),
        driver=DRIVER_535,
    )
    found = diagnose_environment(complete(env, matrix), matrix)
    assert worst(found) != "error", found


def test_mmdet_33_rejects_mmcv_22_and_lite_has_no_ops(matrix: Matrix) -> None:
    env = env_of(
        {**HEALTHY, "mmcv-lite": "2.2.0", "mmcv": "2.2.0"},
        torch=TORCH_21,
        mmcv=Mmcv("2.2.0", "mmcv-lite", ops=False),
    )
    found = codes(diagnose_environment(env, matrix))
    guard = found["version-guard"][0]
    assert "mmdet 3.3.0 rejects the installed mmcv 2.2.0" in guard.title
    assert "<2.2.0" in guard.why
    # torch 2.1 + cu121 has a prebuilt mmcv 2.1.0 wheel: the fix is that exact pip line
    assert any("mmcv==2.1.0" in c and "--only-binary" in c and "cu121/torch2.1" in c for c in guard.fix)
    assert "mmcv-ops-missing" in found
    assert "package-conflict" in found  # mmcv and mmcv-lite both installed


def test_mmocr_101_rejects_mmdet_33(matrix: Matrix) -> None:
    env = env_of({**HEALTHY, "mmocr": "1.0.1"}, torch=TORCH_21, mmcv=Mmcv("2.1.0", "mmcv", ops=True))
    guard = [f for f in diagnose_environment(env, matrix) if f.code == "version-guard"]
    assert [f.title for f in guard] == ["mmocr 1.0.1 rejects the installed mmdet 3.3.0"]
    assert "<3.2.0" in guard[0].why


def test_missing_undeclared_runtime_needs(matrix: Matrix) -> None:
    env = env_of({**HEALTHY, "mmsegmentation": "1.2.2"}, torch=TORCH_21, mmcv=Mmcv("2.1.0", "mmcv", ops=True))
    found = codes(diagnose_environment(env, matrix))["missing-optional-dependency"]
    assert any("ftfy" in f.title and "regex" in f.title for f in found)
    assert any(f.fix and f.fix[0].endswith("pip install ftfy regex") for f in found)


def test_pinned_undeclared_needs_count_as_installed(matrix: Matrix) -> None:
    """extra_runtime entries may carry a pin (mmdeploy 1.2: onnxruntime==1.8.1); installed is installed."""
    packages = {**HEALTHY, "mmdeploy": "1.2.0", "onnxruntime": "1.8.1"}
    env = env_of(packages, torch=TORCH_21, mmcv=Mmcv("2.1.0", "mmcv", ops=True))
    titles = [f.title for f in diagnose_environment(env, matrix) if f.code == "missing-optional-dependency"]
    assert not any("onnxruntime" in t for t in titles), titles
    del packages["onnxruntime"]
    env = env_of(packages, torch=TORCH_21, mmcv=Mmcv("2.1.0", "mmcv", ops=True))
    titles = [f.title for f in diagnose_environment(env, matrix) if f.code == "missing-optional-dependency"]
    assert any("onnxruntime==1.8.1" in t for t in titles), titles


def test_missing_onnxruntime_fix_follows_the_installed_numpy(matrix: Matrix) -> None:
    """Under NumPy 2 the fix asks for an onnxruntime whose wheels work with it (numpy.toml numpy2_from)."""
    abi = matrix.abi("onnxruntime")
    assert abi is not None and abi.numpy2_from
    fixes = {}
    for numpy in ("1.26.4", "2.2.6"):
        packages = {**HEALTHY, "torch": "2.6.0+cu124", "numpy": numpy, "mmdeploy": "1.3.1"}
        env = env_of(
            packages, python="3.11.9", torch=Torch("2.6.0+cu124", cuda="12.4"), mmcv=Mmcv("2.1.0", "mmcv", ops=True)
        )
        found = [f for f in diagnose_environment(env, matrix) if f.code == "missing-optional-dependency"]
        fixes[numpy] = [c for f in found if "onnxruntime" in f.title for c in f.fix]
    assert fixes["1.26.4"] and fixes["1.26.4"][0].endswith("pip install onnxruntime"), fixes
    assert fixes["2.2.6"] and fixes["2.2.6"][0].endswith(f"pip install 'onnxruntime>={abi.numpy2_from}'"), fixes


def test_mmcv_ops_cuda_differs_from_torch(matrix: Matrix) -> None:
    env = env_of(
        HEALTHY, torch=TORCH_21, mmcv=Mmcv("2.1.0", "mmcv", ops=True, ops_cuda="11"), gpus=(T4,), driver=DRIVER_535
    )
    found = codes(diagnose_environment(env, matrix))["abi-undefined-symbol"]
    assert "CUDA 11" in found[0].title and "12.1" in found[0].title


def test_cpu_only_mmcv_ops_on_a_gpu_machine(matrix: Matrix) -> None:
    env = env_of(
        HEALTHY, torch=TORCH_21, mmcv=Mmcv("2.1.0", "mmcv", ops=True, ops_cuda="cpu"), gpus=(T4,), driver=DRIVER_535
    )
    assert "mmcv-cpu-only-build" in codes(diagnose_environment(env, matrix))


def test_cpu_torch_on_a_gpu_machine_suggests_a_cuda_build(matrix: Matrix) -> None:
    env = env_of({**HEALTHY, "torch": "2.1.2+cpu"}, torch=Torch("2.1.2+cpu"), gpus=(T4,), driver=DRIVER_535)
    f = codes(diagnose_environment(complete(env, matrix), matrix))["torch-cpu-only"][0]
    assert "Tesla T4" in f.title
    assert any("download.pytorch.org/whl/cu121" in c for c in f.fix)  # 12.1 <= the driver's 12.2


def test_driver_too_old_for_torch_cuda(matrix: Matrix) -> None:
    env = env_of(HEALTHY, torch=TORCH_21, gpus=(Gpu(0, "NVIDIA GeForce RTX 3090", "8.6"),), driver=Driver("470.82.01"))
    f = codes(diagnose_environment(complete(env, matrix), matrix))["driver-too-old"][0]
    assert f.severity == "error" and "470.82.01" in f.title and "525" in f.title
    assert any("whl/cu118" in c for c in f.fix)  # the newest build this driver runs


def test_colab_forward_compat_is_not_driver_too_old(matrix: Matrix) -> None:
    torch = Torch("2.9.0+cu128", cuda="12.8")
    driver = Driver(
        "550.54.15", forward_compat="/usr/local/cuda-12.8/compat/libcuda.so.1", forward_compat_version="570.124.06"
    )
    env = complete(env_of({**HEALTHY, "torch": torch.version}, torch=torch, gpus=(T4,), driver=driver), matrix)
    found = codes(diagnose_environment(env, matrix))
    assert "driver-too-old" not in found
    assert "driver-forward-compat" in found and found["driver-forward-compat"][0].severity == "info"


def test_gpu_not_in_torch_arch_list(matrix: Matrix) -> None:
    blackwell = Gpu(0, "NVIDIA GeForce RTX 5090", "12.0")
    torch = Torch("2.6.0+cu124", cuda="12.4", arch_list=("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"))
    env = env_of({**HEALTHY, "torch": torch.version}, torch=torch, gpus=(blackwell,), driver=Driver("575.57.08"))
    f = codes(diagnose_environment(complete(env, matrix), matrix))["cuda-arch"][0]
    assert "sm_120" in f.title
    assert any("whl/cu126" not in c and "whl/cu128" in c for c in f.fix)


def test_numpy2_with_numpy1_builds(matrix: Matrix) -> None:
    env = env_of(
        {**HEALTHY, "numpy": "2.1.3", "onnxruntime": "1.15.1", "xtcocotools": "1.14.3"},
        torch=TORCH_21,
        mmcv=Mmcv("2.1.0", "mmcv", ops=True),
    )
    titles = [f.title for f in diagnose_environment(env, matrix) if f.code == "numpy2-abi"]
    assert any(t.startswith("torch 2.1.2+cu121 was built for NumPy 1") for t in titles)
    assert any(t.startswith("onnxruntime 1.15.1") for t in titles)
    assert any(t.startswith("xtcocotools 1.14.3") for t in titles)


@pytest.mark.parametrize("python", ["3.10.14", "3.12.7", "3.13.1"])
def test_numpy2_fixes_exist_on_this_python(matrix: Matrix, python: str) -> None:
    """The fixes follow numpy.toml: numpy<2 only where NumPy 1 has a wheel for this Python; an xtcocotools
    wheel (a NumPy-1 build) can instead be rebuilt from its sdist where that recipe works."""
    packages = {**HEALTHY, "torch": "2.6.0+cu124", "numpy": "2.2.6", "xtcocotools": "1.14.3"}
    env = env_of(packages, python=python, torch=Torch("2.6.0+cu124", cuda="12.4"))
    found = [f for f in diagnose_environment(env, matrix) if f.code == "numpy2-abi"]
    assert [f.title.split()[0] for f in found] == ["xtcocotools"]
    fixes = found[0].fix
    minor = ".".join(python.split(".")[:2])
    tag = "cp" + minor.replace(".", "")
    numpy1_wheel = matrix.binaries["numpy"].has_wheel(matrix.binaries["numpy"].releases(SpecifierSet("<2"))[0], tag)
    assert any(c.endswith("pip install 'numpy<2'") for c in fixes) is numpy1_wheel, fixes
    build = matrix.binaries["xtcocotools"].build
    assert build is not None
    rebuild = [c for c in fixes if "--no-build-isolation" in c and "--no-binary xtcocotools" in c]
    assert bool(rebuild) is build.builds_on(minor), fixes
    assert all(c.endswith("xtcocotools==1.14.3") for c in rebuild)


def test_setuptools_without_pkg_resources(matrix: Matrix) -> None:
    env = env_of(
        {**HEALTHY, "setuptools": "84.2.1", "openmim": "0.3.9"},
        torch=TORCH_21,
        mmcv=Mmcv("2.1.0", "mmcv", ops=False),
        pkg_resources=False,
    )
    found = codes(diagnose_environment(env, matrix))
    assert found["mim-pkg_resources"][0].severity == "error"
    assert "build-isolation-pkg_resources" in found
    assert any("setuptools<82" in c for c in found["mim-pkg_resources"][0].fix)


def test_python312_with_old_setuptools(matrix: Matrix) -> None:
    env = env_of({**HEALTHY, "setuptools": "60.2.0"}, python="3.12.11", torch=TORCH_21, pkg_resources=True)
    f = codes(diagnose_environment(env, matrix))["python312-setuptools"][0]
    assert any("setuptools>=66.1.0,<82" in c for c in f.fix)


def test_python_newer_than_any_mmcv_wheel(matrix: Matrix) -> None:
    env = env_of({"torch": "2.11.0+cu128"}, python="3.13.15", torch=Torch("2.11.0+cu128", cuda="12.8"))
    assert "python-unsupported" in codes(diagnose_environment(env, matrix))


def test_no_prebuilt_wheel_for_new_torch(matrix: Matrix) -> None:
    env = env_of({"torch": "2.9.0+cu126"}, python="3.11.9", torch=Torch("2.9.0+cu126", cuda="12.6"))
    f = codes(diagnose_environment(env, matrix))["no-prebuilt-wheel"][0]
    assert "torch 2.9" in f.title and "cu126" in f.title


def test_weights_only_with_new_torch(matrix: Matrix) -> None:
    torch = Torch("2.6.0+cu124", cuda="12.4")
    env = env_of({**HEALTHY, "torch": torch.version}, torch=torch, mmcv=Mmcv("2.1.0", "mmcv", ops=True))
    f = codes(diagnose_environment(env, matrix))["weights-only"][0]
    assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1" in f.fix[0]


def test_mim_with_new_pip(matrix: Matrix) -> None:
    env = env_of({**HEALTHY, "openmim": "0.3.9", "pip": "24.1.2"}, torch=TORCH_21, mmcv=Mmcv("2.1.0", "mmcv", ops=True))
    assert "mim-pip-extras" in codes(diagnose_environment(env, matrix))


def test_nvcc_major_differs_from_torch_cuda(matrix: Matrix) -> None:
    chain = Toolchain(
        nvcc=Tool("/usr/local/cuda-11.8/bin/nvcc", "11.8.89"),
        cuda_home=CudaHome("/opt/cuda", "CUDA_HOME", exists=False, has_nvcc=False),
    )
    env = env_of({"torch": "2.1.2+cu121"}, torch=TORCH_21, toolchain=chain)
    found = codes(diagnose_environment(env, matrix))
    assert "cuda-version-mismatch-build" in found
    assert found["cuda-home"][0].title == "CUDA_HOME=/opt/cuda does not exist"


RTX_5090 = Gpu(0, "NVIDIA GeForce RTX 5090", "12.0", 32607)
TORCH_27_CU128 = Torch("2.7.1+cu128", cuda="12.8")


def _nvcc(version: str) -> Toolchain:
    return Toolchain(nvcc=Tool(f"/usr/local/cuda-{version[:4]}/bin/nvcc", version))


def test_nvcc_too_old_for_the_gpu(matrix: Matrix) -> None:
    env = env_of(
        {"torch": TORCH_27_CU128.version},
        torch=TORCH_27_CU128,
        gpus=(RTX_5090,),
        driver=Driver("575.57.08"),
        toolchain=_nvcc("12.4.131"),
    )
    found = codes(diagnose_environment(env, matrix))
    [f] = found["build-nvcc-too-old"]
    assert f.severity == "warning"
    assert (
        f.title == "nvcc 12.4.131 (/usr/local/cuda-12.4/bin/nvcc) cannot compile for NVIDIA GeForce RTX 5090 (sm_120)"
    )
    assert "from CUDA 12.8 on" in f.why and "Unsupported gpu architecture 'compute_120'" in f.why
    assert f.fix[0].startswith("install the CUDA 12.8 toolkit (torch cu128's")
    assert f.fix[1] == "export CUDA_HOME=/usr/local/cuda-12.8 PATH=/usr/local/cuda-12.8/bin:$PATH"
    arch = matrix.nvcc_arch("12.0")
    assert arch is not None and f.source == arch.source
    assert "cuda-version-mismatch-build" not in found  # same CUDA major: only the arch is the problem


def test_nvcc_too_new_for_the_gpu(matrix: Matrix) -> None:
    """CUDA 13.0 dropped Pascal: nvcc 13 cannot compile for a GTX 1080; torch's cu126 asks for 12.6."""
    torch = Torch("2.9.0+cu126", cuda="12.6")
    gtx = Gpu(0, "NVIDIA GeForce GTX 1080", "6.1", 8192)
    env = env_of({"torch": torch.version}, torch=torch, gpus=(gtx,), toolchain=_nvcc("13.0.88"))
    found = codes(diagnose_environment(env, matrix))
    [f] = found["build-nvcc-too-new"]
    assert "cannot compile for NVIDIA GeForce GTX 1080 (sm_61)" in f.title
    assert f.why.startswith("CUDA 12.9 was the last toolkit whose nvcc compiles for sm_61")
    assert f.fix[0].startswith("install the CUDA 12.6 toolkit (torch cu126's")
    assert "cuda-version-mismatch-build" in found  # nvcc 13 beside a CUDA 12 torch: both say so


def test_nvcc_without_torch_names_the_toolkit_range(matrix: Matrix) -> None:
    spark = Gpu(0, "NVIDIA GB10", "12.1")
    env = env_of({}, gpus=(spark, RTX_5090), toolchain=_nvcc("12.8.93"))
    [f] = codes(diagnose_environment(env, matrix))["build-nvcc-too-old"]  # sm_120 is fine with 12.8
    assert "(sm_121)" in f.title
    assert f.fix[0] == "install a CUDA toolkit >= 12.9 (compiles for sm_121, sm_120) and point CUDA_HOME at it"


@pytest.mark.parametrize(
    ("gpus", "toolchain"),
    [
        ((RTX_5090,), _nvcc("12.8.93")),  # nvcc knows sm_120
        ((RTX_5090,), _nvcc("13.0.88")),
        ((T4,), _nvcc("13.1.80")),  # Turing stays in CUDA 13
        ((), _nvcc("12.4.131")),  # no GPU: nothing to compile for here
        ((RTX_5090,), Toolchain()),  # no nvcc: nothing to judge
        ((Gpu(0, "NVIDIA Graphics Device"),), _nvcc("12.4.131")),  # compute capability unknown
    ],
)
def test_nvcc_arch_rule_is_quiet_otherwise(matrix: Matrix, gpus: tuple[Gpu, ...], toolchain: Toolchain) -> None:
    env = env_of({"torch": TORCH_27_CU128.version}, torch=TORCH_27_CU128, gpus=gpus, toolchain=toolchain)
    found = codes(diagnose_environment(env, matrix))
    assert "build-nvcc-too-old" not in found and "build-nvcc-too-new" not in found, found


def test_torchvision_for_another_torch(matrix: Matrix) -> None:
    env = env_of({**HEALTHY, "torchvision": "0.19.0"}, torch=TORCH_21, mmcv=Mmcv("2.1.0", "mmcv", ops=True))
    f = codes(diagnose_environment(env, matrix))["torchvision-mismatch"][0]
    assert "0.16.2" in f.title


def test_deep_mmcv_ops_import_failure_is_classified(matrix: Matrix) -> None:
    deep = DeepTorch(
        cuda_available=True, device_count=1, mmcv_ops_error="ImportError: /x/_ext.so: undefined symbol: _ZN2at4_ops"
    )
    env = env_of(
        HEALTHY, torch=TORCH_21, mmcv=Mmcv("2.1.0", "mmcv", ops=True), gpus=(T4,), driver=DRIVER_535, deep=deep
    )
    assert "abi-undefined-symbol" in codes(diagnose_environment(env, matrix))


def test_findings_are_ordered_errors_first(matrix: Matrix) -> None:
    env = env_of(
        {**HEALTHY, "mmocr": "1.0.1", "openmim": "0.3.9", "pip": "24.1.2"},
        torch=TORCH_21,
        mmcv=Mmcv("2.1.0", "mmcv", ops=True),
    )
    severities = [f.severity for f in diagnose_environment(env, matrix)]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)


def _dist(site: Path, name: str, version: str) -> None:
    (site / f"{name.replace('-', '_')}-{version}.dist-info").mkdir(parents=True, exist_ok=True)


@pytest.mark.integration
def test_real_probe_of_a_broken_site_finds_the_problems(tmp_path: Path, matrix: Matrix) -> None:
    """A site-packages laid out as pip leaves it (mmcv-lite 2.2.0 under mmdet 3.3.0, mmseg without
    ftfy), read by the real child probe in a real interpreter, then judged by the doctor."""
    site = tmp_path / "site"
    for name, version in (
        ("mmcv-lite", "2.2.0"),
        ("mmdet", "3.3.0"),
        ("mmsegmentation", "1.2.2"),
        ("mmengine", "0.10.7"),
    ):
        _dist(site, name, version)
    (site / "mmcv").mkdir()
    (site / "mmcv" / "__init__.py").write_text("")
    (site / "mmcv" / "version.py").write_text("__version__ = '2.2.0'\n")
    source = (ROOT / "envcheck" / "probes" / "_child.py").read_text()
    done = SubprocessRunner().run(
        [sys.executable, "-c", source], timeout=30, env=dict(os.environ, PYTHONPATH=str(site))
    )
    facts = parse_child(json.loads(done.stdout))
    env = Environment(
        python=facts.python, platform=facts.platform, dists=facts.dists, torch=facts.torch, mmcv=facts.mmcv
    )
    found = codes(diagnose_environment(complete(env, matrix), matrix))
    assert isinstance(env.mmcv, Mmcv) and env.mmcv.dist == "mmcv-lite" and not env.mmcv.ops
    assert any("mmdet 3.3.0 rejects the installed mmcv 2.2.0" in f.title for f in found["version-guard"])
    assert "mmcv-ops-missing" in found
    assert any("ftfy" in f.title for f in found["missing-optional-dependency"])


def test_no_fix_is_a_template_for_the_user_to_fill_in(matrix: Matrix) -> None:
    """Every fix line is an exact command (or an envcheck command that prints them), on every machine we have."""
    from envcheck.facts.complete import complete
    from envcheck.facts.document import from_document

    data = DATA
    scenarios = [json.loads(p.read_text())["env"] for p in sorted((data / "scenarios").glob("*.json"))]
    docs = [d for d in scenarios if isinstance(d, dict)]  # the others name an example or a profile
    docs += [json.loads(p.read_text()) for p in sorted((data / "examples").glob("*.json"))]
    docs += [profile.as_json() for profile in matrix.profiles.values()]
    # `inspect --json` of a real venv (torch 2.13, mmcv-lite 2.2.0, mmdet 3.3, mmseg, setuptools 84), as is
    # and with mim beside a new pip: the build, pkg_resources and mim rules fire on these
    broken = json.loads((data / "machines" / "broken-mmcv-lite-venv.json").read_text())
    with_mim = {**broken, "packages": {**broken["packages"], "openmim": "0.3.9", "pip": "25.0"}}
    docs += [broken, with_mim]
    codes: set[str] = set()
    seen = 0
    for doc in docs:
        env = complete(from_document(doc), matrix)
        for finding in diagnose_environment(env, matrix):
            codes.add(finding.code)
            for line in finding.fix:
                seen += 1
                assert not re.search(r"==\.\.\.|\bTOOLKIT\b|<(?:the|your|an?) |/path/to", line), (finding.code, line)
    assert seen > 50 and {"build-isolation-pkg_resources", "mim-pip-extras", "mmcv-ops-missing"} <= codes, codes
