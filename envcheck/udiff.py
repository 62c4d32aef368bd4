"""Unified diffs: parse one, and apply it to a source tree with strict context matching (no fuzz).

envcheck patches upstream sdists (matrices/patches/*.patch) and must not depend on `patch(1)` being
installed, nor apply a hunk to text it was not written for. So: every context and removed line must
match exactly (line endings aside); a hunk may sit at another line number (an offset) only where its
text occurs exactly once; and nothing is written unless every hunk of every file applies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from envcheck.errors import EnvcheckError

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(EnvcheckError):
    """A patch that cannot be read, or does not apply to the tree it was meant for."""

    exit_code = 2


@dataclass(frozen=True)
class Hunk:
    old_start: int  # 1-based, as the header says
    lines: tuple[str, ...]  # each with its prefix: ' ' context, '-' removed, '+' added

    @property
    def old(self) -> list[str]:
        return [line[1:] for line in self.lines if line[0] in " -"]

    @property
    def new(self) -> list[str]:
        return [line[1:] for line in self.lines if line[0] in " +"]


@dataclass(frozen=True)
class FilePatch:
    path: str  # relative to the tree, after stripping
    hunks: tuple[Hunk, ...]


def parse(text: str, strip: int = 1) -> tuple[FilePatch, ...]:
    """The file patches of a unified diff; lines before the first `--- ` are its description."""
    lines = text.splitlines()
    out: list[FilePatch] = []
    i = 0
    while i < len(lines):
        if not (lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")):
            i += 1
            continue
        _target(lines[i][4:], strip)
        path = _target(lines[i + 1][4:], strip)
        i += 2
        hunks: list[Hunk] = []
        while i < len(lines) and lines[i].startswith("@@"):
            m = _HUNK.match(lines[i])
            if not m:
                raise PatchError(f"bad hunk header {lines[i]!r}")
            old_len = int(m.group(2) if m.group(2) is not None else 1)
            new_len = int(m.group(4) if m.group(4) is not None else 1)
            i += 1
            body: list[str] = []
            old_seen = new_seen = 0
            while i < len(lines) and (old_seen < old_len or new_seen < new_len):
                line = lines[i] if lines[i] else " "  # an editor may strip the blank context line's space
                if line.startswith("\\"):  # "\ No newline at end of file"
                    i += 1
                    continue
                if line[0] not in " -+":
                    raise PatchError(f"{path}: hunk at line {m.group(1)} ends early (line {i + 1}: {lines[i]!r})")
                body.append(line)
                old_seen += line[0] in " -"
                new_seen += line[0] in " +"
                i += 1
            if (old_seen, new_seen) != (old_len, new_len):
                raise PatchError(f"{path}: hunk at line {m.group(1)} is cut short")
            while i < len(lines) and lines[i].startswith("\\"):
                i += 1
            hunks.append(Hunk(int(m.group(1)), tuple(body)))
        if not hunks:
            raise PatchError(f"{path}: no hunks")
        out.append(FilePatch(path, tuple(hunks)))
    if not out:
        raise PatchError("no file patches found (no `--- a/...` / `+++ b/...` pair)")
    return tuple(out)


def _target(header: str, strip: int) -> str:
    name = header.split("\t")[0].strip()
    if name == "/dev/null":
        raise PatchError("a patch that creates or deletes files is not supported")
    parts = PurePosixPath(name).parts[strip:]
    if not parts or name.startswith("/") or ".." in parts:
        raise PatchError(f"refusing the path {name!r}: a patch edits files inside the source tree only")
    return "/".join(parts)


def apply_text(text: str, fp: FilePatch) -> str:
    """`text` with every hunk of `fp` applied; PatchError naming the first hunk whose text is not there."""
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    bare = [line.rstrip("\r\n") for line in lines]
    offset = 0
    for n, hunk in enumerate(fp.hunks, 1):
        old, new = hunk.old, hunk.new
        at = _locate(bare, old, hunk.old_start - 1 + offset)
        if at is None:
            want = next((line for line in old if line.strip()), old[0] if old else "")
            raise PatchError(
                f"{fp.path}: hunk {n} (line {hunk.old_start}) does not apply: its text is not in the file "
                f"(looking for {want.strip()!r})"
            )
        if at < 0:
            raise PatchError(f"{fp.path}: hunk {n} (line {hunk.old_start}): its text occurs more than once")
        ends = [lines[at + k][len(bare[at + k]) :] for k in range(len(old))]
        tail_end = ends[-1] if ends else newline
        added = [line + newline for line in new]
        if added and tail_end == "":  # the old last line had no newline: neither has the new one
            added[-1] = added[-1][: -len(newline)]
        lines[at : at + len(old)] = added
        bare[at : at + len(old)] = list(new)
        offset += len(new) - len(old)
    return "".join(lines)


def _locate(bare: Sequence[str], old: Sequence[str], expected: int) -> int | None:
    """Where `old` sits: `expected` when it matches there, else its one other place; -1 ambiguous, None absent."""
    size = len(old)
    if 0 <= expected <= len(bare) - size and list(bare[expected : expected + size]) == list(old):
        return expected
    found = [i for i in range(len(bare) - size + 1) if list(bare[i : i + size]) == list(old)]
    if len(found) > 1:
        return -1
    return found[0] if found else None


def apply_tree(root: Path, patches: Sequence[FilePatch]) -> list[str]:
    """Apply to the files under `root`: all or nothing. The paths changed."""
    result: dict[Path, str] = {}
    for fp in patches:
        path = root / fp.path
        try:
            text = result.get(path) or path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PatchError(f"{fp.path}: cannot read it in the unpacked sdist ({exc})") from None
        result[path] = apply_text(text, fp)
    for path, text in result.items():
        path.write_bytes(text.encode("utf-8"))
    return [fp.path for fp in patches]
