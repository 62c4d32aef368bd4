"""Conflict: when no stack exists, the constraints that clash, each with its source."""

from __future__ import annotations

from dataclasses import replace

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envcheck.facts.model import parse_version
from envcheck.matrix import Matrix, ToolkitRelease
from envcheck.plan.deps import blocker
from envcheck.plan.memo import cached_version
from envcheck.plan.model import Clash, Conflict
from envcheck.plan.search import Search, platform_key, python_minor, search
from envcheck.plan.selection import toolkit_candidates


def explain_conflict(s: Search) -> Conflict:
    """Name the constraints that clash, each with its source: never just "no solution"."""
    env, matrix, req = s.env, s.matrix, s.request
    py = python_minor(env)
    clashes: list[Clash] = []
    blocked: list[str] = []
    for name, spec in req.toolkits:
        if not toolkit_candidates(matrix, name, spec, py, pre=True, no_build=req.no_build):
            stuck = _install_blockers(matrix, name, spec, py, req.no_build)
            if stuck:
                blocked.append(name)
                clashes += stuck
                continue
            known = ", ".join(sorted(matrix.toolkits[name], key=Version, reverse=True)[:6])
            clashes.append(
                Clash(
                    f"{name}{spec} (your request) matches no release usable on Python {py}",
                    f"matrices/toolkits.toml: {name} {known} ...",
                )
            )
    if clashes and not blocked:
        return Conflict(f"no release of {', '.join(n for n, _ in req.toolkits)} fits the request", tuple(clashes))
    if clashes:
        summary = f"{', '.join(blocked)} cannot be installed on Python {py}"
        if req.no_build and all(
            toolkit_candidates(matrix, n, spec, py, pre=True) for n, spec in req.toolkits if n in blocked
        ):
            summary += " without compiling (--no-build)"
        rest = tuple((n, spec) for n, spec in req.toolkits if n not in blocked)
        others = search(replace(req, toolkits=rest), env, matrix) if rest else None
        if others is not None and not others.solutions:  # what still clashes once those are dropped
            more = explain_conflict(others)
            summary += f"; without {', '.join(blocked)}: {more.summary}"
            clashes += more.clashes
        return Conflict(summary, tuple(clashes))
    if not s.torch_options:
        clashes = [
            Clash(why, "matrices/torch.toml; matrices/nvidia.toml") for why in _dedupe_text(s.torch_rejections)[:8]
        ]
        return Conflict(f"no torch build fits this machine (Python {py}, {platform_key(env)})", tuple(clashes))
    accepted = [v for v in matrix.mmcv if v not in s.mmcv_rejections and (s.pre or not _pre(v))]
    if not accepted:
        return Conflict("the toolkits' import-time guards admit no common mmcv", tuple(_guard_clashes(s)))
    plat = platform_key(env)
    reach: set[str] = set()  # torch minors an accepted mmcv can be installed on (wheel or build)
    for v in sorted(accepted, key=Version, reverse=True):
        rel = matrix.mmcv[v]
        minors = sorted(rel.torch_minors(plat), key=Version)
        reach.update(minors)
        limit = rel.max_torch_for_source_build
        reach.update(m for m in matrix.torch if limit and Version(m) <= Version(limit))
        tags = rel.python_tags_for(plat)
        wheels = (
            f"prebuilt wheels only for torch {minors[0]}–{minors[-1]}" + (f" on {tags[0]}–{tags[-1]}" if tags else "")
            if minors
            else f"no prebuilt wheels for {plat}"
        )
        blockers = sorted({why.split("; ", 1)[-1] for (t, m), why in s.route_rejections.items() if m == v})
        clashes.append(Clash(f"mmcv {v}: {wheels}; " + " / ".join(blockers[:2]), rel.source))
    usable = sorted({t.minor for t in s.torch_options}, key=Version)
    clashes.append(Clash(f"torch builds usable here (Python {py}, {plat}): {', '.join(usable)}", "matrices/torch.toml"))
    barred = [why for why in _dedupe_text(s.torch_rejections) if _minor_named(why) in reach]
    clashes += [Clash(why, "matrices/torch.toml; matrices/nvidia.toml") for why in barred[:3]]
    for v, why in sorted(s.mmcv_rejections.items(), key=lambda kv: Version(kv[0]), reverse=True)[:2]:
        clashes.append(Clash(f"mmcv {v} is excluded: {why}", s.mmcv_rejection_sources.get(v, "matrices/toolkits.toml")))
    names = ", ".join(s.needed)
    summary = (
        f"{names} accept only mmcv {', '.join(sorted(accepted, key=Version, reverse=True))}, "
        "which cannot be installed for any torch usable here"
        + (" without compiling (--no-build)" if req.no_build else "")
    )
    return Conflict(summary, tuple(clashes))


def _install_blockers(matrix: Matrix, name: str, spec: SpecifierSet, py: str | None, no_build: bool) -> list[Clash]:
    """Why the releases that fit the request and declare this Python still cannot be installed on it
    (a compiled dependency without a wheel or a building sdist there, or, under --no-build, one that
    would be compiled from its sdist), the newest release per reason."""
    seen: dict[tuple[str, str], str] = {}
    for rel in sorted(matrix.toolkits[name].values(), key=lambda r: cached_version(r.version), reverse=True):
        if not spec.contains(rel.version, prereleases=True) or (py and rel.allows_python(py) is False):
            continue
        found = blocker(matrix, rel, py, no_build)
        if found is not None and found not in seen:
            seen[found] = rel.version
    return [Clash(f"{name} {v} cannot be installed on Python {py}: {why}", src) for (why, src), v in seen.items()]


def _minor_named(rejection: str) -> str | None:
    """ "torch 2.0: ...", "torch 2.1.2+cu121: ..." -> the torch minor the rejection is about."""
    head = rejection.split(":")[0].split()
    v = parse_version(head[-1].split("+")[0]) if head else None
    return f"{v.major}.{v.minor}" if v else None


def _pre(version: str) -> bool:
    return cached_version(version).is_prerelease


def _guard_clashes(s: Search) -> list[Clash]:
    """Pairs of needed toolkits whose guards exclude each other, each side with its source."""
    matrix, py = s.matrix, python_minor(s.env)
    specs = dict(s.request.toolkits)
    out: list[Clash] = []
    for i, a in enumerate(s.needed):
        for b in s.needed[i + 1 :]:
            ca = toolkit_candidates(matrix, a, specs.get(a, SpecifierSet()), py, s.pre, s.request.no_build)
            cb = toolkit_candidates(matrix, b, specs.get(b, SpecifierSet()), py, s.pre, s.request.no_build)
            if ca and cb and not any(_compatible(x, y, matrix) for x in ca for y in cb):
                for side, cands in ((a, ca), (b, cb)):
                    asked = f" (your request: {side}{specs[side]})" if str(specs.get(side, "")) else ""
                    reqs = ", ".join(f"{d}{r}" for d, r in cands[0].requires.items()) or "no guards"
                    out.append(Clash(f"{side} {cands[0].version} requires {reqs}{asked}", cands[0].source))
    return out or [
        Clash(f"mmcv {v}: {w}", s.mmcv_rejection_sources.get(v, "matrices/toolkits.toml"))
        for v, w in s.mmcv_rejections.items()
    ]


def _compatible(x: ToolkitRelease, y: ToolkitRelease, matrix: Matrix) -> bool:
    for mmcv in matrix.mmcv:
        if not (x.allows("mmcv", mmcv) and y.allows("mmcv", mmcv)):
            continue
        if x.name == "mmdet" and not y.allows("mmdet", x.version):
            continue
        if y.name == "mmdet" and not x.allows("mmdet", y.version):
            continue
        return True
    return False


def _dedupe_text(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
