"""The stack fingerprint: what must be identical on every node for one OpenMMLab job to run everywhere.

Pure: computed from an `inspect --json` document (a dict), so stored documents from other machines and
older envcheck versions (no fingerprint of their own) are fingerprinted the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from envcheck.facts.model import OPENMMLAB

# The OpenMMLab distributions a stack names (mmcv's three spellings are one key: "mmcv").
_MM = tuple(n for n in OPENMMLAB if not n.startswith("mmcv"))
_MMCV = ("mmcv", "mmcv-full", "mmcv-lite")
# Packages the stack already names: they are not "other packages".
STACK_PACKAGES = frozenset((*OPENMMLAB, "torch", "numpy"))
# The order stack keys are shown in (clush-style one-liners and diffs read left to right).
ORDER = ("python", "platform", "torch", "torch.cuda", "driver", "gpus", "mmcv", "mmcv.ops", *_MM, "numpy")


def _get(doc: Mapping[str, Any], key: str) -> Any:
    value = doc.get(key)
    return value if isinstance(value, Mapping) else None


def _packages(doc: Mapping[str, Any]) -> dict[str, str]:
    raw = doc.get("packages")
    if not isinstance(raw, Mapping):
        return {}
    return {str(k).lower().replace("_", "-"): str(v) for k, v in raw.items()}


def _gpus(doc: Mapping[str, Any]) -> str:
    raw = doc.get("gpus")
    names = [str(g.get("name") or "?") for g in raw if isinstance(g, Mapping)] if isinstance(raw, list) else []
    if not names:
        return "none"
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    return ", ".join(f"{c}× {n}" for n, c in sorted(counts.items()))


def _mmcv(doc: Mapping[str, Any], packages: Mapping[str, str]) -> tuple[str, str]:
    """("mmcv-lite 2.2.0", "none") · ("mmcv 2.1.0", "cu121") · ("-", "-") when there is none."""
    mmcv = _get(doc, "mmcv")
    if mmcv is not None and mmcv.get("version"):
        dist = str(mmcv.get("dist") or "mmcv")
        if not mmcv.get("ops"):
            ops = "none"
        else:
            ops = str(mmcv.get("ops_cuda") or "present")
            ops = "cu" + ops.replace(".", "") if ops[:1].isdigit() else ops
        return f"{dist} {mmcv['version']}", ops
    for dist in _MMCV:
        if dist in packages:
            return f"{dist} {packages[dist]}", "?"
    return "-", "-"


def stack_of(doc: Mapping[str, Any]) -> dict[str, str]:
    """The stack keys of one document, in ORDER; "-" is "not there" (a fact, not an unknown)."""
    packages = _packages(doc)
    python = _get(doc, "python")
    platform = _get(doc, "platform")
    torch = _get(doc, "torch")
    driver = _get(doc, "driver")
    mmcv, ops = _mmcv(doc, packages)
    stack = {
        "python": str(python.get("version") or "?") if python else "?",
        "platform": f"{platform.get('system', '?')}-{platform.get('machine', '?')}" if platform else "?",
        "torch": str(torch.get("version") or "?") if torch else packages.get("torch", "-"),
        "torch.cuda": str(torch.get("cuda") or "cpu") if torch else "-",
        "driver": str(driver.get("version") or "?") if driver else "-",
        "gpus": _gpus(doc),
        "mmcv": mmcv,
        "mmcv.ops": ops,
    }
    for name in (*_MM, "numpy"):
        if name in packages:
            stack[name] = packages[name]
    return stack


def other_packages(doc: Mapping[str, Any]) -> dict[str, str]:
    """Every installed distribution the stack does not name: {name: version}."""
    return {n: v for n, v in sorted(_packages(doc).items()) if n not in STACK_PACKAGES}


def digest(items: Mapping[str, str]) -> str:
    """12 hex digits that change when any name or version changes (order does not matter)."""
    text = "\n".join(f"{k}=={v}" for k, v in sorted(items.items()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def fingerprint(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document's `fingerprint`: its stack, a digest of the stack, and a digest of the other packages."""
    stack = stack_of(doc)
    return {"stack": stack, "stack_digest": digest(stack), "others_digest": digest(other_packages(doc))}


def one_line(stack: Mapping[str, str]) -> str:
    """py 3.10.14 · torch 2.1.2+cu121 · driver 535.129.03 · 8× H100 · mmcv 2.1.0 (ops cu121) · mmdet 3.3.0"""
    parts = [f"py {stack.get('python', '?')}"]
    torch = stack.get("torch", "-")
    parts.append(f"torch {torch}" if torch != "-" else "no torch")
    driver = stack.get("driver", "-")
    parts.append(f"driver {driver}" if driver != "-" else "no driver")
    gpus = stack.get("gpus", "none")
    parts.append(gpus if gpus != "none" else "no GPU")
    mmcv = stack.get("mmcv", "-")
    if mmcv == "-":
        parts.append("no mmcv")
    else:
        ops = stack.get("mmcv.ops", "?")
        parts.append(f"{mmcv} ({'no ops' if ops == 'none' else 'ops ' + ops})")
    parts += [f"{k} {v}" for k, v in stack.items() if k in _MM or k == "numpy"]
    return " · ".join(parts)
