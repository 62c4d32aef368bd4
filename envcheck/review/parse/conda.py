"""conda environment.yml: `dependencies` (conda packages) and its `pip:` section, without a YAML library."""

from __future__ import annotations

import re

from envcheck.review.parse.shell import conda_spec, parse_package
from envcheck.review.steps import Step, Unparsed

_ITEM = re.compile(r"^(\s*)-\s*(.*?)\s*$")


def parse(text: str) -> tuple[list[Step], list[Unparsed]]:
    steps: list[Step] = []
    bad: list[Unparsed] = []
    channels: list[str] = []
    section = ""
    pip_indent: int | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #")[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith((" ", "\t", "-")):
            key = line.split(":")[0].strip()
            section = key
            pip_indent = None
            continue
        m = _ITEM.match(line)
        if not m:
            continue
        indent, item = len(m.group(1)), m.group(2).strip().strip('"').strip("'")
        if section == "channels":
            channels.append(item)
            continue
        if section != "dependencies":
            continue
        if pip_indent is not None and indent > pip_indent:
            pkg = parse_package(item)
            if isinstance(pkg, str):
                if item.startswith("-"):
                    steps.append(Step(n, item, "pip", "install", (), tuple(item.split()[:1])))  # --extra-index-url ...
                else:
                    bad.append(Unparsed(n, item, pkg))
            else:
                steps.append(Step(n, item, "pip", "install", (pkg,)))
            continue
        pip_indent = None
        if item.rstrip(":") == "pip" and item.endswith(":"):
            pip_indent = indent
            continue
        pkg = conda_spec(item)
        if isinstance(pkg, str):
            bad.append(Unparsed(n, item, pkg))
        else:
            steps.append(Step(n, item, "conda", "install", (pkg,), channels=tuple(channels)))
    # channels may come after dependencies in the file: give every conda step the full list
    from dataclasses import replace

    return [replace(s, channels=tuple(channels)) if s.tool == "conda" else s for s in steps], bad
