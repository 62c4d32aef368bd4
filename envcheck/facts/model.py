"""Facts about a machine and one Python interpreter: frozen values, "not found" included."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, TypeVar, Union

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

T = TypeVar("T")


@dataclass(frozen=True)
class Missing:
    """A fact that could not be established, with why and where we looked.

    Falsy, so `if env.torch:` reads naturally; the reason is still there to report.
    """

    reason: str
    source: str = ""

    def __bool__(self) -> Literal[False]:  # lets type checkers narrow `if fact:` to the fact
        return False


Maybe = Union[T, Missing]


def parse_version(text: str | None) -> Version | None:
    """A PEP 440 version, or None for absent or unparsable text (never raises)."""
    if not text:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def version_tuple(text: str | None) -> tuple[int, ...]:
    """550.54.15 -> (550, 54, 15); 12.4 -> (12, 4); junk -> ()."""
    out = []
    for part in (text or "").split("."):
        if not part.isdigit():
            break
        out.append(int(part))
    return tuple(out)


@dataclass(frozen=True)
class PythonInfo:
    version: str
    implementation: str = "CPython"
    executable: str = ""
    prefix: str = ""
    virtualenv: str | None = None  # the venv's prefix when running inside one
    conda: str | None = None  # the conda environment's prefix
    tag: str = ""  # interpreter tag as in wheel names: cp311

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


@dataclass(frozen=True)
class PlatformInfo:
    system: str  # Linux | Windows | Darwin
    machine: str  # x86_64 | aarch64 | arm64 | AMD64
    release: str = ""
    distro: str = ""
    glibc: str | None = None
    cpus: int | None = None  # usable cores: sets MAX_JOBS and the source-build estimate

    @property
    def key(self) -> str:
        """The platform name matrices/ uses: linux, windows or macos."""
        return {"Linux": "linux", "Windows": "windows", "Darwin": "macos"}.get(self.system, self.system.lower())


@dataclass(frozen=True)
class Dist:
    """One installed distribution (a *.dist-info or *.egg-info found on sys.path)."""

    name: str  # canonical: lowercase, dashes
    version: str
    location: str = ""  # the sys.path entry that holds it
    editable: bool = False
    installer: str = ""  # pip, uv, conda ... from INSTALLER


@dataclass(frozen=True)
class Torch:
    version: str  # as torch.__version__ spells it: 2.1.2+cu121
    cuda: str | None = None  # torch.version.cuda: "12.1"
    hip: str | None = None
    cudnn: str | None = None  # as torch.backends.cudnn.version(): "90100"
    arch_list: tuple[str, ...] | None = None  # ("sm_75", "sm_80", ...)
    arch_list_source: str = ""
    cxx11_abi: bool | None = None
    debug: bool = False
    location: str = ""

    @property
    def base_version(self) -> str:
        return self.version.split("+")[0]

    @property
    def minor(self) -> str:
        """torch's major.minor: the unit prebuilt mmcv wheels are keyed by."""
        v = parse_version(self.base_version)
        return f"{v.major}.{v.minor}" if v else ".".join(self.base_version.split(".")[:2])

    @property
    def cpu_only(self) -> bool:
        return self.cuda is None and self.hip is None

    @property
    def cuda_tag(self) -> str:
        """The build tag pip and the wheel indexes use: cu121, cpu, rocm6.2."""
        if self.cuda:
            return "cu" + self.cuda.replace(".", "")
        if self.hip:
            return "rocm" + ".".join(self.hip.split(".")[:2])
        return "cpu"


@dataclass(frozen=True)
class Driver:
    version: str  # 550.54.15
    cuda_max: str | None = None  # the newest CUDA this driver runs natively: "12.4"
    source: str = ""
    # Colab-style forward compatibility: a newer user-mode libcuda from cuda-compat on the
    # loader path lifts cuda_max above what the kernel driver alone allows.
    forward_compat: str | None = None  # path of that libcuda
    forward_compat_version: str | None = None  # its driver version: 570.124.06
    forward_compat_cuda: str | None = None

    @property
    def effective_cuda_max(self) -> str | None:
        return self.forward_compat_cuda or self.cuda_max


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    compute_capability: str | None = None  # "7.5"
    memory_mib: int | None = None
    uuid: str | None = None
    mig: bool = False
    source: str = ""

    @property
    def sm(self) -> str | None:
        """compute capability as an arch name: 7.5 -> sm_75."""
        if not self.compute_capability:
            return None
        return "sm_" + self.compute_capability.replace(".", "")


@dataclass(frozen=True)
class Tool:
    """A program found on the machine, with its version as it reports it."""

    path: str
    version: str
    source: str = ""


@dataclass(frozen=True)
class CudaHome:
    path: str
    variable: str  # CUDA_HOME | CUDA_PATH | default:/usr/local/cuda
    exists: bool
    has_nvcc: bool
    version: str | None = None  # from version.json / version.txt in that tree


@dataclass(frozen=True)
class Toolchain:
    nvcc: Maybe[Tool] = Missing("not probed")
    cuda_home: Maybe[CudaHome] = Missing("not probed")
    gcc: Maybe[Tool] = Missing("not probed")
    gxx: Maybe[Tool] = Missing("not probed")
    msvc: Maybe[Tool] = Missing("not probed")


@dataclass(frozen=True)
class Mmcv:
    version: str
    dist: str  # mmcv | mmcv-full | mmcv-lite
    ops: bool  # compiled ops (mmcv/_ext*) present
    ops_path: str | None = None
    # The CUDA the ops were compiled with: "12.1"; "cpu" when built without CUDA;
    # None when it cannot be told without importing torch.
    ops_cuda: str | None = None
    ops_cuda_source: str = ""
    location: str = ""

    @property
    def flavour(self) -> str:
        """full (mmcv 2.x with ops), lite (no ops) or full-1x (mmcv-full 1.x)."""
        if self.dist == "mmcv-full":
            return "full-1x"
        if self.dist == "mmcv-lite" or not self.ops:
            return "lite"
        return "full"


@dataclass(frozen=True)
class DeepTorch:
    """What an imported torch reports about CUDA (only with --deep)."""

    cuda_available: bool
    device_count: int = 0
    devices: tuple[Gpu, ...] = ()
    arch_list: tuple[str, ...] = ()
    cudnn: str | None = None
    error: str | None = None
    mmcv_ops_cuda: str | None = None  # mmcv.ops.get_compiling_cuda_version()
    mmcv_ops_error: str | None = None  # why `from mmcv.ops import ...` failed
    cxx11_abi: bool | None = None  # torch._C._GLIBCXX_USE_CXX11_ABI


OPENMMLAB = (
    "mmcv", "mmcv-full", "mmcv-lite", "mmengine", "mmengine-lite", "mmdet", "mmsegmentation",
    "mmpose", "mmocr", "mmpretrain", "mmcls", "mmdeploy", "mmdeploy-runtime",
    "mmdeploy-runtime-gpu", "mmdet3d", "mmyolo", "mmaction2", "mmagic", "mmedit", "mmrotate",
    "mmtrack", "mmflow", "mmselfsup", "mmrazor", "openmim",
)  # fmt: skip


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Environment:
    """Everything envcheck knows about one interpreter on one machine."""

    python: Maybe[PythonInfo]
    platform: Maybe[PlatformInfo]
    context: str = "local"  # colab | kaggle | ci | container | local
    context_details: tuple[str, ...] = ()
    dists: tuple[Dist, ...] = ()
    torch: Maybe[Torch] = Missing("not probed")
    driver: Maybe[Driver] = Missing("not probed")
    gpus: Maybe[tuple[Gpu, ...]] = ()
    toolchain: Toolchain = field(default_factory=Toolchain)
    mmcv: Maybe[Mmcv] = Missing("not probed")
    pkg_resources: bool | None = None  # does setuptools still ship pkg_resources?
    path_errors: tuple[str, ...] = ()  # sys.path entries that could not be read
    deep: Maybe[DeepTorch] = Missing("run with --deep to import torch and ask it")
    # Versions for documents that list packages but not where they live (inspect --json of
    # another machine). Built from `dists` when not given.
    package_versions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        versions = {d.name: d.version for d in reversed(self.dists)}  # first on sys.path wins
        versions.update({canonicalize_name(k): v for k, v in self.package_versions.items()})
        object.__setattr__(self, "package_versions", _frozen(versions))

    @property
    def packages(self) -> Mapping[str, str]:
        """{canonical name: version} of what `import` would find."""
        return self.package_versions

    def version_of(self, name: str) -> Version | None:
        return parse_version(self.packages.get(canonicalize_name(name)))

    def has(self, name: str) -> bool:
        return canonicalize_name(name) in self.packages

    @property
    def gpu_list(self) -> tuple[Gpu, ...]:
        return self.gpus if isinstance(self.gpus, tuple) else ()

    @property
    def openmmlab(self) -> tuple[Dist, ...]:
        names = set(OPENMMLAB)
        seen = [d for d in self.dists if d.name in names]
        if seen or not self.package_versions:
            return tuple(seen)
        return tuple(Dist(n, v) for n, v in self.packages.items() if n in names)

    @property
    def duplicates(self) -> Mapping[str, tuple[Dist, ...]]:
        """Distributions installed more than once on sys.path (the first one shadows the rest)."""
        by_name: dict[str, list[Dist]] = {}
        for d in self.dists:
            by_name.setdefault(d.name, []).append(d)
        return {n: tuple(ds) for n, ds in by_name.items() if len(ds) > 1}
