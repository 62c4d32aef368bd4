"""Matrix loading: read matrices/*.toml, validate every record (all problems at once), build the Matrix."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Callable

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as Pep508Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcheck.errors import MatrixError
from envcheck.matrix.builds import FILE as FILE_BUILDS
from envcheck.matrix.builds import read_builds
from envcheck.matrix.records import (
    _ARCH,
    _CC,
    _DATE,
    _GUARD,
    _MINOR,
    _PYTAG,
    _SOURCE,
    _TAG,
    CONFIDENCE,
    GUARDED,
    PLATFORMS,
    BinaryDist,
    BuildDuration,
    DriverBranch,
    DriverFloor,
    GpuModel,
    Guard,
    Matrix,
    MmcvBuild,
    MmcvRelease,
    MmengineRelease,
    NumpyAbi,
    NvccArch,
    Profile,
    Requirement,
    SdistBuild,
    T,
    ToolkitRelease,
    TorchBuild,
    TorchRelease,
    _freeze,
    _frozen,
    _keys,
    _split_sources,
    _v,
    _version_or_none,
    _words,
    torch_minor,
)

SCHEMA = 1
FILES = (
    "mmcv.toml",
    "toolkits.toml",
    "mmengine.toml",
    "torch.toml",
    "nvidia.toml",
    "profiles.toml",
    "numpy.toml",
    "builds.toml",
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

# --------------------------------------------------------------------------------------------
# Loading and validation


class _Reader:
    """Typed access to one record's raw TOML table, reporting each problem once."""

    def __init__(self, problems: list[str], file: str, record: str, raw: Any, keys: frozenset[str]):
        self.problems = problems
        self.file = file
        self.record = record
        self.ok = isinstance(raw, dict)
        self.raw: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if not self.ok:
            self.bad(f"expected a table, got {type(raw).__name__}")
        for key in self.raw:
            if key not in keys:
                self.bad(f"unknown key {key!r}")

    def bad(self, problem: str) -> None:
        self.problems.append(f"{self.file}: {self.record}: {problem}")

    def _get(self, key: str, kind: type[T], required: bool, default: T) -> T:
        if key not in self.raw:
            if required:
                self.bad(f"missing required key {key!r}")
            return default
        value = self.raw[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.bad(f"{key}: expected {kind.__name__}, got {type(value).__name__}")
            return default
        return value

    def text(self, key: str, required: bool = True, default: str = "") -> str:
        value = self._get(key, str, required, default)
        if required and key in self.raw and not value.strip():
            self.bad(f"{key}: empty")
        return value

    def opt_text(self, key: str) -> str | None:
        return self.text(key, required=False) if key in self.raw else None

    def flag(self, key: str, default: bool = False, required: bool = False) -> bool:
        return self._get(key, bool, required, default)

    def integer(self, key: str, required: bool = True) -> int:
        return self._get(key, int, required, 0)

    def table(self, key: str, required: bool = False) -> dict[str, Any]:
        return self._get(key, dict, required, {})

    def texts(self, key: str, required: bool = False) -> tuple[str, ...]:
        value = self._get(key, list, required, [])
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(item)
            else:
                self.bad(f"{key}[{i}]: expected str, got {type(item).__name__}")
        return tuple(out)

    def version(self, key: str, value: str | None = None, required: bool = True) -> str:
        text = self.text(key, required=required) if value is None else value
        if text and _version_or_none(text) is None:
            self.bad(f"{key}: bad version {text!r}")
        return text

    def spec(self, key: str, value: str | None = None) -> str | None:
        text = self.opt_text(key) if value is None else value
        if text is not None:
            try:
                SpecifierSet(text)
            except InvalidSpecifier:
                self.bad(f"{key}: bad specifier {text!r}")
                return None
        return text

    def date(self, key: str = "released") -> str:
        text = self.text(key)
        if text and not _DATE.match(text):
            self.bad(f"{key}: expected YYYY-MM-DD or YYYY-MM, got {text!r}")
        return text

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        text = self.text(key, required=False, default=default)
        if text not in allowed:
            self.bad(f"{key}: {text!r} is not one of {', '.join(allowed)}")
        return text

    def source(self, inherited: str = "", key: str = "source") -> str:
        text = self.text(key, required=False) if key in self.raw else inherited
        if not text.strip():
            self.bad(f"missing {key}: every record cites where its facts come from")
            return ""
        for part in _split_sources(text):
            if not _SOURCE.match(part):
                self.bad(
                    f"{key}: {part!r} is not owner/repo@ref:path, a URL, PyPI, envcheck: or 'measured here DATE: what'"
                )
        return text


def _header(file: str, problems: list[str], data: dict[str, Any]) -> None:
    if data.get("schema") != SCHEMA:
        problems.append(f"{file}: (file): schema must be {SCHEMA}, got {data.get('schema')!r}")
    updated = data.get("updated")
    if not isinstance(updated, str) or not _DATE.match(updated):
        problems.append(f"{file}: (file): updated must be a YYYY-MM-DD date, got {updated!r}")


def _check_duplicates(r: _Reader, what: str, keys: list[str]) -> None:
    seen: dict[object, str] = {}
    for key in keys:
        norm: object = _version_or_none(key) or key.lower()  # "3.2" == "3.2.0"
        if norm in seen:
            r.bad(f"duplicate {what} {key!r} (same as {seen[norm]!r})")
        seen.setdefault(norm, key)


# -- mmcv.toml ---------------------------------------------------------------------------------

_MMCV_KEYS = _keys(
    "released python python_by_platform python_confidence cxx max_torch_for_source_build wheels confidence notes source"
)


def _mmcv_release(problems: list[str], name: str, version: str, raw: Any) -> MmcvRelease | None:
    f = "mmcv.toml"
    r = _Reader(problems, f, f"{name} {version}", raw, _MMCV_KEYS)
    if not r.ok:
        return None
    r.version("version", version)
    python = r.texts("python")
    by_platform: dict[str, tuple[str, ...]] = {}
    for plat, tags in r.table("python_by_platform").items():
        if plat not in PLATFORMS or not isinstance(tags, list):
            r.bad(f"python_by_platform.{plat}: expected a platform and a list of tags")
            continue
        by_platform[plat] = tuple(str(t) for t in tags)
    for tag in python + tuple(t for ts in by_platform.values() for t in ts):
        if not _PYTAG.match(tag):
            r.bad(f"python: bad python tag {tag!r}")
    union = tuple(dict.fromkeys(python + tuple(t for ts in by_platform.values() for t in ts)))
    wheels: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for plat, rows in r.table("wheels").items():
        if plat not in PLATFORMS or not isinstance(rows, dict):
            r.bad(f"wheels.{plat}: expected one of {', '.join(PLATFORMS)} with a table of rows")
            continue
        row_map: dict[str, tuple[str, ...]] = {}
        for minor, tags in rows.items():
            if not _MINOR.fullmatch(minor) or not isinstance(tags, list):
                r.bad(f"wheels.{plat}.{minor}: expected 'X.Y' = [cuda tags]")
                continue
            bad = [t for t in tags if not isinstance(t, str) or not _TAG.match(t)]
            if bad:
                r.bad(f"wheels.{plat}.{minor}: bad cuda tags {bad!r}")
            row_map[minor] = tuple(str(t) for t in tags)
        _check_duplicates(r, f"wheels.{plat} torch minor", list(rows))
        wheels[plat] = _frozen(row_map)
    confidence: dict[str, str] = {}
    for minor, level in r.table("confidence").items():
        if level not in CONFIDENCE:
            r.bad(f"confidence.{minor}: {level!r} is not one of {', '.join(CONFIDENCE)}")
        elif not any(minor in rows for rows in wheels.values()):
            r.bad(f"confidence.{minor}: no wheel row for torch {minor}")
        confidence[minor] = str(level)
    max_torch = r.opt_text("max_torch_for_source_build")
    if max_torch is not None and not _MINOR.fullmatch(max_torch):
        r.bad(f"max_torch_for_source_build: expected 'X.Y', got {max_torch!r}")
    return MmcvRelease(
        name=name,
        version=version,
        released=r.date(),
        python_tags=union,
        wheels=_frozen(wheels),
        confidence=_frozen(confidence),
        max_torch_for_source_build=max_torch,
        source=r.source(),
        python_by_platform=_frozen(by_platform),
        python_confidence=r.text("python_confidence", required=False),
        cxx=r.choice("cxx", ("c++14", "c++17"), "c++17"),
        notes=r.texts("notes"),
    )


def _mmcv_file(problems: list[str], data: dict[str, Any]) -> dict[str, Any]:
    f = "mmcv.toml"
    out: dict[str, Any] = {"mmcv": {}, "mmcv-full": {}}
    top = _Reader(
        problems,
        f,
        "(file)",
        data,
        _keys("schema updated index lite build mmcv mmcv-full"),
    )
    for name in ("mmcv", "mmcv-full"):
        table = top.table(name, required=True)
        _check_duplicates(top, f"{name} version", list(table))
        for version, raw in table.items():
            rel = _mmcv_release(problems, name, version, raw)
            if rel is not None:
                out[name][version] = rel
    idx = _Reader(
        problems,
        f,
        "index",
        top.table("index", required=True),
        _keys("url mim_url base_url_env pypi source"),
    )
    out["url"] = idx.text("url")
    out["mim_url"] = idx.text("mim_url", required=False)
    for key in ("url", "mim_url"):
        if out[key] and not all(p in out[key] for p in ("{cuda_tag}", "{major}", "{minor}")):
            idx.bad(f"{key}: the template needs {{cuda_tag}}, {{major}} and {{minor}}")
    idx.source()
    lite = _Reader(
        problems,
        f,
        "lite",
        top.table("lite", required=True),
        _keys("versions wheel source"),
    )
    out["lite"] = tuple(lite.version("versions", v) for v in lite.texts("versions", True))
    lite.source()
    out["build"] = _mmcv_build(problems, top.table("build", required=True))
    return out


def _mmcv_build(problems: list[str], raw: dict[str, Any]) -> MmcvBuild:
    f = "mmcv.toml"
    keys = "preinstall pip_args env env_conditional gcc_min nvcc_min setuptools_max_exclusive notes durations source"
    r = _Reader(problems, f, "build", raw, frozenset(keys.split()))
    for req in r.texts("preinstall", required=True):
        try:
            Pep508Requirement(req)
        except InvalidRequirement:
            r.bad(f"preinstall: bad requirement {req!r}")
    durations = []
    rows = r.raw.get("durations", [])
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        d = _Reader(
            problems,
            f,
            f"build.durations[{i}]",
            row,
            _keys("mmcv torch cuda cores seconds peak_rss_mib source"),
        )
        if d.ok:
            durations.append(
                BuildDuration(
                    mmcv=d.version("mmcv"),
                    torch=d.version("torch"),
                    cuda=d.flag("cuda", required=True),
                    cores=d.integer("cores"),
                    seconds=d.integer("seconds"),
                    peak_rss_mib=d.integer("peak_rss_mib", required=False) or None,
                    source=d.source(),
                )
            )
    env = r.table("env")
    return MmcvBuild(
        preinstall=r.texts("preinstall"),
        pip_args=r.texts("pip_args"),
        env=_frozen({str(k): str(v) for k, v in env.items()}),
        setuptools_max_exclusive=r.version("setuptools_max_exclusive"),
        gcc_min=r.version("gcc_min"),
        nvcc_min=r.version("nvcc_min"),
        durations=tuple(durations),
        notes=r.texts("notes"),
        source=r.source(),
        env_conditional=_frozen({str(k): str(v) for k, v in r.table("env_conditional").items()}),
    )


# -- toolkits.toml -----------------------------------------------------------------------------

_TOOLKIT_KEYS = _keys(
    "import released requires pep440 python classifiers needs_ops needs_ops_at_package_import "
    "needs_mmdet needs_torchvision extra_runtime mim_configs notes source"
)


def _toolkit_release(
    problems: list[str], name: str, version: str, raw: Any, family_notes: list[tuple[str, str, str]]
) -> ToolkitRelease | None:
    r = _Reader(problems, "toolkits.toml", f"{name} {version}", raw, _TOOLKIT_KEYS)
    if not r.ok:
        return None
    parsed = _version_or_none(version)
    if parsed is None:
        r.bad(f"bad version {version!r}")
    pep440 = r.table("pep440")
    requires: dict[str, Requirement] = {}
    for dep, items in r.table("requires").items():
        if dep not in GUARDED:
            r.bad(f"requires.{dep}: not one of {', '.join(GUARDED)}")
        if not isinstance(items, list) or not items:
            r.bad(f"requires.{dep}: expected a non-empty list of '<op><version>'")
            continue
        guards = []
        for item in items:
            m = _GUARD.match(item) if isinstance(item, str) else None
            if not m:
                r.bad(f"requires.{dep}: bad guard {item!r}")
                continue
            try:
                guards.append(Guard((m.group(1) or "") + m.group(2), m.group(3)))
            except (InvalidVersion, ValueError):
                r.bad(f"requires.{dep}: bad version in guard {item!r}")
        spec = pep440.get(dep)
        if spec is not None:
            r.spec(f"pep440.{dep}", str(spec))
        requires[dep] = Requirement(
            dep=dep,
            guards=tuple(guards),
            inclusive_max=any(g.op in ("<=", "str<=") for g in guards),
            pep440=str(spec) if spec is not None else None,
        )
    for dep in pep440:
        if dep not in requires:
            r.bad(f"pep440.{dep}: no guard on {dep}")
    extra = r.texts("extra_runtime")
    for req in extra:
        try:
            Pep508Requirement(req)
        except InvalidRequirement:
            r.bad(f"extra_runtime: bad requirement {req!r}")
    notes = list(r.texts("notes"))
    if parsed is not None:
        for dist, spec, note in family_notes:
            if dist == name and SpecifierSet(spec).contains(parsed, prereleases=True):
                notes.append(note)
    return ToolkitRelease(
        name=name,
        import_name=r.text("import", required=False, default=name),
        version=version,
        released=r.date(),
        requires=_frozen(requires),
        python=r.spec("python"),
        needs_ops=r.flag("needs_ops"),
        extra_runtime=extra,
        needs_torchvision=r.flag("needs_torchvision"),
        notes=tuple(notes),
        source=r.source(),
        classifiers=r.texts("classifiers"),
        needs_ops_at_import=r.flag("needs_ops_at_package_import"),
        needs_mmdet=r.flag("needs_mmdet"),
        mim_configs=r.flag("mim_configs", default=True),
    )


def _toolkits_file(problems: list[str], data: dict[str, Any]) -> dict[str, Any]:
    f = "toolkits.toml"
    family_notes: list[tuple[str, str, str]] = []
    rows = data.get("family_notes", [])
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        n = _Reader(
            problems,
            f,
            f"family_notes[{i}]",
            row,
            _keys("dist versions note source"),
        )
        spec = n.spec("versions")
        dist, note = n.text("dist"), n.text("note")
        n.source()
        if n.ok and spec is not None and dist not in data:
            n.bad(f"dist {dist!r} has no releases")
        if spec is not None:
            family_notes.append((dist, spec, note))
    toolkits: dict[str, Mapping[str, ToolkitRelease]] = {}
    for name, table in data.items():
        if name in ("schema", "updated", "aliases", "family_notes"):
            continue
        if canonicalize_name(name) != name:
            problems.append(f"{f}: {name}: table name must be the canonical PyPI name")
        if not isinstance(table, dict):
            problems.append(f"{f}: {name}: expected a table of releases")
            continue
        top = _Reader(problems, f, name, table, frozenset(table))
        _check_duplicates(top, "version", list(table))
        releases = {}
        for version, raw in table.items():
            rel = _toolkit_release(problems, name, version, raw, family_notes)
            if rel is not None:
                releases[version] = rel
        toolkits[name] = _frozen(releases)
    a = _Reader(problems, f, "aliases", data.get("aliases", {}), _keys("names source"))
    a.source()
    aliases: dict[str, str] = {}
    for alias, target in a.table("names", required=True).items():
        key = canonicalize_name(alias)
        if key in toolkits:
            a.bad(f"{alias!r} is a distribution of its own, not an alias")
        elif target not in toolkits:
            a.bad(f"{alias!r} -> {target!r}: no such distribution")
        aliases[key] = str(target)
    import_names: dict[str, str] = {}
    for name, rels in toolkits.items():
        for rel in rels.values():
            other = import_names.setdefault(rel.import_name, name)
            if other != name and rel.import_name not in toolkits:
                problems.append(f"{f}: {name} {rel.version}: import name {rel.import_name!r} is {other}'s too")
    return {"toolkits": toolkits, "aliases": aliases, "import_names": import_names}


# -- mmengine.toml -----------------------------------------------------------------------------

_MMENGINE_KEYS = _keys(
    "released python classifiers weights_only_safe pkg_resources_at_runtime lite torch_tested source"
)


def _mmengine_file(problems: list[str], data: dict[str, Any]) -> dict[str, Any]:
    f = "mmengine.toml"
    _Reader(
        problems,
        f,
        "(file)",
        data,
        _keys("schema updated mmengine weights_only pkg_resources"),
    )
    releases: dict[str, MmengineRelease] = {}
    table = data.get("mmengine", {})
    top = _Reader(problems, f, "mmengine", table, frozenset(table) if isinstance(table, dict) else frozenset())
    _check_duplicates(top, "version", list(top.raw))
    for version, raw in top.raw.items():
        r = _Reader(problems, f, f"mmengine {version}", raw, _MMENGINE_KEYS)
        if not r.ok:
            continue
        r.version("version", version)
        releases[version] = MmengineRelease(
            version=version,
            released=r.date(),
            weights_only_safe=r.flag("weights_only_safe", required=True),
            pkg_resources_at_runtime=r.flag("pkg_resources_at_runtime", required=True),
            source=r.source(),
            python=r.spec("python"),
            lite=r.flag("lite"),
            torch_tested=r.spec("torch_tested"),
            classifiers=r.texts("classifiers"),
        )
    facts: dict[str, Mapping[str, str]] = {}
    for key, spec_key in (
        ("weights_only", "breaks_with_torch"),
        ("pkg_resources", "breaks_with_setuptools"),
    ):
        r = _Reader(
            problems,
            f,
            key,
            data.get(key, {}),
            frozenset({spec_key, "issue", "fix_commit", "note", "source"}),
        )
        r.spec(spec_key)
        r.text(spec_key)
        r.source()
        facts[key] = _frozen({k: str(v) for k, v in r.raw.items()})
    return {"mmengine": releases, "facts": facts}


# -- torch.toml --------------------------------------------------------------------------------

_TORCH_KEYS = _keys(
    "released patches python pypi_default cxx_std release_cxx numpy2 builds arch_source confidence notes source"
)


def _torch_file(problems: list[str], data: dict[str, Any]) -> dict[str, Any]:
    f = "torch.toml"
    _Reader(problems, f, "(file)", data, _keys("schema updated index torch"))
    idx = _Reader(problems, f, "index", data.get("index", {}), _keys("url source"))
    url = idx.text("url")
    if url and "{tag}" not in url:
        idx.bad("url: the template needs {tag}")
    idx.source()
    table = data.get("torch", {})
    top = _Reader(problems, f, "torch", table, frozenset(table) if isinstance(table, dict) else frozenset())
    _check_duplicates(top, "minor", list(top.raw))
    releases: dict[str, TorchRelease] = {}
    for minor, raw in top.raw.items():
        r = _Reader(problems, f, f"torch {minor}", raw, _TORCH_KEYS)
        if not r.ok:
            continue
        if not _MINOR.fullmatch(minor):
            r.bad(f"key must be the minor 'X.Y', got {minor!r}")
        patches = {str(k): str(v) for k, v in r.table("patches", required=True).items()}
        for patch, tv in patches.items():
            r.version(f"patches.{patch}", patch)
            r.version(f"patches.{patch} (torchvision)", tv)
            if torch_minor(patch) != minor:
                r.bad(f"patches.{patch}: not a {minor} release")
        newest = max(patches, key=lambda p: _v(p), default="")
        python = r.texts("python", required=True)
        for py in python:
            if not re.fullmatch(r"3\.\d+", py):
                r.bad(f"python: expected '3.X', got {py!r}")
        source = r.source()
        arch_source = r.source(source, key="arch_source")
        default = r.text("pypi_default", required=False)
        builds: dict[str, TorchBuild] = {}
        for tag, archs in r.table("builds", required=True).items():
            if not _TAG.match(tag) or not isinstance(archs, list):
                r.bad(f"builds.{tag}: expected 'cpu' or 'cuXYZ' = [archs]")
                continue
            bad = [a for a in archs if not isinstance(a, str) or not _ARCH.match(a)]
            if bad:
                r.bad(f"builds.{tag}: bad archs {bad!r}")
            if (tag == "cpu") != (not archs):
                r.bad(f"builds.{tag}: a CUDA build lists its archs, the cpu build none")
            builds[tag] = TorchBuild(
                tag=tag,
                index_url=url.format(tag=tag) if url else "",
                archs=tuple(str(a) for a in archs),
                pypi_default=tag == default,
                source=arch_source if tag != "cpu" else source,
            )
        if default and default not in builds:
            r.bad(f"pypi_default: {default!r} is not one of the builds")
        releases[minor] = TorchRelease(
            version=newest,
            minor=minor,
            released=r.date(),
            python=python,
            builds=_frozen(builds),
            torchvision=patches.get(newest, ""),
            numpy2=r.flag("numpy2", required=True),
            source=source,
            patches=tuple(sorted(patches, key=lambda p: _v(p))),
            torchvision_for=_frozen(patches),
            cxx_std=r.choice("cxx_std", ("c++14", "c++17", "c++20"), "c++17"),
            release_cxx=r.opt_text("release_cxx"),
            confidence=r.choice("confidence", CONFIDENCE, "high"),
            notes=r.texts("notes"),
        )
    return {"torch": releases, "url": url}


# -- nvidia.toml -------------------------------------------------------------------------------


def _rows(problems: list[str], file: str, name: str, data: dict[str, Any]) -> tuple[str, list[_Reader]]:
    section = _Reader(problems, file, name, data.get(name, {}), _keys("rows source gpus"))
    inherited = section.source()
    out = []
    rows = section.raw.get("rows", [])
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        keys = frozenset(row) if isinstance(row, dict) else frozenset()
        out.append(_Reader(problems, file, f"{name}[{i}]", row, keys))
    return inherited, out


def _nvidia_file(problems: list[str], data: dict[str, Any]) -> dict[str, Any]:
    f = "nvidia.toml"
    floors: list[DriverFloor] = []
    src, rows = _rows(problems, f, "toolkit_drivers", data)
    for r in rows:
        _only(r, _keys("cuda linux windows source"))
        r.record = f"toolkit_drivers cuda {r.raw.get('cuda', '?')}"
        floors.append(
            DriverFloor(
                cuda=r.version("cuda"),
                linux=r.version("linux"),
                windows=r.version("windows", required=False) or None,
                source=r.source(src),
            )
        )
    compat: list[DriverFloor] = []
    src, rows = _rows(problems, f, "minor_compat", data)
    for r in rows:
        _only(r, _keys("cuda_major linux windows source"))
        r.record = f"minor_compat cuda {r.raw.get('cuda_major', '?')}"
        compat.append(
            DriverFloor(
                cuda=r.text("cuda_major"),
                linux=r.version("linux"),
                windows=r.version("windows", required=False) or None,
                source=r.source(src),
            )
        )
    branches: list[DriverBranch] = []
    src, rows = _rows(problems, f, "branches", data)
    for r in rows:
        _only(r, _keys("branch cuda source"))
        r.record = f"branches {r.raw.get('branch', '?')}"
        branches.append(DriverBranch(r.integer("branch"), r.version("cuda"), r.source(src)))
    gpus: list[GpuModel] = []
    src, rows = _rows(problems, f, "gpus", data)
    for r in rows:
        _only(r, _keys("match cc source"))
        r.record = f"gpus {r.raw.get('match', '?')!r}"
        cc = r.text("cc")
        if cc and not _CC.match(cc):
            r.bad(f"cc: expected 'X.Y', got {cc!r}")
        gpus.append(GpuModel(r.text("match"), cc, r.source(src)))
    fwd = _Reader(problems, f, "forward_compat", data.get("forward_compat", {}), _keys("gpus source"))
    fwd.source()
    archs = _nvcc_archs(problems, f, data)
    whole = _Reader(
        problems,
        f,
        "(file)",
        data,
        _keys("schema updated toolkit_drivers minor_compat branches forward_compat gpus nvcc_archs"),
    )
    _check_duplicates(whole, "toolkit_drivers cuda", [x.cuda for x in floors])
    _check_duplicates(whole, "minor_compat cuda_major", [x.cuda for x in compat])
    _check_duplicates(whole, "branch", [str(b.branch) for b in branches])
    _check_duplicates(whole, "gpu match", [_words(g.match) for g in gpus])
    _check_duplicates(whole, "nvcc_archs cc", [a.compute_capability for a in archs])
    known = {a.compute_capability for a in archs}
    for g in gpus:  # the planner and doctor ask nvcc_archs about every GPU they can name
        if g.compute_capability and _CC.match(g.compute_capability) and g.compute_capability not in known:
            whole.bad(f"gpu {g.match!r}: no nvcc_archs row for compute capability {g.compute_capability}")
    by_cuda = {x.cuda: x for x in floors}
    for b in branches:
        floor = by_cuda.get(b.cuda)
        if floor is None:
            whole.bad(f"branch {b.branch}: no toolkit_drivers row for CUDA {b.cuda}")
        elif Version(floor.linux).release[0] != b.branch:
            whole.bad(f"branch {b.branch}: CUDA {b.cuda}'s driver {floor.linux} is of another branch")
    return {
        "floors": tuple(sorted(floors, key=lambda x: _v(x.cuda))),
        "compat": tuple(compat),
        "branches": tuple(sorted(branches, key=lambda b: b.branch)),
        "gpus": tuple(gpus),
        "forward": fwd.texts("gpus", required=True),
        "nvcc_archs": tuple(archs),
    }


_CUDA_MINOR = re.compile(r"^\d+\.\d+$")


def _nvcc_archs(problems: list[str], f: str, data: dict[str, Any]) -> list[NvccArch]:
    out: list[NvccArch] = []
    src, rows = _rows(problems, f, "nvcc_archs", data)
    for r in rows:
        r.record = f"nvcc_archs cc {r.raw.get('cc', '?')}"
        _only(r, _keys("cc first last source"))
        cc, first, last = r.text("cc"), r.text("first"), r.opt_text("last")
        if cc and not _CC.match(cc):
            r.bad(f"cc: expected 'X.Y', got {cc!r}")
        for key, value in (("first", first), ("last", last)):
            if value and not _CUDA_MINOR.match(value):
                r.bad(f"{key}: expected a CUDA version 'X.Y', got {value!r}")
        if first and last and _CUDA_MINOR.match(first) and _CUDA_MINOR.match(last) and Version(last) < Version(first):
            r.bad(f"last {last} is older than first {first}")
        out.append(NvccArch(cc, first, last, r.source(src)))
    return out


def _only(r: _Reader, keys: frozenset[str]) -> None:
    for key in r.raw:
        if key not in keys:
            r.bad(f"unknown key {key!r}")


# -- profiles.toml -----------------------------------------------------------------------------

_ENV_KEYS = _keys("schema python platform context torch driver gpus toolchain packages mmcv findings")


def _profiles_file(problems: list[str], data: dict[str, Any]) -> dict[str, Profile]:
    f = "profiles.toml"
    profiles: dict[str, Profile] = {}
    for name, raw in data.items():
        if name in ("schema", "updated"):
            continue
        r = _Reader(
            problems,
            f,
            f"profile {name}",
            raw,
            _keys("description source confidence notes env"),
        )
        if not r.ok:
            continue
        env = dict(r.table("env", required=True))
        for key in env:
            if key not in _ENV_KEYS:
                r.bad(f"env: unknown key {key!r}")
        env.setdefault("schema", SCHEMA)
        for key, empty in (("torch", None), ("driver", None), ("gpus", []), ("toolchain", {})):
            env.setdefault(key, empty)
        env.setdefault("packages", {})
        if not isinstance(env.get("python"), dict) or "version" not in env["python"]:
            r.bad("env.python: needs {version = ...}")
        profiles[name] = Profile(
            name=name,
            description=r.text("description"),
            env=_freeze(env),
            source=r.source(),
            confidence=r.choice("confidence", CONFIDENCE, "high"),
            notes=r.texts("notes"),
        )
    return profiles


def _check_profile(problems: list[str], m: Matrix, p: Profile) -> None:
    """Cross-file checks: a profile must describe a machine the rest of the matrix knows."""
    where = f"profiles.toml: profile {p.name}"
    env = p.env
    python = env.get("python") or {}
    py_version = str(python.get("version", ""))
    if py_version and _version_or_none(py_version) is None:
        problems.append(f"{where}: env.python.version: bad version {py_version!r}")
    packages = env.get("packages") or {}
    for dist, version in packages.items():
        if _version_or_none(str(version)) is None:
            problems.append(f"{where}: env.packages.{dist}: bad version {version!r}")
    torch = env.get("torch")
    if torch:
        version = str(torch.get("version", ""))
        rel = m.torch_release(version)
        base = version.split("+")[0]
        if rel is None or base not in rel.patches:
            problems.append(f"{where}: env.torch.version {version!r} is not in torch.toml")
        else:
            cuda = torch.get("cuda")
            tag = "cu" + str(cuda).replace(".", "") if cuda else "cpu"
            build = rel.build(tag)
            if build is None:
                problems.append(f"{where}: env.torch: torch {rel.minor} has no {tag} build")
            elif "arch_list" in torch and tuple(torch["arch_list"]) != build.archs:
                problems.append(f"{where}: env.torch.arch_list differs from torch {rel.minor} {tag}")
            if py_version and not rel.supports_python(py_version):
                problems.append(f"{where}: torch {rel.minor} has no wheels for Python {py_version}")
            tv = packages.get("torchvision")
            if tv and str(tv).split("+")[0] != rel.torchvision_of(base):
                problems.append(f"{where}: torchvision {tv} does not pair with torch {base}")
        if packages.get("torch") not in (None, version):
            problems.append(f"{where}: env.packages.torch differs from env.torch.version")
    driver = env.get("driver")
    if driver:
        version = str(driver.get("version", ""))
        expect = m.driver_cuda_max(version)
        if expect is None:
            problems.append(f"{where}: env.driver.version: bad version {version!r}")
        elif driver.get("cuda_max") not in (None, expect):
            problems.append(f"{where}: env.driver.cuda_max {driver.get('cuda_max')} but {expect} is known")
        fc_cuda, fc_version = (
            driver.get("forward_compat_cuda"),
            driver.get("forward_compat_version"),
        )
        if fc_cuda and fc_version:
            floor = m.min_driver(str(fc_cuda))
            if floor is None or Version(floor) > Version(str(fc_version)):
                problems.append(f"{where}: forward-compat driver {fc_version} cannot run CUDA {fc_cuda}")
    for i, gpu in enumerate(env.get("gpus") or ()):
        cc = m.gpu_compute_capability(str(gpu.get("name", "")))
        if cc is None or gpu.get("compute_capability") not in (None, cc):
            problems.append(f"{where}: env.gpus[{i}] {gpu.get('name')!r}: compute capability {cc}")


# -- numpy.toml -------------------------------------------------------------------------------


def _numpy_file(problems: list[str], data: dict[str, Any]) -> dict[str, Any]:
    f = "numpy.toml"
    top = _Reader(problems, f, "(file)", data, _keys("schema updated abi numpy1 dist"))
    out = []
    for package, raw in top.table("abi").items():
        r = _Reader(problems, f, f"abi {package}", raw, _keys("numpy2_from symptom source"))
        if not r.ok:
            continue
        first = r.opt_text("numpy2_from")
        if first is not None:
            r.version("numpy2_from", first)
        out.append(NumpyAbi(canonicalize_name(package), first, r.text("symptom"), r.source()))
    n1 = _Reader(problems, f, "numpy1", top.table("numpy1", required=True), _keys("pins source"))
    pins = n1.texts("pins", required=True)
    _requirements(n1, "pins", pins)
    if n1.ok and not any(_requirement_of(p) == "numpy" for p in pins):
        n1.bad("pins: must pin numpy itself")
    n1.source()
    binaries: dict[str, BinaryDist] = {}
    for name, raw in top.table("dist").items():
        dist = _binary(problems, name, raw)
        if dist is not None:
            binaries[dist.name] = dist
    return {"abi": tuple(out), "numpy1": pins, "binaries": binaries}


def _requirements(r: _Reader, key: str, texts: tuple[str, ...]) -> None:
    for text in texts:
        if _requirement_of(text) is None:
            r.bad(f"{key}: bad requirement {text!r}")


def _requirement_of(text: str) -> str | None:
    """The canonical distribution name a PEP 508 string names, or None when it is not one."""
    try:
        return canonicalize_name(Pep508Requirement(text).name)
    except InvalidRequirement:
        return None


def _binary(problems: list[str], name: str, raw: Any) -> BinaryDist | None:
    f = "numpy.toml"
    r = _Reader(problems, f, f"dist {name}", raw, _keys("wheels sdist needed_by build source"))
    if not r.ok:
        return None
    if canonicalize_name(name) != name:
        r.bad("the table name must be the canonical PyPI name")
    wheels: dict[str, tuple[str, ...]] = {}
    listed = r.table("wheels", required=True)
    if r.ok and "wheels" in r.raw and not listed:
        r.bad("wheels: name at least the newest release")
    for version, tags in listed.items():
        r.version(f"wheels.{version}", version)
        if not isinstance(tags, list) or not all(isinstance(t, str) and _PYTAG.match(t) for t in tags):
            r.bad(f"wheels.{version}: expected a list of CPython tags ('cp311'), got {tags!r}")
            continue
        wheels[version] = tuple(tags)
    _check_duplicates(r, "release", list(wheels))
    needed_by: dict[str, str] = {}
    for toolkit, spec in r.table("needed_by").items():
        text = r.spec(f"needed_by.{toolkit}", str(spec))
        if text is not None:
            needed_by[str(toolkit)] = text
    build = None
    if "build" in r.raw:
        b = _Reader(
            problems,
            f,
            f"dist {name} build",
            r.raw["build"],
            _keys("needs isolation compiles python seconds fails source"),
        )
        needs = b.texts("needs", required=True)
        _requirements(b, "needs", needs)
        python = b.spec("python")
        fails = b.text("fails", required=False)
        if python is not None and not fails:
            b.bad("fails: say what happens outside python (where the sdist does not build)")
        if b.ok:
            build = SdistBuild(
                needs=needs,
                isolation=b.flag("isolation", required=True),
                compiles=b.flag("compiles", required=True),
                source=b.source(),
                python=python,
                seconds=b.integer("seconds", required=False) or 30,
                fails=fails,
            )
    sdist = r.flag("sdist", required=True)
    if build is not None and not sdist:
        r.bad("build: there is no sdist to build")
    return BinaryDist(
        name=name,
        wheels=_frozen(wheels),
        sdist=sdist,
        source=r.source(),
        needed_by=_frozen(needed_by),
        build=build,
    )


# -- the whole matrix --------------------------------------------------------------------------

_Parser = Callable[[list[str], dict[str, Any]], Any]
_PARSERS: dict[str, _Parser] = {
    "mmcv.toml": _mmcv_file,
    "toolkits.toml": _toolkits_file,
    "mmengine.toml": _mmengine_file,
    "torch.toml": _torch_file,
    "nvidia.toml": _nvidia_file,
    "profiles.toml": _profiles_file,
    "numpy.toml": _numpy_file,
}


def _parse_toml(problems: list[str], path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(f"{path.name}: (file): cannot read: {exc.strerror or exc}")
        return None
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path.name}: {_table_at(text, str(exc))}: {exc}")
        return None
    return data


def _table_at(text: str, message: str) -> str:
    """The [table] header above the line a TOML error names: the record a duplicate key is in."""
    m = re.search(r"line (\d+)", message)
    if not m:
        return "(file)"
    lines = text.splitlines()[: int(m.group(1))]
    for line in reversed(lines):
        h = re.match(r"^\s*\[\[?([^\]]+)\]\]?", line)
        if h:
            return h.group(1).strip()
    return "(file)"


def _build(root: Path) -> Matrix:
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    for name in FILES:
        data = _parse_toml(problems, root / name)
        if data is None:
            continue
        _header(name, problems, data)
        parsed[name] = read_builds(problems, data, root) if name == FILE_BUILDS else _PARSERS[name](problems, data)
    if len(parsed) < len(FILES):  # cross-file checks need every file
        raise MatrixError(problems)
    mmcv, tk, me = parsed["mmcv.toml"], parsed["toolkits.toml"], parsed["mmengine.toml"]
    tr, nv = parsed["torch.toml"], parsed["nvidia.toml"]
    matrix = Matrix(
        mmcv=_frozen(mmcv["mmcv"]),
        mmcv_full=_frozen(mmcv["mmcv-full"]),
        mmcv_lite=mmcv["lite"],
        toolkits=_frozen(tk["toolkits"]),
        mmengine=_frozen(me["mmengine"]),
        mmengine_facts=_frozen(me["facts"]),
        torch=_frozen(tr["torch"]),
        torch_index=tr["url"],
        driver_floors=nv["floors"],
        minor_compat=nv["compat"],
        driver_branches=nv["branches"],
        gpus=nv["gpus"],
        forward_compat_gpus=nv["forward"],
        profiles=_frozen(parsed["profiles.toml"]),
        aliases=_frozen(tk["aliases"]),
        import_names=_frozen(tk["import_names"]),
        mmcv_build=mmcv["build"],
        wheel_index=mmcv["url"],
        mim_wheel_index=mmcv["mim_url"],
        numpy_abi=parsed["numpy.toml"]["abi"],
        numpy1_pins=parsed["numpy.toml"]["numpy1"],
        binaries=_frozen(parsed["numpy.toml"]["binaries"]),
        nvcc_archs=nv["nvcc_archs"],
        builds=parsed[FILE_BUILDS],
        root=root,
    )
    for rel in list(matrix.mmcv.values()) + list(matrix.mmcv_full.values()):
        limit = rel.max_torch_for_source_build
        if limit is not None and limit not in matrix.torch:
            problems.append(f"mmcv.toml: {rel.name} {rel.version}: torch {limit} is not in torch.toml")
    for d in matrix.mmcv_build.durations:
        if matrix.mmcv_release(d.mmcv) is None or matrix.torch_release(d.torch) is None:
            problems.append(f"mmcv.toml: build.durations {d.mmcv}/{d.torch}: unknown mmcv or torch")
    for profile in matrix.profiles.values():
        _check_profile(problems, matrix, profile)
    for dist in matrix.binaries.values():
        for toolkit in dist.needed_by:
            if toolkit not in matrix.toolkits:
                problems.append(f"numpy.toml: dist {dist.name}: needed_by.{toolkit}: not a toolkit in toolkits.toml")
    for rec in matrix.builds.sdists:
        if rec.dist not in (*matrix.toolkits, *matrix.binaries, "mmcv", "mmcv-full", "mmengine"):
            problems.append(f"builds.toml: sdists {rec.dist}: not a distribution the other files know")
    if problems:
        raise MatrixError(problems)
    return matrix


@functools.lru_cache(maxsize=8)
def _load(root: Path) -> Matrix:
    return _build(root)


def matrix_root() -> Path:
    """Where matrices/ is: inside the installed package, else at the source checkout's root."""
    package = Path(__file__).resolve().parent.parent  # envcheck/
    for candidate in (package / "matrices", package.parent / "matrices"):
        if candidate.is_dir():
            return candidate
    raise MatrixError([f"matrices/: not found in {package} or {package.parent}"])


def load_matrix(root: Path | None = None) -> Matrix:
    """Parse and validate matrices/ (cached per directory); MatrixError lists every problem."""
    return _load((Path(root) if root is not None else matrix_root()).resolve())


def clear_cache() -> None:
    """Forget loaded matrices (benchmarks, tests that edit files)."""
    _load.cache_clear()
    _version_or_none.cache_clear()


def iter_toolkit_releases(matrix: Matrix) -> Iterator[ToolkitRelease]:
    for releases in matrix.toolkits.values():
        yield from releases.values()
