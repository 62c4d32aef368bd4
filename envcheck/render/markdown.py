"""The report as Markdown, to paste into a GitHub issue; optionally with user names and paths redacted."""

from __future__ import annotations

import re
from collections.abc import Sequence

from envcheck import __version__
from envcheck.doctor import Finding
from envcheck.facts.model import Environment
from envcheck.render.facts_text import rows


def redact(text: str, secrets: Sequence[tuple[str, str]]) -> str:
    """Replace each (secret, stand-in) pair, longest first, so /home/ann is redacted before ann."""
    for secret, stand_in in sorted(secrets, key=lambda s: -len(s[0])):
        if len(secret) >= 3:  # a two-letter user name would eat half the report
            text = re.sub(re.escape(secret), stand_in, text)
    return text


def to_markdown(env: Environment, findings: Sequence[Finding], secrets: Sequence[tuple[str, str]] = ()) -> str:
    lines = [f"### envcheck {__version__} report", "", "| | |", "|---|---|"]
    for label, text in rows(env):
        cell = text.replace("|", "\\|")
        lines.append(f"| **{label}** | {cell} |")
    lines.append("")
    if findings:
        lines.append(f"#### Findings ({len(findings)})")
        lines.append("")
        for f in findings:
            lines.append(f"- **{f.severity}** `{f.code}`: {f.title}  ")
            lines.append(f"  {f.why}")
            for cmd in f.fix:
                lines.append(f"  - `{cmd}`")
    else:
        lines.append("No problems found.")
    return redact("\n".join(lines) + "\n", secrets)
