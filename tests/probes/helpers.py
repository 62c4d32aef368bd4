"""Test doubles for probes: a recording Runner, canned replies, capture files."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

from envcheck.runner import Completed

CAPTURES = Path(__file__).resolve().parent.parent / "data" / "captures"

Reply = Union[Completed, Callable[[Sequence[str]], Completed]]


def done(stdout: str = "", returncode: int = 0, stderr: str = "") -> Completed:
    """A finished command (FakeRunner fills in argv)."""
    return Completed((), returncode, stdout, stderr)


def timed_out(seconds: float = 5.0) -> Completed:
    return Completed((), None, error=f"timed out after {seconds:g} s")


@dataclass
class FakeRunner:
    """`which` answers from `programs`, `run` from `replies` keyed by an argv prefix.

    The longest matching prefix wins; an unknown program is "not found", as SubprocessRunner
    says. Every run is recorded in `calls`. `which` without a search path is refused: the real
    one would then read os.environ, which probes must never do.
    """

    programs: dict[tuple[str, str], str] = field(default_factory=dict)  # (name, folder) -> path
    replies: dict[tuple[str, ...], Reply] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def install(self, path: str, folder: str | None = None, name: str | None = None) -> str:
        """Make `which(name, <a PATH containing folder>)` find `path`."""
        folder = folder if folder is not None else posixpath.dirname(path)
        self.programs[(name or posixpath.basename(path), folder)] = path
        return path

    def which(self, program: str, path: str | None = None) -> str | None:
        assert path is not None, "which() without a path would search os.environ['PATH']"
        for folder in (path, *path.split(":")):
            if folder and (program, folder) in self.programs:
                return self.programs[(program, folder)]
        return None

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
        for n in range(len(args), 0, -1):
            reply = self.replies.get(args[:n])
            if reply is not None:
                r = reply(args) if callable(reply) else reply
                return Completed(args, r.returncode, r.stdout, r.stderr, 0.0, r.error)
        return Completed(args, None, error=f"not found: {args[0]}")


def read_capture(name: str) -> str:
    """read_capture("nvidia-smi/no-devices"): tests/data/captures/nvidia-smi/no-devices.txt."""
    return (CAPTURES / f"{name}.txt").read_text(encoding="utf-8")


def cases(tool: str) -> set[str]:
    """The capture cases in one tool directory (file names without .txt)."""
    return {p.name[: -len(".txt")] for p in (CAPTURES / tool).glob("*.txt") if not p.name.endswith(".source.txt")}


def assert_sourced(tool: str) -> None:
    """Every capture has a non-empty sibling <case>.source.txt saying where it came from."""
    for case in cases(tool):
        source = CAPTURES / tool / f"{case}.source.txt"
        assert source.is_file(), f"{tool}/{case} has no .source.txt"
        text = source.read_text(encoding="utf-8")
        assert "https://" in text or "this project's build machine" in text, f"{tool}/{case}"
