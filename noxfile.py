"""Developer sessions: tests (unit + integration), lint (ruff + mypy), e2e (a real stack, later)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Unit and integration tests: pure functions on data, real child processes and real venvs."""
    session.install("-e", ".", "pytest>=7", "hypothesis>=6")
    session.run("python", "-m", "pytest", *(session.posargs or ["-q"]))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (style, imports, bugbear) and mypy --strict on the package."""
    session.install("-e", ".", "ruff>=0.5", "mypy>=1.10")
    session.run("ruff", "check", "envcheck", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "envcheck", "tests", "benchmarks", "noxfile.py")
    session.run("mypy")
