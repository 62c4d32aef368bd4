"""Toolkit selection: the newest releases whose import-time guards agree on one mmcv.

Pure functions of the Matrix, the request's toolkits and the Python; the search (resolve.py)
asks once per mmcv release. mmdet joins a selection only where a chosen release imports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envcheck.matrix import Matrix, ToolkitRelease
from envcheck.plan.deps import blocker
from envcheck.plan.memo import MatrixCache, cached_version


@dataclass(frozen=True)
class Selection:
    """Toolkit releases (and mmengine) that accept one mmcv release together."""

    mmcv: str
    releases: Mapping[str, ToolkitRelease]
    mmengine: str


def toolkit_candidates(
    matrix: Matrix, name: str, spec: SpecifierSet, py: str | None, pre: bool = False, no_build: bool = False
) -> list[ToolkitRelease]:
    """Releases within the user's spec that run on Python `py`, newest first.

    "Run" means its python_requires admits `py` and its compiled dependencies install there
    (deps.blocker: mmpose needs xtcocotools, which does not build on 3.13, and with `no_build`
    --no-build forbids compiling it on 3.12, where it has no wheel). Pre-releases only when
    the spec names one, or with `pre` (the fallback when no stack of final releases exists: mmcls
    1.x, for one, was only ever released as 1.0.0rcN).
    """
    rels = matrix.toolkits.get(name, {}).values()
    named = any(cached_version(s.version).is_prerelease for s in spec if s.version.replace(".*", "").strip())
    out = [
        r
        for r in rels
        if spec.contains(r.version, prereleases=True)
        and (pre or named or not cached_version(r.version).is_prerelease)
        and (py is None or (r.allows_python(py) is not False and blocker(matrix, r, py, no_build) is None))
    ]
    return sorted(out, key=lambda r: cached_version(r.version), reverse=True)


def imports_mmdet(rel: ToolkitRelease) -> bool:
    return rel.needs_mmdet or "mmdet" in rel.requires


def needed(
    matrix: Matrix, toolkits: Sequence[tuple[str, SpecifierSet]], py: str | None, pre: bool, no_build: bool = False
) -> tuple[str, ...]:
    """Requested toolkits, plus mmdet when some candidate release imports it (mmocr → mmdet)."""
    names = [n for n, _ in toolkits]
    if "mmdet" not in names and any(
        imports_mmdet(r) for n, spec in toolkits for r in toolkit_candidates(matrix, n, spec, py, pre, no_build)
    ):
        names.append("mmdet")
    return tuple(names)


def select(
    requested: Sequence[str],
    mmcv: str,
    cands: Mapping[str, list[ToolkitRelease]],
    memo: MatrixCache,
    py: str | None,
    pre: bool,
) -> Selection | None:
    """The newest releases of the requested toolkits that accept mmcv `mmcv` together.

    mmdet joins the stack only where a chosen release imports it: mmpose 1.2.0 runs without it
    (and so with mmcv 2.2.0, which every mmdet rejects), mmpose 1.3 needs it.
    """
    allows = memo.allows
    mmdets = [r for r in cands.get("mmdet", ()) if allows(r, "mmcv", mmcv)]
    options: list[ToolkitRelease | None] = list(mmdets) if "mmdet" in requested else [None, *mmdets]
    best: tuple[tuple[object, ...], Selection] | None = None
    for det in options:
        dv = det.version if det is not None else None
        ok: dict[str, list[ToolkitRelease]] = {}
        for name in requested:
            if name == "mmdet":
                continue
            ok[name] = [
                r
                for r in cands[name]
                if allows(r, "mmcv", mmcv) and (allows(r, "mmdet", dv) if dv is not None else not imports_mmdet(r))
            ]
            if not ok[name]:
                break
        else:
            found = _with_engine(memo, memo.engines(py, pre), det, ok)
            if found is None:
                continue
            picked, engine = found
            releases = dict(picked)
            if det is not None:
                releases["mmdet"] = det
            releases = {n: releases[n] for n in (*requested, "mmdet") if n in releases}  # requested first
            score = (
                tuple(cached_version(releases[n].version) for n in requested),
                det is None,  # an mmdet nobody imports is one install too many
                cached_version(dv or "0"),
            )
            if best is None or score > best[0]:
                best = (score, Selection(mmcv, releases, engine))
    return best[1] if best else None


def exclusion(
    requested: Sequence[str], mmcv: str, cands: Mapping[str, list[ToolkitRelease]], memo: MatrixCache
) -> tuple[str, str]:
    """(why, source): the import guard that keeps every set of toolkit releases off mmcv `mmcv`."""
    allows = memo.allows
    mmdets = [r for r in cands.get("mmdet", ()) if allows(r, "mmcv", mmcv)]
    for name in requested:
        rels = cands.get(name, [])
        if not rels:
            return f"no {name} release fits the request", "matrices/toolkits.toml"
        if not any(allows(r, "mmcv", mmcv) for r in rels):
            return f"{name} {rels[0].version} requires mmcv{rels[0].requires['mmcv']}", rels[0].source
    for name in requested:
        fits = [r for r in cands[name] if allows(r, "mmcv", mmcv)]
        if name == "mmdet" or not all(imports_mmdet(r) for r in fits):
            continue
        if not mmdets and cands.get("mmdet"):
            det = cands["mmdet"][0]
            return (
                f"{name} {fits[0].version} imports mmdet, and mmdet {det.version} requires mmcv{det.requires['mmcv']}",
                det.source,
            )
        if not any(allows(r, "mmdet", d.version) for r in fits for d in mmdets):
            guard = fits[0].requires.get("mmdet")
            dets = ", ".join(d.version for d in mmdets)
            return (
                f"{name} {fits[0].version} requires mmdet{guard or ''}; "
                f"the mmdet releases that accept mmcv {mmcv} are {dets}",
                fits[0].source,
            )
    members = [cands[n][0] for n in requested]
    guards = [f"{r.name} {r.version} (mmengine{r.requires['mmengine']})" for r in members if "mmengine" in r.requires]
    return "no mmengine release satisfies " + ", ".join(guards), "matrices/mmengine.toml"


def _with_engine(
    memo: MatrixCache,
    engines: Sequence[str],
    det: ToolkitRelease | None,
    ok: Mapping[str, list[ToolkitRelease]],
) -> tuple[dict[str, ToolkitRelease], str] | None:
    """The newest releases in `ok` (and an mmengine) whose mmengine guards agree, or None."""
    allows = memo.allows
    first = {n: rels[0] for n, rels in ok.items()}
    members = [*first.values(), *([det] if det else [])]
    engine = next((v for v in engines if all(allows(r, "mmengine", v) for r in members)), None)
    if engine is not None:
        return first, engine
    best: tuple[tuple[Version, ...], dict[str, ToolkitRelease], str] | None = None
    for v in engines:  # the newest releases disagree: the best per mmengine release
        if det is not None and not allows(det, "mmengine", v):
            continue
        picks = {n: next((r for r in rels if allows(r, "mmengine", v)), None) for n, rels in ok.items()}
        if all(picks.values()):
            score = tuple(cached_version(r.version) for r in picks.values() if r is not None)
            if best is None or score > best[0]:
                best = (score, {n: r for n, r in picks.items() if r is not None}, v)
    return (best[1], best[2]) if best else None
