"""builds.toml: which sdists fail where, the patches that fix them, and their validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from envcheck.errors import MatrixError
from envcheck.matrix import Matrix, clear_cache, load_matrix, matrix_root
from envcheck.udiff import apply_text


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return load_matrix()


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "matrices"
    shutil.copytree(matrix_root(), root)
    clear_cache()
    return root


@pytest.mark.parametrize(
    ("dist", "version", "python", "patch"),
    [
        ("mmcv", "2.1.0", "3.13", "mmcv-pep667-get-version"),
        ("mmcv", "2.0.0rc4", "3.14", "mmcv-pep667-get-version"),
        ("mmcv-full", "1.7.2", "3.13", "mmcv-pep667-get-version"),
        ("xtcocotools", "1.14.3", "3.13", "xtcocotools-pep667-get-version"),
        ("mmdet3d", "1.0.0rc6", "3.13", None),
    ],
)
def test_known_defects_on_python_313(matrix: Matrix, dist: str, version: str, python: str, patch: str | None) -> None:
    v = matrix.builds.verdict(dist, version, python)
    assert v is not None and v.defect.id == "pep667-locals"
    assert (v.patch.name if v.patch else None) == patch
    assert v.fails is (patch is None)
    assert v.defect.works_on() == "Python < 3.13"
    assert "KeyError: '__version__'" in v.why()


@pytest.mark.parametrize(("dist", "version", "python"), [("mmcv", "2.1.0", "3.12"), ("chumpy", "0.70", "3.13"),
                                                          ("mmcv", "2.1.0", None)])  # fmt: skip
def test_no_verdict_where_nothing_is_known(matrix: Matrix, dist: str, version: str, python: str | None) -> None:
    assert matrix.builds.verdict(dist, version, python) is None


def test_the_plan_headline_names_the_patch(matrix: Matrix) -> None:
    v = matrix.builds.verdict("mmcv", "2.1.0", "3.13")
    assert v is not None
    assert v.headline() == "build patched upstream mmcv 2.1.0 (patch: mmcv-pep667-get-version)"


def test_every_patch_has_a_digest_a_header_and_parses(matrix: Matrix) -> None:
    for p in matrix.builds.patches.values():
        assert len(p.sha256) == 64 and p.changes and p.files
        assert p.path.read_text().startswith(f"Patch: {p.name}\n")


def test_the_mmcv_patch_fixes_the_pattern_it_is_written_for(matrix: Matrix) -> None:
    """Same lines as in every mmcv 2.x / mmcv-full 1.7.x setup.py (checked against the sdists on 2026-12-02)."""
    p = matrix.builds.patches["mmcv-pep667-get-version"]
    setup = "\n".join(line[1:] for line in p.files[0].hunks[0].lines if line[0] in " -") + "\n"
    out = apply_text("# header\n" * 38 + setup, p.files[0])
    namespace: dict[str, object] = {}
    exec(out.split("def parse_requirements")[0].split("# header\n")[-1], namespace)  # define get_version only
    assert "locals()" not in out and "namespace['__version__']" in out


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ('patch = "mmcv-pep667-get-version"\nwheels = "none on PyPI"', 'patch = "nope"\nwheels = "none on PyPI"',
         "unknown patch 'nope'"),
        ('defect = "pep667-locals"\npatch = "xtcocotools', 'defect = "other"\npatch = "xtcocotools', "unknown defect"),
        ('python = ">=3.13"', 'python = ">=three"', "bad specifier"),
        ('dists = { xtcocotools', 'dists = { chumpy', "not written for xtcocotools"),
    ],
)  # fmt: skip
def test_validation(copy: Path, old: str, new: str, problem: str) -> None:
    path = copy / "builds.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(MatrixError) as err:
        load_matrix(copy)
    assert any(problem in p for p in err.value.problems), err.value.problems


def test_a_missing_or_broken_patch_file_fails_the_load(copy: Path) -> None:
    (copy / "patches" / "xtcocotools-pep667-get-version.patch").unlink()
    (copy / "patches" / "mmcv-pep667-get-version.patch").write_text("Patch: mmcv-pep667-get-version\nno diff\n")
    with pytest.raises(MatrixError) as err:
        load_matrix(copy)
    text = "\n".join(err.value.problems)
    assert "cannot read patches/xtcocotools-pep667-get-version.patch" in text
    assert "patches/mmcv-pep667-get-version.patch is not a unified diff" in text


def test_a_patch_without_its_why_fails_the_load(copy: Path) -> None:
    path = copy / "patches" / "mmcv-pep667-get-version.patch"
    path.write_text(path.read_text().replace("Why:", "Reason:", 1))
    with pytest.raises(MatrixError, match="must say 'Why:'"):
        load_matrix(copy)
