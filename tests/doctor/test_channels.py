"""The doctor on fork and mixed stacks (#14 item 7): the measured Python 3.13 fork stack has no error."""

from __future__ import annotations

from envcheck.doctor import diagnose_environment
from envcheck.facts.model import Mmcv, Torch
from envcheck.matrix import load_matrix
from envcheck.render.facts_text import mmcv_row, openmmlab_row
from tests.doctor.test_doctor import codes, env_of

MATRIX = load_matrix()
TORCH_213 = Torch("2.13.0+cu130", cuda="13.0")
# What `pip list` showed on the working stack of issue 14 (onedl-mmcv 2.3.6 compiled here, then the fork).
FORK_STACK = {
    "torch": "2.13.0",
    "onedl-mmcv": "2.3.6",
    "onedl-mmengine": "0.10.12",
    "onedl-mmdetection": "3.5.1",
    "onedl-mmsegmentation": "1.4.2",
    "imaug": "0.4.3",
    "opencv-python": "4.12.0.88",
    "opencv-python-headless": "4.12.0.88",
    "numpy": "2.2.6",
    "setuptools": "84.2.1",
    "pip": "24.1.2",
    "ftfy": "6.3.1",
    "regex": "2026.1.15",
}
OPS = Mmcv("2.3.6", "onedl-mmcv", True, "/v/lib/mmcv/_ext.cpython-313-x86_64-linux-gnu.so", "cpu")


def test_the_fork_stack_is_healthy_and_its_opencv_pair_is_by_design() -> None:
    env = env_of(FORK_STACK, python="3.13.0", torch=TORCH_213, mmcv=OPS, pkg_resources=False)
    found = codes(diagnose_environment(env, MATRIX))
    errors = [f.title for fs in found.values() for f in fs if f.severity == "error"]
    assert errors == []
    assert "package-conflict" not in found  # imaug requires opencv-python AND opencv-python-headless
    assert "weights-only" not in found  # onedl-mmengine 0.10.12 loads checkpoints under torch 2.13


def test_inspect_names_the_fork_distributions() -> None:
    env = env_of(FORK_STACK, python="3.13.0", torch=TORCH_213, mmcv=OPS)
    assert "onedl-mmcv 2.3.6" in openmmlab_row(env) and "onedl-mmdetection 3.5.1" in openmmlab_row(env)
    assert mmcv_row(env).startswith("onedl-mmcv 2.3.6 · flavour full")


def test_two_opencv_builds_without_the_fork_are_still_a_warning() -> None:
    env = env_of({"opencv-python": "4.12.0.88", "opencv-python-headless": "4.12.0.88"})
    assert "package-conflict" in codes(diagnose_environment(env, MATRIX))


def test_an_upstream_twin_beside_the_fork_is_an_error_with_a_safe_fix() -> None:
    env = env_of({**FORK_STACK, "mmengine": "0.10.7"}, python="3.13.0", torch=TORCH_213, mmcv=OPS)
    twin = [f for f in codes(diagnose_environment(env, MATRIX))["package-conflict"] if "mmengine" in f.title]
    assert twin and twin[0].severity == "error"
    assert "uninstall" in twin[0].fix[0] and "mmengine" in twin[0].fix[0]
    assert "--force-reinstall" in twin[0].fix[1] and "onedl-mmengine==0.10.12" in twin[0].fix[1]


def test_upstream_mmpose_on_the_fork_passes_its_guard() -> None:
    pkgs = {**FORK_STACK, "mmpose": "1.3.2"}
    env = env_of(pkgs, python="3.12.3", torch=Torch("2.10.0+cpu", cuda=None), mmcv=OPS)
    assert "version-guard" not in codes(diagnose_environment(env, MATRIX))
