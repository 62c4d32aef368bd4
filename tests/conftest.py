"""Shared fakes: a Runner that answers from a script of canned results (no patching)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Callable

import pytest

from envcheck.runner import Completed


@dataclass
class FakeRunner:
    """Answers `run` from `answers` keyed by program name; records every argv it was given."""

    answers: dict[str, Completed | Callable[[tuple[str, ...]], Completed]] = field(default_factory=dict)
    on_path: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def which(self, program: str, path: str | None = None) -> str | None:
        return self.on_path.get(program)

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> Completed:
        args = tuple(argv)
        self.calls.append(args)
        answer = self.answers.get(args[0].rsplit("/", 1)[-1]) or self.answers.get(args[0])
        if answer is None:
            return Completed(args, None, error=f"not found: {args[0]}")
        return answer(args) if callable(answer) else answer


@pytest.fixture
def fake_runner() -> FakeRunner:
    return FakeRunner()
