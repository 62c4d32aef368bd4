"""The fleet report and the two-machine diff as plain text lines (clush -b style: node sets, majority first)."""

from __future__ import annotations

from collections.abc import Sequence

from envcheck.fleet.diff import Row
from envcheck.fleet.fingerprint import one_line
from envcheck.fleet.report import Report

MAX_ERRORS_SHOWN = 5
MAX_DETAIL_ROWS = 30


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def report_lines(report: Report) -> list[str]:
    asked = len(report.nodes)
    lines: list[str] = []
    width = max((len(_count(len(g.nodes), "node")) for g in report.groups), default=0)
    for i, group in enumerate(report.groups):
        summary = one_line(group.stack) if group.stack else "(no stack in these documents)"
        tag = f"  others #{group.others_digest}" if group.others_digest else ""
        errors = f"  [{_count(len(group.errors), 'error finding')}]" if group.errors else ""
        lines.append(f"{_count(len(group.nodes), 'node'):<{width}} {group.nodeset}: {summary}{tag}{errors}")
        if i:
            for d in group.differs:
                lines.append(f"    {d.key}: {d.majority} -> {d.here}")
            if group.other_packages_differ:
                lines.append(f"    +{group.other_packages_differ} other packages differ")
            elif group.other_packages_differ is None and group.others_digest != report.groups[0].others_digest:
                lines.append("    other packages differ")
        for e in group.errors[:MAX_ERRORS_SHOWN]:
            lines.append(f"    ✗ {e}")
        if len(group.errors) > MAX_ERRORS_SHOWN:
            lines.append(f"    … +{len(group.errors) - MAX_ERRORS_SHOWN} more error findings (--json has them all)")
    for name, reason in report.unreachable.items():
        lines.append(f"unreachable: {name} ({reason})")
    answered = asked - len(report.failed)
    if report.exit_code == 0:
        verdict = f"✓ {_count(answered, 'node')}, one stack, no error finding"
    else:
        why = []
        if report.drift:
            why.append(f"{len(report.groups)} different stacks")
        if report.error_count:
            why.append(_count(report.error_count, "error finding"))
        if report.failed:
            why.append(f"{len(report.failed)} asked and not answering")
        verdict = f"✗ {_count(answered, 'node')}: " + ", ".join(why)
    if report.unreachable:
        verdict += f" ({len(report.unreachable)} unreachable)"
    lines.append(verdict)
    return lines


def diff_lines(rows: Sequence[Row], a: str, b: str) -> list[str]:
    if not rows:
        return [f"✓ {a} and {b}: the same (volatile keys ignored)"]
    lines = [f"{a} -> {b}:"]
    shown = [r for r in rows if r.stack] + [r for r in rows if not r.stack][:MAX_DETAIL_ROWS]
    for r in shown:
        lines.append(f"  {r.path}: {r.a} -> {r.b}")
    if len(shown) < len(rows):
        lines.append(f"  … +{len(rows) - len(shown)} more (--json has them all)")
    stack = sum(1 for r in rows if r.stack)
    lines.append(f"✗ {_count(stack, 'stack difference')}, {_count(len(rows) - stack, 'other difference')}")
    return lines
