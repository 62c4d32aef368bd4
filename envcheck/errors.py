"""EnvcheckError and one base per seam; the CLI maps them to exit codes."""

from __future__ import annotations

from collections.abc import Sequence


class EnvcheckError(Exception):
    """Anything envcheck reports as a one-line message instead of a traceback."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(EnvcheckError):
    """Bad arguments or bad input files: exit 2."""


class ProbeError(EnvcheckError):
    """The target interpreter cannot be inspected at all (not there, not Python, too old)."""


class MatrixError(EnvcheckError):
    """matrices/ failed validation; carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        head = self.problems[0] if self.problems else "invalid compatibility data"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"matrices/ is invalid: {head}{more}")


class PlanError(EnvcheckError):
    """A request the planner cannot even start on (unknown toolkit, bad spec)."""


class InstallError(EnvcheckError):
    """An install step failed; exit 3 when the environment was restored."""

    exit_code = 3


class SmokeError(EnvcheckError):
    """The smoke runner itself could not run (not a failed check: that is a result)."""
