"""Plans for many generated machines obey every hard rule; every conflict is real.

The oracle is tests/plan_rules.py: hard rules written from matrices/ alone, plus a brute force
over all (torch build, mmcv release, toolkit releases, mmengine) that must find nothing before a
conflict counts as real. Generated machines: CPython 3.8-3.13 on Linux, Windows or macOS; no torch
or one of torch.toml's builds; no GPU or one or two from nvidia.toml's GPU table with a driver
between 450 and 590 (sometimes with a forward-compat libcuda); sometimes an nvcc from 11.1 to 13.0;
1-4 toolkits with optional pins drawn from toolkits.toml; the --torch / --cuda / --no-build options.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envcheck.facts.complete import complete
from envcheck.facts.document import from_document
from envcheck.matrix import load_matrix
from envcheck.plan.build import make_plan
from envcheck.plan.search import parse_request
from tests.plan.rules import Ask, violations, witness

MATRIX = load_matrix()
# The brute force stays small with the toolkits people ask for together; the others follow the
# same rules (mmyolo and mmdet3d guard mmdet like mmocr does).
TOOLKITS = ("mmdet", "mmsegmentation", "mmpose", "mmocr", "mmpretrain", "mmdeploy", "mmyolo", "mmdet3d")
PYTHONS = ("3.8.18", "3.9.19", "3.10.14", "3.11.9", "3.12.7", "3.13.1")
PLATFORMS = (("Linux", "x86_64"), ("Windows", "AMD64"), ("Darwin", "arm64"))
DRIVERS = (
    "450.80.02", "470.256.02", "495.29.05", "515.105.01", "525.60.13", "535.183.01", "545.23.08",
    "550.54.15", "555.42.06", "560.35.03", "570.124.06", "575.57.08", "580.95.05", "590.44.01",
)  # fmt: skip
GPUS = tuple((g.match, g.compute_capability) for g in MATRIX.gpus)
NVCCS = ("11.1.105", "11.7.99", "11.8.89", "12.1.105", "12.4.131", "12.6.85", "12.8.93", "12.9.86", "13.0.88")


@st.composite
def machines(draw: st.DrawFn) -> dict[str, Any]:
    """An `inspect --json` document of a machine that could exist."""
    python = draw(st.sampled_from(PYTHONS))
    system, machine = draw(st.sampled_from(PLATFORMS))
    doc: dict[str, Any] = {
        "schema": 1,
        "python": {"version": python},
        "platform": {"system": system, "machine": machine, "cpus": draw(st.sampled_from([2, 8, None]))},
        "torch": None,
        "driver": None,
        "gpus": [],
        "packages": {},
    }
    if system != "Darwin" and draw(st.integers(0, 2)) == 0:  # a CUDA toolkit: its nvcc builds mmcv's CUDA ops
        doc["toolchain"] = {"nvcc": {"path": "/usr/local/cuda/bin/nvcc", "version": draw(st.sampled_from(NVCCS))}}
    if system != "Darwin" and draw(st.booleans()):
        names = draw(st.lists(st.sampled_from(GPUS), min_size=1, max_size=2))
        doc["gpus"] = [{"name": f"NVIDIA {n}", "compute_capability": cc} for n, cc in names]
        if draw(st.integers(0, 9)) == 0:  # a partial document: a GPU by an unknown name, no driver
            doc["gpus"] = [{"name": "NVIDIA Graphics Device"}]
            return _with_torch(draw, doc, python, system)
        driver = draw(st.sampled_from(DRIVERS))
        doc["driver"] = {"version": driver}
        if system == "Linux" and draw(st.integers(0, 3)) == 0:
            newer = draw(st.sampled_from([d for d in DRIVERS if Version(d) > Version(driver)] or [driver]))
            doc["driver"].update(forward_compat="/usr/local/cuda/compat/libcuda.so.1", forward_compat_version=newer)
    return _with_torch(draw, doc, python, system)


def _with_torch(draw: st.DrawFn, doc: dict[str, Any], python: str, system: str) -> dict[str, Any]:
    """Maybe an installed torch (and torchvision, and an mmcv from an earlier attempt)."""
    minor = ".".join(python.split(".")[:2])
    rows = [r for r in MATRIX.torch.values() if minor in r.python]
    if rows and draw(st.integers(0, 2)) > 0:
        row = draw(st.sampled_from(rows))
        patch = draw(st.sampled_from(row.patches))
        tags = ["cpu"] if system == "Darwin" else sorted(row.builds)
        tag = draw(st.sampled_from(tags))
        version = patch if system == "Darwin" else f"{patch}+{tag}"
        cuda = None if tag == "cpu" else f"{tag[2:-1]}.{tag[-1]}"
        doc["torch"] = {"version": version, "cuda": cuda}
        doc["packages"]["torch"] = version
        tv = row.torchvision_of(patch)
        if tv and draw(st.booleans()):
            doc["packages"]["torchvision"] = tv if system == "Darwin" else f"{tv}+{tag}"
        if draw(st.integers(0, 3)) == 0:  # an mmcv from an earlier attempt, with or without ops
            mmcv = draw(st.sampled_from(sorted(MATRIX.mmcv)))
            ops = draw(st.booleans())
            ops_cuda = draw(st.sampled_from([None, "cpu", cuda or "cpu", "11.8", "12.1"])) if ops else None
            dist = draw(st.sampled_from(["mmcv", "mmcv", "mmcv-lite"]))
            doc["mmcv"] = {"version": mmcv, "dist": dist, "ops": ops and dist == "mmcv", "ops_cuda": ops_cuda}
            doc["packages"][dist] = mmcv
    return doc


@st.composite
def requests(draw: st.DrawFn) -> tuple[list[str], dict[str, SpecifierSet]]:
    names = draw(st.lists(st.sampled_from(TOOLKITS), min_size=1, max_size=4, unique=True))
    texts, specs = [], {}
    for name in names:
        spec = ""
        if draw(st.integers(0, 3)) == 0:
            version = draw(st.sampled_from(sorted(MATRIX.toolkits[name], key=Version)))
            spec = draw(st.sampled_from(["==", ">=", "<"])) + version
        texts.append(name + spec)
        specs[name] = SpecifierSet(spec)
    return texts, specs


@st.composite
def options(draw: st.DrawFn) -> dict[str, Any]:
    torch = draw(
        st.sampled_from(
            ["auto"] * 5 + ["keep", "any", "1.13", "2.0", "2.1.2", "2.1.5", "2.4", "2.7.1", "2.11", "2.14", "3.0"]
        )
    )
    cuda = draw(st.sampled_from([None] * 8 + ["cpu", "cu118", "cu121", "cu126", "cu128", "cu130"]))
    return {"torch": torch, "cuda": cuda, "no_build": draw(st.booleans())}


def _linux(python: str, torch: str | None = None) -> dict[str, Any]:
    cuda = None if torch is None or torch.endswith("+cpu") else f"{torch[-3:-1]}.{torch[-1]}"
    return {
        "schema": 1,
        "python": {"version": python},
        "platform": {"system": "Linux", "machine": "x86_64", "cpus": 2},
        "torch": {"version": torch, "cuda": cuda} if torch else None,
        "driver": None,
        "gpus": [],
        "packages": {"torch": torch} if torch else {},
    }


_ASK = (["mmpose", "mmdeploy"], {"mmpose": SpecifierSet(), "mmdeploy": SpecifierSet()})
_MMPOSE = (["mmpose"], {"mmpose": SpecifierSet()})
_AUTO = {"torch": "auto", "cuda": None, "no_build": False}
_NO_BUILD = {**_AUTO, "no_build": True}


@st.composite
def build_machines(draw: st.DrawFn) -> dict[str, Any]:
    """A Linux machine where mmcv must be compiled (Python 3.12+: no mmcv wheel), always with an nvcc:
    one or two GPUs on a recent driver, or none (a docker image built without a GPU)."""
    python = draw(st.sampled_from(PYTHONS[-2:]))
    doc: dict[str, Any] = {
        "schema": 1,
        "python": {"version": python},
        "platform": {"system": "Linux", "machine": "x86_64", "cpus": 8},
        "torch": None,
        "driver": None,
        "gpus": [],
        "packages": {},
        "toolchain": {"nvcc": {"path": "/usr/local/cuda/bin/nvcc", "version": draw(st.sampled_from(NVCCS))}},
    }
    if draw(st.integers(0, 3)) > 0:
        names = draw(st.lists(st.sampled_from(GPUS), min_size=1, max_size=2))
        doc["gpus"] = [{"name": f"NVIDIA {n}", "compute_capability": cc} for n, cc in names]
        doc["driver"] = {"version": draw(st.sampled_from(DRIVERS[-4:]))}
    return _with_torch(draw, doc, python, "Linux")


def _obeys_the_hard_rules(
    doc: dict[str, Any], request: tuple[list[str], dict[str, SpecifierSet]], opts: dict[str, Any]
) -> None:
    texts, specs = request
    env = complete(from_document(doc), MATRIX)
    plan = make_plan(parse_request(texts, MATRIX, **opts), env, MATRIX)
    ask = Ask(specs, opts["torch"], opts["cuda"], opts["no_build"])
    if plan.ok:
        broken = violations(plan, env, ask, MATRIX)
        assert not broken, (broken, dict(plan.stack), [s.shell() for s in plan.steps])
    else:
        assert plan.conflict is not None
        found = witness(env, ask, MATRIX)
        assert found is None, f"the planner gave up ({plan.conflict.summary}) but this stack works: {found}"
        assert any(c.constraint and c.source for c in plan.conflict.clashes), plan.conflict


# Drawn rarely at random, so checked every run: the compiled-dependency rules (numpy.toml) on the
# Pythons where they change: a NumPy-1 xtcocotools wheel, its sdist built here, no build at all; and
# --no-build, which forbids compiling that sdist (3.12) but not installing the wheel (3.11).
@example(doc=_linux("3.11.9", "2.13.0+cpu"), request=_ASK, opts={**_AUTO, "torch": "keep"})
@example(doc=_linux("3.12.7"), request=_ASK, opts=_AUTO)
@example(doc=_linux("3.13.1"), request=_ASK, opts=_AUTO)
@example(doc=_linux("3.13.1", "2.11.0+cpu"), request=(["mmdeploy"], {"mmdeploy": SpecifierSet()}), opts=_AUTO)
@example(doc=_linux("3.12.7"), request=_MMPOSE, opts=_NO_BUILD)
@example(doc=_linux("3.11.9"), request=_MMPOSE, opts=_NO_BUILD)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=machines(), request=requests(), opts=options())
def test_every_plan_obeys_the_hard_rules_and_every_conflict_is_real(
    doc: dict[str, Any], request: tuple[list[str], dict[str, SpecifierSet]], opts: dict[str, Any]
) -> None:
    _obeys_the_hard_rules(doc, request, opts)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=build_machines(), request=requests(), opts=options())
def test_source_builds_obey_the_nvcc_rules(
    doc: dict[str, Any], request: tuple[list[str], dict[str, SpecifierSet]], opts: dict[str, Any]
) -> None:
    """Where mmcv is compiled, nvcc must be of torch's CUDA major and compile for every GPU's arch
    (and, without a GPU, for every arch in TORCH_CUDA_ARCH_LIST); where none can, no stack."""
    _obeys_the_hard_rules(doc, request, {**opts, "no_build": False})
