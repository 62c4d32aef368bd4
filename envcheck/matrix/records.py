"""Matrix records: the typed, frozen facts of matrices/*.toml, and the lookups over them.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, TypeVar

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from envcheck.matrix.builds import Builds

T = TypeVar("T")

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
    r"|envcheck:\S+"  # a fact measured or kept by this project (shared/reference, examples)
    r"|measured here \d{4}-\d{2}-\d{2}: \S.*)"  # measured on this project's machines, not yet in shared/reference
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
class NvccArch:
    """The CUDA toolkits whose nvcc can compile for one GPU architecture (cubin sm_XY, PTX compute_XY).

    Outside [first, last] nvcc stops at `nvcc fatal : Unsupported gpu architecture 'compute_XY'`.
    Versions are CUDA major.minor: every update of that minor counts.
    """

    compute_capability: str  # "12.0"
    first: str  # "12.8": the first toolkit whose nvcc knows sm_120
    last: str | None  # "12.9": the last one that still does; None = every later toolkit so far
    source: str

    @property
    def sm(self) -> str:
        return "sm_" + self.compute_capability.replace(".", "")

    def compiles_with(self, nvcc: str) -> bool | None:
        """Whether nvcc `nvcc` ("12.4", "12.4.131") compiles for this arch; None when unparsable."""
        have = _cuda_minor(nvcc)
        if have is None:
            return None
        first = _cuda_minor(self.first) or (0, 0)
        last = _cuda_minor(self.last) if self.last else None
        return first <= have and (last is None or have <= last)


def _cuda_minor(text: str | None) -> tuple[int, int] | None:
    """ "12.4.131", "12.4", "V12.4.131" -> (12, 4); None for garbage."""
    m = _MINOR.match((text or "").strip().lstrip("vV"))
    return (int(m.group(1)), int(m.group(2))) if m else None


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

    def numpy1_build(self, version: str) -> bool:
        """Whether the wheel of release `version` is a NumPy-1 build."""
        return self.numpy2_from is None or _v(version) < _v(self.numpy2_from)

    def forces_numpy1(self, spec: SpecifierSet) -> bool:
        """Whether a requirement admits only releases below `numpy2_from` (onnxruntime==1.8.1, <1.16)."""
        if self.numpy2_from is None:
            return True
        first = _v(self.numpy2_from)
        for s in spec:
            v = _version_or_none(s.version.replace(".*", ""))
            if v is None:
                continue
            if (s.operator in ("==", "===", "<=", "~=") and v < first) or (s.operator == "<" and v <= first):
                return True
        return False


@dataclass(frozen=True)
class SdistBuild:
    """How a dependency's sdist builds where no wheel fits the interpreter (measured), and where not."""

    needs: tuple[str, ...]  # installed first: its setup.py imports them without declaring them
    isolation: bool  # False: it builds only with pip's --no-build-isolation
    compiles: bool  # it builds extension modules (a compiler; --no-build forbids it); False: pure Python
    source: str
    python: str | None = None  # SpecifierSet text: the Pythons it builds on (None: every one tried)
    seconds: int = 30
    fails: str = ""  # what happens outside `python`

    def builds_on(self, python: str) -> bool:
        return self.python is None or SpecifierSet(self.python).contains(python, prereleases=True)


@dataclass(frozen=True)
class BinaryDist:
    """A compiled (or sdist-only) dependency: the CPython tags of each release's wheels, and its sdist.

    `wheels` names the newest release of each line a plan may resolve to: pip takes the newest
    version a requirement admits and builds its sdist where no wheel fits; without an sdist it
    falls back to an older release that has a wheel.
    """

    name: str
    wheels: Mapping[str, tuple[str, ...]]  # release -> CPython tags ("cp311") with a wheel, any platform
    sdist: bool
    source: str
    needed_by: Mapping[str, str] = field(default_factory=dict)  # toolkit -> its releases (PEP 440) needing it
    build: SdistBuild | None = None

    def releases(self, spec: SpecifierSet) -> list[str]:
        """The recorded releases `spec` admits, newest first."""
        found = [v for v in self.wheels if spec.contains(v, prereleases=True)]
        return sorted(found, key=_v, reverse=True)

    def has_wheel(self, version: str, tag: str) -> bool:
        return tag in self.wheels.get(version, ())

    def needed_by_release(self, toolkit: str, version: str) -> bool:
        spec = self.needed_by.get(toolkit)
        return spec is not None and SpecifierSet(spec).contains(version, prereleases=True)


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
    numpy1_pins: tuple[str, ...] = ()  # what a stack with a NumPy-1 binary pins: numpy<2, an OpenCV for it
    binaries: Mapping[str, BinaryDist] = field(default_factory=dict)  # compiled dependencies, by name
    nvcc_archs: tuple[NvccArch, ...] = ()  # which CUDA toolkits compile for which compute capability
    builds: Builds = field(default_factory=Builds)  # sdists known not to build where, and their patches
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

    def nvcc_arch(self, compute_capability: str) -> NvccArch | None:
        """The nvcc support range of one compute capability ("12.0"); None when not in the data."""
        return self._nvcc_archs.get(compute_capability.strip())

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

    def abi(self, package: str) -> NumpyAbi | None:
        """The NumPy-ABI record of a distribution, if its wheels are (or were) NumPy-1 builds."""
        name = canonicalize_name(package)
        return next((a for a in self.numpy_abi if a.package == name), None)

    @functools.cached_property
    def _nvcc_archs(self) -> Mapping[str, NvccArch]:
        return {a.compute_capability: a for a in self.nvcc_archs}

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
