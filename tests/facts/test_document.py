"""The inspect --json document: round trip, the example files of other machines, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envcheck.errors import UsageError
from envcheck.facts.document import from_document, load_document, to_document
from envcheck.facts.model import Dist, Driver, Environment, Gpu, Missing, Mmcv, PlatformInfo, PythonInfo, Torch
from tests import DATA

EXAMPLES = DATA / "examples"


def test_colab_example_reads_into_facts() -> None:
    env = load_document(str(EXAMPLES / "env-colab-2025-11-t4.json"))
    assert isinstance(env.torch, Torch) and env.torch.cuda == "12.6" and env.torch.cuda_tag == "cu126"
    assert env.torch.arch_list and "sm_75" in env.torch.arch_list
    assert isinstance(env.driver, Driver) and env.driver.cuda_max == "12.4"
    assert env.gpu_list[0].compute_capability == "7.5" and env.gpu_list[0].memory_mib == 15360
    assert env.packages["torchvision"] == "0.24.0+cu126"
    assert env.context == "colab" and env.platform and env.platform.key == "linux"


def test_cpu_laptop_example_has_no_torch_and_says_why() -> None:
    env = load_document(str(EXAMPLES / "env-cpu-laptop.json"))
    assert isinstance(env.torch, Missing) and isinstance(env.driver, Missing)
    assert env.gpu_list == () and env.version_of("numpy") is not None


def test_round_trip_keeps_the_facts() -> None:
    env = Environment(
        python=PythonInfo("3.10.14", "CPython", "/usr/bin/python3", "/usr", tag="cp310"),
        platform=PlatformInfo("Linux", "x86_64", glibc="2.35"),
        dists=(Dist("mmcv", "2.1.0", "/site"), Dist("torch", "2.1.2+cu121", "/site")),
        torch=Torch("2.1.2+cu121", cuda="12.1", arch_list=("sm_80", "sm_90")),
        driver=Driver("535.104.05", cuda_max="12.2"),
        gpus=(Gpu(0, "NVIDIA A100-SXM4-80GB", "8.0", 81920),),
        mmcv=Mmcv("2.1.0", "mmcv", ops=True, ops_cuda="12"),
    )
    doc = json.loads(json.dumps(to_document(env)))
    back = from_document(doc)
    assert back.torch == env.torch and back.driver == env.driver and back.gpus == env.gpus
    assert back.mmcv == env.mmcv and dict(back.packages) == dict(env.packages)
    assert doc["schema"] == 1 and doc["missing"]["toolchain.nvcc"]["reason"] == "not probed"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "malformed JSON at line 1"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not a text file"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"schema": 7}', "schema 7 is not supported"),
        (b'{"packages": {"torch": 2.1}}', '"packages" must map names to version strings'),
        (b'{"gpus": {"name": "T4"}}', '"gpus" must be a list'),
        (b'{"torch": "2.1.0"}', "torch: expected an object"),
        (b'{"python": {"implementation": "CPython"}}', "python: .*version"),
    ],
)
def test_bad_files_are_one_line_usage_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "env.json"
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message) as info:
        load_document(str(path))
    assert "\n" not in info.value.message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="No such file"):
        load_document(str(tmp_path / "absent.json"))
