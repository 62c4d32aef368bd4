"""SmokeCheck: one toolkit's check as data: what to import, and the child-side source that runs it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SmokeCheck:
    """A check runs `source` (defining `check(ctx)`) under the child prelude, in the target interpreter.

    `module` is the import name whose absence means "not installed" (skip); `dist` the distribution
    whose version is reported; `what` says in a few words what the check proves (for --help and docs).
    """

    toolkit: str
    module: str
    dist: str
    what: str
    source: str
