"""The compatibility matrix: matrices/*.toml parsed, validated as a whole, and typed.

Every fact is a frozen record with its `source`. `load_matrix()` collects every problem in every
file before it raises one `MatrixError`, so a broken edit shows all its consequences at once.
Version comparisons in import guards use raw `packaging.version.Version` ordering, which is what
mmengine's `digit_version` does: `2.2.0rc1 < 2.2.0`, so a guard `<2.2.0` ADMITS 2.2.0rc1 (a PEP 440
specifier would not).
"""

from __future__ import annotations

import functools
import operator
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, TypeVar

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as Pep508Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcheck.errors import MatrixError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

T = TypeVar("T")

SCHEMA = 1
FILES = (
    "mmcv.toml",
    "toolkits.toml",
    "mmengine.toml",
    "torch.toml",
    "nvidia.toml",
    "profiles.toml",
    "numpy.toml",
)
PLATFORMS = ("linux", "windows", "macos")
CONFIDENCE = ("high", "medium", "low", "doubtful")
# The packages an import guard may name: mmdet3d guards mmseg by its import name.
GUARDED = ("mmcv", "mmengine", "mmdet", "mmseg")

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_GUARD = re.compile(r"^(str)?(>=|<=|==|!=|>|<)\s*(\S+)$")
_SOURCE = re.compile(
    r"^(?:https?://\S+"  # a URL
    r"|[\w.-]+/[\w.-]+@[\w./+-]+:\S+"  # owner/repo@ref:path
    r"|PyPI [\w.-]+==\S+"  # PyPI name==version wheel:path
    r"|envcheck:\S+)"  # a fact measured or kept by this project (shared/reference, examples)
)
_DATE = re.compile(r"^\d{4}-\d{2}(?:-\d{2})?$")
_MINOR = re.compile(r"^(\d+)\.(\d+)")
_CUDA_TAG = re.compile(r"^cu(\d+)(\d)$")
_TAG = re.compile(r"^(?:cpu|cu\d{2,3})$")
_ARCH = re.compile(r"^(?:sm|compute)_(\d+)([a-z]?)$")
_PYTAG = re.compile(r"^cp3\d{1,2}$")
_CC = re.compile(r"^\d+\.\d+$")

Platform = str  # "linux" | "windows" | "macos"


def _keys(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _frozen(mapping: Mapping[str, T]) -> Mapping[str, T]:
    return MappingProxyType(dict(mapping))


def torch_minor(version: str) -> str | None:
    """ "2.1.2+cu121", "2.1.0", "2.1" -> "2.1"; None when it does not start with X.Y."""
    m = _MINOR.match(version.strip().lstrip("v"))
    return f"{int(m.group(1))}.{int(m.group(2))}" if m else None


def cuda_version(text: str) -> str | None:
    """ "12.1", "12.1.105", "cu121" -> "12.1"; None for cpu or garbage."""
    text = text.strip().lower()
    m = _CUDA_TAG.match(text)
    if m:
        return f"{int(m.group(1))}.{m.group(2)}"
    return torch_minor(text)


def _python_tag(python: str) -> str:
    """ "3.11", "3.11.4", "cp311" -> "cp311"."""
    python = python.strip().lower()
    if python.startswith("cp"):
        return python
    minor = torch_minor(python)
    return "cp" + minor.replace(".", "") if minor else python


def _split_sources(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


# --------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Guard:
    """One comparison an import-time guard makes: `mmcv.__version__ < '2.2.0'`."""

    op: str  # >=, >, <=, <, ==, != ; a "str" prefix compares the raw strings (mmocr 1.0.0rc6)
    version: str
    _parsed: Version | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base = self.op[3:] if self.op.startswith("str") else self.op
        if base not in _COMPARE:
            raise ValueError(f"unknown guard operator {self.op!r}")
        if not self.op.startswith("str"):
            parsed = _version_or_none(self.version)
            if parsed is None:
                raise InvalidVersion(f"invalid version: {self.version!r}")
            object.__setattr__(self, "_parsed", parsed)

    @property
    def string_compare(self) -> bool:
        return self.op.startswith("str")

    def allows(self, v: Version | str) -> bool:
        """Whether this comparison passes for installed version `v` (digit_version semantics)."""
        if self._parsed is None:
            return _COMPARE[self.op[3:]](str(v), self.version)
        ver = v if isinstance(v, Version) else Version(v)
        if ver.local is not None:  # digit_version ignores local labels: 2.1.0+cu121 == 2.1.0
            ver = Version(ver.public)
        return _COMPARE[self.op](ver, self._parsed)

    def __str__(self) -> str:
        return f"{self.op}{self.version}"


@dataclass(frozen=True)
class Requirement:
    """All the guards one toolkit release puts on one dependency."""

    dep: str
    guards: tuple[Guard, ...]
    inclusive_max: bool  # the upper bound is checked with <= (mmpose 1.x accepts mmcv==2.3.0)
    pep440: str | None = None  # resolver-safe equivalent where the guards are not PEP 440

    def allows(self, version: str | Version) -> bool:
        return all(g.allows(version) for g in self.guards)

    @property
    def specifier(self) -> SpecifierSet:
        """A PEP 440 specifier for resolvers. It may exclude pre-releases the guards admit."""
        if self.pep440 is not None:
            return SpecifierSet(self.pep440)
        return SpecifierSet(",".join(str(g) for g in self.guards if not g.string_compare))

    def __str__(self) -> str:
        return ",".join(str(g) for g in self.guards)


@dataclass(frozen=True)
class ToolkitRelease:
    name: str  # canonical PyPI name: mmsegmentation
    import_name: str  # mmseg
    version: str
    released: str
    requires: Mapping[str, Requirement]  # by guarded package: mmcv, mmengine, mmdet, mmseg
    python: str | None  # python_requires (SpecifierSet text) when declared
    needs_ops: bool  # <pkg>.apis / <pkg>.models import compiled mmcv ops
    extra_runtime: tuple[str, ...]  # PEP 508 strings needed but not declared
    needs_torchvision: bool
    notes: tuple[str, ...]
    source: str
    classifiers: tuple[str, ...] = ()
    needs_ops_at_import: bool = False  # plain `import <pkg>` already needs the ops (mmdet3d)
    needs_mmdet: bool = False  # <pkg>.apis / <pkg>.models import mmdet
    mim_configs: bool = True  # the wheel ships <pkg>/.mim/configs

    def requirement(self, dep: str) -> Requirement | None:
        return self.requires.get(dep)

    def allows(self, dep: str, version: str | Version) -> bool:
        """Whether `import <pkg>` passes its guard on `dep` at `version` (True when unguarded)."""
        req = self.requires.get(dep)
        return req is None or req.allows(version)

    def allows_python(self, python: str) -> bool | None:
        """Declared python_requires verdict; None when the release declares none."""
        if self.python is None:
            return None
        return SpecifierSet(self.python).contains(python, prereleases=True)


@dataclass(frozen=True)
class MmcvRelease:
    name: str  # "mmcv" (2.x, with ops) | "mmcv-full" (1.x)
    version: str
    released: str
    python_tags: tuple[str, ...]  # union over platforms; () = unknown
    wheels: Mapping[Platform, Mapping[str, tuple[str, ...]]]  # platform -> torch minor -> tags
    confidence: Mapping[str, str]  # torch minor -> doubtful | low; missing = high
    max_torch_for_source_build: str | None  # "2.0" for versions that force C++14
    source: str
    python_by_platform: Mapping[Platform, tuple[str, ...]] = field(default_factory=dict)
    python_confidence: str = ""
    cxx: str = "c++17"
    notes: tuple[str, ...] = ()

    def python_tags_for(self, platform: str) -> tuple[str, ...]:
        return self.python_by_platform.get(_platform(platform), self.python_tags)

    def wheel_tags(self, platform: str, torch_minor_: str) -> tuple[str, ...]:
        """CUDA tags with a prebuilt wheel for (platform, torch X.Y); accepts "2.1.2+cu121"."""
        minor = torch_minor(torch_minor_) or torch_minor_
        return self.wheels.get(_platform(platform), {}).get(minor, ())

    def has_wheel(self, platform: str, torch_minor_: str, cuda_tag: str, python_tag: str | None = None) -> bool:
        if cuda_tag not in self.wheel_tags(platform, torch_minor_):
            return False
        if python_tag is None:
            return True
        tags = self.python_tags_for(platform)
        return not tags or _python_tag(python_tag) in tags  # unknown python list: don't rule out

    def wheel_confidence(self, torch_minor_: str) -> str:
        minor = torch_minor(torch_minor_) or torch_minor_
        return self.confidence.get(minor, "high")

    def torch_minors(self, platform: str) -> tuple[str, ...]:
        """The torch minors with any wheel on `platform`, newest first."""
        rows = self.wheels.get(_platform(platform), {})
        return tuple(sorted(rows, key=Version, reverse=True))

    def can_build_against(self, torch_version: str) -> bool:
        """False when setup.py's C++ standard is too old for that torch's headers."""
        if self.max_torch_for_source_build is None:
            return True
        minor = torch_minor(torch_version)
        return minor is not None and Version(minor) <= Version(self.max_torch_for_source_build)


@dataclass(frozen=True)
class MmengineRelease:
    version: str
    released: str
    weights_only_safe: bool  # load_checkpoint works with torch >= 2.6 (weights_only default)
    pkg_resources_at_runtime: bool  # needs setuptools < 82 at run time
    source: str
    python: str | None = None
    lite: bool = False
    torch_tested: str | None = None
    classifiers: tuple[str, ...] = ()


@dataclass(frozen=True)
class TorchBuild:
    tag: str  # cpu | cu121
    index_url: str
    archs: tuple[str, ...]  # as torch.cuda.get_arch_list(): sm_75 ..., compute_120 = PTX
    pypi_default: bool  # the wheel PyPI serves on Linux x86_64
    source: str

    @property
    def cuda(self) -> str | None:
        return cuda_version(self.tag) if self.tag != "cpu" else None

    def supports_cc(self, compute_capability: str) -> bool:
        """Whether a GPU of this compute capability gets kernels from this build.

        A cubin for sm_XY runs on X.Z with Z >= Y (same major); PTX for XY is JIT-compiled for any
        newer GPU. Arch-specific targets (sm_90a) run on exactly that arch only.
        """
        m = _CC.match(compute_capability.strip())
        if not m:
            return False
        major, minor = (int(x) for x in compute_capability.strip().split("."))
        want = major * 10 + minor
        for arch in self.archs:
            a = _ARCH.match(arch)
            if not a:
                continue
            num, suffix = int(a.group(1)), a.group(2)
            a_major, a_minor = divmod(num, 10)
            if arch.startswith("compute_"):
                if num <= want:
                    return True
            elif suffix:
                if num == want:
                    return True
            elif a_major == major and a_minor <= minor:
                return True
        return False


@dataclass(frozen=True)
class TorchRelease:
    version: str  # newest patch of the minor: 2.1.2
    minor: str
    released: str
    python: tuple[str, ...]  # CPython minors with wheels: "3.8", ...
    builds: Mapping[str, TorchBuild]  # by tag
    torchvision: str  # matching torchvision of `version`
    numpy2: bool
    source: str
    patches: tuple[str, ...] = ()
    torchvision_for: Mapping[str, str] = field(default_factory=dict)  # torch patch -> torchvision
    cxx_std: str = "c++17"  # what extension code must compile with against these headers
    release_cxx: str | None = None  # RELEASE.md's column when it differs
    confidence: str = "high"
    notes: tuple[str, ...] = ()

    @property
    def pypi_default(self) -> str | None:
        return next((t for t, b in self.builds.items() if b.pypi_default), None)

    def build(self, tag: str) -> TorchBuild | None:
        return self.builds.get(tag)

    def supports_python(self, python: str) -> bool:
        minor = torch_minor(python)
        return minor in self.python

    def torchvision_of(self, torch_version: str) -> str | None:
        """The torchvision release paired with a torch patch ("2.1.2+cu121" -> "0.16.2")."""
        return self.torchvision_for.get(torch_version.split("+")[0])


@dataclass(frozen=True)
class DriverFloor:
    cuda: str  # "12.1" (toolkit driver) or "12" (minor-version compatibility floor)
    linux: str
    windows: str | None
    source: str


@dataclass(frozen=True)
class DriverBranch:
    branch: int  # 550
    cuda: str  # what drivers of that branch report: 12.4
    source: str


@dataclass(frozen=True)
class GpuModel:
    match: str  # matched as whole words, case-insensitive, against the device name
    compute_capability: str
    source: str


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    env: Mapping[str, Any]  # `envcheck inspect --json` shape, deeply read-only
    source: str
    confidence: str = "high"
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """A fresh, mutable, JSON-serialisable copy of `env`."""
        thawed = _thaw(self.env)
        assert isinstance(thawed, dict)
        return thawed


@dataclass(frozen=True)
class BuildDuration:
    mmcv: str
    torch: str
    cuda: bool  # CUDA ops compiled (False: CPU ops only)
    cores: int
    seconds: int
    source: str
    peak_rss_mib: int | None = None


@dataclass(frozen=True)
class MmcvBuild:
    """What compiling mmcv from source needs, and how long it took."""

    preinstall: tuple[str, ...]  # PEP 508 strings for the target env before the build
    pip_args: tuple[str, ...]
    env: Mapping[str, str]  # always set
    setuptools_max_exclusive: str
    gcc_min: str
    nvcc_min: str
    durations: tuple[BuildDuration, ...]
    notes: tuple[str, ...]
    source: str
    env_conditional: Mapping[str, str] = field(default_factory=dict)  # name -> when and what


@dataclass(frozen=True)
class NumpyAbi:
    """A compiled package whose wheels before `numpy2_from` (or all, when None) need NumPy 1."""

    package: str
    numpy2_from: str | None
    symptom: str
    source: str


@dataclass(frozen=True)
class Matrix:
    """Everything envcheck knows about OpenMMLab compatibility; pure data plus lookups.

    mmcv is split by distribution: `mmcv` holds the 2.x package with ops (keyed by version),
    `mmcv_full` the 1.x one; `mmcv_release()` looks in both.
    """

    mmcv: Mapping[str, MmcvRelease]
    toolkits: Mapping[str, Mapping[str, ToolkitRelease]]  # PyPI name -> version -> release
    mmengine: Mapping[str, MmengineRelease]
    torch: Mapping[str, TorchRelease]  # by minor
    driver_floors: tuple[DriverFloor, ...]
    gpus: tuple[GpuModel, ...]
    profiles: Mapping[str, Profile]
    aliases: Mapping[str, str]
    mmcv_build: MmcvBuild
    wheel_index: str  # {cuda_tag} {major} {minor}
    mmcv_full: Mapping[str, MmcvRelease] = field(default_factory=dict)
    mmcv_lite: tuple[str, ...] = ()
    mim_wheel_index: str = ""
    torch_index: str = ""  # {tag}
    minor_compat: tuple[DriverFloor, ...] = ()  # cuda = major
    driver_branches: tuple[DriverBranch, ...] = ()
    forward_compat_gpus: tuple[str, ...] = ()
    mmengine_facts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    import_names: Mapping[str, str] = field(default_factory=dict)  # import name -> PyPI name
    numpy_abi: tuple[NumpyAbi, ...] = ()
    root: Path | None = None

    # -- lookups --------------------------------------------------------------------------

    def toolkit_name(self, user_text: str) -> str | None:
        """The PyPI name for what a user typed: mmdet, MMSeg, mmdetection, mmaction -> ..."""
        name = canonicalize_name(user_text.strip())
        if name in self.toolkits:
            return name
        if name in self.aliases:
            return self.aliases[name]
        return self.import_names.get(name)

    def toolkit(self, name: str, version: str) -> ToolkitRelease | None:
        dist = self.toolkit_name(name)
        rels = self.toolkits.get(dist) if dist else None
        if not rels:
            return None
        if version in rels:
            return rels[version]
        want = _version_or_none(version)
        return next((r for v, r in rels.items() if want and _version_or_none(v) == want), None)

    def mmcv_release(self, version: str) -> MmcvRelease | None:
        return self.mmcv.get(version) or self.mmcv_full.get(version)

    def torch_release(self, version: str) -> TorchRelease | None:
        minor = torch_minor(version)
        return self.torch.get(minor) if minor else None

    def driver_cuda_max(self, driver_version: str) -> str | None:
        """Newest CUDA the driver runs natively (what nvidia-smi reports); None if unparsable.

        The highest CUDA whose Linux toolkit floor is <= the driver, lifted by the driver's branch
        (a 535.43 beta reports 12.2 although the 12.2 floor is 535.54.03).
        """
        driver = _version_or_none(driver_version.strip())
        if driver is None:
            return None
        found = [f.cuda for f in self.driver_floors if _v(f.linux) <= driver]
        found += [b.cuda for b in self.driver_branches if b.branch <= driver.release[0]]
        return max(found, key=_v) if found else None

    def min_driver(self, cuda: str, platform: str = "linux", minor_compat: bool = False) -> str | None:
        """The oldest driver for CUDA `cuda` ("12.1", "12.1.105" or "cu121") on linux|windows.

        minor_compat=True gives the floor under minor-version compatibility (any 12.x on >= 525),
        which is what pip torch wheels usually get away with; PTX JIT may still fail there.
        """
        version = cuda_version(cuda)
        plat = _platform(platform)
        if version is None or plat not in ("linux", "windows"):
            return None
        if minor_compat:
            major = version.split(".")[0]
            rows = [f for f in self.minor_compat if f.cuda == major]
        else:
            rows = [f for f in self.driver_floors if f.cuda == version]
        if not rows:
            return None
        return rows[0].linux if plat == "linux" else rows[0].windows

    def gpu_compute_capability(self, name: str) -> str | None:
        hay = f" {_words(name)} "
        for needle, cc in self._gpu_patterns:
            if needle in hay:
                return cc
        return None

    def supports_forward_compat(self, gpu_name: str) -> bool:
        hay = f" {_words(gpu_name)} "
        return any(f" {_words(g)} " in hay for g in self.forward_compat_gpus)

    def wheel_index_url(self, cuda_tag: str, torch_version: str, mim: bool = False) -> str:
        """The find-links page for (cuda tag, torch X.Y); mim spells the directory X.Y.0."""
        minor = torch_minor(torch_version) or torch_version
        major, minor_ = minor.split(".")[:2]
        template = self.mim_wheel_index if mim and self.mim_wheel_index else self.wheel_index
        return template.format(cuda_tag=cuda_tag, major=major, minor=minor_)

    def torch_index_url(self, tag: str) -> str:
        return self.torch_index.format(tag=tag)

    @functools.cached_property
    def _gpu_patterns(self) -> tuple[tuple[str, str], ...]:
        pats = sorted(
            ((f" {_words(g.match)} ", g.compute_capability) for g in self.gpus),
            key=lambda p: -len(p[0]),
        )
        return tuple(pats)


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def _platform(platform: str) -> str:
    p = platform.strip().lower()
    return {"darwin": "macos", "win32": "windows", "mac": "macos"}.get(p, p)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


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
                self.bad(f"{key}: {part!r} is not owner/repo@ref:path, a URL, PyPI or envcheck:")
        return text


@functools.lru_cache(maxsize=4096)
def _version_or_none(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _v(text: str) -> Version:
    """A version known to be valid (checked at load); parsed once per process."""
    parsed = _version_or_none(text)
    return parsed if parsed is not None else Version("0")


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
    whole = _Reader(
        problems,
        f,
        "(file)",
        data,
        _keys("schema updated toolkit_drivers minor_compat branches forward_compat gpus"),
    )
    _check_duplicates(whole, "toolkit_drivers cuda", [x.cuda for x in floors])
    _check_duplicates(whole, "minor_compat cuda_major", [x.cuda for x in compat])
    _check_duplicates(whole, "branch", [str(b.branch) for b in branches])
    _check_duplicates(whole, "gpu match", [_words(g.match) for g in gpus])
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
    }


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


def _numpy_file(problems: list[str], data: dict[str, Any]) -> tuple[NumpyAbi, ...]:
    f = "numpy.toml"
    _Reader(problems, f, "(file)", data, _keys("schema updated abi"))
    out = []
    table = data.get("abi", {})
    for package, raw in table.items() if isinstance(table, dict) else ():
        r = _Reader(problems, f, f"abi {package}", raw, _keys("numpy2_from symptom source"))
        if not r.ok:
            continue
        first = r.opt_text("numpy2_from")
        if first is not None:
            r.version("numpy2_from", first)
        out.append(NumpyAbi(canonicalize_name(package), first, r.text("symptom"), r.source()))
    return tuple(out)


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
        parsed[name] = _PARSERS[name](problems, data)
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
        numpy_abi=parsed["numpy.toml"],
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
    if problems:
        raise MatrixError(problems)
    return matrix


@functools.lru_cache(maxsize=8)
def _load(root: Path) -> Matrix:
    return _build(root)


def matrix_root() -> Path:
    """Where matrices/ is: inside the installed package, else at the source checkout's root."""
    package = Path(__file__).resolve().parent
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
