"""SmokeResult: what one smoke check proved (pass), found broken (fail) or could not try (skip)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "skip")
SCHEMA = 1


@dataclass(frozen=True)
class SmokeResult:
    """One check's outcome.

    `device` is where the check ran (cpu, cuda:0), or what was asked for when it never got that far;
    `detail` is one short line on success and the error's last lines on failure; `diagnosis` is
    envcheck's top diagnosis code for a failure's output (None when nothing matched); `fix` holds
    that diagnosis' commands; `version` is the toolkit's installed version when the child knew it.
    """

    toolkit: str
    status: Status
    device: str
    seconds: float
    detail: str
    diagnosis: str | None = None
    fix: tuple[str, ...] = ()
    version: str | None = None
    log: str = field(default="", compare=False, repr=False)  # the child's whole output, for JUnit

    @property
    def headline(self) -> str:
        """The detail's first line: what a table cell or a JUnit failure message shows."""
        lines = self.detail.strip().splitlines()
        return lines[0].strip() if lines else ""

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "toolkit": self.toolkit,
            "status": self.status,
            "device": self.device,
            "seconds": round(self.seconds, 2),
            "detail": self.detail,
            "version": self.version,
            "diagnosis": self.diagnosis,
        }
        if self.fix:
            doc["fix"] = list(self.fix)
        return doc


def exit_code(results: Sequence[SmokeResult]) -> int:
    """0 when every check passed or was skipped, 1 when any failed."""
    return 1 if any(r.status == "fail" for r in results) else 0


def counts(results: Sequence[SmokeResult]) -> dict[str, int]:
    return {s: sum(1 for r in results if r.status == s) for s in STATUSES}


def to_document(results: Sequence[SmokeResult], *, python: str, device: str, envcheck: str) -> dict[str, Any]:
    """The `smoke --json` document (DESIGN.md §3): `results` in the order the checks ran."""
    return {
        "schema": SCHEMA,
        "envcheck": envcheck,
        "python": python,
        "device": device,
        "summary": counts(results),
        "results": [r.to_json() for r in results],
    }
