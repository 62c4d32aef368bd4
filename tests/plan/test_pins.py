"""Pins name what pip sees and what pip can get: a kept torch from PyPI is the distribution 2.0.1 although it
says 2.0.1+cu117; numpy<2 only where a NumPy-1 binary gets installed; no release without a wheel for the target
Python unless the plan builds it or says it compiles (numpy.toml)."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from envcheck.facts.complete import complete
from envcheck.facts.document import from_document
from envcheck.facts.model import Environment
from envcheck.matrix import load_matrix
from envcheck.plan.build import make_plan
from envcheck.plan.deps import blocker, needs, numpy2_requirement, route, stack_deps
from envcheck.plan.memo import clear_caches
from envcheck.plan.search import parse_request, python_minor


def test_kept_pypi_torch_is_pinned_by_its_distribution_version() -> None:
    matrix = load_matrix()
    doc = {
        "python": {"version": "3.11.7", "tag": "cp311", "executable": "/v/bin/python"},
        "platform": {"system": "Linux", "machine": "x86_64", "cpus": 2},
        "torch": {"version": "2.0.1+cu117", "cuda": "11.7"},
        "packages": {"torch": "2.0.1", "torchvision": "0.15.2", "pip": "23.2.1", "setuptools": "65.5.0"},
    }
    env = complete(from_document(doc), matrix)
    plan = make_plan(parse_request(["mmpretrain"], matrix, torch="keep"), env, matrix)
    assert plan.ok and plan.stack["torch"] == "2.0.1+cu117"
    pins = {a for step in plan.steps for a in step.argv if a.startswith(("torch==", "torchvision=="))}
    assert pins == {"torch==2.0.1", "torchvision==0.15.2"}, pins


# -- compiled dependencies: what numpy.toml says, the plan does --------------------------------------------


def _profile_env(name: str) -> Environment:
    matrix = load_matrix()
    return complete(from_document(matrix.profiles[name].as_json(), f"profile {name}"), matrix)


def _tag(env: Environment) -> str:
    minor = python_minor(env)
    assert minor is not None
    return "cp" + minor.replace(".", "")


def test_route_follows_the_wheel_table() -> None:
    matrix = load_matrix()
    ort = matrix.binaries["onnxruntime"]
    for version, tags in ort.wheels.items():
        for python in ("3.10", "3.11", "3.12", "3.13"):
            r = route(matrix, f"onnxruntime=={version}", python)
            # no sdist: an exact pin without a wheel for this Python cannot be installed
            assert r.how == ("wheel" if f"cp{python.replace('.', '')}" in tags else "fails"), (version, python, r)
    numpy1 = matrix.binaries["numpy"].releases(SpecifierSet("<2"))[0]
    for python in ("3.12", "3.13"):
        r = route(matrix, "numpy<2", python)
        has = matrix.binaries["numpy"].has_wheel(numpy1, f"cp{python.replace('.', '')}")
        assert r.version == numpy1 and r.how == ("wheel" if has else "source"), r
        assert has or "from source" in r.why


def test_plain_onnxruntime_is_not_assumed_to_fall_back_to_an_old_wheel() -> None:
    """No sdist, and releases between the recorded ones may have a wheel: only exact pins are known to fail."""
    matrix = load_matrix()
    assert route(matrix, "onnxruntime", "3.10").how == "unknown"
    assert not route(matrix, "onnxruntime", "3.10").numpy1
    assert route(matrix, "onnxruntime==1.8.1", "3.10").numpy1  # below numpy2_from, whatever its wheels


@pytest.mark.parametrize("python", ["3.10", "3.11", "3.12", "3.13"])
def test_numpy1_only_where_a_numpy1_binary_is_installed(python: str) -> None:
    matrix = load_matrix()
    torch = matrix.torch["2.4"]  # a torch that works with NumPy 2
    assert torch.numpy2
    xtc = matrix.binaries["xtcocotools"]
    newest = xtc.releases(SpecifierSet(""))[0]
    deps = stack_deps(matrix, [matrix.toolkits["mmpose"]["1.3.2"]], torch, python)
    wheel = xtc.has_wheel(newest, f"cp{python.replace('.', '')}")
    assert bool(deps.numpy1) is wheel, deps
    assert ("numpy<2" in deps.extras) is wheel
    assert [b.dist for b in deps.builds if b.dist == "xtcocotools"] == (
        ["xtcocotools"] if not wheel and xtc.build is not None and xtc.build.builds_on(python) else []
    )
    torch1 = next(r for r in matrix.torch.values() if not r.numpy2)
    assert stack_deps(matrix, [matrix.toolkits["mmdet"]["3.3.0"]], torch1, python).numpy1  # torch alone suffices


def test_onnxruntime_is_raised_past_numpy1_builds_only_under_numpy2() -> None:
    matrix = load_matrix()
    abi = matrix.abi("onnxruntime")
    assert abi is not None and abi.numpy2_from
    mmdeploy = matrix.toolkits["mmdeploy"]["1.3.1"]
    numpy2 = stack_deps(matrix, [mmdeploy], matrix.torch["2.11"], "3.12")
    assert f"onnxruntime>={abi.numpy2_from}" in numpy2.extras and not numpy2.numpy1
    numpy1 = stack_deps(matrix, [mmdeploy], matrix.torch["2.1"], "3.11")
    assert "onnxruntime" in numpy1.extras and "numpy<2" in numpy1.extras
    assert numpy2_requirement(matrix, "onnxruntime==1.15.1") == "onnxruntime==1.15.1"  # forced NumPy 1: kept
    assert numpy2_requirement(matrix, "onnxruntime>=1.20") == "onnxruntime>=1.20"
    assert numpy2_requirement(matrix, "ftfy") == "ftfy"


@pytest.mark.parametrize("profile", sorted(load_matrix().profiles))
def test_no_pin_without_a_wheel_unless_the_plan_builds_it_or_says_so(profile: str) -> None:
    matrix = load_matrix()
    env = _profile_env(profile)
    for request in (["mmdeploy"], ["mmpose"], ["mmdet", "mmpose", "mmdeploy"]):
        plan = make_plan(parse_request(request, matrix), env, matrix, f"profile {profile}")
        if not plan.ok:
            continue
        built = " ".join(a for s in plan.steps if "--no-build-isolation" in s.argv for a in s.argv)
        for pin in plan.pins:
            r = route(matrix, pin, python_minor(env))
            assert r.how != "fails", (profile, request, pin, r)
            if r.how in ("source", "build"):
                assert f"{r.dist}==" in built or any(r.dist in w and "source" in w for w in plan.warnings), (
                    profile,
                    request,
                    pin,
                )


def test_sdist_builds_come_after_their_tooling_and_before_the_toolkits() -> None:
    matrix = load_matrix()
    env = _profile_env("colab-2026.07")
    plan = make_plan(parse_request(["mmpose"], matrix), env, matrix)
    xtc = matrix.binaries["xtcocotools"]
    assert plan.ok and xtc.build is not None and not xtc.has_wheel(xtc.releases(SpecifierSet(""))[0], _tag(env))
    argvs = [s.argv for s in plan.steps]
    build = next(
        i for i, a in enumerate(argvs) if "--no-build-isolation" in a and any(x.startswith("xtcocotools==") for x in a)
    )
    toolkits = next(i for i, a in enumerate(argvs) if f"mmpose=={plan.stack['mmpose']}" in a)
    tooling = {x.split("<")[0].split(">")[0] for a in argvs[:build] for x in a}
    assert build < toolkits and set(xtc.build.needs) <= tooling, argvs
    assert "numpy<2" not in plan.pins  # built against the NumPy that is there


@pytest.mark.parametrize("profile", ["colab-2026.07", "colab-2025.07"])  # xtcocotools built (3.12) / a wheel (3.11)
def test_a_dependency_build_step_compiles_exactly_when_its_recipe_does(profile: str) -> None:
    matrix = load_matrix()
    env = _profile_env(profile)
    plan = make_plan(parse_request(["mmpose"], matrix), env, matrix)
    assert plan.ok
    built = [s for s in plan.steps if "--no-build-isolation" in s.argv and "mmcv" not in " ".join(s.argv)]
    assert built, [s.argv for s in plan.steps]  # chumpy at least: an sdist only
    for step in built:
        dists = [a.split("==")[0] for a in step.argv if "==" in a and not a.startswith(("torch", "torchvision"))]
        recipes = [matrix.binaries[d].build for d in dists if d in matrix.binaries]
        assert step.compiles == any(r is not None and r.compiles for r in recipes), (step.argv, step.compiles)
    header = plan.render("requirements").splitlines()[:3]
    compiled_dep = any(s.compiles for s in built)
    assert any("a dependency is compiled from its sdist" in line for line in header) == compiled_dep, header


def test_mmpose_on_python_313_is_a_conflict_that_says_why_and_where_it_works() -> None:
    matrix = load_matrix()
    env = _profile_env("colab")
    assert python_minor(env) == "3.13"
    plan = make_plan(parse_request(["mmdet", "mmpose", "mmdeploy"], matrix), env, matrix, "profile colab")
    xtc = matrix.binaries["xtcocotools"]
    assert not plan.ok and plan.conflict is not None and not plan.steps and not plan.pins
    assert xtc.build is not None and not xtc.build.builds_on("3.13")
    clash = next(c for c in plan.conflict.clashes if "xtcocotools" in c.constraint)
    assert xtc.build.fails in clash.constraint and xtc.build.source in clash.source
    assert plan.rejected and all("--target" in a.what for a in plan.rejected)
    for alt in plan.rejected:  # each named runtime really installs the request
        name = alt.what.split()[1]
        other = make_plan(parse_request(["mmdet", "mmpose", "mmdeploy"], matrix), _profile_env(name), matrix)
        assert other.ok and not other.compiles, name


# -- --no-build: an sdist that compiles is no route (numpy.toml [dist.*.build] compiles) -----------------

PYTHONS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13")


def test_no_build_forbids_the_sdists_that_compile_and_only_those() -> None:
    matrix = load_matrix()
    seen: set[tuple[str, bool]] = set()
    for dist in matrix.binaries.values():
        for python in PYTHONS:
            free, strict = route(matrix, dist.name, python), route(matrix, dist.name, python, no_build=True)
            # a recipe says whether its build compiles; an untried sdist is taken to need a compiler
            compiles = free.how == "source" or (free.how == "build" and dist.build is not None and dist.build.compiles)
            assert free.compiles is compiles, (dist.name, python, free)
            if free.how in ("build", "source"):
                seen.add((free.how, compiles))
            if compiles:
                assert strict.how == "fails" and strict.version == free.version, (dist.name, python, strict)
                assert "--no-build forbids compiling its sdist" in strict.why and dist.source in strict.source
            else:
                assert (strict.how, strict.version, strict.why) == (free.how, free.version, free.why), (
                    dist.name,
                    python,
                )
    # the data has both kinds of sdist build: one that compiles (xtcocotools on 3.12), one that does not (chumpy)
    assert {("build", True), ("build", False)} <= seen, seen


def test_an_untried_sdist_counts_as_a_compile() -> None:
    matrix = load_matrix()
    numpy1 = matrix.binaries["numpy"].releases(SpecifierSet("<2"))[0]
    assert matrix.binaries["numpy"].build is None and not matrix.binaries["numpy"].has_wheel(numpy1, "cp313")
    free, strict = route(matrix, "numpy<2", "3.13"), route(matrix, "numpy<2", "3.13", no_build=True)
    assert free.how == "source" and free.compiles
    assert strict.how == "fails" and "not tried by envcheck" in strict.why


@pytest.mark.parametrize("python", PYTHONS)
def test_blocker_under_no_build_names_the_dependency_it_would_compile(python: str) -> None:
    matrix = load_matrix()
    for rel in matrix.toolkits["mmpose"].values():
        routes = [route(matrix, text, python) for text in needs(matrix, rel)]
        fails = next((r for r in routes if r.how == "fails"), None)
        compiled = next((r for r in routes if r.compiles), None)
        assert (blocker(matrix, rel, python) is None) is (fails is None), (rel.version, python)
        found = blocker(matrix, rel, python, no_build=True)
        assert (found is None) is (fails is None and compiled is None), (rel.version, python, found)
        if fails is None and compiled is not None:
            assert found is not None
            why, source = found
            assert f"{compiled.dist} {compiled.version} has no {_tag_of(python)} wheel" in why
            assert "--no-build forbids compiling its sdist" in why and compiled.source == source
    xtc = matrix.binaries["xtcocotools"]
    newest = xtc.releases(SpecifierSet(""))[0]
    if xtc.build is not None and xtc.build.compiles and xtc.build.builds_on(python):
        # exactly where the xtcocotools sdist is compiled, --no-build blocks mmpose (chumpy never does)
        rel = matrix.toolkits["mmpose"]["1.3.2"]
        assert (blocker(matrix, rel, python, no_build=True) is None) is xtc.has_wheel(newest, _tag_of(python))


def _tag_of(python: str) -> str:
    return "cp" + python.replace(".", "")


def test_blocker_memo_keeps_no_build_apart() -> None:
    """One memo serves every search on a Matrix: a --no-build verdict must not answer a plain one."""
    matrix = load_matrix()
    rel = matrix.toolkits["mmpose"]["1.3.2"]
    for order in ((True, False), (False, True)):
        clear_caches()
        got = {nb: blocker(matrix, rel, "3.12", no_build=nb) for nb in order}
        assert got[False] is None and got[True] is not None, (order, got)


def test_mmpose_on_python_312_with_no_build_is_a_conflict_that_says_why_and_where_it_works() -> None:
    matrix = load_matrix()
    env = _profile_env("colab-2026.07")
    assert python_minor(env) == "3.12"
    xtc = matrix.binaries["xtcocotools"]
    assert xtc.build is not None and xtc.build.compiles and xtc.build.builds_on("3.12")
    # without --no-build the same request plans, building xtcocotools from its sdist; the no-build
    # search first, then the plain one: they share the Matrix's memos (blockers, selections)
    clear_caches()
    plan = make_plan(parse_request(["mmpose"], matrix, no_build=True), env, matrix, "profile colab-2026.07")
    built = make_plan(parse_request(["mmpose"], matrix), env, matrix, "profile colab-2026.07")
    assert built.ok and any(
        "xtcocotools==" in a for s in built.steps if "--no-build-isolation" in s.argv for a in s.argv
    )
    assert not plan.ok and plan.conflict is not None and not plan.steps and not plan.pins
    assert "without compiling (--no-build)" in plan.conflict.summary
    clash = next(c for c in plan.conflict.clashes if "xtcocotools" in c.constraint)
    assert "Python 3.12" in clash.constraint and "--no-build forbids compiling its sdist" in clash.constraint
    assert xtc.build.source in clash.source and xtc.source in clash.source
    assert plan.rejected and all("--target" in a.what for a in plan.rejected)
    for alt in plan.rejected:  # each named runtime really installs mmpose without compiling anything
        name = alt.what.split()[1]
        other = make_plan(parse_request(["mmpose"], matrix, no_build=True), _profile_env(name), matrix)
        assert other.ok and not other.compiles, name
        deps = stack_deps(
            matrix, [matrix.toolkits["mmpose"][other.stack["mmpose"]]], None, python_minor(_profile_env(name))
        )
        assert all(not b.compiles for b in deps.builds), (name, deps.builds)


@pytest.mark.parametrize(
    ("gxx", "warned"),
    [("/opt/gcc/bin/g++", True), ("/usr/bin/g++", False), ("/opt/conda/envs/mm/bin/x86_64-conda-linux-gnu-c++", False)],
)
def test_a_compile_by_a_non_system_compiler_is_flagged(gxx: str, warned: bool) -> None:
    """Measured on the H200 image: /opt/gcc built extensions that crash; conda's own compilers are at home."""
    matrix = load_matrix()
    doc = {
        "python": {"version": "3.12.3", "executable": "/opt/conda/envs/mm/bin/python", "prefix": "/opt/conda/envs/mm"},
        "platform": {"system": "Linux", "machine": "x86_64", "cpus": 16},
        "torch": {"version": "2.11.0+cu130", "cuda": "13.0"},
        "toolchain": {"gxx": {"path": gxx, "version": "13.3.0", "source": "CXX"}},
        "packages": {"torch": "2.11.0+cu130"},
    }
    env = complete(from_document(doc), matrix)
    plan = make_plan(parse_request(["mmdet"], matrix, torch="keep"), env, matrix)
    assert plan.ok and plan.compiles
    assert any("not the system compiler" in w for w in plan.warnings) == warned, plan.warnings
