"""A recipe as structured steps: what each install command asks for, where it came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Package:
    """One thing an install command names: `mmcv>=2.0.0`, `mmdet[tracking]`, `.`, a wheel URL."""

    name: str  # canonical distribution name ("" for a path or URL whose name is unknown)
    spec: str = ""  # PEP 440 specifier text: ">=2.0.0,<2.1.0"; conda's "=1.10" becomes "==1.10.*"
    extras: tuple[str, ...] = ()
    url: str = ""  # a direct reference: wheel URL, git+https, local path
    marker: str = ""
    text: str = ""  # as written

    @property
    def pinned(self) -> str | None:
        """The exact version of an `==X` pin (without a wildcard), else None."""
        for part in self.spec.split(","):
            part = part.strip()
            if part.startswith("==") and not part.endswith("*"):
                return part[2:].strip()
        return None


@dataclass(frozen=True)
class Step:
    """One command of the recipe that changes (or may change) the environment."""

    line: int  # 1-based line of the recipe (for a notebook: the line in the cell's joined source)
    text: str  # the command as written (continuations joined)
    tool: str  # pip | mim | conda | uninstall | clone | cd | python
    action: str = "install"  # install | uninstall | clone | cd | create | download
    packages: tuple[Package, ...] = ()
    flags: tuple[str, ...] = ()  # -U, --no-deps, --no-build-isolation, --pre, --force-reinstall, -e ...
    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()  # -r FILE (read when the recipe carries it, else named)
    constraint_files: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # variables set before it (export, ENV, VAR=x cmd)
    channels: tuple[str, ...] = ()  # conda -c
    repo: str = ""  # clone: the repository URL; cd: the directory
    ref: str = ""  # clone: --branch / a later `git checkout REF`
    cell: int | None = None  # notebook: index of the code cell

    def has(self, *flags: str) -> bool:
        return any(f in self.flags for f in flags)

    @property
    def upgrade(self) -> bool:
        return self.has("-U", "--upgrade", "--force-reinstall")


@dataclass(frozen=True)
class Unparsed:
    """A line that looks like an install command but could not be read, and why."""

    line: int
    text: str
    why: str


@dataclass(frozen=True)
class Recipe:
    format: str  # notebook | shell | dockerfile | requirements | conda
    steps: tuple[Step, ...]
    unparsed: tuple[Unparsed, ...] = ()
    lines: tuple[str, ...] = ()  # the text, line by line (what --fix keeps)
    notes: tuple[str, ...] = ()  # e.g. the Dockerfile's base image
    base_image: str = ""
