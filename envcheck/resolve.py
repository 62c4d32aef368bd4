"""The planner: Request × Environment × Matrix → the cheapest stack that really works, or the clash.

Pure: it reads no machine state. The search space is small (a dozen torch builds, eight mmcv
releases, a dozen mmdet releases), so it is enumerated, not solved: for each mmcv release the
newest toolkit versions whose import-time guards accept it are chosen once (memoised), then
every (torch build, mmcv release) pair is priced by how mmcv gets there — already installed,
a prebuilt wheel, or a source build — and the pairs are ranked by the preferences in
`_rank`. Everything rejected on the way is kept, so the plan can say why.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PepRequirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from envcheck.errors import PlanError
from envcheck.facts import Driver, Environment, Mmcv, Tool, Torch, parse_version
from envcheck.matrix import Matrix, MmcvRelease, ToolkitRelease, TorchBuild, TorchRelease

TORCH_POLICIES = ("auto", "keep", "any")
CONFIDENCE_RANK = {"high": 0, "low": 1, "doubtful": 2}


@dataclass(frozen=True)
class Request:
    toolkits: tuple[tuple[str, SpecifierSet], ...]  # (PyPI name, what the user allowed)
    torch: str = "auto"  # auto | keep | any | a version ("2.1", "2.1.2")
    cuda: Optional[str] = None  # cpu | cu121 ...
    no_build: bool = False
    typed: tuple[str, ...] = ()  # the request as the user wrote it
    # (mmcv version, torch version as TorchOption spells it) whose compiled wheel is already in
    # envcheck's wheel cache: that build route then costs what installing a wheel costs.
    cached_builds: frozenset[tuple[str, str]] = frozenset()


def parse_request(
    texts: Sequence[str], matrix: Matrix, torch: str = "auto", cuda: Optional[str] = None, no_build: bool = False
) -> Request:
    """Validate what the user typed; every problem is a one-line PlanError (exit 2)."""
    if not texts:
        raise PlanError("name at least one toolkit, e.g. `envcheck plan mmdet`")
    merged: dict[str, SpecifierSet] = {}
    for text in texts:
        try:
            req = PepRequirement(text)
        except InvalidRequirement:
            raise PlanError(f"{text!r} is not a toolkit with an optional version spec (e.g. mmdet==3.1.0)") from None
        name = matrix.toolkit_name(req.name)
        if name is None:
            known = sorted(set(matrix.toolkits) | set(matrix.aliases) | set(matrix.import_names))
            close = difflib.get_close_matches(req.name.lower(), known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(sorted(matrix.toolkits))}"
            raise PlanError(f"unknown toolkit {req.name!r}{hint}")
        merged[name] = merged.get(name, SpecifierSet()) & req.specifier
    if torch not in TORCH_POLICIES:
        try:
            Version(torch)
        except InvalidVersion:
            raise PlanError(f"--torch {torch!r}: expected keep, any or a version such as 2.1.2") from None
    if cuda is not None and cuda != "cpu" and not (cuda.startswith("cu") and cuda[2:].isdigit() and len(cuda) >= 5):
        raise PlanError(f"--cuda {cuda!r}: expected cpu or a tag such as cu121")
    return Request(tuple(merged.items()), torch, cuda, no_build, tuple(texts))


@dataclass(frozen=True)
class TorchOption:
    version: str  # 2.1.2+cu121, as pip and torch.__version__ spell it
    tag: str
    changed: bool
    row: Optional[TorchRelease]
    build: Optional[TorchBuild]

    @property
    def minor(self) -> str:
        v = parse_version(self.version.split("+")[0])
        return f"{v.major}.{v.minor}" if v else self.version

    @property
    def base(self) -> str:
        return self.version.split("+")[0]


@dataclass(frozen=True)
class MmcvRoute:
    """How one mmcv release gets onto one torch: installed, wheel or build, and what it costs."""

    release: MmcvRelease
    how: str  # installed | wheel | build
    minutes: float
    confidence: str = "high"


@dataclass(frozen=True)
class Selection:
    """Toolkit releases (and mmengine) that accept one mmcv release together."""

    mmcv: str
    releases: Mapping[str, ToolkitRelease]
    mmengine: str


@dataclass(frozen=True)
class Solution:
    torch: TorchOption
    route: MmcvRoute
    selection: Selection
    minutes: float


@dataclass
class Search:
    """What the search found and rejected; the plan builder turns it into words."""

    env: Environment
    matrix: Matrix
    request: Request
    needed: tuple[str, ...] = ()
    torch_options: list[TorchOption] = field(default_factory=list)
    torch_rejections: list[str] = field(default_factory=list)
    mmcv_rejections: dict[str, str] = field(default_factory=dict)  # mmcv version -> why no toolkit set
    route_rejections: dict[tuple[str, str], str] = field(default_factory=dict)  # (torch, mmcv) -> why
    solutions: list[Solution] = field(default_factory=list)


# -- facts of the target ---------------------------------------------------------------------


def python_minor(env: Environment) -> Optional[str]:
    return env.python.minor if env.python else None


def python_tag(env: Environment) -> Optional[str]:
    if not env.python:
        return None
    return env.python.tag or "cp" + env.python.minor.replace(".", "")


def platform_key(env: Environment) -> str:
    return env.platform.key if env.platform else "linux"


def gpu_ccs(env: Environment) -> list[str]:
    return [g.compute_capability for g in env.gpu_list if g.compute_capability]


def _driver_runs(env: Environment, matrix: Matrix, cuda: str) -> Optional[str]:
    """None when the driver runs this CUDA; else why not."""
    driver = env.driver
    if not isinstance(driver, Driver):
        if not env.gpu_list or driver.source == "environment file":
            return None  # no GPU to run on, or a document that does not say: nothing to rule out
        return f"no NVIDIA driver ({driver.reason})"
    floor = matrix.min_driver(cuda, platform_key(env), minor_compat=True)
    have = parse_version(driver.version)
    if floor is None or have is None or have >= Version(floor):
        return None
    fwd = parse_version(driver.forward_compat_cuda)
    if fwd is not None and fwd >= Version(cuda):
        return None
    return f"driver {driver.version} < {floor} needed by CUDA {cuda}"


# -- candidates ------------------------------------------------------------------------------


def toolkit_candidates(matrix: Matrix, name: str, spec: SpecifierSet, py: Optional[str]) -> list[ToolkitRelease]:
    rels = list(matrix.toolkits.get(name, {}).values())
    pre = any(Version(s.version).is_prerelease for s in spec if s.version.replace(".*", "").strip())
    out = [
        r
        for r in rels
        if spec.contains(r.version, prereleases=True)
        and (pre or not Version(r.version).is_prerelease or spec.contains(r.version, prereleases=False))
        and (py is None or r.allows_python(py) is not False)
    ]
    finals = [r for r in out if not Version(r.version).is_prerelease]
    chosen = finals if finals and not pre else out
    return sorted(chosen, key=lambda r: Version(r.version), reverse=True)


def _torch_options(search: Search) -> None:
    env, matrix, request = search.env, search.matrix, search.request
    py = python_minor(env)
    plat = platform_key(env)
    current = env.torch if isinstance(env.torch, Torch) else None
    wanted = None if request.torch in TORCH_POLICIES else request.torch
    if current is not None and (wanted is None or _torch_matches(current.version, wanted)):
        if request.cuda is None or request.cuda == current.cuda_tag:
            search.torch_options.append(
                TorchOption(current.version, current.cuda_tag, False, matrix.torch_release(current.version),
                            None)  # fmt: skip
            )
        else:
            search.torch_rejections.append(f"installed torch {current.version}: --cuda asks for {request.cuda}")
    if request.torch == "keep":
        if current is None:
            search.torch_rejections.append("--torch keep, but torch is not installed")
        return
    has_gpu = bool(env.gpu_list)
    for row in matrix.torch.values():
        if wanted is not None and not _torch_matches(row.version, wanted) and not any(
            _torch_matches(p, wanted) for p in row.patches
        ):
            continue
        if py is not None and not row.supports_python(py):
            search.torch_rejections.append(f"torch {row.minor}: no wheels for Python {py} (has {', '.join(row.python)})")
            continue
        version = row.version
        if wanted is not None and len(wanted.split(".")) >= 3:
            version = wanted
        for tag, build in row.builds.items():
            if request.cuda is not None and tag != request.cuda:
                continue
            if request.cuda is None and (tag == "cpu") == has_gpu:
                continue  # a GPU machine gets CUDA builds, a CPU machine the CPU build, unless told
            if plat == "macos" and tag != "cpu":
                continue
            cuda = build.cuda
            if cuda is not None:
                why = _driver_runs(env, matrix, cuda)
                bad = [cc for cc in gpu_ccs(env) if build.archs and not build.supports_cc(cc)]
                if why or bad:
                    reason = why or f"no kernels for sm_{bad[0].replace('.', '')} (has {' '.join(build.archs)})"
                    search.torch_rejections.append(f"torch {version}+{tag}: {reason}")
                    continue
            full = f"{version}+{tag}"
            if current is not None and full == current.version:
                continue
            search.torch_options.append(TorchOption(full, tag, True, row, build))


def _torch_matches(version: str, wanted: str) -> bool:
    base = version.split("+")[0]
    return base == wanted or base.startswith(wanted + ".")


# -- mmcv routes -----------------------------------------------------------------------------


def build_minutes(matrix: Matrix, mmcv: str, cuda: bool, cpus: Optional[int]) -> float:
    """Measured wall time of a source build, scaled to this machine's cores (an estimate)."""
    runs = [d for d in matrix.mmcv_build.durations if d.cuda == cuda] or list(matrix.mmcv_build.durations)
    if not runs:
        return 30.0
    best = next((d for d in runs if d.mmcv == mmcv), max(runs, key=lambda d: d.seconds))
    seconds = best.seconds * (1.0 if best.cuda == cuda else 2.5)  # CUDA kernels for one arch ~2.5x (rough)
    return round(seconds / 60 * best.cores / max(1, cpus or 2), 1)


def _route(search: Search, torch: TorchOption, release: MmcvRelease) -> Optional[MmcvRoute]:
    env, matrix = search.env, search.matrix
    key = (torch.version, release.version)
    installed = env.mmcv if isinstance(env.mmcv, Mmcv) else None
    if (
        installed is not None
        and not torch.changed
        and installed.ops
        and installed.dist == release.name
        and parse_version(installed.version) == Version(release.version)
        and _ops_match(installed, torch)
    ):
        return MmcvRoute(release, "installed", 0.0)
    if release.has_wheel(platform_key(env), torch.minor, torch.tag, python_tag(env)):
        return MmcvRoute(release, "wheel", 0.5, release.wheel_confidence(torch.minor))
    why = _build_blocker(search, torch, release)
    if why:
        search.route_rejections[key] = why
        return None
    if (release.version, torch.version) in search.request.cached_builds:
        return MmcvRoute(release, "build", 0.3)
    cpus = env.platform.cpus if env.platform else None
    return MmcvRoute(release, "build", build_minutes(matrix, release.version, torch.tag != "cpu", cpus))


def _ops_match(mmcv: Mmcv, torch: TorchOption) -> bool:
    if mmcv.ops_cuda is None:
        return True  # cannot tell: trust it (doctor reports what it can see)
    if torch.tag == "cpu":
        return mmcv.ops_cuda == "cpu"
    return mmcv.ops_cuda.split(".")[0] == torch.tag[2:-1]


def _build_blocker(search: Search, torch: TorchOption, release: MmcvRelease) -> Optional[str]:
    """Why mmcv `release` cannot be compiled here against `torch`, or None."""
    env = search.env
    head = f"no prebuilt mmcv {release.version} wheel for torch {torch.minor}/{torch.tag}/{python_tag(env)}"
    if search.request.no_build:
        return f"{head}, and --no-build forbids compiling"
    if not release.can_build_against(torch.version):
        return f"{head}; its C++14 setup.py compiles only against torch <= {release.max_torch_for_source_build}"
    nvcc = env.toolchain.nvcc
    if torch.tag.startswith("cu") and env.gpu_list and isinstance(nvcc, Tool):
        if nvcc.version.split(".")[0] != torch.tag[2:-1]:
            return f"{head}; nvcc {nvcc.version} does not match torch's CUDA {torch.tag} for a CUDA build"
    elif torch.tag.startswith("cu") and env.gpu_list and not env.toolchain.nvcc and "not in the file" not in str(nvcc):
        return f"{head}; no nvcc on this machine for a CUDA build (install the CUDA {torch.tag[2:-1]}.x toolkit)"
    return None


# -- toolkit selection -----------------------------------------------------------------------


def _needed(matrix: Matrix, request: Request, py: Optional[str]) -> tuple[str, ...]:
    """Requested toolkits plus the ones they import (mmocr → mmdet), requested first."""
    names = [n for n, _ in request.toolkits]
    for name, spec in request.toolkits:
        cands = toolkit_candidates(matrix, name, spec, py)
        if cands and (cands[0].needs_mmdet or "mmdet" in cands[0].requires) and "mmdet" not in names:
            names.append("mmdet")
    return tuple(names)


def _select(search: Search, mmcv: str) -> Optional[Selection]:
    """The newest toolkit releases that all accept mmcv `mmcv` (and one mmdet, one mmengine)."""
    matrix, request = search.matrix, search.request
    py = python_minor(search.env)
    specs = dict(request.toolkits)
    cands = {n: toolkit_candidates(matrix, n, specs.get(n, SpecifierSet()), py) for n in search.needed}
    mmdets = [r for r in cands.get("mmdet", []) if r.allows("mmcv", mmcv)] if "mmdet" in cands else [None]
    best: Optional[tuple[tuple[Version, ...], Selection]] = None
    why = f"no {search.needed[0]} release accepts mmcv {mmcv}"
    for det in mmdets:
        picks: dict[str, ToolkitRelease] = {"mmdet": det} if det is not None else {}
        for name in search.needed:
            if name == "mmdet":
                continue
            ok = [
                r for r in cands[name]
                if r.allows("mmcv", mmcv) and (det is None or r.allows("mmdet", det.version))
            ]  # fmt: skip
            if not ok:
                why = f"no {name} release accepts mmcv {mmcv}" + (f" with mmdet {det.version}" if det else "")
                break
            picks[name] = ok[0]
        else:
            engines = [v for v in sorted(matrix.mmengine, key=Version, reverse=True) if not Version(v).is_prerelease]
            engine = next((v for v in engines if all(r.allows("mmengine", v) for r in picks.values())), None)
            if engine is None:
                why = "no mmengine release satisfies " + ", ".join(
                    f"{r.name} {r.version} ({r.requires['mmengine']})" for r in picks.values() if "mmengine" in r.requires
                )
                continue
            score = tuple(Version(picks[n].version) for n in search.needed)
            if best is None or score > best[0]:
                best = (score, Selection(mmcv, picks, engine))
    if best is None:
        search.mmcv_rejections[mmcv] = why
        return None
    return best[1]


# -- the search ------------------------------------------------------------------------------


def search(request: Request, env: Environment, matrix: Matrix) -> Search:
    s = Search(env, matrix, request)
    s.needed = _needed(matrix, request, python_minor(env))
    _torch_options(s)
    selections = {v: _select(s, v) for v in _mmcv_versions(matrix)}
    for torch in s.torch_options:
        for version, selection in selections.items():
            if selection is None:
                continue
            route = _route(s, torch, matrix.mmcv[version])
            if route is None:
                continue
            minutes = route.minutes + (_torch_minutes(torch) if torch.changed else 0.0) + 0.5
            s.solutions.append(Solution(torch, route, selection, minutes))
    s.solutions.sort(key=lambda sol: _rank(s, sol))
    return s


@lru_cache(maxsize=8)
def _mmcv_versions_cached(keys: tuple[str, ...]) -> tuple[str, ...]:
    finals = [k for k in keys if not Version(k).is_prerelease]
    return tuple(sorted(finals or keys, key=Version, reverse=True))


def _mmcv_versions(matrix: Matrix) -> tuple[str, ...]:
    return _mmcv_versions_cached(tuple(matrix.mmcv))


def _torch_minutes(torch: TorchOption) -> float:
    return 1.0 if torch.tag == "cpu" else 4.0  # download estimate: CPU ~200 MB, CUDA ~2.5 GB


def changes(env: Environment, sol: Solution) -> int:
    want = {"mmcv": sol.selection.mmcv, "mmengine": sol.selection.mmengine}
    want.update({n: r.version for n, r in sol.selection.releases.items()})
    n = sum(1 for name, v in want.items() if env.packages.get(name) != v)
    return n + (1 if sol.torch.changed else 0)


def _rank(s: Search, sol: Solution) -> tuple[object, ...]:
    """Preferences, in order (each visible in the plan's choices):

    1. keep the installed torch when that needs no compiling (unless --torch any);
    2. otherwise the cheapest in minutes (a changed torch's download vs a source build);
    3. the newest versions of the requested toolkits, in the order requested;
    4. wheels the sources agree on over doubtful ones; 5. the fewest changes to what is
    installed; 6. a torch close to the installed one (same minor, same CUDA), else the newest.
    """
    no_compile = sol.route.how != "build"
    keep = not sol.torch.changed and no_compile
    versions = tuple(-_vkey(sol.selection.releases[n].version) for n in s.needed)
    current = s.env.torch if isinstance(s.env.torch, Torch) else None
    distance: tuple[object, ...] = (0,)
    if current is not None:
        cur, new = parse_version(current.base_version), parse_version(sol.torch.base)
        gap = abs((cur.major * 100 + cur.minor) - (new.major * 100 + new.minor)) if cur and new else 99
        distance = (gap, abs(_cuda_number(sol.torch.tag) - _cuda_number(current.cuda_tag)), -_cuda_number(sol.torch.tag))
    else:
        distance = (-_vkey(sol.torch.base),)
    if s.request.torch == "any":
        head: tuple[object, ...] = (not no_compile,)
        return (*head, versions, round(sol.minutes), CONFIDENCE_RANK.get(sol.route.confidence, 3), changes(s.env, sol), distance)
    return (
        not keep,
        0 if keep else round(sol.minutes),
        versions,
        CONFIDENCE_RANK.get(sol.route.confidence, 3),
        changes(s.env, sol),
        distance,
        -_vkey(sol.selection.mmcv),
    )


def _cuda_number(tag: str) -> int:
    """cu121 -> 121, cpu -> 0: for "the closest CUDA" ranking."""
    return int(tag[2:]) if tag.startswith("cu") and tag[2:].isdigit() else 0


def _vkey(text: str) -> float:
    """A version as one sortable number (fine for the few releases compared here)."""
    v = parse_version(text)
    if v is None:
        return 0.0
    rel = (*v.release, 0, 0, 0)[:3]
    return rel[0] * 1e6 + rel[1] * 1e3 + rel[2] + (-0.5 if v.is_prerelease else 0.0)
