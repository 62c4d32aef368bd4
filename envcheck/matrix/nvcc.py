"""nvcc × GPU architecture: which GPUs an nvcc can compile kernels for, and which CUDA toolkit could.

Pure: facts in, values out. The planner asks it before it plans a CUDA build of mmcv's ops, the
doctor before it calls a machine's nvcc fit for one.

Only each GPU's own arch counts. A build for GPUs sets `TORCH_CUDA_ARCH_LIST` to their compute
capabilities ("12.0"): torch's extension builder turns that into `-gencode arch=compute_120,
code=sm_120`, so nvcc must know sm_120 itself. Two ways around an nvcc that does not are left out
on purpose: PTX of an older arch ("9.0+PTX") runs on a newer GPU only through the driver's JIT at
first launch of every kernel (and never on an older GPU, so it cannot help where CUDA 13 dropped
an arch); an older cubin of the same major (8.6 for an 8.9 GPU) would run, but the list would no
longer name the machine's GPUs, which the wheel cache key and the doctor rely on. So the rule is
simple and never plans a build that fails: nvcc compiles for sm_XY of every GPU, or no CUDA build.
A compute capability missing from matrices/nvidia.toml is not held against an nvcc.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from envcheck.facts.model import Gpu
from envcheck.matrix import Matrix, NvccArch, cuda_version


def _minor(text: str | None) -> tuple[int, int] | None:
    parts = (text or "").strip().lstrip("vV").split(".")
    if len(parts) < 2 or not (parts[0].isdigit() and parts[1].isdigit()):
        return None
    return int(parts[0]), int(parts[1])


def _name(v: tuple[int, int]) -> str:
    return f"{v[0]}.{v[1]}"


@dataclass(frozen=True)
class ArchGap:
    """One GPU whose architecture this nvcc cannot compile for."""

    gpu: str  # the device name: NVIDIA GeForce RTX 5090
    arch: NvccArch  # the compute capability's row in matrices/nvidia.toml
    nvcc: str  # the nvcc version: 12.4.131

    @property
    def too_old(self) -> bool:
        """nvcc predates the arch (else it is newer than the last toolkit that compiled for it)."""
        have, first = _minor(self.nvcc), _minor(self.arch.first)
        return have is not None and first is not None and have < first

    def text(self) -> str:
        """ "nvcc 12.4.131 cannot compile for sm_120 (NVIDIA GeForce RTX 5090; CUDA 12.8 is the first toolkit that can)"."""
        edge = (
            f"CUDA {self.arch.first} is the first toolkit that can"
            if self.too_old
            else f"CUDA {self.arch.last} was the last toolkit that could"
        )
        return f"nvcc {self.nvcc} cannot compile for {self.arch.sm} ({self.gpu}; {edge})"


def arch_gaps(matrix: Matrix, nvcc: str, gpus: Iterable[Gpu]) -> tuple[ArchGap, ...]:
    """The GPUs (the first of each compute capability) whose arch nvcc `nvcc` cannot compile for."""
    out: list[ArchGap] = []
    seen: set[str] = set()
    for gpu in gpus:
        cc = gpu.compute_capability
        if not cc or cc in seen:
            continue
        seen.add(cc)
        arch = matrix.nvcc_arch(cc)
        if arch is not None and arch.compiles_with(nvcc) is False:
            out.append(ArchGap(gpu.name, arch, nvcc))
    return tuple(out)


def compilable(matrix: Matrix, nvcc: str, ccs: Iterable[str]) -> tuple[list[str], list[str]]:
    """(the compute capabilities nvcc compiles for, those it cannot), in the order given."""
    keep: list[str] = []
    drop: list[str] = []
    for cc in ccs:
        arch = matrix.nvcc_arch(cc)
        (drop if arch is not None and arch.compiles_with(nvcc) is False else keep).append(cc)
    return keep, drop


@dataclass(frozen=True)
class ToolkitFix:
    """The CUDA toolkit that compiles for a machine's GPUs: words for a fix, and the version to name."""

    text: str  # install the CUDA 12.8 toolkit (torch cu128's; it compiles for sm_120) and point CUDA_HOME at it
    version: str | None  # 12.8: the toolkit to install; None when no toolkit of torch's CUDA major can


def toolkit_fix(matrix: Matrix, ccs: Sequence[str], torch_tag: str | None) -> str:
    """Which CUDA toolkit compiles for every one of `ccs` (the machine's GPUs), as a fix to act on."""
    return toolkit_for(matrix, ccs, torch_tag).text


def toolkit_for(matrix: Matrix, ccs: Sequence[str], torch_tag: str | None) -> ToolkitFix:
    """The CUDA toolkit that compiles for every one of `ccs` (the machine's GPUs).

    It must also be of the CUDA major of torch (`torch_tag`: cu128; None or cpu: no torch to
    match): torch's extension builder refuses any other. Torch's own CUDA is preferred.
    """
    torch_cuda = cuda_version(torch_tag) if torch_tag and torch_tag != "cpu" else None
    rows = [a for a in (matrix.nvcc_arch(cc) for cc in dict.fromkeys(ccs)) if a is not None]
    if not rows:
        if torch_cuda:
            return ToolkitFix(f"install the CUDA {torch_cuda} toolkit", torch_cuda)
        return ToolkitFix("install a newer CUDA toolkit", None)
    by_first = max(rows, key=lambda a: _minor(a.first) or (0, 0))
    lo = _minor(by_first.first) or (0, 0)
    ended = [a for a in rows if a.last]
    by_last = min(ended, key=lambda a: _minor(a.last) or (0, 0)) if ended else None
    hi = _minor(by_last.last) if by_last else None
    if hi is not None and hi < lo:
        assert by_last is not None
        return ToolkitFix(
            f"no single CUDA toolkit compiles for both {by_last.sm} (last: CUDA {by_last.last}) and "
            f"{by_first.sm} (first: CUDA {by_first.first}): build for each GPU with its own toolkit",
            None,
        )
    sms = ", ".join(a.sm for a in rows)
    want = _minor(torch_cuda)
    if want is None:
        span = f">= {_name(lo)}" if hi is None else f"{_name(lo)} to {_name(hi)}"
        return ToolkitFix(
            f"install a CUDA toolkit {span} (compiles for {sms}) and point CUDA_HOME at it",
            _name(hi) if hi is not None else _name(lo),
        )
    major = want[0]
    if lo <= want and (hi is None or want <= hi):
        return ToolkitFix(
            f"install the CUDA {torch_cuda} toolkit (torch {torch_tag}'s; it compiles for {sms}) "
            "and point CUDA_HOME at it",
            torch_cuda,
        )
    if lo[0] <= major and (hi is None or hi[0] >= major):
        if want < lo:
            bound, why, pick = f">= {_name(lo)}", f"nvcc compiles for {by_first.sm} from CUDA {_name(lo)} on", lo
        else:
            assert by_last is not None and hi is not None
            bound, why, pick = f"<= {_name(hi)}", f"CUDA {_name(hi)} was the last to compile for {by_last.sm}", hi
        return ToolkitFix(
            f"install a CUDA {major}.x toolkit {bound} (torch {torch_tag} needs {major}.x; {why}) "
            "and point CUDA_HOME at it",
            _name(pick),
        )
    edge = f"CUDA >= {_name(lo)}" if lo[0] > major else f"CUDA <= {_name(hi or lo)}"
    return ToolkitFix(
        f"no CUDA {major}.x toolkit compiles for {sms}: use a torch built for {edge} and its toolkit", None
    )
