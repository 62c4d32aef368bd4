"""Recipe parsing: every form becomes structured steps; what cannot be read is said, line by line."""

from __future__ import annotations

import json

import pytest

from envcheck.review.parse import RecipeError, detect, parse
from envcheck.review.steps import Step


def _steps(text: str, name: str = "", fmt: str | None = None) -> list[Step]:
    return list(parse(text, name, fmt).steps)


def test_shell_continuations_and_chains() -> None:
    text = "export FORCE_CUDA=1\npip install -U \\\n  torch==2.1.2 'mmcv>=2.0.0rc4,<2.1.0' && python -m pip install mmdet[tracking]; pip3 install -qU numpy\n"
    steps = _steps(text, "x.sh")
    assert [s.tool for s in steps] == ["pip", "pip", "pip"]
    first = steps[0]
    assert first.line == 2 and first.upgrade and first.env == {"FORCE_CUDA": "1"}
    assert [(p.name, p.spec) for p in first.packages] == [("torch", "==2.1.2"), ("mmcv", "<2.1.0,>=2.0.0rc4")]
    assert steps[1].packages[0].extras == ("tracking",)
    assert {"-q", "-U"} <= set(steps[2].flags)


def test_pip_options_index_and_links() -> None:
    (s,) = _steps(
        "VAR=1 pip install mmcv==2.1.0 -f https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html "
        "--index-url https://pypi.org/simple --extra-index-url https://download.pytorch.org/whl/cu121 "
        "--no-build-isolation --no-deps -r req.txt -c cons.txt --only-binary=mmcv\n",
        "x.sh",
    )
    assert s.find_links == ("https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html",)
    assert s.index_url == "https://pypi.org/simple"
    assert s.extra_index_urls == ("https://download.pytorch.org/whl/cu121",)
    assert s.requirement_files == ("req.txt",) and s.constraint_files == ("cons.txt",)
    assert {"--no-build-isolation", "--no-deps", "--only-binary=mmcv"} <= set(s.flags)
    assert s.env == {"VAR": "1"}


def test_unreadable_lines_are_reported_and_parsing_goes_on() -> None:
    r = parse(
        "pip install mmcv-full==latest+torch1.5.0+cu101\npip install $PKG\npip install 'unclosed\npip install mmdet\n",
        "x.sh",
    )
    assert [u.line for u in r.unparsed] == [1, 2, 3]
    assert "not a valid requirement" in r.unparsed[0].why
    assert "shell variable" in r.unparsed[1].why
    assert [p.name for s in r.steps for p in s.packages] == ["mmdet"]


def test_mim_clone_cd_checkout_editable() -> None:
    steps = _steps(
        "python -m mim install mmengine\ngit clone -b v3.3.0 https://github.com/open-mmlab/mmdetection.git\n"
        "cd mmdetection\ngit checkout v3.2.0\npip install -v -e .\npython setup.py develop\n",
        "x.sh",
    )
    assert [(s.tool, s.action) for s in steps] == [
        ("mim", "install"), ("git", "clone"), ("cd", "cd"), ("git", "checkout"), ("pip", "install"), ("pip", "install"),
    ]  # fmt: skip
    assert steps[1].ref == "v3.3.0" and steps[1].packages[0].url == "mmdetection"
    assert steps[4].packages[0].url == "." and "-e" in steps[4].flags


def test_conda_specs() -> None:
    (s,) = _steps("conda install pytorch=1.10 cudatoolkit=11.3 torchvision==0.11.0 -c pytorch -y\n", "x.sh")
    assert s.tool == "conda" and s.channels == ("pytorch",)
    assert [(p.name, p.spec) for p in s.packages] == [
        ("pytorch", "==1.10.*"), ("cudatoolkit", "==11.3.*"), ("torchvision", "==0.11.0"),
    ]  # fmt: skip


def test_notebook_cells_magics_and_bash() -> None:
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": ["!pip install nothing\n"]},
            {"cell_type": "code", "source": ["import os\n", "%pip install -U openmim\n", "!mim install mmcv"]},
            {"cell_type": "code", "source": "%%bash\npip install mmdet \\\n  mmengine\n"},
        ],
        "nbformat": 4,
    }
    r = parse(json.dumps(nb), "t.ipynb")
    assert r.format == "notebook"
    assert [(s.line, s.tool, s.cell) for s in r.steps] == [(2, "pip", 0), (3, "mim", 0), (5, "pip", 1)]
    assert [p.name for p in r.steps[2].packages] == ["mmdet", "mmengine"]


def test_dockerfile_args_env_exec_form() -> None:
    text = (
        'ARG TORCH="2.1.2"\nFROM pytorch/pytorch:${TORCH}-cuda12.1-cudnn8-devel\nENV FORCE_CUDA="1" MAX_JOBS=2\n'
        "RUN pip install torch==${TORCH} \\\n    && pip install --no-cache-dir mmengine\n"
        'RUN ["pip", "install", "mmdet==3.3.0"]\nWORKDIR /src\n'
    )
    r = parse(text, "Dockerfile")
    assert r.format == "dockerfile" and r.base_image == "pytorch/pytorch:2.1.2-cuda12.1-cudnn8-devel"
    assert [s.packages[0].text for s in r.steps if s.packages] == ["torch==2.1.2", "mmengine", "mmdet==3.3.0"]
    assert r.steps[0].env == {"FORCE_CUDA": "1", "MAX_JOBS": "2"}
    assert r.steps[-1].action == "cd"


def test_requirements_options_and_markers() -> None:
    text = (
        "-f https://download.openmmlab.com/mmcv/dist/cu118/torch2.1/index.html\n--extra-index-url https://download.pytorch.org/whl/cu118\n"
        "torch==2.1.0+cu118\nmmcv==2.1.0  # the one with ops\nmmdet>=3.0.0; python_version < '3.12'\n-r other.txt\n"
    )
    r = parse(text, "requirements.txt")
    assert r.format == "requirements"
    assert [(s.line, s.packages[0].name) for s in r.steps] == [(3, "torch"), (4, "mmcv"), (5, "mmdet")]
    assert all(s.find_links and s.extra_index_urls for s in r.steps)
    assert r.steps[2].packages[0].marker == 'python_version < "3.12"'
    assert r.steps[0].requirement_files == ("other.txt",)


def test_environment_yml() -> None:
    text = (
        "name: openmmlab\nchannels:\n  - pytorch\n  - nvidia\ndependencies:\n  - python=3.10\n  - pytorch=2.1.2\n"
        "  - pytorch-cuda=12.1\n  - pip\n  - pip:\n    - mmengine==0.10.7\n    - mmcv==2.1.0\n"
    )
    r = parse(text, "environment.yml")
    assert r.format == "conda"
    assert [(s.line, s.tool, s.packages[0].name) for s in r.steps] == [
        (6, "conda", "python"), (7, "conda", "pytorch"), (8, "conda", "pytorch-cuda"), (9, "conda", "pip"),
        (11, "pip", "mmengine"), (12, "pip", "mmcv"),
    ]  # fmt: skip
    assert r.steps[1].channels == ("pytorch", "nvidia")


@pytest.mark.parametrize(
    ("text", "name", "fmt"),
    [
        ("!pip install mmdet\n", "", "cell"),
        ("FROM x\nRUN pip install a\n", "", "dockerfile"),
        ("dependencies:\n  - numpy\n", "", "conda"),
        ("mmdet==3.3.0\nmmcv>=2.0\n", "", "requirements"),
        ("pip install a && echo b\n", "", "shell"),
        ("{}", "x.ipynb", "notebook"),
        ("x", "constraints.txt", "requirements"),
        ("x", "gpu.dockerfile", "dockerfile"),
    ],
)
def test_detect(text: str, name: str, fmt: str) -> None:
    assert detect(text, name) == fmt


@pytest.mark.parametrize(
    ("text", "name", "says"),
    [("", "a.sh", "empty"), ("   \n\n", "a.sh", "empty"), ("a\x00b", "a.sh", "binary"),
     ('{"cells": [', "a.ipynb", "not valid JSON"), ('{"x": 1}', "a.ipynb", "not a Jupyter notebook")],
)  # fmt: skip
def test_unreadable_input_is_one_line(text: str, name: str, says: str) -> None:
    with pytest.raises(RecipeError) as err:
        parse(text, name)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_no_install_command_is_no_steps() -> None:
    r = parse("echo hello\nls -la\n", "a.sh")
    assert r.steps == () and r.unparsed == ()


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_WORDS = st.sampled_from(
    ["pip", "install", "-U", "mim", "mmcv>=2.0", "&&", "\\\n", "!", "%pip", "RUN", "FROM", "'", '"', "-f", "-e", ".",
     "conda", "-c", "git", "clone", "cd", "torch==2.1.2+cu121", "$X", "#", "\n", "dependencies:", "- pip:", "{", "["]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(_WORDS, max_size=30), st.sampled_from(["", "a.sh", "Dockerfile", "r.txt", "e.yml", "n.ipynb"]))
def test_any_text_parses_or_is_refused_in_one_line(words: list[str], name: str) -> None:
    text = " ".join(words)
    try:
        recipe = parse(text, name)
    except RecipeError as exc:
        assert "\n" not in str(exc)
        return
    assert all(s.line >= 1 for s in recipe.steps)
