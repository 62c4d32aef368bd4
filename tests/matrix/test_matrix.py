"""The matrix loader: validation that collects every problem, and the lookups others rely on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envcheck.errors import MatrixError
from envcheck.matrix import (
    FILES,
    Guard,
    Matrix,
    Requirement,
    clear_cache,
    load_matrix,
    matrix_root,
)


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return load_matrix()


@pytest.fixture
def broken_copy(tmp_path: Path) -> Path:
    """A private copy of matrices/ that a test may break."""
    root = tmp_path / "matrices"
    shutil.copytree(matrix_root(), root)
    return root


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert text.count(old) >= 1, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count))


def _problems(root: Path) -> tuple[str, ...]:
    with pytest.raises(MatrixError) as info:
        load_matrix(root)
    return info.value.problems


# -- loading -----------------------------------------------------------------------------------


def test_loads_every_table(matrix: Matrix) -> None:
    assert set(matrix.mmcv) >= {"2.0.0rc1", "2.0.0", "2.0.1", "2.1.0", "2.2.0"}
    assert set(matrix.mmcv_full) == {"1.7.0", "1.7.1", "1.7.2"}
    assert {"mmdet", "mmsegmentation", "mmpose", "mmocr", "mmdeploy", "mmpretrain"} <= set(matrix.toolkits)
    assert {f"2.{n}" for n in range(15)} <= set(matrix.torch)
    assert "0.10.7" in matrix.mmengine
    assert {"colab", "colab-2024.08", "kaggle", "cpu-laptop"} <= set(matrix.profiles)
    assert matrix.mmcv_lite == ("2.0.0", "2.0.1", "2.1.0", "2.2.0")
    assert matrix.root == matrix_root()


def test_every_record_cites_a_source(matrix: Matrix) -> None:
    records: list[object] = [
        *matrix.mmcv.values(),
        *matrix.mmcv_full.values(),
        *(r for rels in matrix.toolkits.values() for r in rels.values()),
        *matrix.mmengine.values(),
        *matrix.torch.values(),
        *(b for t in matrix.torch.values() for b in t.builds.values()),
        *matrix.driver_floors,
        *matrix.minor_compat,
        *matrix.driver_branches,
        *matrix.gpus,
        *matrix.profiles.values(),
        *matrix.mmcv_build.durations,
        matrix.mmcv_build,
        *matrix.numpy_abi,
        *matrix.binaries.values(),
        *(d.build for d in matrix.binaries.values() if d.build is not None),
        *matrix.nvcc_archs,
    ]
    missing = [r for r in records if not getattr(r, "source", "").strip()]
    assert missing == []


def test_load_is_cached_per_directory(matrix: Matrix) -> None:
    assert load_matrix() is matrix
    assert load_matrix(matrix_root()) is matrix


def test_records_are_read_only(matrix: Matrix) -> None:
    with pytest.raises(TypeError):
        matrix.toolkits["mmdet"]["9.9.9"] = matrix.toolkits["mmdet"]["3.3.0"]  # type: ignore[index]
    env = matrix.profiles["colab"].as_json()
    env["torch"]["version"] = "changed"
    assert matrix.profiles["colab"].env["torch"]["version"] == "2.11.0+cu128"


# -- validation --------------------------------------------------------------------------------


def test_validation_collects_all_problems_naming_file_and_record(broken_copy: Path) -> None:
    toolkits = broken_copy / "toolkits.toml"
    _edit(
        toolkits,
        'source = "PyPI mmdet==3.3.0 wheel:mmdet/__init__.py"\n',
        "",
    )
    _edit(broken_copy / "torch.toml", '"2.1.2" = "0.16.2"', '"2.1.2" = "0.16.two"')
    _edit(toolkits, '"<2.2.0"], mmengine = [">=0.7.1"', '"<2.2.x"], mmengine = [">=0.7.1"')
    _edit(
        broken_copy / "profiles.toml",
        'torch = { version = "2.11.0+cu128"',
        'torch = { version = "2.99.0+cu128"',
    )
    _edit(
        broken_copy / "nvidia.toml",
        '{ match = "T4", cc = "7.5" },',
        '{ match = "T4", cc = "7.5" }, { match = "t4", cc = "7.5" },',
    )
    problems = _problems(broken_copy)
    expected = [
        ("toolkits.toml: mmdet 3.3.0:", "missing source"),
        ("torch.toml: torch 2.1:", "bad version '0.16.two'"),
        ("toolkits.toml: mmdet 3.2.0:", "bad version in guard '<2.2.x'"),
        ("profiles.toml: profile colab:", "'2.99.0+cu128' is not in torch.toml"),
        ("nvidia.toml: (file):", "duplicate gpu match 't4'"),
    ]
    for where, what in expected:
        assert any(p.startswith(where) and what in p for p in problems), (where, what, problems)
    assert len(problems) >= len(expected)


def test_error_message_counts_the_rest(broken_copy: Path) -> None:
    _edit(broken_copy / "mmengine.toml", "weights_only_safe = false", "weights_only_safe = 0", 2)
    with pytest.raises(MatrixError) as info:
        load_matrix(broken_copy)
    assert len(info.value.problems) == 2
    assert "(and 1 more)" in info.value.message
    assert "mmengine.toml: mmengine 0.7.0: weights_only_safe: expected bool" in info.value.message


def test_toml_duplicate_key_names_the_table(broken_copy: Path) -> None:
    _edit(broken_copy / "mmcv.toml", 'cxx = "c++17"\n', 'cxx = "c++17"\ncxx = "c++14"\n')
    problems = _problems(broken_copy)
    assert len(problems) == 1
    assert problems[0].startswith('mmcv.toml: mmcv."2.2.0": ')
    assert "overwrite" in problems[0].lower()


def test_semantic_duplicate_version_is_reported(broken_copy: Path) -> None:
    _edit(broken_copy / "toolkits.toml", '[mmdet."3.3.0"]', '[mmdet."3.2"]')
    problems = _problems(broken_copy)
    assert any("toolkits.toml: mmdet: duplicate version '3.2'" in p for p in problems), problems


def test_unknown_keys_schema_and_missing_files(broken_copy: Path) -> None:
    _edit(broken_copy / "torch.toml", "numpy2 = true", "numpy_2 = true")
    _edit(broken_copy / "nvidia.toml", "schema = 1", "schema = 2")
    (broken_copy / "mmengine.toml").unlink()
    problems = _problems(broken_copy)
    assert any(p.startswith("torch.toml: torch 2.3: unknown key 'numpy_2'") for p in problems)
    assert any(p.startswith("torch.toml: torch 2.3: missing required key 'numpy2'") for p in problems)
    assert any(p.startswith("nvidia.toml: (file): schema must be 1") for p in problems)
    assert any(p.startswith("mmengine.toml: (file): cannot read") for p in problems)


def test_cross_file_profile_checks(broken_copy: Path) -> None:
    profiles = broken_copy / "profiles.toml"
    _edit(
        profiles,
        'driver = { version = "550.54.15", cuda_max = "12.4" }',
        'driver = { version = "535.104.05", cuda_max = "12.4" }',
    )
    _edit(
        profiles,
        'name = "Tesla T4", compute_capability = "7.5"',
        'name = "Tesla T4", compute_capability = "8.6"',
    )
    _edit(profiles, 'python = { version = "3.13.15"', 'python = { version = "3.8.10"')
    problems = _problems(broken_copy)
    assert any("profile colab-2024.08: env.driver.cuda_max 12.4 but 12.2" in p for p in problems)
    assert any("profile colab: env.gpus[0] 'Tesla T4': compute capability 7.5" in p for p in problems)
    assert any("profile colab: torch 2.11 has no wheels for Python 3.8.10" in p for p in problems)


def test_bad_source_form_and_reference_to_missing_torch(broken_copy: Path) -> None:
    mmcv = broken_copy / "mmcv.toml"
    _edit(mmcv, '\nmax_torch_for_source_build = "2.0"', '\nmax_torch_for_source_build = "1.9"')
    _edit(
        mmcv,
        'source = "open-mmlab/mmcv@v2.2.0:.github/workflows/publish-to-pypi.yml"',
        'source = "a blog post"',
    )
    problems = _problems(broken_copy)
    assert any(p == "mmcv.toml: mmcv 2.0.1: torch 1.9 is not in torch.toml" for p in problems)
    assert any(p.startswith("mmcv.toml: lite: source: 'a blog post'") for p in problems)


def test_numpy_file_is_validated_as_a_whole(broken_copy: Path) -> None:
    numpy = broken_copy / "numpy.toml"
    _edit(numpy, 'python = "<3.13"', 'python = "<3.13"\nfails = ""')  # a duplicate key: reported alone
    problems = _problems(broken_copy)
    assert len(problems) == 1 and problems[0].startswith("numpy.toml: dist.xtcocotools.build:"), problems
    _edit(numpy, 'python = "<3.13"\nfails = ""', 'python = "<3.13"')
    _edit(numpy, '"1.26.4" = ["cp39", "cp310"', '"1.26.4" = ["py39", "cp310"')
    _edit(numpy, 'needed_by = { mmpose = "" }', 'needed_by = { mmpose = "", mmnothing = ">=1" }')
    _edit(numpy, 'wheels = { "0.70" = [] }\nsdist = true', 'wheels = { "0.70" = [] }\nsdist = false')
    _edit(
        numpy,
        'pins = ["numpy<2", "opencv-python<4.11"]\nsource = "envcheck:reference/measured_here.md"',
        'pins = [">2"]',
    )
    _edit(numpy, '\nfails = "its setup.py', '\nfailure = "its setup.py')
    _edit(numpy, 'source = "measured here 2026-11-26: xtcocotools', 'source = "measured here: xtcocotools')
    _edit(numpy, "isolation = false\ncompiles = false\n", "isolation = false\n")
    _edit(numpy, "compiles = true", 'compiles = "yes"')
    problems = _problems(broken_copy)
    expected = [
        ("numpy.toml: dist numpy:", "wheels.1.26.4: expected a list of CPython tags"),
        ("numpy.toml: dist chumpy:", "build: there is no sdist to build"),
        ("numpy.toml: dist chumpy: needed_by.mmnothing:", "not a toolkit in toolkits.toml"),
        ("numpy.toml: numpy1:", "pins: bad requirement '>2'"),
        ("numpy.toml: numpy1:", "pins: must pin numpy itself"),
        ("numpy.toml: numpy1:", "missing source"),
        ("numpy.toml: dist xtcocotools build:", "unknown key 'failure'"),
        ("numpy.toml: dist xtcocotools build:", "fails: say what happens outside python"),
        ("numpy.toml: dist xtcocotools build:", "measured here: xtcocotools 1.14.3 sdist built"),
        ("numpy.toml: dist chumpy build:", "missing required key 'compiles'"),
        ("numpy.toml: dist xtcocotools build:", "compiles: expected bool, got str"),
    ]
    for where, what in expected:
        assert any(p.startswith(where) and what in p for p in problems), (where, what, problems)
    assert len(problems) == len(expected), problems


def test_nvcc_archs_are_validated(broken_copy: Path) -> None:
    nvidia = broken_copy / "nvidia.toml"
    _edit(nvidia, '{ cc = "3.0", first = "7.0", last = "10.2" }', '{ cc = "3.0", first = "10.2", last = "7.0" }')
    _edit(nvidia, '{ cc = "7.5", first = "10.0" }', '{ cc = "7.5", first = "10.0.1" }, { cc = "8.0", first = "11.0" }')
    _edit(nvidia, '{ cc = "12.1", first = "12.9",', '{ cc = "12.1", firts = "12.9",')
    _edit(
        nvidia,
        '  { cc = "10.3", first = "12.9", source = "https://docs.nvidia.com/cuda/archive/12.9.1/cuda-features-archive/index.html" },\n',
        "",
    )
    problems = _problems(broken_copy)
    expected = [
        ("nvidia.toml: nvcc_archs cc 3.0:", "last 7.0 is older than first 10.2"),
        ("nvidia.toml: nvcc_archs cc 7.5:", "first: expected a CUDA version 'X.Y', got '10.0.1'"),
        ("nvidia.toml: (file):", "duplicate nvcc_archs cc '8.0'"),
        ("nvidia.toml: nvcc_archs cc 12.1:", "unknown key 'firts'"),
        ("nvidia.toml: nvcc_archs cc 12.1:", "missing required key 'first'"),
        ("nvidia.toml: (file):", "gpu 'B300': no nvcc_archs row for compute capability 10.3"),
    ]
    for where, what in expected:
        assert any(p.startswith(where) and what in p for p in problems), (where, what, problems)


def test_clear_cache_rereads(broken_copy: Path) -> None:
    first = load_matrix(broken_copy)
    _edit(broken_copy / "mmengine.toml", "weights_only_safe = false", "weights_only_safe = 0")
    assert load_matrix(broken_copy) is first  # cached
    clear_cache()
    with pytest.raises(MatrixError):
        load_matrix(broken_copy)
    clear_cache()


def test_files_listed() -> None:
    from envcheck.matrix.signatures import FILE as SIGNATURES  # read by envcheck.matrix.signatures, not matrix.py

    assert sorted((*FILES, SIGNATURES)) == sorted(p.name for p in matrix_root().glob("*.toml"))


# -- guard semantics ---------------------------------------------------------------------------


def test_guard_uses_digit_version_ordering() -> None:
    below = Guard("<", "2.2.0")
    assert below.allows("2.2.0rc1")  # PEP 440 '<2.2.0' would exclude it
    assert below.allows(Version("2.1.0"))
    assert not below.allows("2.2.0")
    assert Guard("<=", "2.1.0").allows("2.1.0+cu121")  # local labels are ignored
    assert Guard(">=", "2.0.0rc4").allows("2.0.0")
    assert not Guard(">=", "2.0.0rc4").allows("2.0.0rc3")
    assert str(below) == "<2.2.0"


def test_string_guard_reproduces_the_mmocr_bug() -> None:
    guard = Guard("str>=", "3.0.0rc0")
    assert guard.allows("3.0.0rc5")
    assert not guard.allows("3.0.0")  # '3.0.0' < '3.0.0rc0' as strings
    assert guard.string_compare


def test_bad_guards_are_rejected() -> None:
    with pytest.raises(ValueError):
        Guard("~=", "2.0")
    with pytest.raises(ValueError):
        Guard("<", "two")


def test_requirement(matrix: Matrix) -> None:
    mmdet = matrix.toolkits["mmdet"]["3.3.0"]
    req = mmdet.requires["mmcv"]
    assert str(req) == ">=2.0.0rc4,<2.2.0"
    assert not req.inclusive_max
    assert req.allows("2.1.0") and req.allows("2.2.0rc1") and not req.allows("2.2.0")
    assert mmdet.allows("mmdet", "1.0.0")  # no guard on it
    assert req.specifier.contains("2.1.0") and not req.specifier.contains("2.2.0")
    manual = Requirement("mmcv", (Guard(">=", "2.0.0"),), inclusive_max=False)
    assert manual.allows("2.2.0")


def test_inclusive_max_for_mmpose(matrix: Matrix) -> None:
    req = matrix.toolkits["mmpose"]["1.3.2"].requires["mmcv"]
    assert req.inclusive_max
    assert req.allows("3.0.0") and not req.allows("3.0.1")
    assert str(req) == ">=2.0.0rc4,<=3.0.0"


def test_pep440_override_for_mmcls(matrix: Matrix) -> None:
    req = matrix.toolkits["mmcls"]["1.0.0rc0"].requires["mmcv"]
    assert req.allows("2.0.0rc4") and not req.allows("2.0.0")
    assert req.specifier.contains("2.0.0rc4") and not req.specifier.contains("2.0.0")


# -- lookups -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("driver", "cuda"),
    [
        ("550.54.15", "12.4"),  # Colab
        ("550.54.14", "12.4"),
        ("535", "12.2"),  # a branch: the 12.2 GA driver is 535.54.03
        ("535.43.02", "12.2"),
        ("470.82.01", "11.4"),
        ("580", "13.0"),
        ("565.57.01", "12.6"),  # 565 reports 12.7, which has no toolkit
        ("575.51.03", "12.9"),
        ("440.33", None),
        ("not a driver", None),
    ],
)
def test_driver_cuda_max(matrix: Matrix, driver: str, cuda: str | None) -> None:
    assert matrix.driver_cuda_max(driver) == cuda


def test_min_driver(matrix: Matrix) -> None:
    assert matrix.min_driver("12.1") == "530.30.02"
    assert matrix.min_driver("12.1.105") == "530.30.02"
    assert matrix.min_driver("cu121", "windows") == "531.14"
    assert matrix.min_driver("12.4") == "550.54.14"
    assert matrix.min_driver("12.8", minor_compat=True) == "525.60.13"
    assert matrix.min_driver("11.8", "windows", minor_compat=True) == "452.39"
    assert matrix.min_driver("13.0") == "580.65.06"
    assert matrix.min_driver("13.0", "windows") is None  # not bundled any more
    assert matrix.min_driver("12.7") is None
    assert matrix.min_driver("12.1", "macos") is None
    assert matrix.min_driver("cpu") is None


@pytest.mark.parametrize(
    ("name", "cc"),
    [
        ("Tesla T4", "7.5"),
        ("NVIDIA L4", "8.9"),
        ("NVIDIA L40S", "8.9"),
        ("NVIDIA A100-SXM4-40GB", "8.0"),
        ("NVIDIA A10", "8.6"),
        ("NVIDIA A10G", "8.6"),
        ("NVIDIA H100 80GB HBM3", "9.0"),
        ("NVIDIA H200", "9.0"),
        ("Tesla V100-SXM2-16GB", "7.0"),
        ("Tesla P100-PCIE-16GB", "6.0"),
        ("NVIDIA GeForce GTX 1080 Ti", "6.1"),
        ("NVIDIA GeForce RTX 2080", "7.5"),
        ("NVIDIA GeForce RTX 3090", "8.6"),
        ("NVIDIA GeForce RTX 4090", "8.9"),
        ("NVIDIA GeForce RTX 5090", "12.0"),
        ("NVIDIA RTX PRO 6000 Blackwell Server Edition", "12.0"),
        ("NVIDIA RTX 6000 Ada Generation", "8.9"),
        ("NVIDIA B200", "10.0"),
        ("Tesla K80", "3.7"),
        ("Radeon RX 7900", None),
    ],
)
def test_gpu_compute_capability(matrix: Matrix, name: str, cc: str | None) -> None:
    assert matrix.gpu_compute_capability(name) == cc


def test_torch_release(matrix: Matrix) -> None:
    rel = matrix.torch_release("2.4.0+cu121")
    assert rel is not None and rel.minor == "2.4"
    assert rel.version == "2.4.1" and rel.torchvision == "0.19.1"
    assert rel.torchvision_of("2.4.0+cu121") == "0.19.0"
    assert rel.pypi_default == "cu121"
    assert rel.builds["cu121"].index_url == "https://download.pytorch.org/whl/cu121"
    assert rel.builds["cu121"].cuda == "12.1" and rel.builds["cpu"].cuda is None
    assert rel.supports_python("3.12.4") and not rel.supports_python("3.13")
    assert rel.numpy2 and not matrix.torch["2.2"].numpy2
    assert matrix.torch["2.0"].cxx_std == "c++14" and matrix.torch["2.1"].cxx_std == "c++17"
    assert matrix.torch_release("9.9") is None
    assert matrix.torch_release("garbage") is None


def test_torch_build_arch_coverage(matrix: Matrix) -> None:
    cu126 = matrix.torch["2.9"].builds["cu126"]
    cu128 = matrix.torch["2.9"].builds["cu128"]
    assert cu126.supports_cc("6.1")  # sm_60 cubins run on 6.1
    assert not cu128.supports_cc("6.1")  # uv#14742: GTX 1080 Ti rejected
    assert cu128.supports_cc("8.9")  # sm_86 cubins run on Ada
    assert not cu126.supports_cc("12.0")  # no Blackwell before cu128
    assert matrix.torch["2.9"].builds["cu130"].supports_cc("12.1")  # compute_120 PTX JIT
    assert not matrix.torch["2.9"].builds["cu130"].supports_cc("7.0")


@pytest.mark.parametrize(
    ("cc", "nvcc", "compiles"),
    [
        ("12.0", "12.4.131", False),  # RTX 5090: nvcc learned sm_120 in 12.8
        ("12.0", "12.8.93", True),
        ("12.0", "13.0.88", True),
        ("12.1", "12.8.93", False),  # DGX Spark: sm_121 from 12.9
        ("12.1", "12.9.86", True),
        ("10.3", "12.8", False),  # B300: sm_103 from 12.9
        ("10.1", "12.9.86", True),  # Thor as sm_101 until 12.9 ...
        ("10.1", "13.0.88", False),
        ("11.0", "12.9.86", False),  # ... and as sm_110 from 13.0
        ("11.0", "13.0.88", True),
        ("9.0", "11.7.99", False),  # H100: sm_90 from 11.8
        ("8.9", "11.8.89", True),
        ("8.7", "11.3.109", False),
        ("8.6", "11.0.221", False),
        ("8.6", "11.1.105", True),
        ("8.0", "10.2.89", False),
        ("7.5", "13.1.80", True),  # Turing stays
        ("7.0", "12.9.86", True),  # Volta: the last is 12.9 ...
        ("7.0", "13.0.88", False),  # ... CUDA 13.0 dropped sm_50-sm_72
        ("6.1", "13.1", False),
        ("5.0", "12.4", True),
        ("3.7", "11.8", True),  # Kepler: the last is 11.8
        ("3.7", "12.0.140", False),
        ("12.0", "not a version", None),
    ],
)
def test_nvcc_arch_ranges(matrix: Matrix, cc: str, nvcc: str, compiles: bool | None) -> None:
    arch = matrix.nvcc_arch(cc)
    assert arch is not None and arch.sm == "sm_" + cc.replace(".", "")
    assert arch.compiles_with(nvcc) is compiles


def test_nvcc_archs_match_a_real_cuda_13_nvcc(matrix: Matrix) -> None:
    """`nvcc --list-gpu-arch` of CUDA 13.0.88 (V13.0.88, captured on an H200 machine): the data must
    say exactly these compile, and nothing else it lists."""
    listed = "compute_75 compute_80 compute_86 compute_87 compute_88 compute_89 compute_90 compute_100 compute_110 compute_103 compute_120 compute_121"
    real = {f"{int(a[8:-1])}.{a[-1]}" for a in listed.split()}
    by_data = {a.compute_capability for a in matrix.nvcc_archs if a.compiles_with("13.0.88")}
    assert by_data == real


def test_every_known_gpu_has_an_nvcc_range(matrix: Matrix) -> None:
    assert matrix.nvcc_arch("9.9") is None
    for gpu in matrix.gpus:
        arch = matrix.nvcc_arch(gpu.compute_capability)
        assert arch is not None, gpu
        assert arch.last is None or Version(arch.last) >= Version(arch.first)


def test_toolkit_name(matrix: Matrix) -> None:
    assert matrix.toolkit_name("mmseg") == "mmsegmentation"
    assert matrix.toolkit_name("MMSegmentation") == "mmsegmentation"
    assert matrix.toolkit_name("mmdetection") == "mmdet"
    assert matrix.toolkit_name("mmaction") == "mmaction2"
    assert matrix.toolkit_name("mmcls") == "mmcls"  # a distribution of its own
    assert matrix.toolkit_name(" MMPose ") == "mmpose"
    assert matrix.toolkit_name("detectron2") is None
    rel = matrix.toolkit("mmseg", "1.2.2")
    assert rel is not None and rel.import_name == "mmseg"
    assert matrix.toolkit("mmdet", "not-a-version") is None


def test_toolkit_facts(matrix: Matrix) -> None:
    mmseg = matrix.toolkits["mmsegmentation"]["1.2.2"]
    assert mmseg.extra_runtime == ("ftfy", "regex") and mmseg.needs_ops
    assert matrix.toolkits["mmdeploy"]["1.3.1"].extra_runtime == ("onnxruntime",)  # 1.32 measured with its ops
    assert not matrix.toolkits["mmdeploy"]["1.3.1"].mim_configs
    assert matrix.toolkits["mmpretrain"]["1.2.0"].needs_torchvision
    assert not matrix.toolkits["mmpretrain"]["1.2.0"].needs_ops
    assert matrix.toolkits["mmpose"]["1.3.2"].needs_mmdet
    assert matrix.toolkits["mmpose"]["1.3.2"].allows_python("3.12") is True
    assert matrix.toolkits["mmdet"]["3.3.0"].allows_python("3.12") is None
    assert any("ftfy" in n for n in mmseg.notes)  # a family note attached by version range
    assert not any("ftfy" in n for n in matrix.toolkits["mmsegmentation"]["1.1.2"].notes)


def test_compiled_dependencies(matrix: Matrix) -> None:
    """numpy.toml [dist]: the wheels and sdist builds measured on 2026-11-26."""
    xtc = matrix.binaries["xtcocotools"]
    assert xtc.releases(SpecifierSet("")) == ["1.14.3"] and xtc.sdist
    assert xtc.has_wheel("1.14.3", "cp311") and not xtc.has_wheel("1.14.3", "cp312")
    assert xtc.build is not None and not xtc.build.isolation and {"numpy", "cython"} <= set(xtc.build.needs)
    assert xtc.build.builds_on("3.12") and not xtc.build.builds_on("3.13") and "__version__" in xtc.build.fails
    assert xtc.build.compiles  # Extension('xtcocotools._mask'): Cython and C
    chumpy = matrix.binaries["chumpy"].build
    assert chumpy is not None and not chumpy.compiles  # pure Python: its sdist builds without a compiler
    assert xtc.needed_by_release("mmpose", "1.3.2") and not xtc.needed_by_release("mmdet", "3.3.0")
    ort = matrix.binaries["onnxruntime"]
    assert not ort.sdist and not ort.has_wheel("1.15.1", "cp312") and ort.has_wheel("1.32.0", "cp313")
    assert matrix.binaries["numpy"].releases(SpecifierSet("<2")) == ["1.26.4"]
    assert not matrix.binaries["numpy"].has_wheel("1.26.4", "cp313")
    assert matrix.numpy1_pins[0] == "numpy<2"
    abi = matrix.abi("onnxruntime")
    assert abi is not None and abi.numpy1_build("1.15.1") and not abi.numpy1_build("1.19.0")
    assert abi.forces_numpy1(SpecifierSet("==1.8.1")) and abi.forces_numpy1(SpecifierSet("<1.19"))
    assert not abi.forces_numpy1(SpecifierSet("")) and not abi.forces_numpy1(SpecifierSet(">=1.15,<2"))
    xabi = matrix.abi("xtcocotools")
    assert xabi is not None and xabi.numpy1_build("1.14.3")  # no release's wheel works with NumPy 2


def test_mmcv_wheels(matrix: Matrix) -> None:
    mmcv = matrix.mmcv["2.1.0"]
    assert mmcv.wheel_tags("linux", "2.1.2+cu121") == ("cpu", "cu118", "cu121")
    assert mmcv.has_wheel("linux", "2.1", "cu121", "cp311")
    assert not mmcv.has_wheel("linux", "2.1", "cu121", "3.12")
    assert not mmcv.has_wheel("linux", "2.2", "cu121")
    assert mmcv.has_wheel("Darwin", "2.1", "cpu")
    latest = matrix.mmcv["2.2.0"]
    assert latest.has_wheel("linux", "2.4", "cu121", "cp312")
    assert not latest.has_wheel("windows", "2.3", "cu121", "cp312")
    assert latest.wheel_confidence("2.0") == "doubtful"
    assert latest.wheel_confidence("2.4") == "high"
    assert latest.torch_minors("linux")[0] == "2.4"
    assert matrix.mmcv_full["1.7.2"].wheel_confidence("2.1") == "low"
    assert matrix.mmcv_release("1.7.2") is matrix.mmcv_full["1.7.2"]


def test_cxx14_versions_cannot_build_against_torch_21(matrix: Matrix) -> None:
    assert matrix.mmcv["2.0.1"].max_torch_for_source_build == "2.0"
    assert matrix.mmcv["2.0.1"].can_build_against("2.0.1+cu117")
    assert not matrix.mmcv["2.0.1"].can_build_against("2.1.0")
    assert not matrix.mmcv_full["1.7.1"].can_build_against("2.1.0")
    assert matrix.mmcv_full["1.7.2"].can_build_against("2.1.0")
    assert matrix.mmcv["2.1.0"].can_build_against("2.13.0")


def test_wheel_index_urls(matrix: Matrix) -> None:
    assert matrix.wheel_index_url("cu121", "2.1.2+cu121") == (
        "https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html"
    )
    assert matrix.wheel_index_url("cpu", "2.4.1", mim=True) == (
        "https://download.openmmlab.com/mmcv/dist/cpu/torch2.4.0/index.html"
    )
    assert matrix.torch_index_url("cu118") == "https://download.pytorch.org/whl/cu118"


def test_mmcv_build_facts(matrix: Matrix) -> None:
    build = matrix.mmcv_build
    assert "setuptools<82" in build.preinstall
    assert "--no-build-isolation" in build.pip_args
    assert build.env["MMCV_WITH_OPS"] == "1"
    assert {"FORCE_CUDA", "TORCH_CUDA_ARCH_LIST", "MAX_JOBS"} <= set(build.env_conditional)
    assert any("FORCE_CUDA=1" in n for n in build.notes)
    assert any("TORCH_CUDA_ARCH_LIST" in n for n in build.notes)
    measured = {(d.mmcv, d.cuda, d.cores, d.seconds) for d in build.durations}
    assert measured == {("2.1.0", False, 2, 1101), ("2.0.1", False, 2, 414), ("2.1.0", True, 16, 274)}


def test_mmengine(matrix: Matrix) -> None:
    assert not any(r.weights_only_safe for r in matrix.mmengine.values())
    assert all(r.pkg_resources_at_runtime for r in matrix.mmengine.values())
    assert matrix.mmengine_facts["weights_only"]["breaks_with_torch"] == ">=2.6"
    assert "1655" in matrix.mmengine_facts["weights_only"]["issue"]


def test_profiles(matrix: Matrix) -> None:
    colab = matrix.profiles["colab"].as_json()
    assert colab["schema"] == 1
    assert colab["python"]["version"] == "3.13.15"
    assert colab["torch"]["version"] == "2.11.0+cu128"
    assert colab["packages"]["numpy"] == "2.1.3"
    assert colab["driver"]["forward_compat_cuda"] == "12.8"
    assert colab["gpus"][0]["name"] == "Tesla T4"
    laptop = matrix.profiles["cpu-laptop"].as_json()
    assert laptop["torch"] is None and laptop["driver"] is None and laptop["gpus"] == []
    assert matrix.profiles["colab-2024.08"].env["torch"]["version"] == "2.4.0+cu121"
    assert matrix.profiles["kaggle"].confidence == "low"
    assert matrix.supports_forward_compat("Tesla T4")
    assert not matrix.supports_forward_compat("NVIDIA GeForce RTX 4090")
