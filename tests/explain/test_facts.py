"""explain with facts: the machine's (an Environment) and the log's own (pip lines, paths, collect_env)."""

from __future__ import annotations

import json
import re

import pytest

from envcheck.explain.diagnose import diagnose
from envcheck.explain.logfacts import extract
from envcheck.explain.logtext import LogText
from envcheck.facts.document import load_document
from envcheck.facts.model import Dist, Driver, Environment, Gpu, Mmcv, PlatformInfo, PythonInfo, Torch
from envcheck.matrix import Matrix, load_matrix
from tests import DATA

EXAMPLES = DATA / "examples"
UNDEFINED = (
    "ImportError: /venv/lib/python3.10/site-packages/mmcv/_ext.cpython-310-x86_64-linux-gnu.so: "
    "undefined symbol: _ZN3c1017RegisterOperatorsD1Ev"
)
NO_KERNEL = "RuntimeError: CUDA error: no kernel image is available for execution on the device"
DESERIALIZE = "RuntimeError: Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False."


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return load_matrix()


def _env(**overrides: object) -> Environment:
    values: dict[str, object] = {
        "python": PythonInfo("3.10.14", executable="/opt/venv/bin/python", tag="cp310"),
        "platform": PlatformInfo("Linux", "x86_64", glibc="2.35"),
        "torch": Torch("2.1.2+cu121", cuda="12.1", arch_list=("sm_70", "sm_75", "sm_80", "sm_86", "sm_90")),
        "driver": Driver("535.104.05", cuda_max="12.2"),
        "gpus": (Gpu(0, "Tesla T4", "7.5", 15360),),
    }
    values.update(overrides)
    return Environment(**values)  # type: ignore[arg-type]


def test_undefined_symbol_fix_pins_the_mmcv_wheel_built_for_this_torch(matrix: Matrix) -> None:
    found = diagnose(UNDEFINED, _env(), matrix=matrix)[0]
    assert found.code == "abi-undefined-symbol" and found.confident
    install = next(step for step in found.fix if "install" in step and "-f" in step)
    assert install == (
        '/opt/venv/bin/python -m pip install --no-cache-dir "mmcv==2.1.0" '
        "-f https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html"
    )


def test_the_pinned_mmcv_also_passes_the_installed_toolkits_guards(matrix: Matrix) -> None:
    env = _env(dists=(Dist("mmdet", "3.3.0"),))
    assert any('"mmcv==2.1.0"' in step for step in diagnose(UNDEFINED, env, matrix=matrix)[0].fix)
    env = _env(torch=Torch("2.3.1+cu121", cuda="12.1"), dists=(Dist("mmpretrain", "1.2.0"),))
    assert any(
        '"mmcv==2.2.0"' in step and "cu121/torch2.3" in step for step in diagnose(UNDEFINED, env, matrix=matrix)[0].fix
    )


def test_no_kernel_image_on_a_t4_names_its_arch(matrix: Matrix) -> None:
    found = diagnose(NO_KERNEL, _env(), matrix=matrix)[0]
    assert found.code == "cuda-arch"
    assert any(step.startswith('TORCH_CUDA_ARCH_LIST="7.5" FORCE_CUDA=1') for step in found.fix)


def test_the_arch_comes_from_an_inspect_document_too(matrix: Matrix) -> None:
    env = load_document(str(EXAMPLES / "env-colab-2025-11-t4.json"))
    found = diagnose(NO_KERNEL, env, matrix=matrix)[0]
    assert any('TORCH_CUDA_ARCH_LIST="7.5"' in step for step in found.fix)


def test_without_facts_a_fix_asks_the_machine_instead_of_showing_a_template() -> None:
    found = diagnose(NO_KERNEL, None)[0]
    assert any(
        step.startswith("TORCH_CUDA_ARCH_LIST=\"$(python -c 'import torch; print(*torch.cuda.get_device_capability()")
        for step in found.fix
    )
    assert all(
        step.startswith(("python ", "TORCH_", "#")) and not re.search(r"<[a-z][^<>]*>", step) for step in found.fix
    )


def test_a_torch_whose_arch_list_lacks_the_gpu_points_at_torch_not_mmcv(matrix: Matrix) -> None:
    old = Torch("1.7.0+cu101", cuda="10.1", arch_list=("sm_37", "sm_50", "sm_60", "sm_70", "sm_75"))
    env = _env(torch=old, gpus=(Gpu(0, "NVIDIA GeForce RTX 3090", "8.6"),))
    found = diagnose(NO_KERNEL, env, matrix=matrix)
    assert found[0].code == "cuda-arch" and found[0].signature == "cuda-arch-torch"


def test_facts_decide_an_ambiguous_message(matrix: Matrix) -> None:
    cpu = _env(torch=Torch("2.1.2+cpu"))
    assert diagnose(DESERIALIZE, cpu, matrix=matrix)[0].code == "torch-cpu-only"
    assert diagnose(DESERIALIZE, _env(), matrix=matrix)[0].code == "gpu-not-visible"


def test_windows_rules_out_a_linux_only_cause(matrix: Matrix) -> None:
    linux = diagnose(UNDEFINED, _env(), matrix=matrix)[0]
    windows = diagnose(UNDEFINED, _env(platform=PlatformInfo("Windows", "AMD64")), matrix=matrix)[0]
    assert windows.code == linux.code and windows.confidence < 0.5 < linux.confidence


def test_facts_confirm_a_cause(matrix: Matrix) -> None:
    log = "ImportError: numpy.core.multiarray failed to import"
    plain = diagnose(log, None, matrix=matrix)[0]
    numpy2 = diagnose(log, _env(package_versions={"numpy": "2.1.0"}), matrix=matrix)[0]
    assert plain.code == numpy2.code == "numpy2-abi" and plain.confidence < 0.8 <= numpy2.confidence
    ops = _env(mmcv=Mmcv("2.1.0", "mmcv", ops=True, ops_cuda="cpu"))
    impl = diagnose("RuntimeError: nms_impl: implementation for device cuda:0 not found.", ops, matrix=matrix)[0]
    assert impl.code == "mmcv-cpu-only-build" and impl.confidence > 0.97


def test_versions_read_from_the_log_fill_the_fix(matrix: Matrix) -> None:
    log = "\n".join(
        [
            "Requirement already satisfied: torch in /home/u/venv/lib/python3.10/site-packages (2.1.0+cu118)",
            "Successfully installed mmcv-2.1.0 mmengine-0.10.3",
            UNDEFINED,
        ]
    )
    found = diagnose(log, None, matrix=matrix)[0]
    assert any(
        '"mmcv==2.1.0" -f https://download.openmmlab.com/mmcv/dist/cu118/torch2.1/index.html' in s for s in found.fix
    )


def test_build_fix_pins_setuptools_and_the_sdist_being_built(matrix: Matrix) -> None:
    log = "\n".join(
        [
            "Collecting mmcv",
            "  Using cached mmcv-2.2.0.tar.gz (479 kB)",
            "  Getting requirements to build wheel ... error",
            "  ModuleNotFoundError: No module named 'pkg_resources'",
        ]
    )
    found = diagnose(log, None, matrix=matrix)[0]
    assert found.code == "build-isolation-pkg_resources" and found.confident
    assert found.fix[:2] == (
        'python -m pip install "setuptools<82" wheel ninja psutil',
        'MMCV_WITH_OPS=1 python -m pip install --no-build-isolation --no-cache-dir "mmcv==2.2.0"',
    )


def test_the_guard_range_becomes_a_wheel_that_passes_it(matrix: Matrix) -> None:
    log = "AssertionError: MMCV==2.2.0 is used but incompatible. Please install mmcv>=2.0.0rc4, <2.2.0."
    found = diagnose(log, _env(), matrix=matrix)[0]
    assert found.code == "version-guard" and found.title == "MMCV 2.2.0 is outside the range this toolkit accepts"
    assert found.fix[0] == (
        '/opt/venv/bin/python -m pip install "mmcv==2.1.0" '
        "-f https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html"
    )
    mmdet = (
        "AssertionError: MMDetection 3.2.0 is incompatible with MMOCR 1.0.1. "
        "Please use MMDetection >= 3.0.0rc5, < 3.2.0 instead."
    )
    assert diagnose(mmdet, None)[0].fix == (
        "envcheck plan mmdet mmocr --format shell  # resolves every guard at once: prints the exact steps",
    )


def test_missing_module_names_its_distribution() -> None:
    found = diagnose("ModuleNotFoundError: No module named 'sklearn'", None)[0]
    assert found.code == "missing-optional-dependency" and found.fix == ("python -m pip install scikit-learn",)
    assert diagnose("No module named 'ftfy'", None)[0].fix == ("python -m pip install ftfy regex",)


def test_log_facts_are_read_from_pip_output_paths_and_collect_env() -> None:
    log = LogText.from_text(
        "\n".join(
            [
                "conda install pytorch=1.10.0 torchvision cudatoolkit=11.1 -c pytorch",
                "Looking in links: https://download.openmmlab.com/mmcv/dist/cu101/torch1.6/index.html",
                "  Using cached mmcv_full-1.4.8.tar.gz (498 kB)",
                "Requirement already satisfied: numpy in c:\\users\\me\\envs\\x\\lib\\site-packages (1.26.4)",
                "{'sys.platform': 'win32', 'Python': '3.9.7 (default)', "
                "'GPU 0': 'NVIDIA GeForce RTX 3070', 'PyTorch': '1.10.0'}",
                "mmdet                        2.28.2",
                "MMCV: 1.4.8",
                "UserWarning: NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible",
            ]
        )
    )
    facts = extract(log)
    assert facts.version("torch") == "1.10.0" and facts.torch_cuda == "11.1"
    assert (facts.index_tag, facts.index_torch) == ("cu101", "1.6")
    assert facts.sdists == {"mmcv-full": "1.4.8"} and facts.mentions_mmcv_full
    assert (
        facts.version("numpy") == "1.26.4" and facts.version("mmdet") == "2.28.2" and facts.version("mmcv") == "1.4.8"
    )
    assert facts.python == "3.9" and facts.platform == "windows"
    assert facts.gpus == ["NVIDIA GeForce RTX 3070"] and facts.gpu_sms == ["120"]


def test_a_crash_in_mmcvs_info_functions_is_the_toolchain_not_torch(matrix: Matrix) -> None:
    """The smoke check's own output on the H200 (measured): SIGSEGV in get_compiling_cuda_version."""
    messages = (DATA / "failures" / "messages.jsonl").read_text().splitlines()
    log = next(m["text"] for m in map(json.loads, messages) if m["code"] == "extension-toolchain-abi")
    found = diagnose(log, _env(), matrix=matrix)
    assert found[0].code == "extension-toolchain-abi" and found[0].confident
    assert any("CC=/usr/bin/gcc CXX=/usr/bin/g++" in step for step in found[0].fix)
    assert not any(d.code == "abi-undefined-symbol" for d in found)


def test_a_segfault_elsewhere_is_not_blamed_on_the_toolchain(matrix: Matrix) -> None:
    log = 'Fatal Python error: Segmentation fault\n  File "/v/site-packages/mmdet/__init__.py", line 2 in <module>\n'
    assert all(d.code != "extension-toolchain-abi" for d in diagnose(log, _env(), matrix=matrix))
