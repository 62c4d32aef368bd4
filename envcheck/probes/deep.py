"""--deep: import torch (and mmcv's ops) in a child of the target interpreter, with a timeout."""

from __future__ import annotations

import json
from typing import Any

from envcheck.facts.model import DeepTorch, Gpu, Maybe, Missing
from envcheck.runner import Runner

# Runs in the target interpreter. Prints one JSON line last; anything torch prints before it
# (warnings, CUDA init noise) is ignored by the parser.
SOURCE = r"""
import json, sys
out = {"deep": 1}
try:
    import torch
except BaseException as exc:
    out["error"] = "import torch failed: %s: %s" % (type(exc).__name__, exc)
    print(json.dumps(out)); sys.exit(0)
try:
    out["cuda_available"] = bool(torch.cuda.is_available())
    out["device_count"] = torch.cuda.device_count() if out["cuda_available"] else 0
    out["arch_list"] = list(torch.cuda.get_arch_list()) if torch.version.cuda else []
    out["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    out["cxx11_abi"] = bool(getattr(torch._C, "_GLIBCXX_USE_CXX11_ABI", False))
    devices = []
    for i in range(out["device_count"]):
        p = torch.cuda.get_device_properties(i)
        devices.append({"index": i, "name": p.name, "cc": "%d.%d" % (p.major, p.minor),
                        "memory_mib": int(p.total_memory // (1024 * 1024))})
    out["devices"] = devices
except BaseException as exc:
    out["error"] = "torch.cuda failed: %s: %s" % (type(exc).__name__, str(exc).splitlines()[0])
try:
    import importlib.util
    if importlib.util.find_spec("mmcv") is not None:
        try:
            from mmcv.ops import get_compiling_cuda_version
            out["mmcv_ops_cuda"] = get_compiling_cuda_version()
        except BaseException as exc:
            out["mmcv_ops_error"] = "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0])
except BaseException:
    pass
print(json.dumps(out))
"""


def parse_deep(stdout: str) -> Maybe[DeepTorch]:
    """The last JSON line the deep child printed, as facts."""
    doc: dict[str, Any] | None = None
    for line in reversed(stdout.strip().splitlines()):
        try:
            candidate = json.loads(line)
        except ValueError:
            continue
        if isinstance(candidate, dict) and candidate.get("deep") == 1:
            doc = candidate
            break
    if doc is None:
        return Missing("the deep probe printed no result", "import torch in a child process")
    devices = tuple(
        Gpu(
            index=int(d.get("index", i)),
            name=str(d.get("name", "")),
            compute_capability=d.get("cc"),
            memory_mib=d.get("memory_mib"),
            source="torch.cuda.get_device_properties",
        )
        for i, d in enumerate(doc.get("devices") or [])
    )
    cudnn = doc.get("cudnn")
    return DeepTorch(
        cuda_available=bool(doc.get("cuda_available", False)),
        device_count=int(doc.get("device_count") or 0),
        devices=devices,
        arch_list=tuple(doc.get("arch_list") or ()),
        cudnn=str(cudnn) if cudnn is not None else None,
        error=doc.get("error"),
        mmcv_ops_cuda=doc.get("mmcv_ops_cuda"),
        cxx11_abi=doc.get("cxx11_abi"),
        mmcv_ops_error=doc.get("mmcv_ops_error"),
    )


def probe_deep(runner: Runner, python: str, timeout: float = 60.0) -> Maybe[DeepTorch]:
    done = runner.run([python, "-c", SOURCE], timeout=timeout)
    if done.returncode is None:
        return Missing(f"importing torch: {done.describe_failure()}", "import torch in a child")
    result = parse_deep(done.stdout)
    if not result and done.returncode != 0:
        return Missing(f"importing torch crashed: {done.describe_failure()}", "import torch")
    return result
