"""nvcc × GPU arch: which GPUs an nvcc cannot compile for, and the CUDA toolkit each fix names."""

from __future__ import annotations

import pytest

from envcheck.facts.model import Gpu
from envcheck.matrix import Matrix, load_matrix
from envcheck.matrix.nvcc import arch_gaps, compilable, toolkit_for


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return load_matrix()


def test_gaps_name_each_arch_once_and_trust_unknown_ones(matrix: Matrix) -> None:
    gpus = (
        Gpu(0, "NVIDIA GeForce RTX 5090", "12.0"),
        Gpu(1, "NVIDIA GeForce RTX 5090", "12.0"),
        Gpu(2, "NVIDIA GeForce RTX 4090", "8.9"),
        Gpu(3, "NVIDIA Graphics Device"),  # no compute capability known
        Gpu(4, "NVIDIA Future GPU", "19.0"),  # not in matrices/nvidia.toml
    )
    [gap] = arch_gaps(matrix, "12.4.131", gpus)
    assert gap.gpu == "NVIDIA GeForce RTX 5090" and gap.too_old
    assert gap.text() == (
        "nvcc 12.4.131 cannot compile for sm_120 (NVIDIA GeForce RTX 5090; CUDA 12.8 is the first toolkit that can)"
    )
    assert arch_gaps(matrix, "12.8.93", gpus) == ()
    assert arch_gaps(matrix, "not a version", gpus) == ()


def test_a_dropped_arch_is_not_too_old(matrix: Matrix) -> None:
    [gap] = arch_gaps(matrix, "13.0.88", (Gpu(0, "Tesla V100-SXM2-16GB", "7.0"),))
    assert not gap.too_old
    assert gap.text().endswith("(Tesla V100-SXM2-16GB; CUDA 12.9 was the last toolkit that could)")


def test_compilable_keeps_the_order_given(matrix: Matrix) -> None:
    keep, drop = compilable(matrix, "12.4.131", ["10.0", "12.0", "7.0", "7.5", "9.0", "19.0"])
    assert keep == ["7.0", "7.5", "9.0", "19.0"] and drop == ["10.0", "12.0"]
    assert compilable(matrix, "13.0.88", ["5.0", "7.5"]) == (["7.5"], ["5.0"])


@pytest.mark.parametrize(
    ("ccs", "torch_tag", "version", "text"),
    [
        (["12.0"], "cu128", "12.8", "install the CUDA 12.8 toolkit (torch cu128's; it compiles for sm_120)"),
        (["12.0"], "cu124", "12.8", "install a CUDA 12.x toolkit >= 12.8 (torch cu124 needs 12.x; nvcc compiles"),
        (["12.1", "12.0"], "cu128", "12.9", "install a CUDA 12.x toolkit >= 12.9"),
        (["11.0"], "cu128", None, "no CUDA 12.x toolkit compiles for sm_110: use a torch built for CUDA >= 13.0"),
        (["6.1"], "cu130", None, "no CUDA 13.x toolkit compiles for sm_61: use a torch built for CUDA <= 12.9"),
        (["6.0", "11.0"], "cu130", None, "no single CUDA toolkit compiles for both sm_60 (last: CUDA 12.9) and sm_110"),
        (["6.1"], None, "12.9", "install a CUDA toolkit 8.0 to 12.9 (compiles for sm_61)"),
        (["12.0"], "cpu", "12.8", "install a CUDA toolkit >= 12.8 (compiles for sm_120)"),
        (["19.0"], "cu130", "13.0", "install the CUDA 13.0 toolkit"),
    ],
)
def test_toolkit_for(matrix: Matrix, ccs: list[str], torch_tag: str | None, version: str | None, text: str) -> None:
    fix = toolkit_for(matrix, ccs, torch_tag)
    assert fix.version == version
    assert fix.text.startswith(text), fix.text
