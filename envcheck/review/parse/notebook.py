"""Notebook recipes: .ipynb code cells, or a pasted Colab cell (`!pip`, `%pip`, `%%bash`)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from envcheck.review.parse.shell import ShellState, join_continuations, parse_lines
from envcheck.review.steps import Step, Unparsed

_SHELL_MAGICS = ("%%bash", "%%shell", "%%sh", "%%script bash")


class NotebookError(ValueError):
    """The .ipynb is not a notebook envcheck can read (not JSON, no cells)."""


def cells_of(text: str) -> list[str]:
    """The code cells' sources of an .ipynb document."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    cells = doc.get("cells") if isinstance(doc, dict) else None
    if not isinstance(cells, list):
        worksheets = doc.get("worksheets") if isinstance(doc, dict) else None  # nbformat 3
        if isinstance(worksheets, list) and worksheets and isinstance(worksheets[0], dict):
            cells = worksheets[0].get("cells")
    if not isinstance(cells, list):
        raise NotebookError("JSON without a `cells` list: not a Jupyter notebook")
    out: list[str] = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", cell.get("input", ""))
        out.append("".join(src) if isinstance(src, list) else str(src))
    return out


def flatten(cells: list[str]) -> str:
    """Cells joined as one text (what line numbers refer to)."""
    return "\n".join(c.rstrip("\n") for c in cells)


def cell_lines(source: str, first_line: int) -> Iterator[tuple[int, str]]:
    """Shell lines of one cell, numbered from `first_line`."""
    lines = source.split("\n")
    if lines and lines[0].strip().startswith(_SHELL_MAGICS):
        for n, text in join_continuations("\n".join(lines[1:])):
            yield first_line + n, text
        return
    for n, text in join_continuations(source):
        s = text.lstrip()
        if s.startswith("!"):
            yield first_line + n - 1, s[1:]
        elif s.startswith("%") and not s.startswith("%%"):
            yield first_line + n - 1, s[1:]  # %pip, %cd, %conda


def parse_cells(cells: list[str]) -> tuple[list[Step], list[Unparsed], list[int]]:
    """Steps of every code cell; also the first line of each cell in the flattened text."""
    steps: list[Step] = []
    bad: list[Unparsed] = []
    starts: list[int] = []
    state = ShellState()
    line = 1
    for index, source in enumerate(cells):
        starts.append(line)
        for item in parse_lines(cell_lines(source, line), state):
            if isinstance(item, Step):
                from dataclasses import replace

                steps.append(replace(item, cell=index))
            else:
                bad.append(item)
        line += len(source.rstrip("\n").split("\n"))
    return steps, bad, starts
