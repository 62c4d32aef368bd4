"""The hard rules of a working OpenMMLab stack, written from matrices/ alone: the planner's oracle.

Nothing here calls envcheck.plan.search or envcheck.plan.build. The rules read the Matrix records
(guards, wheel rows, build archs, driver floors) and the Environment facts directly, so a
planner bug cannot hide behind the same bug in its checker. Two entry points:

- `violations(plan, env, ask, matrix)`: every hard rule an ok plan breaks (empty = sound);
- `witness(env, ask, matrix)`: a brute-force search over (torch build, mmcv release, toolkit
  releases, mmengine) for any stack that passes the hard rules, or None; a conflict is real
  only when this finds nothing.

Compiled dependencies (numpy.toml [abi], [numpy1], [dist]) are rules too: a toolkit release whose
dependency has no wheel for the Python and no sdist that builds there is not installable, nor, under
--no-build, one whose dependency pip would compile from its sdist there (a recipe with `compiles`, or
no recipe at all: an untried sdist counts as a compile; chumpy's pure-Python sdist does not); a plan
pins NumPy 1 exactly when a NumPy-1 binary gets installed, raises NumPy-1-era requirements past
`numpy2_from` otherwise, builds what needs building without isolation after its tooling, and never
asks for a release without a wheel here unless it builds it or says it compiles from source.

Scope, shared with the planner on purpose: the mmcv 2.x stack (mmcv + mmengine), with
pre-releases admitted. mmcv-full 1.x stacks (mmdet 2.x, mmseg 0.x ...) are out of scope.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from envcheck.facts.model import Driver, Environment, Missing, Mmcv, PlatformInfo, PythonInfo, Tool, Torch
from envcheck.matrix import Matrix, MmcvRelease, ToolkitRelease, TorchBuild
from envcheck.plan.model import Plan, Step

PLATFORMS = {"Linux": "linux", "Windows": "windows", "Darwin": "macos"}


@dataclass(frozen=True)
class Ask:
    """What the user asked for, as the checker reads it (not the planner's Request)."""

    toolkits: Mapping[str, SpecifierSet]  # PyPI name -> the user's spec
    torch: str = "auto"  # auto | keep | any | a version
    cuda: str | None = None  # cpu | cuXYZ
    no_build: bool = False


@dataclass(frozen=True)
class Facts:
    """The machine facts the rules need, read from an Environment."""

    python: str | None  # "3.10"
    platform: str  # linux | windows | macos
    ccs: tuple[str, ...]  # compute capabilities of the GPUs
    gpu_names: tuple[str, ...]
    driver: Version | None
    forward_cuda: Version | None
    torch: Torch | None
    mmcv: Mmcv | None
    packages: Mapping[str, str] = field(default_factory=dict)
    nvcc: str | None = None  # the nvcc version found
    nvcc_unknown: bool = True  # an environment file that does not say: nothing to rule out

    @property
    def py_tag(self) -> str | None:
        return "cp" + self.python.replace(".", "") if self.python else None


def facts_of(env: Environment) -> Facts:
    py = env.python.version if isinstance(env.python, PythonInfo) else None
    plat = PLATFORMS.get(env.platform.system, "linux") if isinstance(env.platform, PlatformInfo) else "linux"
    drv = env.driver if isinstance(env.driver, Driver) else None
    nvcc = env.toolchain.nvcc
    return Facts(
        python=".".join(py.split(".")[:2]) if py else None,
        platform=plat,
        ccs=tuple(g.compute_capability for g in env.gpu_list if g.compute_capability),
        gpu_names=tuple(g.name for g in env.gpu_list),
        driver=_ver(drv.version) if drv else None,
        forward_cuda=_ver(drv.forward_compat_cuda) if drv and drv.forward_compat_cuda else None,
        torch=env.torch if isinstance(env.torch, Torch) else None,
        mmcv=env.mmcv if isinstance(env.mmcv, Mmcv) else None,
        packages=dict(env.packages),
        nvcc=nvcc.version if isinstance(nvcc, Tool) else None,
        nvcc_unknown=isinstance(nvcc, Missing) and nvcc.source == "environment file",
    )


def _ver(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except ValueError:
        return None


def _minor(version: str) -> str:
    v = Version(version.split("+")[0])
    return f"{v.major}.{v.minor}"


def _cuda_of(tag: str) -> str | None:
    """cu121 -> 12.1, cu92 -> 9.2, cpu -> None."""
    if not tag.startswith("cu"):
        return None
    digits = tag[2:]
    return f"{digits[:-1]}.{digits[-1]}"


# -- one torch ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TorchPick:
    """A torch the stack would run on: the kept one, or a build from torch.toml."""

    version: str  # as pip spells it: 2.1.2+cu121 (macOS: 2.1.2)
    tag: str
    kept: bool
    archs: tuple[str, ...] | None  # None: unknown (a kept torch envcheck has no data for)

    @property
    def minor(self) -> str:
        return _minor(self.version)


def torch_problems(pick: TorchPick, facts: Facts, ask: Ask, matrix: Matrix) -> list[str]:
    """Why this torch cannot be the stack's torch (driver, GPUs, Python, platform, the ask)."""
    out = []
    cuda = _cuda_of(pick.tag)
    if cuda is not None and facts.ccs and facts.driver is not None:
        floor = matrix.min_driver(cuda, facts.platform, minor_compat=True)
        fwd_ok = (
            facts.forward_cuda is not None
            and facts.forward_cuda >= Version(cuda)
            and all(matrix.supports_forward_compat(name) for name in facts.gpu_names)
        )
        if floor is not None and facts.driver < Version(floor) and not fwd_ok:
            out.append(f"torch {pick.version}: driver {facts.driver} < {floor} for CUDA {cuda}")
    if cuda is not None and pick.archs is not None:
        build = TorchBuild(pick.tag, "", pick.archs, False, "")
        for cc in facts.ccs:
            if not build.supports_cc(cc):
                out.append(f"torch {pick.version}: no kernels for compute capability {cc}")
    if cuda is not None and facts.platform == "macos":
        out.append(f"torch {pick.version}: no CUDA on macOS")
    if ask.torch == "keep" and not pick.kept:
        out.append(f"torch {pick.version}: --torch keep")
    if ask.torch not in ("auto", "keep", "any"):
        base = pick.version.split("+")[0]
        if not (base == ask.torch or base.startswith(ask.torch + ".")):
            out.append(f"torch {pick.version}: --torch {ask.torch}")
    if ask.cuda is not None and pick.tag != ask.cuda:
        out.append(f"torch {pick.version}: --cuda {ask.cuda}")
    if ask.cuda is None and not pick.kept and facts.ccs and pick.tag == "cpu":
        out.append(f"torch {pick.version}: a CPU build for a machine with an NVIDIA GPU")
    if not pick.kept:
        row = matrix.torch.get(pick.minor)
        if row is None or pick.tag not in row.builds:
            out.append(f"torch {pick.version}: not a build in torch.toml")
        elif facts.python and facts.python not in row.python:
            out.append(f"torch {pick.version}: no wheels for Python {facts.python}")
    return out


def torch_picks(facts: Facts, matrix: Matrix) -> Iterator[TorchPick]:
    """Every torch a stack could use: the installed one and each (release, build) of torch.toml."""
    if facts.torch is not None:
        yield TorchPick(facts.torch.version, facts.torch.cuda_tag, True, _kept_archs(facts.torch, matrix))
    for row in matrix.torch.values():
        for patch in row.patches:
            for tag, build in row.builds.items():
                version = patch if facts.platform == "macos" else f"{patch}+{tag}"
                if facts.torch is not None and _same_torch(version, tag, facts.torch):
                    continue
                yield TorchPick(version, tag, False, build.archs)


def _kept_archs(torch: Torch, matrix: Matrix) -> tuple[str, ...] | None:
    if torch.arch_list:
        return tuple(torch.arch_list)
    row = matrix.torch.get(_minor(torch.version))
    build = row.builds.get(torch.cuda_tag) if row else None
    return build.archs if build else None


def _same_torch(version: str, tag: str, torch: Torch) -> bool:
    return version.split("+")[0] == torch.base_version and tag == torch.cuda_tag


# -- mmcv onto a torch -------------------------------------------------------------------------


def mmcv_wheel(release: MmcvRelease, pick: TorchPick, facts: Facts) -> bool:
    if pick.tag not in release.wheel_tags(facts.platform, pick.minor):
        return False
    tags = release.python_tags_for(facts.platform)
    return not tags or facts.py_tag is None or facts.py_tag in tags


def mmcv_reachable(release: MmcvRelease, pick: TorchPick, facts: Facts, ask: Ask, matrix: Matrix) -> bool:
    """A prebuilt wheel, the installed mmcv (kept torch), or a source build that can compile."""
    if mmcv_wheel(release, pick, facts):
        return True
    if pick.kept and _installed_fits(facts.mmcv, release, pick):
        return True
    return not ask.no_build and release.can_build_against(pick.version) and not nvcc_problems(pick, facts, matrix)


# -- nvcc ---------------------------------------------------------------------------------------


def _nvcc_compiles(nvcc: str, cc: str, matrix: Matrix) -> bool:
    """nvcc `nvcc` compiles for compute capability `cc`: read from nvidia.toml's first/last CUDA
    (an arch not listed there is not held against it)."""
    row = next((a for a in matrix.nvcc_archs if a.compute_capability == cc), None)
    if row is None:
        return True
    have = Version(".".join(nvcc.split(".")[:2]))
    return Version(row.first) <= have and (row.last is None or have <= Version(row.last))


def _nvcc_same_major(nvcc: str, tag: str) -> bool:
    cuda = _cuda_of(tag)
    return cuda is not None and nvcc.split(".")[0] == cuda.split(".")[0]


def nvcc_problems(pick: TorchPick, facts: Facts, matrix: Matrix) -> list[str]:
    """Why mmcv's CUDA ops cannot be compiled here for these GPUs against this torch.

    On a machine with GPUs a CUDA build needs an nvcc of torch's CUDA major (torch's extension
    builder refuses another) that compiles for every GPU's compute capability. Without GPUs the
    build falls back to CPU ops, so nothing rules it out.
    """
    if _cuda_of(pick.tag) is None or not facts.gpu_names or facts.nvcc_unknown:
        return []
    if facts.nvcc is None:
        return ["no nvcc for a CUDA build"]
    if not _nvcc_same_major(facts.nvcc, pick.tag):
        return [f"nvcc {facts.nvcc} is not of torch {pick.version}'s CUDA major"]
    return [
        f"nvcc {facts.nvcc} cannot compile for {cc}" for cc in facts.ccs if not _nvcc_compiles(facts.nvcc, cc, matrix)
    ]


def _installed_fits(m: Mmcv | None, release: MmcvRelease, pick: TorchPick) -> bool:
    """The installed mmcv is this release, with compiled ops for this torch's CUDA (or CPU)."""
    if m is None or not m.ops or m.dist != release.name or Version(m.version) != Version(release.version):
        return False
    if m.ops_cuda is None:
        return True  # cannot be told from the files: the planner may trust it
    cuda = _cuda_of(pick.tag)
    return m.ops_cuda == "cpu" if cuda is None else m.ops_cuda.split(".")[0] == cuda.split(".")[0]


# -- toolkits ---------------------------------------------------------------------------------


def _needs_mmdet(rel: ToolkitRelease) -> bool:
    return rel.needs_mmdet or "mmdet" in rel.requires


def guard_problems(
    releases: Mapping[str, ToolkitRelease], mmcv: str, mmengine: str, facts: Facts, ask: Ask, matrix: Matrix
) -> list[str]:
    """Import-time guards, the user's specs and Python support, for one set of releases."""
    out = []
    mmdet = releases.get("mmdet")
    mmseg = releases.get("mmsegmentation")
    for name, rel in releases.items():
        if not rel.allows("mmcv", mmcv):
            out.append(f"{name} {rel.version} rejects mmcv {mmcv} ({rel.requires['mmcv']})")
        if not rel.allows("mmengine", mmengine):
            out.append(f"{name} {rel.version} rejects mmengine {mmengine} ({rel.requires['mmengine']})")
        if _needs_mmdet(rel) and mmdet is None:
            out.append(f"{name} {rel.version} imports mmdet, which the stack lacks")
        if mmdet is not None and not rel.allows("mmdet", mmdet.version):
            out.append(f"{name} {rel.version} rejects mmdet {mmdet.version}")
        if "mmseg" in rel.requires and (mmseg is None or not rel.allows("mmseg", mmseg.version)):
            out.append(f"{name} {rel.version} needs another mmseg")
        spec = ask.toolkits.get(name)
        if spec is not None and not spec.contains(rel.version, prereleases=True):
            out.append(f"{name} {rel.version} is outside the request {name}{spec}")
        if facts.python and rel.allows_python(facts.python) is False:
            out.append(f"{name} {rel.version} does not support Python {facts.python}")
        why = install_problem(rel, facts.python, matrix, ask.no_build)
        if why:
            out.append(why)
    for name in ask.toolkits:
        if name not in releases:
            out.append(f"{name} was requested but is not in the stack")
    return out


def toolkit_witness(mmcv: str, facts: Facts, ask: Ask, matrix: Matrix) -> tuple[dict[str, ToolkitRelease], str] | None:
    """Any releases (one per requested toolkit, mmdet where imported) and mmengine that pass."""
    asked = tuple(sorted((n, str(s)) for n, s in ask.toolkits.items()))
    key = (id(matrix), mmcv, facts.python, asked, ask.no_build)
    if key not in _KITS:
        _KITS[key] = _toolkit_witness(mmcv, facts.python, asked, ask.no_build, matrix)
    return _KITS[key]


_KITS: dict[tuple[object, ...], tuple[dict[str, ToolkitRelease], str] | None] = {}


def _toolkit_witness(
    mmcv: str, python: str | None, asked: tuple[tuple[str, str], ...], no_build: bool, matrix: Matrix
) -> tuple[dict[str, ToolkitRelease], str] | None:
    specs = {n: SpecifierSet(s) for n, s in asked}

    def fits(rel: ToolkitRelease) -> bool:
        spec = specs.get(rel.name)
        return (
            rel.allows("mmcv", mmcv)
            and (spec is None or spec.contains(rel.version, prereleases=True))
            and not (python and rel.allows_python(python) is False)
            and install_problem(rel, python, matrix, no_build) is None
        )

    lists = {n: [r for r in matrix.toolkits[n].values() if fits(r)] for n in specs}
    if any(not rels for rels in lists.values()):
        return None
    dets: Sequence[ToolkitRelease | None]
    if "mmdet" in lists:
        dets = lists.pop("mmdet")
    else:
        dets = [None, *(r for r in matrix.toolkits["mmdet"].values() if fits(r))]
    for engine in sorted(matrix.mmengine, key=Version, reverse=True):
        for det in dets:
            if det is not None and not det.allows("mmengine", engine):
                continue
            ok: dict[str, list[ToolkitRelease]] = {}
            for name, rels in lists.items():
                ok[name] = [
                    r
                    for r in rels
                    if r.allows("mmengine", engine) and (r.allows("mmdet", det.version) if det else not _needs_mmdet(r))
                ]
            if any(not rels for rels in ok.values()):
                continue
            for combo in product(*ok.values()):
                picks = dict(zip(ok, combo))
                if det is not None:
                    picks["mmdet"] = det
                seg = picks.get("mmsegmentation")
                if all("mmseg" not in r.requires or (seg and r.allows("mmseg", seg.version)) for r in picks.values()):
                    return picks, engine
    return None


# -- compiled dependencies ---------------------------------------------------------------------


def _req(text: str) -> Requirement:
    return Requirement(text)


def _tag(python: str) -> str:
    return "cp" + python.replace(".", "")


def _dep_requirements(rel: ToolkitRelease, matrix: Matrix) -> list[str]:
    """extra_runtime, then the numpy.toml [dist] records whose needed_by covers this release."""
    out = list(rel.extra_runtime)
    for dist in matrix.binaries.values():
        spec = dist.needed_by.get(rel.name)
        if spec is not None and SpecifierSet(spec).contains(rel.version, prereleases=True):
            out.append(dist.name)
    return out


@dataclass(frozen=True)
class Got:
    """What pip does with one requirement on one Python, read from numpy.toml."""

    version: str | None  # None: the data does not say
    wheel: bool
    installs: bool  # False: no wheel and no sdist that builds here
    compiles: bool = False  # pip builds its sdist here, and that compiles (untried sdists included)


def pip_gets(text: str, python: str, matrix: Matrix) -> Got:
    req = _req(text)
    dist = matrix.binaries.get(canonicalize_name(req.name))
    if dist is None:
        return Got(None, True, True)
    tag = _tag(python)
    known = sorted((v for v in dist.wheels if req.specifier.contains(v, prereleases=True)), key=Version, reverse=True)
    if not known:
        return Got(None, True, True)
    if not dist.sdist:  # pip falls back to older wheels, some of them unrecorded: only exact pins are known
        if tag in dist.wheels[known[0]]:
            return Got(known[0], True, True)
        exact = [s.version for s in req.specifier if s.operator == "=="]
        return Got(exact[0], False, False) if exact and exact[0] in known else Got(None, True, True)
    newest = known[0]  # pip takes the newest release and builds its sdist where no wheel fits
    if tag in dist.wheels[newest]:
        return Got(newest, True, True)
    builds = dist.build is None or dist.build.python is None or SpecifierSet(dist.build.python).contains(python)
    return Got(newest, False, builds, compiles=dist.build is None or dist.build.compiles)


def install_problem(rel: ToolkitRelease, python: str | None, matrix: Matrix, no_build: bool = False) -> str | None:
    """Why `rel` cannot be installed on this Python: a dependency without a wheel or a building sdist,
    or, under --no-build, one that pip would compile from its sdist."""
    if python is None:
        return None
    for text in _dep_requirements(rel, matrix):
        got = pip_gets(text, python, matrix)
        if not got.installs:
            return f"{rel.name} {rel.version} needs {text}, which cannot be installed on Python {python}"
        if no_build and got.compiles:
            return f"{rel.name} {rel.version} needs {text}, which pip compiles from its sdist on Python {python}"
    return None


def _abi(name: str, matrix: Matrix) -> tuple[bool, Version | None]:
    """(has an [abi] record, its numpy2_from)."""
    for entry in matrix.numpy_abi:
        if entry.package == canonicalize_name(name):
            return True, Version(entry.numpy2_from) if entry.numpy2_from else None
    return False, None


def numpy1_binaries(releases: Mapping[str, ToolkitRelease], torch_minor: str, python: str, matrix: Matrix) -> list[str]:
    """The NumPy-1 builds a stack installs on this Python: torch, wheels of [abi] packages below numpy2_from."""
    out = []
    row = matrix.torch.get(torch_minor)
    if row is not None and not row.numpy2:
        out.append(f"torch {torch_minor}")
    for rel in releases.values():
        for text in _dep_requirements(rel, matrix):
            req = _req(text)
            has_abi, first = _abi(req.name, matrix)
            if not has_abi:
                continue
            got = pip_gets(text, python, matrix)
            if got.version is not None and got.wheel and (first is None or Version(got.version) < first):
                out.append(f"{req.name} {got.version} wheel")
            elif got.version is None and first is not None and not req.specifier.contains(str(first)):
                below = [s for s in req.specifier if s.operator in ("==", "<", "<=") and Version(s.version) <= first]
                if below:
                    out.append(text)
    return out


def _dependency_rules(
    plan: Plan, releases: Mapping[str, ToolkitRelease], tminor: str, facts: Facts, m: Matrix
) -> list[str]:
    if facts.python is None:
        return []
    out = []
    pins = [_req(p) for p in plan.pins]
    numpy_pinned = any(r.name == "numpy" and not r.specifier.contains("2.0.0") for r in pins)
    reasons = numpy1_binaries(releases, tminor, facts.python, m)
    if numpy_pinned and not reasons:
        out.append(f"NumPy 1 is pinned, but no NumPy-1 binary is installed on Python {facts.python}")
    if reasons and not numpy_pinned:
        out.append(f"NumPy 2 is left in place beside NumPy-1 builds: {', '.join(reasons)}")
    for r in pins:
        has_abi, first = _abi(r.name, m)
        if not numpy_pinned and has_abi and first is not None:
            floor = [s for s in r.specifier if s.operator in (">=", ">", "==", "~=") and Version(s.version) >= first]
            if not floor:
                out.append(f"{r} admits NumPy-1 builds (< {first}) under NumPy 2")
    shell = [" ".join(s.argv) for s in plan.steps]
    toolkit_step = next(
        (i for i, s in enumerate(plan.steps) if any(f"{n}==" in a for n in releases for a in s.argv)), None
    )
    asked = [(text, rel) for rel in releases.values() for text in _dep_requirements(rel, m)] + [
        (str(r), None) for r in pins
    ]
    for text, _ in asked:
        got = pip_gets(text, facts.python, m)
        name = canonicalize_name(_req(text).name)
        if got.wheel:
            continue
        if not got.installs:
            out.append(f"{text}: no {_tag(facts.python)} wheel and no sdist that builds there")
            continue
        build = m.binaries[name].build
        if build is not None and not build.isolation:
            at = [i for i, line in enumerate(shell) if "--no-build-isolation" in line and f" {name}==" in f" {line}"]
            if not at or (toolkit_step is not None and at[0] > toolkit_step):
                out.append(
                    f"{name} {got.version} has no {_tag(facts.python)} wheel: no step builds it without isolation first"
                )
                continue
            before = {_name(a) for s in plan.steps[: at[0]] for a in requirements(s)}
            missing = [n for n in build.needs if _name(n) not in before]
            if missing:
                out.append(f"{name} is built without isolation before {missing} are installed")
        elif not any(name in w and "source" in w for w in plan.warnings):
            out.append(f"{text}: pip builds {name} {got.version} from its sdist here, and the plan does not say so")
    return out


# -- the brute force ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Witness:
    torch: str
    mmcv: str
    releases: Mapping[str, str]
    mmengine: str


def witness(env: Environment, ask: Ask, matrix: Matrix) -> Witness | None:
    """Any stack that passes every hard rule, found by trying them all; None proves a conflict."""
    facts = facts_of(env)
    mmcvs = sorted(matrix.mmcv.values(), key=lambda r: Version(r.version), reverse=True)
    kits = {r.version: toolkit_witness(r.version, facts, ask, matrix) for r in mmcvs}
    seen: set[tuple[str, str]] = set()
    for pick in torch_picks(facts, matrix):
        key = (pick.version.split("+")[0] if not pick.kept else pick.version, pick.tag)
        if key in seen or torch_problems(pick, facts, ask, matrix):
            continue
        seen.add(key)
        for rel in mmcvs:
            found = kits[rel.version]
            if found is not None and mmcv_reachable(rel, pick, facts, ask, matrix):
                releases, engine = found
                return Witness(pick.version, rel.version, {n: r.version for n, r in releases.items()}, engine)
    return None


# -- one plan ----------------------------------------------------------------------------------


def requirements(step: Step) -> list[str]:
    """The requirement arguments of a pip/mim install argv (options and their values dropped)."""
    argv = list(step.argv)
    try:
        start = argv.index("install") + 1
    except ValueError:
        return []
    out, skip = [], False
    for arg in argv[start:]:
        if skip:
            skip = False
            continue
        if arg in (
            "-f",
            "--find-links",
            "--index-url",
            "--extra-index-url",
            "-i",
            "--only-binary",
            "-c",
            "-r",
        ):
            skip = True
            continue
        if arg.startswith("-"):
            continue
        out.append(arg)
    return out


def _name(requirement: str) -> str:
    for sep in ("==", ">=", "<=", "<", ">", "!=", "~=", "["):
        requirement = requirement.split(sep)[0]
    return requirement.strip().lower()


def violations(plan: Plan, env: Environment, ask: Ask, matrix: Matrix) -> list[str]:
    """Every hard rule an ok plan breaks; [] for a sound plan."""
    if not plan.ok:
        return []
    facts = facts_of(env)
    stack = dict(plan.stack)
    out: list[str] = []
    for key in ("torch", "mmcv", "mmengine"):
        if key not in stack:
            return [f"the stack has no {key}"]
    torch = stack["torch"]
    # -- torch
    kept = facts.torch is not None and torch == facts.torch.version
    if kept == plan.torch_changed:
        out.append(
            f"torch_changed={plan.torch_changed}, but the stack's torch {torch} "
            + ("is the installed one" if kept else "is not the installed one")
        )
    if kept:
        assert facts.torch is not None
        tag = facts.torch.cuda_tag
        pick = TorchPick(torch, tag, True, _kept_archs(facts.torch, matrix))
    else:
        local = torch.split("+")[1] if "+" in torch else None
        if facts.platform == "macos":
            tag = "cpu"
            if local is not None:
                out.append(f"torch {torch}: macOS wheels carry no local version label")
        elif local is None:
            return [*out, f"torch {torch}: a changed torch must name its build (+cpu, +cu121)"]
        else:
            tag = local
        row = matrix.torch.get(_minor(torch))
        build = row.builds.get(tag) if row else None
        if row is None or build is None or torch.split("+")[0] not in row.patches:
            return [*out, f"torch {torch}: not a release/build in torch.toml"]
        pick = TorchPick(torch, tag, False, build.archs)
        index = matrix.torch_index_url(tag)
        torch_steps = [s for s in plan.steps if f"torch=={torch}" in s.argv and index in s.argv]
        if not torch_steps and facts.platform != "macos":
            out.append(f"torch {torch}: no step installs it from {index}")
    out += torch_problems(pick, facts, ask, matrix)
    # -- toolkits
    releases: dict[str, ToolkitRelease] = {}
    for name, version in stack.items():
        if name in matrix.toolkits:
            rel = matrix.toolkits[name].get(version)
            if rel is None:
                out.append(f"{name} {version}: no such release in toolkits.toml")
            else:
                releases[name] = rel
    out += guard_problems(releases, stack["mmcv"], stack["mmengine"], facts, ask, matrix)
    engine = matrix.mmengine.get(stack["mmengine"])
    if engine is None:
        out.append(f"mmengine {stack['mmengine']}: no such release")
    elif engine.python and facts.python and not SpecifierSet(engine.python).contains(facts.python):
        out.append(f"mmengine {engine.version} does not support Python {facts.python}")
    # -- torchvision
    if not kept and "torchvision" in facts.packages and "torchvision" not in stack:
        out.append("torch changes but the installed torchvision is left for the old torch")
    if any(r.needs_torchvision for r in releases.values()) or "torchvision" in stack:
        tv = stack.get("torchvision")
        row = matrix.torch.get(pick.minor)
        if tv is None:
            out.append("a toolkit imports torchvision but the stack has none")
        elif row is not None and row.torchvision_of(torch.split("+")[0]) not in (None, tv.split("+")[0]):
            out.append(f"torchvision {tv} does not pair with torch {torch}")
        elif "+" in torch and tv.split("+")[1:] != torch.split("+")[1:]:
            out.append(f"torchvision {tv} is not the {torch.split('+')[1]} build of torch {torch}")
    # -- compiled dependencies (numpy.toml)
    out += _dependency_rules(plan, releases, pick.minor, facts, matrix)
    # -- mmcv
    out += _mmcv_rules(plan, pick, facts, ask, matrix)
    # -- steps
    for step in plan.steps:
        if step.tool not in ("pip", "mim"):
            continue
        names = {_name(r) for r in requirements(step)}
        # a kept torch is pinned as pip knows it: PyPI's wheel is the distribution 2.11.0 while
        # torch.__version__ says 2.11.0+cu130
        pin = facts.packages.get("torch", torch) if kept else torch
        if names - {"torch", "torchvision"} and f"torch=={pin}" not in step.argv:
            out.append(f"step {' '.join(step.argv)!r} installs {sorted(names)} without pinning torch=={pin}")
        for arg in step.argv:
            if _name(arg) == "torch" and arg != f"torch=={pin}":
                out.append(f"step {' '.join(step.argv)!r} asks for {arg}, not the stack's torch {torch}")
        if kept and {"-U", "--upgrade", "--force-reinstall"} & set(step.argv) and "torch" in names:
            out.append(f"step {' '.join(step.argv)!r} reinstalls the kept torch")
    if ask.no_build and any(s.compiles for s in plan.steps):
        out.append("--no-build, yet a step compiles")
    return out


def _mmcv_rules(plan: Plan, pick: TorchPick, facts: Facts, ask: Ask, matrix: Matrix) -> list[str]:
    version = plan.stack["mmcv"]
    rel = matrix.mmcv.get(version)
    if rel is None:
        return [f"mmcv {version}: not an mmcv 2.x release in mmcv.toml"]
    steps = [s for s in plan.steps if f"mmcv=={version}" in s.argv]
    if not steps:
        if pick.kept and _installed_fits(facts.mmcv, rel, pick):
            return []
        return [f"mmcv {version}: no step installs it and it is not installed with ops for this torch"]
    out = []
    step = steps[0]
    if step.compiles:
        if ask.no_build:
            out.append("mmcv is compiled although --no-build")
        if "--no-build-isolation" not in step.argv:
            out.append("the mmcv build runs in an isolated env (no torch there): --no-build-isolation missing")
        if step.env.get("MMCV_WITH_OPS") != "1":
            out.append("the mmcv build does not set MMCV_WITH_OPS=1")
        if not rel.can_build_against(pick.version):
            out.append(f"mmcv {version} cannot compile against torch {pick.version} (C++ standard)")
        if pick.tag != "cpu":
            out += nvcc_problems(pick, facts, matrix)
            # Without a GPU, and without an nvcc of torch's CUDA major, only CPU ops can be compiled.
            cpu_ops = (
                not facts.gpu_names
                and not facts.nvcc_unknown
                and (facts.nvcc is None or not _nvcc_same_major(facts.nvcc, pick.tag))
            )
            if cpu_ops and step.env.get("FORCE_CUDA") == "1":
                out.append(f"FORCE_CUDA=1 with nvcc {facts.nvcc} for torch {pick.version}: the CUDA build fails")
            elif not cpu_ops and step.env.get("FORCE_CUDA") != "1":
                out.append("a CUDA build of mmcv without FORCE_CUDA=1")
            listed = [a for a in step.env.get("TORCH_CUDA_ARCH_LIST", "").replace(" ", ";").split(";") if a]
            missing = [cc for cc in facts.ccs if cc not in listed and f"{cc}+PTX" not in listed]
            if missing:
                out.append(f"TORCH_CUDA_ARCH_LIST={step.env.get('TORCH_CUDA_ARCH_LIST')} misses {missing}")
            if facts.nvcc is not None and step.env.get("FORCE_CUDA") == "1":
                unknown = [a for a in listed if not _nvcc_compiles(facts.nvcc, a.split("+")[0], matrix)]
                if unknown:
                    out.append(f"TORCH_CUDA_ARCH_LIST has {unknown}, which nvcc {facts.nvcc} cannot compile for")
    else:
        if not mmcv_wheel(rel, pick, facts):
            out.append(
                f"mmcv {version}: no listed wheel for {facts.platform}/torch {pick.minor}/{pick.tag}/{facts.py_tag}"
            )
        if "--only-binary" not in step.argv:
            out.append("a wheel install of mmcv without --only-binary (a missing wheel would compile)")
        url = matrix.wheel_index_url(pick.tag, pick.minor)
        if step.tool == "pip" and url not in step.argv:
            out.append(f"the mmcv wheel step does not point at {url}")
    before = plan.steps[: plan.steps.index(step)]
    removed = {a for s in before if "uninstall" in s.argv for a in s.argv[s.argv.index("uninstall") + 1 :]}
    m = facts.mmcv
    same = m is not None and m.dist == rel.name and Version(m.version) == Version(version)
    if same and "--force-reinstall" not in step.argv and "mmcv" not in removed:
        out.append(f"mmcv {version} is installed already: pip would call the step satisfied and skip it")
    for other in ("mmcv-lite", "mmcv-full"):
        if other in facts.packages and other not in removed:
            out.append(f"{other} is installed and owns the same mmcv/ directory: it must go first")
    return out
