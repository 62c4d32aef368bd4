"""Guards: OpenMMLab's import-time version ranges as their error messages spell them, parsed and compared."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Callable

from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from envcheck.explain.fixfacts import FixFacts

_GUARD_OP = re.compile(r"(>=|<=|==|!=|>|<)\s*\(?\s*(\d+(?:\s*[.,]\s*\d+)*(?:rc\d+|[ab]\d+)?)")
# The PyPI name of a package as guard messages spell it (MMDetection ...).
PYPI = {"mmcv": "mmcv", "mmdetection": "mmdet", "mmdet": "mmdet", "mmengine": "mmengine",
        "mmsegmentation": "mmsegmentation", "mmpretrain": "mmpretrain"}  # fmt: skip
# Toolkits by OpenMMLab generation: the first major version that needs mmcv 2.x.
_TWO_ZERO = {"mmdet": 3, "mmsegmentation": 1, "mmpose": 1, "mmocr": 1, "mmrotate": 1, "mmyolo": 0,
            "mmpretrain": 0, "mmengine": 0, "mmdet3d": 1, "mmaction2": 1, "mmagic": 0}  # fmt: skip
_ONE_ZERO = ("mmcls", "mmtrack", "mmedit")


def version_or_none(text: str | None) -> Version | None:
    """A parsed version, or None for text that is not one."""
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def guard_ops(spec: str) -> list[tuple[str, str]]:
    """ "mmcv>=2.0.0rc4, <2.2.0." / ">=(1, 3, 13, 0), <(1, 7, 0)" -> [(">=", "2.0.0rc4"), ("<", "2.2.0")]."""
    return [(op, re.sub(r"\s*[.,]\s*", ".", ver)) for op, ver in _GUARD_OP.findall(spec)]


def _major_range(spec: str) -> tuple[int | None, int | None]:
    """The lowest and highest major version a guard admits: ">=2.0.0rc4, <2.2.0" -> (2, 2)."""
    low = high = None
    for op, ver in guard_ops(spec):
        parsed = version_or_none(ver)
        if parsed is None:
            continue
        if op in (">=", ">", "=="):
            low = parsed.major
        if op in ("<=", "=="):
            high = parsed.major
        elif op == "<":
            exact_major = not any(parsed.release[1:]) and parsed.pre is None
            high = parsed.major - 1 if exact_major else parsed.major
    return low, high


def same_generation(installed: str, spec: str) -> bool | None:
    """Whether the installed major version lies in the majors the guard asks for (None: unknown)."""
    got = version_or_none(installed.split("+")[0])
    low, high = _major_range(spec)
    if got is None or (low is None and high is None):
        return None
    return (low is None or got.major >= low) and (high is None or got.major <= high)


def _interval_disjoint(a: str, b: str) -> bool:
    def bounds(spec: str) -> tuple[Version | None, Version | None]:
        low = high = None
        for op, ver in guard_ops(spec):
            parsed = version_or_none(ver)
            if parsed is not None and op in (">=", ">", "=="):
                low = parsed
            if parsed is not None and op in ("<=", "<", "=="):
                high = parsed
        return low, high

    (la, ha), (lb, hb) = bounds(a), bounds(b)
    return bool((la and hb and la > hb) or (lb and ha and lb > ha))


def generations(packages: Mapping[str, str]) -> set[int]:
    """1 and/or 2: the OpenMMLab generations the installed packages belong to."""
    gens: set[int] = set()
    for name, version in packages.items():
        parsed = version_or_none(version.split("+")[0])
        if parsed is None:
            continue
        if name == "mmcv-full":
            gens.add(1)
        elif name == "mmcv":
            gens.add(2 if parsed.major >= 2 else 1)
        elif name in _TWO_ZERO:
            gens.add(2 if parsed.major >= _TWO_ZERO[name] else 1)
        elif name in _ONE_ZERO:
            gens.add(1)
    return gens


# ---- checks on the groups captured from one matched line ---------------------------------------

WhenCheck = Callable[[Mapping[str, str], "list[Mapping[str, str]]", "FixFacts"], bool]


def _when_same(c: Mapping[str, str], _all: list[Mapping[str, str]], _f: FixFacts) -> bool:
    return same_generation(c.get("installed", ""), c.get("guard_spec", "")) is not False


def _when_differs(c: Mapping[str, str], _all: list[Mapping[str, str]], _f: FixFacts) -> bool:
    return same_generation(c.get("installed", ""), c.get("guard_spec", "")) is False


def _when_contradict(c: Mapping[str, str], all_: list[Mapping[str, str]], _f: FixFacts) -> bool:
    specs = [x.get("guard_spec", "") for x in all_ if x.get("guard_spec")]
    return any(_interval_disjoint(a, b) for i, a in enumerate(specs) for b in specs[i + 1 :])


def _when_mixed(_c: Mapping[str, str], _all: list[Mapping[str, str]], f: FixFacts) -> bool:
    return len(generations(f.packages)) > 1


WHEN: Mapping[str, WhenCheck] = {
    "same_generation": _when_same,
    "generation_differs": _when_differs,
    "guards_contradict": _when_contradict,
    "mixed_generations": _when_mixed,
}
