"""Memo: what searches derive from one Matrix again and again, computed once per Matrix."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envcheck.facts.model import Environment
from envcheck.matrix import Matrix, MmcvRelease, ToolkitRelease


class MatrixCache:
    """Facts derived from one Matrix that every search asks again: guard verdicts, release lists.

    Held per Matrix object (the entry keeps it alive, so its records' ids stay unique): a plan
    runs a dozen searches (one per named profile for "other runtimes"), and each asks the same
    few hundred guard questions, each a version parse and comparison when asked fresh.
    """

    def __init__(self, matrix: Matrix) -> None:
        self.matrix = matrix
        self._allows: dict[tuple[int, str, str], bool] = {}
        self._wheels: dict[tuple[int, str, str | None], frozenset[tuple[str, str]]] = {}
        self._engines: dict[tuple[str | None, bool], tuple[str, ...]] = {}
        self._mmcv: dict[bool, tuple[str, ...]] = {}
        self.profile_envs: dict[str, Environment] = {}
        self.selections: dict[tuple[object, ...], tuple[Any, ...]] = {}
        self.build_problems: dict[tuple[object, ...], str | None] = {}
        self.blockers: dict[tuple[int, str | None, bool], tuple[str, str] | None] = {}  # deps.blocker (no_build)

    def allows(self, rel: ToolkitRelease, dep: str, version: str) -> bool:
        key = (id(rel), dep, version)
        hit = self._allows.get(key)
        if hit is None:
            hit = self._allows[key] = rel.allows(dep, cached_version(version))
        return hit

    def wheels(self, release: MmcvRelease, platform: str, py_tag: str | None) -> frozenset[tuple[str, str]]:
        """The (torch minor, CUDA tag) pairs with a prebuilt `release` wheel for this platform and Python."""
        key = (id(release), platform, py_tag)
        hit = self._wheels.get(key)
        if hit is None:
            hit = self._wheels[key] = frozenset(
                (minor, tag)
                for minor in release.torch_minors(platform)
                for tag in release.wheel_tags(platform, minor)
                if release.has_wheel(platform, minor, tag, py_tag)
            )
        return hit

    def engines(self, py: str | None, pre: bool) -> tuple[str, ...]:
        """mmengine releases for Python `py`, newest first (finals unless `pre`)."""
        key = (py, pre)
        if key not in self._engines:
            rels = sorted(self.matrix.mmengine.values(), key=lambda e: cached_version(e.version), reverse=True)
            self._engines[key] = tuple(
                e.version
                for e in rels
                if (pre or not cached_version(e.version).is_prerelease)
                and (py is None or e.python is None or SpecifierSet(e.python).contains(py))
            )
        return self._engines[key]

    def mmcv_versions(self, pre: bool) -> tuple[str, ...]:
        """mmcv 2.x releases, newest first: finals, or every release with `pre`."""
        if pre not in self._mmcv:
            found = (v for v in self.matrix.mmcv if pre or not cached_version(v).is_prerelease)
            self._mmcv[pre] = tuple(sorted(found, key=cached_version, reverse=True))
        return self._mmcv[pre]


_MEMOS: dict[int, MatrixCache] = {}


def clear_caches() -> None:
    """Forget what searches derived from loaded matrices (benchmarks of a cold plan)."""
    _MEMOS.clear()


def matrix_cache(matrix: Matrix) -> MatrixCache:
    entry = _MEMOS.get(id(matrix))
    if entry is None or entry.matrix is not matrix:
        if len(_MEMOS) >= 8:
            _MEMOS.clear()
        entry = _MEMOS[id(matrix)] = MatrixCache(matrix)
    return entry


@lru_cache(maxsize=1024)
def cached_version(text: str) -> Version:
    """A version parsed once per process (the same few dozen strings are compared all the time)."""
    return Version(text)
