"""The compatibility matrix: matrices/*.toml parsed, validated as a whole, and typed.

Every fact is a frozen record with its `source`. `load_matrix()` collects every problem in every
file before it raises one `MatrixError`, so a broken edit shows all its consequences at once.
Version comparisons in import guards use raw `packaging.version.Version` ordering, which is what
mmengine's `digit_version` does: `2.2.0rc1 < 2.2.0`, so a guard `<2.2.0` ADMITS 2.2.0rc1 (a PEP 440
specifier would not). `records` holds the types and lookups, `load` the reading and validation.
"""

from envcheck.matrix.builds import BuildDefect, Builds, DefectiveSdist, SdistVerdict, SourcePatch
from envcheck.matrix.load import FILES, SCHEMA, clear_cache, iter_toolkit_releases, load_matrix, matrix_root
from envcheck.matrix.records import (
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
    ToolkitRelease,
    TorchBuild,
    TorchRelease,
    cuda_version,
    torch_minor,
)

__all__ = [
    "FILES",
    "SCHEMA",
    "BinaryDist",
    "BuildDefect",
    "BuildDuration",
    "Builds",
    "DefectiveSdist",
    "DriverBranch",
    "DriverFloor",
    "GpuModel",
    "Guard",
    "Matrix",
    "MmcvBuild",
    "MmcvRelease",
    "MmengineRelease",
    "NumpyAbi",
    "NvccArch",
    "Profile",
    "Requirement",
    "SdistBuild",
    "SdistVerdict",
    "SourcePatch",
    "ToolkitRelease",
    "TorchBuild",
    "TorchRelease",
    "clear_cache",
    "cuda_version",
    "iter_toolkit_releases",
    "load_matrix",
    "matrix_root",
    "torch_minor",
]
