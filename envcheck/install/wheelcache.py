"""WheelCache: the mmcv wheels envcheck compiled, keyed by everything the compiled ops depend on.

pip's own wheel cache keys a built wheel by the sdist alone, so a wheel compiled against one torch
is reused for another (measured here: mmcv 2.1.0 built for torch 2.13 was reinstalled under torch
2.14.1 without a rebuild), which is how `undefined symbol` errors are born. This cache keys each
wheel by mmcv version, torch version with its build (+cpu, +cu121), the CUDA arch list it was
compiled for, the Python tag and the platform, so a later plan for the same key installs the
wheel and compiles nothing, and a plan for a different torch never sees it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envcheck import __version__


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """ENVCHECK_CACHE_DIR, else $XDG_CACHE_HOME/envcheck, else ~/.cache/envcheck."""
    environ = os.environ if environ is None else environ
    if environ.get("ENVCHECK_CACHE_DIR"):
        return Path(environ["ENVCHECK_CACHE_DIR"]).expanduser()
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "envcheck"


@dataclass(frozen=True)
class WheelKey:
    package: str  # mmcv
    version: str  # 2.1.0
    torch: str  # 2.13.0+cpu: always with its build tag
    python_tag: str  # cp311
    platform: str  # linux_x86_64
    arch_list: str = ""  # TORCH_CUDA_ARCH_LIST of a CUDA build ("7.5;8.0"); "" for CPU ops

    @property
    def slug(self) -> str:
        archs = "sm" + "-".join(a.replace(".", "") for a in self.arch_list.replace(",", ";").split(";") if a.strip())
        cuda = self.torch.split("+", 1)[1] if "+" in self.torch else "unknown"
        parts = [f"{self.package}-{self.version}", f"torch-{self.torch.split('+')[0]}", cuda, self.python_tag,
                 self.platform]  # fmt: skip
        if self.arch_list:
            parts.append(archs)
        return "_".join(re.sub(r"[^A-Za-z0-9._+-]", "-", p) for p in parts)

    def describe(self) -> str:
        arch = f", archs {self.arch_list}" if self.arch_list else ""
        return f"{self.package} {self.version} for torch {self.torch} on {self.python_tag}/{self.platform}{arch}"


@dataclass(frozen=True)
class CachedWheel:
    key: WheelKey
    path: Path
    built: str  # ISO time
    seconds: float  # how long the build took
    size: int


def wheel_has_ops(path: Path, package: str = "mmcv") -> bool:
    """Does this wheel carry compiled ops (mmcv/_ext*.so / .pyd)? A build without them is a failure."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    return any(n.startswith(f"{package}/_ext") and not n.endswith((".py", ".pyc", ".pyi")) for n in names)


class WheelCache:
    """A directory of `<slug>/<wheel>` + `<slug>/entry.json`; nothing else is ever written there."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.wheels = root / "wheels"

    def folder(self, key: WheelKey) -> Path:
        return self.wheels / key.slug

    def find(self, key: WheelKey) -> CachedWheel | None:
        return self._read(self.folder(key))

    def store(self, key: WheelKey, wheel: Path, seconds: float) -> CachedWheel:
        """Move a freshly built wheel in (atomically: a half-copied wheel is never found)."""
        final = self.wheels / key.slug
        staging = self.wheels / f".{key.slug}.{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copy2(wheel, staging / wheel.name)
        entry = {
            "schema": 1,
            "key": {k: getattr(key, k) for k in ("package", "version", "torch", "python_tag", "platform", "arch_list")},
            "wheel": wheel.name,
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(seconds, 1),
            "envcheck": __version__,
        }
        (staging / "entry.json").write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
        found = self._read(final)
        assert found is not None
        return found

    def entries(self) -> list[CachedWheel]:
        if not self.wheels.is_dir():
            return []
        found = [self._read(d) for d in sorted(self.wheels.iterdir()) if not d.name.startswith(".")]
        return [c for c in found if c is not None]

    def clear(self) -> tuple[int, int]:
        """Remove every cached wheel: (how many, bytes freed)."""
        items = self.entries()
        freed = sum(c.size for c in items)
        if self.wheels.is_dir():
            shutil.rmtree(self.wheels)
        return len(items), freed

    @staticmethod
    def _read(folder: Path) -> CachedWheel | None:
        try:
            doc: dict[str, Any] = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
            key = WheelKey(**{k: str(v) for k, v in doc["key"].items()})
            path = folder / str(doc["wheel"])
            size = path.stat().st_size
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return CachedWheel(key, path, str(doc.get("built", "")), float(doc.get("seconds", 0.0)), size)
