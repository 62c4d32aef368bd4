"""Node sets written the way clush -b and Slurm write them: node[01-06,08-13]."""

from __future__ import annotations

import re
from collections.abc import Iterable

from envcheck.errors import UsageError

_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_BRACKET = re.compile(r"([^\[,]*)\[([^\]]*)\]([^,]*)|([^\[\],]+)")


def node_key(name: str) -> tuple[str, int, str]:
    """The sort key that puts node2 before node10."""
    m = _NUMBERED.match(name)
    return (m.group(1), int(m.group(2)), name) if m else (name, -1, name)


def sort_nodes(names: Iterable[str]) -> list[str]:
    """node2 before node10: numbers compare as numbers."""
    return sorted(set(names), key=node_key)


def compress(names: Iterable[str]) -> str:
    """["node01", "node02", "node03", "node05"] -> "node[01-03,05]"; a name without a number stays as is."""
    groups: dict[tuple[str, int], list[int]] = {}
    plain: list[str] = []
    order: list[tuple[str, int] | str] = []
    for name in sort_nodes(names):
        m = _NUMBERED.match(name)
        if not m:
            plain.append(name)
            order.append(name)
            continue
        digits = m.group(2)
        # node01 is padded to 2 digits; node1 and node10 are not padded (width 0); node10 fits either.
        width = len(digits) if digits.startswith("0") and len(digits) > 1 else 0
        if width == 0:
            padded = [k for k in groups if k[0] == m.group(1) and k[1] and len(digits) >= k[1]]
            width = padded[0][1] if padded else 0
        key = (m.group(1), width)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(int(m.group(2)))
    out: list[str] = []
    for item in order:
        if isinstance(item, str):
            out.append(item)
            continue
        prefix, width = item
        numbers = groups[item]
        if len(numbers) == 1:
            out.append(f"{prefix}{numbers[0]:0{width}d}")
            continue
        ranges: list[str] = []
        start = prev = numbers[0]
        for n in [*numbers[1:], None]:
            if n is not None and n == prev + 1:
                prev = n
                continue
            ranges.append(f"{start:0{width}d}" if start == prev else f"{start:0{width}d}-{prev:0{width}d}")
            if n is not None:
                start = prev = n
        out.append(f"{prefix}[{','.join(ranges)}]")
    return ",".join(out)


def expand(text: str) -> list[str]:
    """ "node[01-03,05],gpu7" -> ["node01", "node02", "node03", "node05", "gpu7"]; bad syntax: UsageError."""
    names: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        if text[pos] == ",":
            pos += 1
            continue
        m = _BRACKET.match(text, pos)
        if not m or m.end() == pos:
            raise UsageError(f"node list {text!r}: cannot read it at {text[pos:]!r}")
        pos = m.end()
        if m.group(4) is not None:
            names.append(m.group(4).strip())
            continue
        prefix, body, suffix = m.group(1), m.group(2), m.group(3)
        for part in body.split(","):
            lo, _, hi = part.partition("-")
            if not lo.isdigit() or (hi and not hi.isdigit()):
                raise UsageError(f"node list {text!r}: {part!r} is not a number or a range")
            width = len(lo)
            last = int(hi) if hi else int(lo)
            if last < int(lo) or last - int(lo) > 100_000:
                raise UsageError(f"node list {text!r}: bad range {part!r}")
            names += [f"{prefix}{n:0{width}d}{suffix}" for n in range(int(lo), last + 1)]
    return names
