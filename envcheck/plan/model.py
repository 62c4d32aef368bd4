"""Plan and Step: what to install, in which order, and why; rendered as JSON, requirements, shell, Colab."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envcheck import __version__

FORMATS = ("requirements", "constraints", "shell", "colab")


def _names_mmcv(argv: tuple[str, ...]) -> bool:
    """Whether a pip command's requirements include mmcv (or mmcv-full) itself."""
    return any(a.split("=")[0].split("<")[0].split(">")[0] in ("mmcv", "mmcv-full") for a in argv)


@dataclass(frozen=True)
class Step:
    tool: str  # pip | mim
    argv: tuple[str, ...]
    why: str
    compiles: bool = False
    env: Mapping[str, str] = field(default_factory=dict)  # variables the command needs
    minutes: float = 0.0  # estimate

    def shell(self) -> str:
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items())
        return (prefix + " " if prefix else "") + " ".join(shlex.quote(a) for a in self.argv)


@dataclass(frozen=True)
class Choice:
    """One decision the planner made: the component, what it picked, and why."""

    component: str
    picked: str
    why: str


@dataclass(frozen=True)
class Alternative:
    """A stack the planner considered and did not pick, and what it would have cost."""

    what: str
    why: str
    minutes: float | None = None


@dataclass(frozen=True)
class Clash:
    constraint: str  # "mmocr 1.0.1 requires mmdet>=3.0.0rc5,<3.2.0"
    source: str  # where that constraint comes from


@dataclass(frozen=True)
class Conflict:
    summary: str
    clashes: tuple[Clash, ...]


@dataclass(frozen=True)
class Plan:
    request: tuple[str, ...]
    target: str  # "this machine", "env file X", "profile colab"
    stack: Mapping[str, str] = field(default_factory=dict)  # name -> exact version
    pins: tuple[str, ...] = ()  # other requirements the stack needs: "numpy<2", "ftfy"
    steps: tuple[Step, ...] = ()
    choices: tuple[Choice, ...] = ()
    rejected: tuple[Alternative, ...] = ()
    warnings: tuple[str, ...] = ()
    conflict: Conflict | None = None
    minutes: float = 0.0
    find_links: tuple[str, ...] = ()
    index_url: str | None = None  # where a changed torch comes from
    torch_changed: bool = False

    @property
    def ok(self) -> bool:
        return self.conflict is None

    @property
    def compiles(self) -> bool:
        return any(s.compiles for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "envcheck": __version__,
            "ok": self.ok,
            "request": list(self.request),
            "target": self.target,
            "stack": dict(self.stack),
            "pins": list(self.pins),
            "steps": [
                {
                    "tool": s.tool,
                    "argv": list(s.argv),
                    "env": dict(s.env),
                    "why": s.why,
                    "compiles": s.compiles,
                    "minutes": s.minutes,
                }
                for s in self.steps
            ],
            "choices": [{"component": c.component, "picked": c.picked, "why": c.why} for c in self.choices],
            "rejected": [{"what": a.what, "why": a.why, "minutes": a.minutes} for a in self.rejected],
            "warnings": list(self.warnings),
            "minutes": round(self.minutes, 1),
            "conflict": None
            if self.conflict is None
            else {
                "summary": self.conflict.summary,
                "clashes": [{"constraint": c.constraint, "source": c.source} for c in self.conflict.clashes],
            },
        }

    # -- text formats ---------------------------------------------------------------------

    def _pinned_lines(self) -> list[str]:
        return [f"{name}=={version}" for name, version in self.stack.items()] + list(self.pins)

    def render(self, fmt: str) -> str:
        if fmt == "requirements":
            head = [f"# envcheck {__version__}: {' '.join(self.request)} for {self.target}"]
            built = [s for s in self.steps if s.compiles]
            if any(_names_mmcv(s.argv) for s in built):
                head.append("# mmcv is compiled from source: install it first with the `shell` format's steps")
            if any(not _names_mmcv(s.argv) for s in built):
                head.append("# a dependency is compiled from its sdist without build isolation: see the `shell` format")
            opts = [f"--find-links {u}" for u in self.find_links]
            if self.index_url:
                opts.append(f"--extra-index-url {self.index_url}")
            return "\n".join(head + opts + self._pinned_lines()) + "\n"
        if fmt == "constraints":
            return "\n".join(f"{n}=={v}" for n, v in self.stack.items()) + "\n"
        if fmt == "shell":
            lines = [
                "#!/usr/bin/env bash",
                f"# envcheck {__version__}: {' '.join(self.request)} for {self.target}",
                "set -euo pipefail",
            ]
            for s in self.steps:
                lines += [f"# {s.why}", s.shell()]
            return "\n".join(lines) + "\n"
        if fmt == "colab":
            lines = [f"# envcheck {__version__}: {' '.join(self.request)} — paste into one Colab cell"]
            for s in self.steps:
                argv = list(s.argv)
                if len(argv) > 2 and argv[1:3] == ["-m", "pip"]:
                    argv = ["pip", *argv[3:]]
                prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in s.env.items())
                lines.append(f"!{prefix + ' ' if prefix else ''}{' '.join(shlex.quote(a) for a in argv)}")
            if self.torch_changed:
                lines.append("# torch changed: Runtime > Restart session before importing it")
            return "\n".join(lines) + "\n"
        raise ValueError(f"unknown format {fmt!r}")
