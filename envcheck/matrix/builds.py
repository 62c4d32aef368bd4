"""Sdist builds: which upstream sdists fail to build where (builds.toml), and the patches that fix them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from envcheck.udiff import FilePatch, PatchError, parse

FILE = "builds.toml"


@dataclass(frozen=True)
class BuildDefect:
    """One way an sdist's build fails: on which Pythons, the error it prints, and why."""

    id: str
    python: str  # PEP 440: the interpreters the build fails on
    error: str
    summary: str
    source: str
    brief: str = ""

    def bites(self, python: str) -> bool:
        return SpecifierSet(self.python).contains(python, prereleases=True)

    def works_on(self) -> str:
        """Where the build does work, in words: `Python < 3.13` for a defect on `>=3.13`."""
        spec = SpecifierSet(self.python)
        flips = {">=": "<", ">": "<=", "<": ">=", "<=": ">"}
        parts = list(spec)
        if len(parts) == 1 and parts[0].operator in flips:
            return f"Python {flips[parts[0].operator]} {parts[0].version}"
        return f"Python outside {self.python}"


@dataclass(frozen=True)
class SourcePatch:
    """matrices/patches/<name>.patch: a unified diff with its description, and its digest."""

    name: str
    path: Path
    sha256: str
    dists: Mapping[str, str]  # canonical dist -> the releases it is written for (PEP 440)
    fixes: str  # a defect id
    source: str
    files: tuple[FilePatch, ...] = field(default=(), compare=False, repr=False)
    changes: str = ""  # the header's "Changes:" line

    @property
    def digest(self) -> str:
        return self.sha256[:12]

    def covers(self, dist: str, version: str) -> bool:
        spec = self.dists.get(canonicalize_name(dist))
        return spec is not None and SpecifierSet(spec).contains(version, prereleases=True)


@dataclass(frozen=True)
class DefectiveSdist:
    """Releases of one distribution whose sdist carries a defect (read from the sdists themselves)."""

    dist: str
    versions: str  # PEP 440
    defect: str
    wheels: str  # what pip installs instead, where it can
    source: str
    patch: str | None = None

    def covers(self, dist: str, version: str) -> bool:
        return canonicalize_name(dist) == self.dist and SpecifierSet(self.versions).contains(version, prereleases=True)


@dataclass(frozen=True)
class SdistVerdict:
    """What is known about building `dist` `version` on Python `python`: it fails, or it builds patched."""

    dist: str
    version: str
    python: str
    defect: BuildDefect
    patch: SourcePatch | None  # None: no patch; the build fails

    @property
    def fails(self) -> bool:
        return self.patch is None

    def why(self) -> str:
        return f"its sdist does not build on Python {self.python}: {self.defect.summary} ({self.defect.error})"

    def short(self) -> str:
        """One clause for a plan step: "its setup.py fails on Python 3.13 with KeyError: '__version__' (...)"."""
        return f"its setup.py fails on Python {self.python} with {self.defect.error} ({self.defect.brief})"

    def headline(self) -> str:
        """The plan's words: "build patched upstream mmcv 2.1.0 (patch: NAME)"."""
        name = self.patch.name if self.patch else "none"
        return f"build patched upstream {self.dist} {self.version} (patch: {name})"


@dataclass(frozen=True)
class Builds:
    defects: Mapping[str, BuildDefect] = field(default_factory=dict)
    sdists: tuple[DefectiveSdist, ...] = ()
    patches: Mapping[str, SourcePatch] = field(default_factory=dict)

    def verdict(self, dist: str, version: str, python: str | None) -> SdistVerdict | None:
        """None when nothing is known against building this sdist on this Python (or no Python is known)."""
        if not python:
            return None
        for rec in self.sdists:
            if not rec.covers(dist, version):
                continue
            defect = self.defects[rec.defect]
            if not defect.bites(python):
                continue
            patch = self.patches.get(rec.patch) if rec.patch else None
            if patch is not None and not patch.covers(dist, version):
                patch = None
            return SdistVerdict(canonicalize_name(dist), version, python, defect, patch)
        return None


def read_builds(problems: list[str], data: dict[str, Any], root: Path) -> Builds:
    """builds.toml and the patch files it names; every problem appended to `problems`."""
    from envcheck.matrix.load import _Reader  # the shared reader (load imports this module)
    from envcheck.matrix.records import _keys

    top = _Reader(problems, FILE, "(file)", data, _keys("schema updated defects sdists patches"))
    defects: dict[str, BuildDefect] = {}
    for ident, raw in top.table("defects").items():
        r = _Reader(problems, FILE, f"defects {ident}", raw, _keys("python error summary brief source"))
        python = r.spec("python", r.text("python"))
        if r.ok:
            defects[ident] = BuildDefect(ident, python or "", r.text("error"), r.text("summary"), r.source(),
                                         r.text("brief"))  # fmt: skip
    patches: dict[str, SourcePatch] = {}
    for name, raw in top.table("patches").items():
        r = _Reader(problems, FILE, f"patches {name}", raw, _keys("dists fixes source"))
        dists: dict[str, str] = {}
        for dist, spec in r.table("dists", required=True).items():
            text = r.spec(f"dists.{dist}", str(spec))
            if text is not None:
                dists[canonicalize_name(dist)] = text
        fixes = r.text("fixes")
        if r.ok and fixes and fixes not in defects:
            r.bad(f"fixes: unknown defect {fixes!r}")
        path = root / "patches" / f"{name}.patch"
        try:
            raw_bytes = path.read_bytes()
            text = raw_bytes.decode("utf-8")
            files = parse(text)
        except OSError as exc:
            r.bad(f"cannot read patches/{name}.patch ({exc.strerror or exc})")
            continue
        except (UnicodeDecodeError, PatchError) as exc:
            r.bad(f"patches/{name}.patch is not a unified diff ({exc})")
            continue
        head = text.split("\n--- ", 1)[0]
        for key in ("Patch:", "Changes:", "Why:", "Source:"):
            if f"\n{key}" not in "\n" + head:
                r.bad(f"patches/{name}.patch: its header must say {key!r}")
        if f"Patch: {name}\n" not in head + "\n":
            r.bad(f"patches/{name}.patch: its header must begin 'Patch: {name}'")
        changes = next((line[8:].strip() for line in head.splitlines() if line.startswith("Changes:")), "")
        if r.ok:
            patches[name] = SourcePatch(name, path, hashlib.sha256(raw_bytes).hexdigest(), dists, fixes,
                                        r.source(), files, changes)  # fmt: skip
    sdists: list[DefectiveSdist] = []
    raw_list = data.get("sdists", [])
    for i, raw in enumerate(raw_list if isinstance(raw_list, list) else []):
        r = _Reader(problems, FILE, f"sdists[{i}]", raw, _keys("dist versions defect patch wheels source"))
        dist = r.text("dist")
        versions = r.spec("versions", r.text("versions"))
        defect = r.text("defect")
        patch = r.opt_text("patch")
        if r.ok and defect and defect not in defects:
            r.bad(f"defect: unknown defect {defect!r}")
        if r.ok and patch is not None:
            known = patches.get(patch)
            if known is None:
                r.bad(f"patch: unknown patch {patch!r} (no [patches.{patch}])")
            elif canonicalize_name(dist) not in known.dists:
                r.bad(f"patch: {patch} is not written for {dist}")
            elif known.fixes != defect:
                r.bad(f"patch: {patch} fixes {known.fixes}, not {defect}")
        if r.ok and dist and canonicalize_name(dist) != dist:
            r.bad("dist: must be the canonical PyPI name")
        if r.ok:
            sdists.append(DefectiveSdist(dist, versions or "", defect, r.text("wheels"), r.source(), patch))
    return Builds(defects, tuple(sdists), patches)
