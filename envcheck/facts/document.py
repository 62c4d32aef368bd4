"""The `inspect --json` document: an Environment as JSON, and back (for `plan --env FILE`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import Any, Optional, TypeVar, cast

from envcheck import __version__
from envcheck.errors import UsageError
from envcheck.facts.model import (
    CudaHome,
    DeepTorch,
    Dist,
    Driver,
    Environment,
    Gpu,
    Maybe,
    Missing,
    Mmcv,
    PlatformInfo,
    PythonInfo,
    Tool,
    Toolchain,
    Torch,
)

SCHEMA = 1
T = TypeVar("T")


def _value(x: Any) -> Any:
    if isinstance(x, Missing):
        return None
    if is_dataclass(x) and not isinstance(x, type):
        return {k: _value(v) for k, v in asdict(x).items()}
    if isinstance(x, tuple):
        return [_value(v) for v in x]
    return x


def to_document(env: Environment, findings: Any = ()) -> dict[str, Any]:
    """The JSON contract of DESIGN.md §3; a Missing fact is null here, its reason under "missing"."""
    missing: dict[str, dict[str, str]] = {}

    def note(key: str, value: Any) -> Any:
        if isinstance(value, Missing):
            missing[key] = {"reason": value.reason, "source": value.source}
        return _value(value)

    chain = env.toolchain
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "envcheck": __version__,
        "python": note("python", env.python),
        "platform": note("platform", env.platform),
        "context": env.context,
        "context_details": list(env.context_details),
        "torch": note("torch", env.torch),
        "driver": note("driver", env.driver),
        "gpus": note("gpus", env.gpus) or [],
        "toolchain": {
            name: note(f"toolchain.{name}", getattr(chain, name))
            for name in ("nvcc", "cuda_home", "gcc", "gxx", "msvc")
        },
        "packages": dict(sorted(env.packages.items())),
        "build_tools": {
            "pip": env.packages.get("pip"),
            "setuptools": env.packages.get("setuptools"),
            "pkg_resources": env.pkg_resources,
            "wheel": env.packages.get("wheel"),
            "ninja": env.packages.get("ninja"),
            "numpy": env.packages.get("numpy"),
            "opencv": {n: v for n, v in env.packages.items() if n.startswith("opencv-")},
        },
        "openmmlab": [_value(d) for d in env.openmmlab],
        "mmcv": note("mmcv", env.mmcv),
        "duplicates": {n: [_value(d) for d in ds] for n, ds in env.duplicates.items()},
        "path_errors": list(env.path_errors),
        "deep": note("deep", env.deep),
        "findings": [_value(f) for f in findings],
    }
    doc["missing"] = missing
    return doc


def _build(cls: type[T], data: Any, where: str) -> T:
    """A dataclass from a dict, keeping only the fields it knows; tuples for lists."""
    if not isinstance(data, Mapping):
        raise UsageError(f"{where}: expected an object, got {type(data).__name__}")
    names = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key in names:
            kwargs[key] = tuple(value) if isinstance(value, list) else value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise UsageError(f"{where}: {exc}") from None


def _maybe(cls: type[T], data: Any, where: str, absent: str) -> Maybe[T]:
    if data is None:
        return Missing(absent, "environment file")
    return _build(cls, data, where)


def from_document(doc: Any, origin: str = "environment file") -> Environment:
    """Read an `inspect --json` document (a partial one too: absent facts become Missing)."""
    if not isinstance(doc, Mapping):
        raise UsageError(f"{origin}: expected a JSON object at the top level")
    schema = doc.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise UsageError(f"{origin}: schema {schema!r} is not supported (envcheck reads {SCHEMA})")
    packages = doc.get("packages") or {}
    if not isinstance(packages, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in packages.items()
    ):
        raise UsageError(f'{origin}: "packages" must map names to version strings')
    gpus_raw = doc.get("gpus")
    if gpus_raw is not None and not isinstance(gpus_raw, list):
        raise UsageError(f'{origin}: "gpus" must be a list')
    gpus = tuple(
        _build(Gpu, {"index": i, **g} if isinstance(g, Mapping) else g, f"{origin}: gpus[{i}]")
        for i, g in enumerate(gpus_raw or [])
    )
    chain_raw = doc.get("toolchain") or {}
    if not isinstance(chain_raw, Mapping):
        raise UsageError(f'{origin}: "toolchain" must be an object')
    toolchain = Toolchain(
        nvcc=_maybe(Tool, chain_raw.get("nvcc"), f"{origin}: toolchain.nvcc", "not in the file"),
        cuda_home=_maybe(CudaHome, chain_raw.get("cuda_home"), f"{origin}: cuda_home", "not in the file"),
        gcc=_maybe(Tool, chain_raw.get("gcc"), f"{origin}: toolchain.gcc", "not in the file"),
        gxx=_maybe(Tool, chain_raw.get("gxx"), f"{origin}: toolchain.gxx", "not in the file"),
        msvc=_maybe(Tool, chain_raw.get("msvc"), f"{origin}: toolchain.msvc", "not in the file"),
    )
    torch = _maybe(Torch, doc.get("torch"), f"{origin}: torch", "no torch in the file")
    if isinstance(torch, Torch) and not isinstance(torch.version, str):
        raise UsageError(f"{origin}: torch.version must be a string")
    dists = tuple(_build(Dist, d, f"{origin}: openmmlab[{i}]") for i, d in enumerate(doc.get("openmmlab") or []))
    deep_raw = doc.get("deep")
    deep: Maybe[DeepTorch] = Missing("not in the file")
    if isinstance(deep_raw, Mapping):
        deep = _build(DeepTorch, {**deep_raw, "devices": ()}, f"{origin}: deep")
    build = doc.get("build_tools") or {}
    return Environment(
        python=_maybe(PythonInfo, doc.get("python"), f"{origin}: python", "no python in the file"),
        platform=_maybe(PlatformInfo, doc.get("platform"), f"{origin}: platform", "not in the file"),
        context=str(doc.get("context") or "local"),
        context_details=tuple(doc.get("context_details") or ()),
        dists=dists,
        torch=torch,
        driver=_maybe(Driver, doc.get("driver"), f"{origin}: driver", "no NVIDIA driver in the file"),
        gpus=gpus,
        toolchain=toolchain,
        mmcv=_maybe(Mmcv, doc.get("mmcv"), f"{origin}: mmcv", "no mmcv in the file"),
        pkg_resources=cast(Optional[bool], build.get("pkg_resources")) if isinstance(build, Mapping) else None,
        deep=deep,
        path_errors=tuple(str(e) for e in doc.get("path_errors") or ()),
        package_versions=dict(packages),
    )


def load_document(path: str) -> Environment:
    """Read an environment file; every problem is a one-line UsageError."""
    try:
        raw = Path(path).read_bytes() if path != "-" else __import__("sys").stdin.buffer.read()
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    if len(raw) > 50_000_000:
        raise UsageError(f"{path}: {len(raw)} bytes is too large for an environment file")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a text file (expected JSON from `envcheck inspect --json`)") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    return from_document(doc, path)
