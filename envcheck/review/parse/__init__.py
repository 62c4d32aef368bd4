"""Read a recipe of any form (notebook, pasted cell, shell, Dockerfile, requirements, environment.yml)."""

from __future__ import annotations

import re

from envcheck.errors import EnvcheckError
from envcheck.review.parse import conda, dockerfile, notebook, requirements
from envcheck.review.parse.shell import join_continuations, parse_lines
from envcheck.review.steps import Recipe, Step, Unparsed

FORMATS = ("notebook", "cell", "shell", "dockerfile", "requirements", "conda")


class RecipeError(EnvcheckError):
    """Nothing could be read (binary, empty, a notebook that is not JSON): one line, exit 2."""


def detect(text: str, name: str = "") -> str:
    low = name.lower().rsplit("/", 1)[-1]
    if low.endswith(".ipynb"):
        return "notebook"
    if (
        low in ("dockerfile", "containerfile")
        or low.endswith((".dockerfile", ".containerfile"))
        or low.startswith("dockerfile.")
    ):
        return "dockerfile"
    if low.endswith((".yml", ".yaml")):
        return "conda"
    if low.endswith((".in",)) or (("requirements" in low or "constraints" in low) and low.endswith(".txt")):
        return "requirements"
    if low.endswith((".sh", ".bash")):
        return "shell"
    s = text.lstrip()
    if s.startswith("{"):
        return "notebook"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]
    if any(re.match(r"^(FROM|RUN)\s", ln) for ln in lines):
        return "dockerfile"
    if re.search(r"^dependencies\s*:", text, re.M):
        return "conda"
    if any(ln.startswith(("!", "%")) for ln in lines):
        return "cell"
    if lines and all(_requirement_like(ln) for ln in lines):
        return "requirements"
    return "shell"


def _requirement_like(line: str) -> bool:
    if line.startswith(("-r ", "-c ", "-f ", "-i ", "--", "-e ")):
        return True
    return bool(
        re.match(
            r"^[A-Za-z0-9][A-Za-z0-9._\-]*(\[[^\]]*\])?\s*([<>=!~]=?[^\s;]*(\s*,\s*[<>=!~]=?[^\s;,]*)*)?\s*(;.*)?(@\s*\S+)?$",
            line,
        )
    )


def parse(text: str, name: str = "", fmt: str | None = None) -> Recipe:
    if "\x00" in text:
        raise RecipeError("binary data, not a recipe")
    if not text.strip():
        raise RecipeError("empty: nothing to read")
    fmt = fmt or detect(text, name)
    lines = tuple(text.splitlines())
    base = ""
    if fmt == "notebook":
        try:
            cells = notebook.cells_of(text)
        except notebook.NotebookError as exc:
            raise RecipeError(f"notebook {exc}") from None
        steps, bad, _ = notebook.parse_cells(cells)
        lines = tuple(notebook.flatten(cells).splitlines())
    elif fmt == "cell":
        steps, bad, _ = notebook.parse_cells([text])
    elif fmt == "dockerfile":
        steps, bad, base = dockerfile.parse(text)
    elif fmt == "requirements":
        steps, bad = requirements.parse(text)
    elif fmt == "conda":
        steps, bad = conda.parse(text)
    else:
        items = list(parse_lines(join_continuations(text)))
        steps = [i for i in items if isinstance(i, Step)]
        bad = [i for i in items if isinstance(i, Unparsed)]
    notes = (f"base image {base}",) if base else ()
    return Recipe(fmt, tuple(steps), tuple(bad), lines, notes, base)
