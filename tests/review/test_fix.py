"""--fix: the recipe in its own format, its OpenMMLab lines replaced by the planner's, the rest kept."""

from __future__ import annotations

import json

import pytest

from envcheck.facts.complete import complete
from envcheck.facts.document import from_document
from envcheck.facts.model import Environment
from envcheck.matrix import Matrix, load_matrix
from envcheck.review import review_text
from tests.review.corpus import RECIPES


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return load_matrix()


def _env(matrix: Matrix, profile: str) -> Environment:
    return complete(from_document(matrix.profiles[profile].as_json(), profile), matrix)


@pytest.mark.parametrize(
    ("recipe", "profile"),
    [
        ("mmdet-inference_demo.ipynb", "colab-2024.08"),
        ("mmdet-11763.sh", "colab-2024.08"),
        ("xinwang-vit.dockerfile", "cpu-laptop"),
        ("mmyolo-924.cell", "colab-2024.08"),
        ("mmyolo-requirements-mminstall.txt", "colab-2024.08"),
        ("dacdetr-env_run.sh", "cpu-laptop"),
    ],
)
def test_fixed_recipe_keeps_its_format_and_reviews_clean(matrix: Matrix, recipe: str, profile: str) -> None:
    text = (RECIPES / recipe).read_text(encoding="utf-8")
    env = _env(matrix, profile)
    first = review_text(text, recipe, env, matrix, profile, fix=True)
    assert not first.review.ok
    assert first.fixed is not None, first.fix_problem
    again = review_text(first.fixed, recipe, env, matrix, profile)
    assert again.review.recipe.format == first.review.recipe.format
    errors = [(r.step.line, f.code, f.title) for r, f in again.review.errors]
    assert again.review.ok, errors
    assert set(first.review.toolkits) <= set(again.review.final_stack)


def test_unrelated_lines_are_kept(matrix: Matrix) -> None:
    text = (RECIPES / "xinwang-vit.dockerfile").read_text(encoding="utf-8")
    fixed = review_text(text, "x.dockerfile", _env(matrix, "cpu-laptop"), matrix, "cpu-laptop", fix=True).fixed
    assert fixed is not None
    for kept in (
        "FROM pytorch/pytorch:1.12.1",
        "RUN apt-get install -y build-essential",
        "RUN pip install timm",
        "RUN pip install opencv-python-headless",
    ):
        assert kept in fixed
    assert "mim install" not in fixed and "RUN pip install mmcv \n" not in fixed
    assert all(ln.startswith(("RUN ", "FROM ", "#", "ARG", "ENV")) or not ln.strip() for ln in fixed.splitlines())


def test_notebook_stays_a_notebook(matrix: Matrix) -> None:
    text = (RECIPES / "mmdet-inference_demo.ipynb").read_text(encoding="utf-8")
    fixed = review_text(text, "d.ipynb", _env(matrix, "colab-2024.08"), matrix, "colab-2024.08", fix=True).fixed
    assert fixed is not None
    doc = json.loads(fixed)
    assert len(doc["cells"]) == len(json.loads(text)["cells"])
    install = "".join(doc["cells"][1]["source"])
    assert "!pip install torch==2.1.2+cu121" in install and "mim install" not in install
    assert "import mmdet" in "".join(doc["cells"][2]["source"])


def test_environment_yml_fix(matrix: Matrix) -> None:
    text = "name: x\nchannels:\n  - pytorch\ndependencies:\n  - python=3.10\n  - pytorch=2.4\n  - numpy\n  - pip\n  - pip:\n    - mmcv==2.2.0\n    - mmdet\n    - timm\n"
    r = review_text(text, "environment.yml", _env(matrix, "cpu-laptop"), matrix, "cpu-laptop", fix=True)
    assert r.fixed is not None
    assert "  - numpy" in r.fixed and "    - timm" in r.fixed
    assert "mmdet==3.3.0" in r.fixed and "mmcv==2.2.0" not in r.fixed and "pytorch=2.4" not in r.fixed


def test_no_toolkit_no_fix(matrix: Matrix) -> None:
    r = review_text("pip install mmcv==2.0.1\n", "a.sh", _env(matrix, "colab"), matrix, "colab", fix=True)
    assert r.fixed is None and r.fix_problem and "toolkit" in r.fix_problem
