"""The channel oracle: hard rules for plans on the upstream / OneDL channels, written from matrices/ alone.

Independent of envcheck.plan.channel: it reads channels.toml's records and toolkits.toml's guards itself and
brute-forces whether the fork could serve a request (every requested toolkit as a fork distribution whose
guards accept the fork's mmcv/mmengine, or an upstream release measured to import on the fork), then
checks a plan against the rules every channel choice must keep.
"""

from __future__ import annotations

from collections.abc import Mapping

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envcheck.facts.model import Environment, PythonInfo, Torch
from envcheck.matrix import Matrix
from envcheck.plan.model import Plan

FORK = "onedl"


def fork_witness(specs: Mapping[str, SpecifierSet], python: str | None, matrix: Matrix) -> dict[str, str] | None:
    """Some {distribution: version} of the fork channel that serves every requested toolkit, or None."""
    ch = matrix.channels[FORK]
    by_upstream = {d.stands_for: d for d in ch.dists.values()}
    mmcv, engine = by_upstream["mmcv"], by_upstream["mmengine"]
    if python is not None and Version(python + ".0") not in SpecifierSet(mmcv.python):
        return None
    out: dict[str, str] = {}
    for name, spec in specs.items():
        dist = by_upstream.get(name)
        fits = [v for v in dist.versions if Version(v) in spec] if dist else []
        if (
            dist
            and fits
            and all(
                not dist.guards.get(m) or Version(v) in SpecifierSet(",".join(dist.guards[m]), prereleases=True)
                for m, v in (("mmcv", mmcv.versions[-1]), ("mmengine", engine.versions[-1]))
            )
        ):
            out[dist.name] = fits[-1]
            continue
        ups = [v for d, v in ch.upstream_on_channel if d == name and Version(v) in spec]
        if not ups:
            return None
        out[name] = ups[-1]
    return out


def module_of(matrix: Matrix, dist: str) -> str:
    for ch in matrix.channels.values():
        if dist in ch.dists:
            return ch.dists[dist].module
    if dist in matrix.toolkits:
        return next(iter(matrix.toolkits[dist].values())).import_name
    return dist


def channel_violations(plan: Plan, env: Environment, matrix: Matrix, channel: str) -> list[str]:
    """Every hard rule this plan breaks (empty: none)."""
    out: list[str] = []
    if not plan.ok:
        return out
    ch = matrix.channels[FORK]
    picked = next((c.picked for c in plan.choices if c.component == "channel"), None)
    if picked is None:
        return ["the plan does not say which channel it chose"]
    if channel != "auto" and picked != channel:
        out.append(f"--channel {channel} but the plan chose {picked}")
    modules: dict[str, str] = {}
    for dist in plan.stack:
        m = module_of(matrix, dist)
        if m in modules:
            out.append(f"two providers of the `{m}` module: {modules[m]} and {dist}")
        modules[m] = dist
    fork_dists = [d for d in plan.stack if d in ch.dists]
    if picked == FORK and not {"onedl-mmcv", "onedl-mmengine"} <= set(plan.stack):
        out.append("a fork plan without onedl-mmcv and onedl-mmengine")
    if picked == "upstream" and set(fork_dists) - {"onedl-mmengine"}:
        out.append(f"an upstream plan installs {fork_dists}")
    if picked == "upstream" and "onedl-mmengine" in fork_dists:
        # mixed: only on auto, only where upstream's mmengine cannot load checkpoints, upstream's removed first
        if channel != "auto" or Version(plan.stack["torch"].split("+")[0]) < Version("2.6"):
            out.append("onedl-mmengine mixed into an upstream plan that did not need it")
        at = next(i for i, s in enumerate(plan.steps) if any(a.startswith("onedl-mmengine==") for a in s.argv))
        before = plan.steps[at - 1].argv if at else ()
        # upstream dists (mmcv, mmdeploy) pull the `mmengine` distribution: the twin must be the last install,
        # right after upstream mmengine is removed
        if at != len(plan.steps) - 1 or not ("uninstall" in before and "mmengine" in before):
            out.append("onedl-mmengine is not installed last, right after upstream mmengine is removed")
    first_fork = next(
        (
            i
            for i, s in enumerate(plan.steps)
            if "install" in s.argv and any(a.split("=")[0] in ch.dists for a in s.argv)
        ),
        None,
    )
    if first_fork is not None and picked == FORK:
        twins = [d for d in ch.replaces if d in env.packages]
        removed = {a for s in plan.steps[:first_fork] if "uninstall" in s.argv for a in s.argv}
        if any(t not in removed for t in twins):
            out.append(f"upstream twins {twins} are not removed before the first fork install")
        for i, s in enumerate(plan.steps):
            if "uninstall" in s.argv and i > first_fork:
                out.append("an uninstall after the fork was installed deletes the shared import directory")
    for s in plan.steps:
        names = [Requirement(a).name for a in s.argv if a.startswith("onedl-mmcv==")]
        if names and s.compiles and not {"--no-build-isolation", "--no-cache-dir"} <= set(s.argv):
            out.append("onedl-mmcv compiled with build isolation or pip's cache: an mmcv without ops")
        if names and not s.compiles and "--only-binary" not in s.argv:
            out.append("an onedl-mmcv install that may fall back to the sdist (no --only-binary)")
    if "onedl-mmdetection" in plan.stack:
        for s in plan.steps:
            installs = [a for a in s.argv if a.startswith(("onedl-mmcv==", "onedl-mmdetection=="))]
            if installs and not {"numpy<2.3", "opencv-python<4.13"} <= set(s.argv):
                out.append(f"{installs[0]} installed without imaug's OpenCV/NumPy caps")
    torch = Version(plan.stack.get("torch", "0").split("+")[0])
    engine = plan.stack.get("mmengine")
    if torch >= Version("2.6") and engine is not None:
        release = matrix.mmengine.get(engine)
        if (
            release is not None
            and not release.weights_only_safe
            and not any("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" in w for w in plan.warnings)
        ):
            out.append(f"mmengine {engine} under torch {torch} without the weights_only warning")
    return out


def python_of(env: Environment) -> str | None:
    return env.python.minor if isinstance(env.python, PythonInfo) else None


def kept_torch(env: Environment) -> Torch | None:
    return env.torch if isinstance(env.torch, Torch) else None
