"""The planner's search: Request × Environment × Matrix → every stack that works here, best first.

Pure: it reads no machine state. The search space is small (a dozen torch builds, eight mmcv
releases, a dozen mmdet releases), so it is enumerated, not solved: for each mmcv release the
newest toolkit versions whose import-time guards accept it are chosen once (selection.py,
memoised per request and Python in memo.py), then every (torch build, mmcv release) pair is
priced by how mmcv gets there — already installed, a prebuilt wheel, or a source build — and
the pairs are ranked by the preferences in `_rank`. Final releases first; pre-releases only
when no final stack exists. Everything rejected on the way is kept, so the plan can say why
(planner.py) or name the clash (conflict.py).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PepRequirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from envcheck.errors import PlanError
from envcheck.facts.model import Driver, Environment, Mmcv, PlatformInfo, PythonInfo, Tool, Torch, parse_version
from envcheck.matrix import Matrix, MmcvRelease, TorchBuild, TorchRelease, cuda_version
from envcheck.matrix.nvcc import ArchGap, arch_gaps, toolkit_fix
from envcheck.plan.memo import MatrixCache, cached_version, matrix_cache
from envcheck.plan.selection import Selection, exclusion, needed, select, toolkit_candidates

TORCH_POLICIES = ("auto", "keep", "any")
CONFIDENCE_RANK = {"high": 0, "low": 1, "doubtful": 2}


@dataclass(frozen=True)
class Request:
    toolkits: tuple[tuple[str, SpecifierSet], ...]  # (PyPI name, what the user allowed)
    torch: str = "auto"  # auto | keep | any | a version ("2.1", "2.1.2")
    cuda: str | None = None  # cpu | cu121 ...
    no_build: bool = False
    typed: tuple[str, ...] = ()  # the request as the user wrote it
    # (mmcv version, torch version as TorchOption spells it) whose compiled wheel is already in
    # envcheck's wheel cache: that build route then costs what installing a wheel costs.
    cached_builds: frozenset[tuple[str, str]] = frozenset()
    # The mmcv wheel index cannot be reached (install checked it): prebuilt wheels are no route.
    no_wheels: bool = False


def parse_request(
    texts: Sequence[str],
    matrix: Matrix,
    torch: str = "auto",
    cuda: str | None = None,
    no_build: bool = False,
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
    row: TorchRelease | None
    build: TorchBuild | None

    @functools.cached_property
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
    mmcv_rejection_sources: dict[str, str] = field(default_factory=dict)  # mmcv version -> the guard's source
    route_rejections: dict[tuple[str, str], str] = field(default_factory=dict)  # (torch, mmcv) -> why
    solutions: list[Solution] = field(default_factory=list)
    pre: bool = False  # pre-releases admitted (no stack of final releases exists)

    @functools.cached_property
    def cache(self) -> MatrixCache:
        return matrix_cache(self.matrix)

    @functools.cached_property
    def platform(self) -> str:
        return platform_key(self.env)

    @functools.cached_property
    def py_tag(self) -> str | None:
        return python_tag(self.env)

    @functools.cached_property
    def nvcc_gaps(self) -> tuple[ArchGap, ...]:
        """The GPUs here whose arch the machine's nvcc cannot compile for (none when nvcc is unknown)."""
        nvcc = self.env.toolchain.nvcc
        return arch_gaps(self.matrix, nvcc.version, self.env.gpu_list) if isinstance(nvcc, Tool) else ()


# -- facts of the target ---------------------------------------------------------------------


def python_info(env: Environment) -> PythonInfo | None:
    return env.python if isinstance(env.python, PythonInfo) else None


def python_minor(env: Environment) -> str | None:
    py = python_info(env)
    return py.minor if py else None


def python_version(env: Environment) -> Version | None:
    py = python_info(env)
    return parse_version(py.version) if py else None


def python_tag(env: Environment) -> str | None:
    py = python_info(env)
    if py is None:
        return None
    return py.tag or "cp" + py.minor.replace(".", "")


def platform_key(env: Environment) -> str:
    return env.platform.key if isinstance(env.platform, PlatformInfo) else "linux"


def cpu_count(env: Environment) -> int | None:
    return env.platform.cpus if isinstance(env.platform, PlatformInfo) else None


def gpu_ccs(env: Environment) -> list[str]:
    return [g.compute_capability for g in env.gpu_list if g.compute_capability]


def _driver_runs(env: Environment, matrix: Matrix, cuda: str) -> str | None:
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
        # The cuda-compat libcuda works on data-center GPUs and a few server RTX parts only;
        # elsewhere CUDA fails to initialise (CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE).
        odd = [g.name for g in env.gpu_list if not matrix.supports_forward_compat(g.name)]
        if not odd:
            return None
        return (
            f"driver {driver.version} < {floor} needed by CUDA {cuda}, and the forward-compat "
            f"libcuda ({driver.forward_compat_cuda}) does not support {odd[0]}"
        )
    return f"driver {driver.version} < {floor} needed by CUDA {cuda}"


# -- candidates ------------------------------------------------------------------------------


def _torch_options(search: Search) -> None:
    env, matrix, request = search.env, search.matrix, search.request
    py = python_minor(env)
    plat = platform_key(env)
    current = env.torch if isinstance(env.torch, Torch) else None
    wanted = None if request.torch in TORCH_POLICIES else request.torch
    if current is not None and (wanted is None or _torch_matches(current.version, wanted)):
        # The installed torch is kept only where it runs: its CUDA on this driver, its kernels
        # for these GPUs (a torch 2.6+cu124 on an RTX 5090 is not a stack, it is the problem).
        archs = current.arch_list or ()
        why = _build_problem(env, matrix, current.cuda_tag, archs) if current.cuda else None
        if request.cuda is not None and request.cuda != current.cuda_tag:
            search.torch_rejections.append(f"installed torch {current.version}: --cuda asks for {request.cuda}")
        elif why:
            search.torch_rejections.append(f"installed torch {current.version}: {why}")
        else:
            search.torch_options.append(
                TorchOption(current.version, current.cuda_tag, False, matrix.torch_release(current.version), None)
            )
    if request.torch == "keep":
        if current is None:
            search.torch_rejections.append("--torch keep, but torch is not installed")
        return
    has_gpu = bool(env.gpu_list)
    tags_seen: set[str] = set()
    rows = [
        row
        for row in matrix.torch.values()
        if wanted is None or any(_torch_matches(p, wanted) for p in (row.version, *row.patches))
    ]
    if not rows and wanted is not None:
        # One line that names the request rather than a conflict without a reason.
        prefix = wanted.rsplit(".", 1)[0]
        near = [p for row in matrix.torch.values() for p in row.patches if _torch_matches(p, prefix)]
        search.torch_rejections.append(
            f"--torch {wanted}: no such torch release in envcheck's data"
            + (f" (releases near it: {', '.join(near)})" if near else f" (newest: {_newest_torch(matrix)})")
        )
    for row in rows:
        if py is not None and not row.supports_python(py):
            search.torch_rejections.append(
                f"torch {row.minor}: no wheels for Python {py} (has {', '.join(row.python)})"
            )
            continue
        version = row.version
        if wanted is not None and len(wanted.split(".")) >= 3:
            version = wanted
        for tag, build in row.builds.items():
            if plat == "macos" and tag != "cpu":
                continue  # macOS torch has no CUDA builds
            tags_seen.add(tag)
            if request.cuda is not None and tag != request.cuda:
                continue
            if request.cuda is None and (tag == "cpu") == has_gpu:
                continue  # a GPU machine gets CUDA builds, a CPU machine the CPU build, unless told
            if build.cuda is not None:
                why = _build_problem(env, matrix, tag, build.archs)
                if why:
                    search.torch_rejections.append(f"torch {version}+{tag}: {why}")
                    continue
            # macOS wheels (PyPI and the CPU index alike) carry no local label: torch==2.1.2+cpu
            # matches nothing there, and torch.__version__ says 2.1.2.
            full = version if plat == "macos" else f"{version}+{tag}"
            if current is not None and version == current.base_version and tag == current.cuda_tag:
                continue  # the installed build itself (PyPI spells it without the label)
            search.torch_options.append(TorchOption(full, tag, True, row, build))
    if request.cuda is not None and request.cuda not in tags_seen:
        which = f"torch {wanted} has no" if wanted else "no torch release has a"
        has = ", ".join(sorted(tags_seen, key=_cuda_number)) or "none"
        search.torch_rejections.append(
            f"--cuda {request.cuda}: {which} {request.cuda} build for {plat}"
            + (f" with wheels for Python {py}" if py else "")
            + f" (builds there: {has})"
        )


def _build_problem(env: Environment, matrix: Matrix, tag: str, archs: Sequence[str]) -> str | None:
    """Why a CUDA build of torch cannot run here (driver, GPU archs), or None (memoised)."""
    drv = env.driver
    facts = (drv, platform_key(env), tuple(gpu_ccs(env)), bool(env.gpu_list), tag, tuple(archs))
    memo = matrix_cache(matrix).build_problems
    if facts not in memo:
        memo[facts] = _build_problem_of(env, matrix, tag, archs)
    return memo[facts]


def _build_problem_of(env: Environment, matrix: Matrix, tag: str, archs: Sequence[str]) -> str | None:
    why = _driver_runs(env, matrix, cuda_version(tag) or "")
    if why:
        return why
    bad = [cc for cc in gpu_ccs(env) if archs and not _covers(archs, cc)]
    if bad:
        return f"no kernels for sm_{bad[0].replace('.', '')} (has {' '.join(archs)})"
    return None


def _covers(archs: Sequence[str], cc: str) -> bool:
    return TorchBuild("", "", tuple(archs), False, "").supports_cc(cc)


def _newest_torch(matrix: Matrix) -> str:
    return max((row.version for row in matrix.torch.values()), key=cached_version)


def _torch_matches(version: str, wanted: str) -> bool:
    base = version.split("+")[0]
    return base == wanted or base.startswith(wanted + ".")


# -- mmcv routes -----------------------------------------------------------------------------


def build_minutes(matrix: Matrix, mmcv: str, cuda: bool, cpus: int | None) -> float:
    """Measured wall time of a source build, scaled to this machine's cores (an estimate)."""
    runs = [d for d in matrix.mmcv_build.durations if d.cuda == cuda] or list(matrix.mmcv_build.durations)
    if not runs:
        return 30.0
    best = next((d for d in runs if d.mmcv == mmcv), max(runs, key=lambda d: d.seconds))
    seconds = best.seconds * (1.0 if best.cuda == cuda else 2.5)  # CUDA kernels for one arch ~2.5x (rough)
    return round(seconds / 60 * best.cores / max(1, cpus or 2), 1)


def _route(search: Search, torch: TorchOption, release: MmcvRelease) -> MmcvRoute | None:
    env, matrix = search.env, search.matrix
    installed = env.mmcv if isinstance(env.mmcv, Mmcv) else None
    if (
        installed is not None
        and not torch.changed
        and installed.ops
        and installed.dist == release.name
        and parse_version(installed.version) == cached_version(release.version)
        and _ops_match(installed, torch)
    ):
        return MmcvRoute(release, "installed", 0.0)
    if not search.request.no_wheels and (torch.minor, torch.tag) in search.cache.wheels(
        release, search.platform, search.py_tag
    ):
        return MmcvRoute(release, "wheel", 0.5, release.wheel_confidence(torch.minor))
    why = _build_blocker(search, torch, release)
    if why:
        search.route_rejections[(torch.version, release.version)] = why
        return None
    if (release.version, torch.version) in search.request.cached_builds:
        return MmcvRoute(release, "build", 0.3)
    cpus = cpu_count(env)
    cuda = torch.tag != "cpu" and cuda_build_possible(env, torch.tag)
    return MmcvRoute(release, "build", build_minutes(matrix, release.version, cuda, cpus))


def _ops_match(mmcv: Mmcv, torch: TorchOption) -> bool:
    if mmcv.ops_cuda is None:
        return True  # cannot tell: trust it (doctor reports what it can see)
    if torch.tag == "cpu":
        return mmcv.ops_cuda == "cpu"
    return mmcv.ops_cuda.split(".")[0] == torch.tag[2:-1]


def cuda_build_possible(env: Environment, tag: str) -> bool:
    """A CUDA build of mmcv's ops needs a GPU here (the planner already checked its nvcc: CUDA major,
    GPU archs) or, for an image built without one (docker, CI), an nvcc of torch's CUDA major; an
    unknown toolchain is trusted."""
    if env.gpu_list:
        return True
    nvcc = env.toolchain.nvcc
    if isinstance(nvcc, Tool):
        return nvcc.version.split(".")[0] == tag[2:-1]
    return "not in the file" in str(nvcc) or "not probed" in str(nvcc)


def _build_blocker(search: Search, torch: TorchOption, release: MmcvRelease) -> str | None:
    """Why mmcv `release` cannot be compiled here against `torch`, or None."""
    env = search.env
    why = None
    if search.request.no_build:
        why = "and --no-build forbids compiling"
    elif not release.can_build_against(torch.version):
        why = f"its C++14 setup.py compiles only against torch <= {release.max_torch_for_source_build}"
    elif torch.tag.startswith("cu") and env.gpu_list:
        nvcc = env.toolchain.nvcc
        if isinstance(nvcc, Tool):
            if nvcc.version.split(".")[0] != torch.tag[2:-1]:
                why = f"nvcc {nvcc.version} does not match torch's CUDA {torch.tag} for a CUDA build"
            elif search.nvcc_gaps:
                # The build would set TORCH_CUDA_ARCH_LIST to these GPUs: nvcc must compile for each.
                gaps = search.nvcc_gaps
                fix = toolkit_fix(search.matrix, gpu_ccs(env), torch.tag)
                why = " and ".join(g.text() for g in gaps) + f": {fix}, or use a prebuilt mmcv wheel"
        elif "not in the file" not in str(nvcc):
            why = f"no nvcc on this machine for a CUDA build (install the CUDA {torch.tag[2:-1]}.x toolkit)"
    if why is None:
        return None
    head = f"no prebuilt mmcv {release.version} wheel for torch {torch.minor}/{torch.tag}/{search.py_tag}"
    return f"{head}, {why}" if why.startswith("and ") else f"{head}; {why}"


# -- the search ------------------------------------------------------------------------------


def search(request: Request, env: Environment, matrix: Matrix) -> Search:
    """Every stack that works here, best first; pre-releases only when no final stack exists."""
    s = _search(request, env, matrix, pre=False)
    if s.solutions:
        return s
    fallback = _search(request, env, matrix, pre=True, torch=s)
    finals = s.cache.mmcv_versions(False)
    only_pre = all(v in s.mmcv_rejections for v in finals) and len(fallback.mmcv_rejections) < len(
        s.cache.mmcv_versions(True)
    )
    # Explain with the pre-release search where only a pre-release mmcv passes the guards.
    return fallback if fallback.solutions or only_pre else s


def _search(request: Request, env: Environment, matrix: Matrix, pre: bool, torch: Search | None = None) -> Search:
    s = Search(env, matrix, request, pre=pre)
    py = python_minor(env)
    if torch is None:
        _torch_options(s)
    else:  # the torch side does not depend on pre-releases: reuse it
        s.torch_options, s.torch_rejections = torch.torch_options, torch.torch_rejections
    # The toolkit side depends on the request (its toolkits, and --no-build: a dependency compiled
    # from its sdist rules a release out) and the Python only: the profiles a plan also tries
    # ("other runtimes", always without compiling) share it.
    nb = request.no_build
    key = (request.toolkits, py, pre, nb)
    known = s.cache.selections.get(key)
    if known is None:
        s.needed = needed(matrix, request.toolkits, py, pre, nb)
        specs = dict(request.toolkits)
        cands = {n: toolkit_candidates(matrix, n, specs.get(n, SpecifierSet()), py, pre, nb) for n in s.needed}
        requested = [n for n, _ in request.toolkits]
        selections: dict[str, Selection | None] = {}
        for v in s.cache.mmcv_versions(pre):
            selections[v] = select(requested, v, cands, s.cache, py, pre)
            if selections[v] is None:
                s.mmcv_rejections[v], s.mmcv_rejection_sources[v] = exclusion(requested, v, cands, s.cache)
        known = s.cache.selections[key] = (
            s.needed,
            selections,
            dict(s.mmcv_rejections),
            dict(s.mmcv_rejection_sources),
        )
    s.needed, selections = known[0], known[1]
    s.mmcv_rejections, s.mmcv_rejection_sources = dict(known[2]), dict(known[3])
    for opt in s.torch_options:
        for version, selection in selections.items():
            if selection is None:
                continue
            route = _route(s, opt, matrix.mmcv[version])
            if route is None:
                continue
            minutes = route.minutes + (_torch_minutes(opt) if opt.changed else 0.0) + 0.5
            s.solutions.append(Solution(opt, route, selection, minutes))
    s.solutions.sort(key=lambda sol: _rank(s, sol))
    return s


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
    versions = tuple(-_vkey(sol.selection.releases[n].version) for n, _ in s.request.toolkits)
    current = s.env.torch if isinstance(s.env.torch, Torch) else None
    distance: tuple[object, ...] = (0,)
    if current is not None:
        cur, new = parse_version(current.base_version), parse_version(sol.torch.base)
        gap = abs((cur.major * 100 + cur.minor) - (new.major * 100 + new.minor)) if cur and new else 99
        distance = (
            gap,
            abs(_cuda_number(sol.torch.tag) - _cuda_number(current.cuda_tag)),
            -_cuda_number(sol.torch.tag),
        )
    else:
        distance = (-_vkey(sol.torch.base),)
    if s.request.torch == "any":
        head: tuple[object, ...] = (not no_compile,)
        return (
            *head,
            versions,
            round(sol.minutes),
            CONFIDENCE_RANK.get(sol.route.confidence, 3),
            changes(s.env, sol),
            distance,
        )
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
