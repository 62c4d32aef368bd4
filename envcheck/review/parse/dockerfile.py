"""Dockerfiles: RUN lines (shell and exec form), with ENV and ARG values substituted."""

from __future__ import annotations

import json
import re

from envcheck.review.parse.shell import ShellState, join_continuations, parse_lines
from envcheck.review.steps import Step, Unparsed

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _substitute(text: str, values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(3)
        if name in values:
            return values[name]
        return m.group(2) if m.group(2) is not None else m.group(0)

    return _VAR.sub(one, text)


def _pairs(rest: str) -> dict[str, str]:
    """`ENV A=1 B="x y"` or the legacy `ENV A 1`."""
    import shlex

    try:
        toks = shlex.split(rest)
    except ValueError:
        return {}
    if toks and "=" not in toks[0]:
        return {toks[0]: " ".join(toks[1:])}
    out = {}
    for t in toks:
        k, _, v = t.partition("=")
        out[k] = v
    return out


def parse(text: str) -> tuple[list[Step], list[Unparsed], str]:
    """(steps, unreadable lines, base image)."""
    values: dict[str, str] = {}
    state = ShellState()
    steps: list[Step] = []
    bad: list[Unparsed] = []
    base = ""
    for line, logical in join_continuations(text):
        s = logical.strip()
        if not s or s.startswith("#"):
            continue
        word, _, rest = s.partition(" ")
        word = word.upper()
        rest = rest.strip()
        if word == "ARG":
            name, eq, default = rest.partition("=")
            if name.strip() not in values:
                values[name.strip()] = default.strip().strip('"').strip("'") if eq else values.get(name.strip(), "")
        elif word == "ENV":
            for k, v in _pairs(_substitute(rest, values)).items():
                values[k] = v
                state.env[k] = v
        elif word == "FROM":
            base = _substitute(rest.split(" AS ")[0].split(" as ")[0].strip(), values)
        elif word == "RUN":
            body = rest
            while body.startswith("--"):  # RUN --mount=... --network=...
                body = body.partition(" ")[2].lstrip()
            if body.startswith("["):
                try:
                    body = " ".join(json.loads(body))
                except (json.JSONDecodeError, TypeError):
                    bad.append(Unparsed(line, s, "RUN in exec form that is not a JSON list"))
                    continue
            for item in parse_lines([(line, _substitute(body, values))], state):
                (steps if isinstance(item, Step) else bad).append(item)  # type: ignore[arg-type]
        elif word == "WORKDIR":
            for item in parse_lines([(line, "cd " + _substitute(rest, values))], state):
                (steps if isinstance(item, Step) else bad).append(item)  # type: ignore[arg-type]
    return steps, bad, base
