"""Dependencies: how pip gets a stack's compiled dependencies on one Python, and the NumPy they need.

Pure functions of the Matrix (numpy.toml: [abi], [numpy1], [dist]), a target Python and the
chosen releases. A dependency comes as a wheel (a NumPy-1 build or not), is built here from its
sdist (with a known recipe, or untried), or cannot be installed at all; the planner turns that
into pins (numpy<2 only where a NumPy-1 binary is really installed), build steps, warnings, and
toolkit releases that are not installable on a Python (mmpose on 3.13: xtcocotools). Under
--no-build an sdist that compiles (a recipe with `compiles`, or an untried one) cannot be
installed either (mmpose on 3.12: xtcocotools); a pure-Python one (chumpy) still builds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from envcheck.matrix import Matrix, ToolkitRelease, TorchRelease
from envcheck.plan.memo import matrix_cache
from envcheck.plan.model import Step


@dataclass(frozen=True)
class DepRoute:
    """How pip gets one requirement on one Python, as far as envcheck's data says."""

    requirement: str  # as the plan spells it
    dist: str
    version: str | None  # the release pip would install (None: not in envcheck's data)
    how: str  # wheel | build (its sdist, a recipe measured) | source (its sdist, untried) | fails | unknown
    why: str = ""
    source: str = ""
    numpy1: bool = False  # a NumPy-1 binary gets installed
    seconds: int = 0  # a build: how long it took here
    compiles: bool = False  # building it here compiles: an untried sdist, or a recipe that builds extensions

    @property
    def pin(self) -> str:
        return f"{self.dist}=={self.version}" if self.version else self.requirement


@dataclass(frozen=True)
class StackDeps:
    """What a set of toolkit releases needs beyond the stack itself, on one Python."""

    extras: tuple[str, ...]  # for the toolkit step: undeclared runtime needs, then the NumPy-1 pins
    numpy1: tuple[str, ...]  # why NumPy 1 is pinned; empty when it is not
    builds: tuple[DepRoute, ...]  # sdists to build first (their recipe: `build_needs`, no isolation)
    build_needs: tuple[str, ...]  # what those setup.py files import, installed before them
    warnings: tuple[str, ...]


def python_tag(python: str) -> str:
    """ "3.12" or "3.12.1" -> "cp312"."""
    return "cp" + "".join(python.split(".")[:2])


def _parse(text: str) -> Requirement | None:
    try:
        return Requirement(text)
    except InvalidRequirement:
        return None


def route(matrix: Matrix, requirement: str, python: str | None, no_build: bool = False) -> DepRoute:
    """The release pip installs for `requirement` on Python `python` ("3.12"), and how.

    With `no_build` (--no-build: never compile), an sdist that would be compiled here "fails": one
    whose recipe compiles extension modules, or one envcheck never tried (taken to need a compiler).
    """
    req = _parse(requirement)
    if req is None:
        return DepRoute(requirement, requirement, None, "unknown")
    name = canonicalize_name(req.name)
    abi = matrix.abi(name)
    forced = abi is not None and abi.forces_numpy1(req.specifier)
    dist = matrix.binaries.get(name)
    releases = dist.releases(req.specifier) if dist is not None else []
    if dist is None or python is None or not releases:
        return DepRoute(requirement, name, None, "unknown", numpy1=forced)
    tag = python_tag(python)

    def wheel(version: str) -> DepRoute:
        numpy1 = forced or (abi is not None and abi.numpy1_build(version))
        return DepRoute(requirement, name, version, "wheel", numpy1=numpy1, source=dist.source)

    if not dist.sdist:
        # pip falls back to the newest release with a wheel for this interpreter: one the data
        # does not list may sit between the recorded ones, so only an exact pin is known to fail.
        if dist.has_wheel(releases[0], tag):
            return wheel(releases[0])
        exact = [s.version for s in req.specifier if s.operator in ("==", "===")]
        if exact and exact[0] in releases:
            why = f"{name} {exact[0]} has no {tag} wheel and no sdist"
            return DepRoute(requirement, name, exact[0], "fails", why, dist.source)
        return DepRoute(requirement, name, None, "unknown", numpy1=forced)
    newest = releases[0]  # pip takes the newest release and builds its sdist when no wheel fits
    if dist.has_wheel(newest, tag):
        return wheel(newest)
    has = dist.wheels[newest]
    head = (
        f"{name} {newest} has no {tag} wheel ({has[0]}-{has[-1]} only)" if has else f"{name} {newest} is an sdist only"
    )
    build = dist.build
    forbidden = f"{head}, and --no-build forbids compiling its sdist"
    if build is None:
        if no_build:
            why = f"{forbidden} (not tried by envcheck: taken to need a compiler)"
            return DepRoute(requirement, name, newest, "fails", why, dist.source, compiles=True)
        why = f"{head}: pip builds it from source, its sdist (not tried by envcheck; needs a compiler)"
        return DepRoute(requirement, name, newest, "source", why, dist.source, compiles=True)
    sources = f"{build.source}; {dist.source}"
    if build.builds_on(python):
        if no_build and build.compiles:
            why = f"{forbidden} (its setup.py compiles extension modules)"
            return DepRoute(requirement, name, newest, "fails", why, sources, compiles=True)
        how = "without isolation" if not build.isolation else "from its sdist"
        first = f", after {', '.join(build.needs)}" if build.needs else ""
        why = f"{head}: built here from its sdist {how}{first}"
        return DepRoute(
            requirement, name, newest, "build", why, sources, seconds=build.seconds, compiles=build.compiles
        )
    why = f"{head}, and its sdist does not build on Python {python}: {build.fails}"
    return DepRoute(requirement, name, newest, "fails", why, sources)


def needs(matrix: Matrix, release: ToolkitRelease) -> list[str]:
    """The requirements of one toolkit release envcheck knows how pip gets: undeclared runtime needs,
    then the compiled dependencies it install_requires (numpy.toml needed_by)."""
    out = list(release.extra_runtime)
    out += [d.name for d in matrix.binaries.values() if d.needed_by_release(release.name, release.version)]
    return out


def blocker(
    matrix: Matrix, release: ToolkitRelease, python: str | None, no_build: bool = False
) -> tuple[str, str] | None:
    """(why, source) when `release` cannot be installed on Python `python` (a dependency has no wheel
    there and its sdist does not build, or, with `no_build`, would be compiled), else None. Memoised
    per Matrix."""
    memo = matrix_cache(matrix).blockers
    key = (id(release), python, no_build)
    if key not in memo:
        memo[key] = None
        for text in needs(matrix, release):
            r = route(matrix, text, python, no_build)
            if r.how == "fails":
                memo[key] = (f"its dependency {r.why}", r.source)
                break
    return memo[key]


def numpy2_requirement(matrix: Matrix, text: str) -> str:
    """`text` with a lower bound at the first release whose wheels work with NumPy 2 (numpy.toml [abi]):
    plain `onnxruntime` would leave an installed NumPy-1 build (1.15.1) in place, "already satisfied"."""
    req = _parse(text)
    abi = matrix.abi(req.name) if req is not None else None
    if req is None or abi is None or abi.numpy2_from is None or abi.forces_numpy1(req.specifier):
        return text
    first = Version(abi.numpy2_from)
    bounded = any(
        s.operator in (">=", ">", "==", "===", "~=") and Version(s.version.replace(".*", "")) >= first
        for s in req.specifier
    )
    if not bounded:
        req.specifier = req.specifier & SpecifierSet(f">={abi.numpy2_from}")
    return str(req)


def stack_deps(
    matrix: Matrix, releases: Iterable[ToolkitRelease], torch: TorchRelease | None, python: str | None
) -> StackDeps:
    """Extras, NumPy-1 pins, sdist builds and warnings for these toolkit releases on this torch and Python."""
    rels = list(releases)
    wanted: list[str] = []
    for rel in rels:
        wanted += [x for x in rel.extra_runtime if x not in wanted]
    binaries = [d.name for d in matrix.binaries.values() if any(d.needed_by_release(r.name, r.version) for r in rels)]
    runtime = [route(matrix, x, python) for x in wanted]
    pulled = [route(matrix, x, python) for x in binaries]
    numpy1: list[str] = []
    if torch is not None and not torch.numpy2:
        numpy1.append(f"torch {torch.minor} is a NumPy-1 build")
    for r in (*runtime, *pulled):
        if r.numpy1 and r.how == "wheel" and python:
            numpy1.append(f"{r.dist} {r.version}: its {python_tag(python)} wheel is a NumPy-1 build")
        elif r.numpy1:
            numpy1.append(f"{r.requirement}: a NumPy-1 build")
    extras = list(wanted) if numpy1 else [numpy2_requirement(matrix, x) for x in wanted]
    warnings: list[str] = []
    if numpy1:
        for pin in matrix.numpy1_pins:
            if pin not in extras:
                extras.append(pin)
            r = route(matrix, pin, python)
            if r.how in ("source", "fails"):
                warnings.append(f"{pin} ({', '.join(numpy1)}): {r.why}")
    # A recipe that builds under isolation needs no step of its own: pip builds it with the toolkits.
    builds = [r for r in (*runtime, *pulled) if r.how == "build" and not _isolated(matrix, r.dist)]
    warnings += [r.why for r in (*runtime, *pulled) if r.how in ("source", "fails")]
    build_needs: list[str] = []
    for r in builds:
        recipe = matrix.binaries[r.dist].build
        build_needs += [n for n in (recipe.needs if recipe else ()) if n not in build_needs]
    return StackDeps(tuple(extras), tuple(numpy1), tuple(builds), tuple(build_needs), tuple(warnings))


def _isolated(matrix: Matrix, dist: str) -> bool:
    recipe = matrix.binaries[dist].build
    return recipe is not None and recipe.isolation


def build_steps(deps: StackDeps, extras: list[str], pip: tuple[str, ...], torch_pins: tuple[str, ...]) -> list[Step]:
    """Dependencies built here from their sdist without isolation (chumpy; xtcocotools past cp311): what
    their setup.py imports first, then the builds. A need the stack pins (setuptools<82, numpy<2) keeps its pin."""
    if not deps.builds:
        return []
    pinned = {canonicalize_name(Requirement(x).name): x for x in extras}
    needs = [pinned.get(canonicalize_name(Requirement(n).name), n) for n in deps.build_needs]
    names = ", ".join(b.dist for b in deps.builds)
    seconds = sum(b.seconds for b in deps.builds)
    return [
        Step(
            "pip",
            (*pip, *needs, *torch_pins),
            f"build tooling for {names} (built next without isolation): {', '.join(deps.build_needs)}",
            minutes=0.5,
        ),
        Step(
            "pip",
            (
                *pip,
                "--no-build-isolation",
                *(b.pin for b in deps.builds),
                *(n for n in needs if n in extras),
                *torch_pins,
            ),
            "; ".join(b.why for b in deps.builds),
            compiles=any(b.compiles for b in deps.builds),  # xtcocotools' C extension; chumpy is pure Python
            minutes=round(max(seconds, 6) / 60, 1),
        ),
    ]
