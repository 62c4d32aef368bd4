"""Doctor: Environment × Matrix → findings, each with a severity, a code, a why and a fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Callable

from envcheck.facts.model import Environment
from envcheck.matrix import Matrix

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    code: str  # from shared/reference/failures/CODES.md where one fits
    severity: str  # error | warning | info
    title: str  # what is wrong, one line
    why: str  # why it breaks, one line
    fix: tuple[str, ...] = ()  # exact commands, in order
    source: str = ""  # where the rule's fact comes from (matrices/ record source)


Rule = Callable[[Environment, Matrix], Iterable[Finding]]


def _rules() -> tuple[Rule, ...]:
    from envcheck.doctor import gpu, packages, tooling

    return (*packages.RULES, *gpu.RULES, *tooling.RULES)


def diagnose_environment(env: Environment, matrix: Matrix) -> list[Finding]:
    """Every rule's findings, errors first, duplicates (same code and title) dropped."""
    seen: set[tuple[str, str]] = set()
    found: list[Finding] = []
    for rule in _rules():
        for f in rule(env, matrix):
            if (f.code, f.title) not in seen:
                seen.add((f.code, f.title))
                found.append(f)
    return sorted(found, key=lambda f: SEVERITIES.index(f.severity))


def worst(findings: Iterable[Finding]) -> str | None:
    levels = [SEVERITIES.index(f.severity) for f in findings]
    return SEVERITIES[min(levels)] if levels else None


def pip_install(env: Environment, *args: str) -> str:
    """A pip command line for the inspected interpreter, quoted for a POSIX shell."""
    return " ".join((python_cmd(env), "-m", "pip", "install", *(_quote(a) for a in args)))


def pip_uninstall(env: Environment, *names: str) -> str:
    return " ".join((python_cmd(env), "-m", "pip", "uninstall", "-y", *names))


def plan_command(env: Environment, matrix: Matrix, *flags: str) -> str:
    """`envcheck plan` for the toolkits installed here (mmdet when none): it prints exact steps."""
    names = [matrix.toolkit_name(n) for n in env.packages]
    toolkits = [n for n in matrix.toolkits if n in names] or ["mmdet"]
    where = f" --python {python_cmd(env)}" if env.python and env.python.executable else ""
    return " ".join(("envcheck plan", *toolkits, *flags, "--format shell")) + where


def python_cmd(env: Environment) -> str:
    exe = env.python.executable if env.python else ""
    return _quote(exe) if exe else "python"


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)
