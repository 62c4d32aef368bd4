"""Two machines side by side: the stack keys that differ first, then every other fact; volatile keys ignored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from envcheck.fleet.fingerprint import ORDER, STACK_PACKAGES, stack_of

# Facts that differ between two identical installs (where they live, who wrote the file, derived text).
VOLATILE_TOP = frozenset(
    ("schema", "envcheck", "node", "fingerprint", "findings", "missing", "context_details", "path_errors",
     "duplicates", "openmmlab", "build_tools", "deep")
)  # fmt: skip
VOLATILE_FIELDS = frozenset(
    ("executable", "prefix", "virtualenv", "conda", "location", "path", "ops_path", "source", "uuid",
     "arch_list_source", "ops_cuda_source", "forward_compat", "variable", "index")
)  # fmt: skip
# Document paths the stack rows already show.
COVERED = frozenset(
    ("python.version", "torch.version", "torch.cuda", "driver.version", "mmcv.version", "mmcv.dist", "mmcv.ops",
     "mmcv.ops_cuda")
)  # fmt: skip


@dataclass(frozen=True)
class Row:
    path: str  # a stack key (torch, mmcv.ops) or a document path (packages.rich, torch.cudnn, gpus[0].memory_mib)
    a: str  # "<absent>" when the first side has no such fact
    b: str
    stack: bool


def _flat(value: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if str(k) in VOLATILE_FIELDS:
                continue
            _flat(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flat(v, f"{prefix}[{i}]", out)
    elif value is not None:
        out[prefix] = (
            value if isinstance(value, str) else repr(value) if not isinstance(value, bool) else str(value).lower()
        )


def flatten(doc: Mapping[str, Any]) -> dict[str, str]:
    """{document path: value} without the volatile keys and without what the stack rows show."""
    out: dict[str, str] = {}
    for key, value in doc.items():
        if key not in VOLATILE_TOP:
            _flat(value, key, out)
    return {
        k: v for k, v in out.items()
        if k not in COVERED
        and not (k.startswith("packages.") and k[9:] in STACK_PACKAGES)
        and not (k.startswith("gpus[") and k.endswith("].name"))
    }  # fmt: skip


def diff_documents(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[Row]:
    """Stack rows (in ORDER) then detail rows (sorted by path); empty when the two are the same."""
    sa, sb = stack_of(a), stack_of(b)
    keys = [k for k in ORDER if k in sa or k in sb]
    rows = [Row(k, sa.get(k, "-"), sb.get(k, "-"), True) for k in keys if sa.get(k, "-") != sb.get(k, "-")]
    fa, fb = flatten(a), flatten(b)
    for path in sorted({*fa, *fb}):
        if fa.get(path) != fb.get(path):
            rows.append(Row(path, fa.get(path, "<absent>"), fb.get(path, "<absent>"), False))
    return rows
