"""Simulation: each step's effect and findings on a profile, from matrices/ and the doctor (pure)."""

from __future__ import annotations

import pytest

from envcheck.facts.complete import complete
from envcheck.facts.document import from_document
from envcheck.facts.model import Environment
from envcheck.matrix import Matrix, load_matrix
from envcheck.review import review_text
from envcheck.review.simulate import Review


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return load_matrix()


def _env(matrix: Matrix, profile: str, **packages: str) -> Environment:
    doc = matrix.profiles[profile].as_json()
    doc["packages"] = {**doc.get("packages", {}), **packages}
    return complete(from_document(doc, profile), matrix)


def _review(matrix: Matrix, text: str, profile: str = "colab-2024.08", name: str = "r.sh", **packages: str) -> Review:
    return review_text(text, name, _env(matrix, profile, **packages), matrix, f"profile {profile}").review


def _codes(rv: Review) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for r in rv.results:
        out.setdefault(r.step.line, set()).update(f.code for f in r.findings)
    return out


def test_torch_upgraded_after_mmcv_breaks_its_ops(matrix: Matrix) -> None:
    rv = _review(
        matrix,
        "pip install torch==2.1.2 torchvision==0.16.2 --index-url https://download.pytorch.org/whl/cu121\n"
        "pip install mmcv==2.1.0 -f https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html\n"
        "pip install -U torch torchvision\n",
    )
    codes = _codes(rv)
    assert "abi-undefined-symbol" in codes[3]
    assert not rv.ok
    assert rv.results[1].effect.startswith("installs mmcv 2.1.0 (prebuilt wheel")


def test_rebuilding_mmcv_heals_an_earlier_abi_break(matrix: Matrix) -> None:
    rv = _review(
        matrix,
        "pip install torch==2.1.2 --index-url https://download.pytorch.org/whl/cu121\n"
        "pip install mmcv==2.1.0 -f https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html\n"
        "pip install torch==2.0.1 --index-url https://download.pytorch.org/whl/cu118\n"
        "pip install --force-reinstall mmcv==2.1.0 -f https://download.openmmlab.com/mmcv/dist/cu118/torch2.0/index.html\n",
    )
    abi = [f for r in rv.results for f in r.findings if f.code == "abi-undefined-symbol"]
    assert abi and all(f.severity == "info" for f in abi)


def test_mim_dead_under_setuptools_82_and_pip_24_1_drops_extras(matrix: Matrix) -> None:
    rv = _review(matrix, "pip install -U openmim\npip install -U setuptools\nmim install mmdet\n")
    assert "mim-pkg_resources" in _codes(rv)[3] and rv.results[2].failed
    rv = _review(matrix, "pip install -U openmim\nmim install mmdet\n")  # pip 24.1.2 on this profile
    assert "mim-pip-extras" in _codes(rv)[2]
    assert "missing-dependency" in _codes(rv)[2]


def test_mim_with_old_pip_installs_the_guarded_mmcv(matrix: Matrix) -> None:
    rv = _review(matrix, "pip install -U openmim\nmim install mmdet==3.3.0\n", pip="24.0")
    assert (
        "mim adds installs mmcv 2.1.0" in rv.results[1].effect or "mim adds builds mmcv 2.1.0" in rv.results[1].effect
    )
    assert "mmengine" in rv.final_stack


def test_openxlab_setuptools_breaks_mim_on_python_312(matrix: Matrix) -> None:
    rv = _review(matrix, "pip install openmim\nmim install mmengine\n", profile="colab")
    assert rv.results[0].effect.count("setuptools 60.2.0") == 1
    assert "mim-pkg_resources" in _codes(rv)[2]


def test_source_build_estimate_and_known_failure(matrix: Matrix) -> None:
    rv = _review(matrix, "pip install 'mmcv>=2.0.0rc4,<2.1.0'\n", profile="colab")  # 2.0.1 is C++14
    (res,) = rv.results
    assert {"no-prebuilt-wheel-source-build", "build-compiler"} <= {f.code for f in res.findings}
    assert res.minutes > 10 and res.failed
    ok = _review(matrix, "pip install mmcv==2.1.0\n", profile="colab")
    assert ok.ok and ok.minutes > 10  # compiles (legacy setup.py path on Colab), no known failure


def test_isolated_build_gets_setuptools_without_pkg_resources(matrix: Matrix) -> None:
    rv = _review(matrix, "pip install mmcv==2.1.0\n", profile="cpu-laptop")
    assert "build-pkg-resources" in _codes(rv)[1]
    rv = _review(
        matrix,
        "pip install torch==2.1.2\npip install 'setuptools<82' wheel\npip install --no-build-isolation mmcv==2.1.0\n",
        profile="cpu-laptop",
    )
    assert rv.ok, [(r.effect, r.findings) for r in rv.results]


def test_numpy2_after_numpy1_torch(matrix: Matrix) -> None:
    rv = _review(
        matrix, "pip install torch==2.1.2 --index-url https://download.pytorch.org/whl/cu121\npip install -U numpy\n"
    )
    assert "numpy2-abi" in _codes(rv)[2]


def test_version_guard_on_the_line_that_installs_the_toolkit(matrix: Matrix) -> None:
    rv = _review(
        matrix,
        "pip install mmengine\npip install mmcv==2.2.0 -f https://download.openmmlab.com/mmcv/dist/cu121/torch2.4/index.html\npip install mmdet==3.3.0\n",
    )
    assert "version-guard" in _codes(rv)[3] and "version-guard" not in _codes(rv).get(2, set())


def test_failed_command_installs_nothing(matrix: Matrix) -> None:
    rv = _review(matrix, "pip install torch==2.0.1 mmengine\n", profile="colab")
    assert rv.results[0].failed and "mmengine" not in rv.final_stack


def test_clone_at_tag_then_editable_install(matrix: Matrix) -> None:
    rv = _review(
        matrix, "git clone https://github.com/open-mmlab/mmdetection.git -b v3.1.0\ncd mmdetection\npip install -e .\n"
    )
    assert rv.final_stack["mmdet"] == "3.1.0" and rv.toolkits == ("mmdet",)


def test_conda_on_colab_and_a_new_env_elsewhere(matrix: Matrix) -> None:
    assert "conda-missing" in _codes(_review(matrix, "conda install pytorch -c pytorch\n"))[1]
    rv = _review(
        matrix,
        "conda create -n x python=3.8 -y\nconda install pytorch==1.13.1 pytorch-cuda=11.7 -c pytorch -c nvidia\n",
        profile="cpu-laptop",
    )
    assert rv.final_stack["torch"] == "1.13.1+cu117"


def test_estimate_and_verdict_for_a_working_recipe(matrix: Matrix) -> None:
    rv = _review(
        matrix,
        "pip install torch==2.1.2 torchvision==0.16.2 --index-url https://download.pytorch.org/whl/cu121\n"
        "pip install mmcv==2.1.0 -f https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html\n"
        "pip install mmengine==0.10.7 mmdet==3.3.0\n",
    )
    assert rv.ok and rv.imports and rv.smoke
    assert 4 <= rv.minutes <= 10
    assert rv.final_stack["mmcv"] == "2.1.0"


def test_every_corpus_recipe_on_every_profile_reviews(matrix: Matrix) -> None:
    from tests.review.corpus import RECIPES, load

    for rec in load():
        text = (RECIPES / rec["file"]).read_text(encoding="utf-8")
        for profile in matrix.profiles:
            rv = review_text(text, rec["file"], _env(matrix, profile), matrix, profile).review
            assert rv.results and rv.minutes >= 0
