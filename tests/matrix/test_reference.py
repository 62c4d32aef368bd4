"""matrices/ agrees with the reference extraction (tests/data/reference, a trimmed copy).

The reference files were produced by reading each release's real __init__.py and importing it
under stub versions (exec_check); these tests hold the hand-maintained TOML to them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from envcheck.matrix import Matrix, load_matrix
from tests import DATA

REFERENCE = DATA / "reference"


def _json(name: str) -> Any:
    return json.loads((REFERENCE / name).read_text())


CONSTRAINTS = _json("constraints.json")
WHEELS = _json("wheel_matrix.json")
MMENGINE = _json("mmengine.json")
RELEASES = [
    (family, version, record)
    for family, releases in CONSTRAINTS.items()
    if family != "_meta"
    for version, record in releases.items()
]


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return load_matrix()


def _ids(rows: list[tuple[str, str, Any]]) -> list[str]:
    return [f"{family}-{version}" for family, version, _ in rows]


@pytest.mark.parametrize(("family", "version", "ref"), RELEASES, ids=_ids(RELEASES))
def test_toolkit_release_matches_reference(matrix: Matrix, family: str, version: str, ref: dict[str, Any]) -> None:
    rel = matrix.toolkits[ref["pypi_name"]][version]
    assert rel.import_name == ref["import_name"]
    assert rel.released == ref["released"][:10]
    expected: dict[str, list[str]] = {}
    for g in ref["import_guards"]:
        # mmocr 1.0.0rc6 compares mmdet.__version__ as plain strings in its if-raise guard
        string = family == "mmocr" and version == "1.0.0rc6" and g["pkg"] == "mmdet"
        op = ("str" if string and g["via"] == "if-raise" else "") + g["op"]
        expected.setdefault(g["pkg"], []).append(op + g["version"])
    got = {dep: [str(g) for g in req.guards] for dep, req in rel.requires.items()}
    assert got == expected
    for dep, exclusive in (ref.get("max_bound_exclusive") or {}).items():
        if exclusive is not None:
            assert rel.requires[dep].inclusive_max is (not exclusive), dep
    for dep, spec in (ref.get("pep440") or {}).items():
        assert rel.requires[dep].pep440 == spec
    ops = ref["needs_compiled_mmcv_ops_at_import"]
    sub = {k: v for k, v in ops.items() if k != ref["import_name"]}
    assert rel.needs_ops is any(sub.values())
    assert rel.needs_ops_at_import is bool(ops.get(ref["import_name"]))
    assert rel.needs_mmdet is any((ref.get("needs_mmdet_at_import") or {}).values())


EXEC_CHECKS = [
    (f"{family}-{version}-{dep}-{dep_version}", ref["pypi_name"], version, dep, dep_version, ok)
    for family, version, ref in RELEASES
    for dep, results in (ref.get("exec_check") or {}).items()
    if dep != "base"
    for dep_version, ok in results.items()
]


def test_guards_reproduce_every_exec_check(matrix: Matrix) -> None:
    """The reference imported each release's real __init__.py 1674 times; the guards must agree."""
    assert len(EXEC_CHECKS) > 1600
    wrong = [
        case_id
        for case_id, dist, version, dep, dep_version, ok in EXEC_CHECKS
        if matrix.toolkits[dist][version].allows(dep, dep_version) is not ok
    ]
    assert wrong == []


SUMMARY = CONSTRAINTS["_meta"]["latest_releases_import_guard_summary"]["per_package"]
CANDIDATES = {
    "mmcv": ["2.0.0", "2.0.1", "2.1.0", "2.2.0"],
    "mmdet": ["3.0.0", "3.1.0", "3.2.0", "3.3.0"],
}
SUMMARY_CASES = [
    (key, dep, accepted)
    for key, deps in SUMMARY.items()
    if isinstance(deps, dict)
    for dep, accepted in deps.items()
    if isinstance(accepted, list)
]


@pytest.mark.parametrize(("key", "dep", "accepted"), SUMMARY_CASES)
def test_latest_release_summary(matrix: Matrix, key: str, dep: str, accepted: list[str]) -> None:
    name, version = key.split("==")
    dist = matrix.toolkit_name(name)
    assert dist is not None
    rel = matrix.toolkits[dist][version]
    assert [v for v in CANDIDATES[dep] if rel.allows(dep, v)] == accepted


def test_mmdeploy_has_no_guards(matrix: Matrix) -> None:
    assert isinstance(SUMMARY["mmdeploy==1.3.1"], str)  # "no import guards"
    assert dict(matrix.toolkits["mmdeploy"]["1.3.1"].requires) == {}


def _norm(tags: list[str]) -> set[str]:
    return {"cpu" if t.startswith("mps") else t for t in tags}


WHEEL_CASES = [
    (package, version, ref)
    for package in ("mmcv", "mmcv-full")
    for version, ref in WHEELS[package].items()
    if ref["builds_by_platform"]
]


@pytest.mark.parametrize(("package", "version", "ref"), WHEEL_CASES, ids=_ids(WHEEL_CASES))
def test_wheel_rows_match_builds_by_platform(matrix: Matrix, package: str, version: str, ref: dict[str, Any]) -> None:
    rel = (matrix.mmcv if package == "mmcv" else matrix.mmcv_full)[version]
    assert rel.released == ref["tag_date"]
    expected = {
        plat: {row.replace("torch", ""): _norm(tags) for row, tags in rows.items()}
        for plat, rows in ref["builds_by_platform"].items()
    }
    got = {plat: {m: set(tags) for m, tags in rows.items()} for plat, rows in rel.wheels.items()}
    assert got == expected


def test_mmcv_220_old_torch_rows_are_doubtful(matrix: Matrix) -> None:
    ref = WHEELS["mmcv"]["2.2.0"]
    confirmed = {row.replace("torch", "") for row in ref["builds_high_confidence"]}
    rel = matrix.mmcv["2.2.0"]
    for minor in rel.torch_minors("linux"):
        expected = "high" if minor in confirmed else "doubtful"
        assert rel.wheel_confidence(minor) == expected, minor


def test_mmcv_full_172_rows_are_low_confidence(matrix: Matrix) -> None:
    assert WHEELS["mmcv-full"]["1.7.2"]["builds_by_platform"] is None  # not in any docs table
    rel = matrix.mmcv_full["1.7.2"]
    for plat in ("linux", "windows"):
        assert rel.torch_minors(plat)
        assert all(rel.wheel_confidence(m) == "low" for m in rel.torch_minors(plat))


def test_mmcv_lite_versions(matrix: Matrix) -> None:
    assert list(matrix.mmcv_lite) == WHEELS["mmcv-lite"]["versions_on_pypi"]


@pytest.mark.parametrize("tag", sorted(MMENGINE))
def test_mmengine_release_matches_reference(matrix: Matrix, tag: str) -> None:
    ref = MMENGINE[tag]
    rel = matrix.mmengine[ref["version"]]
    assert rel.released == ref["date"]
    assert rel.python == ref["python_requires"]
    assert rel.weights_only_safe is (ref["checkpoint_torch_load_weights_only_false"] > 0)
    assert rel.pkg_resources_at_runtime is ref["runtime_uses_pkg_resources"]
    assert rel.lite is ref["mmengine_lite_package"]
    assert set(matrix.mmengine) == {r["version"] for r in MMENGINE.values()}
