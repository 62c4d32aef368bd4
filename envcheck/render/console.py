"""The report a person reads at a glance: facts as a table, findings coloured by severity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from envcheck import __version__
from envcheck.doctor import Finding
from envcheck.facts.model import Environment
from envcheck.render.facts_text import rows

if TYPE_CHECKING:
    from rich.console import Console

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
MARK = {"error": "✗", "warning": "!", "info": "i"}


def print_facts(console: Console, env: Environment) -> None:
    from rich.table import Table

    exe = env.python.executable if env.python else "?"
    console.print(f"[bold]envcheck {__version__}[/] · {exe}")
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, text in rows(env):
        table.add_row(label, text.replace("[", r"\["))
    console.print(table)


def print_findings(console: Console, findings: Sequence[Finding]) -> None:
    """One block per finding; soft-wrapped so a fix command is never broken across lines."""
    from rich.markup import escape

    if not findings:
        console.print("[bold green]✓ No problems found.[/]")
        return
    counts = {s: sum(1 for f in findings if f.severity == s) for s in STYLE}
    summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
    console.print(f"\n[bold]Findings[/] ({summary})")
    for f in findings:
        style = STYLE[f.severity]
        console.print(f"[{style}]{MARK[f.severity]} {escape(f.title)}[/] [dim]\\[{f.code}][/]", soft_wrap=True)
        console.print(f"  [dim]{escape(f.why)}[/]", soft_wrap=True)
        for cmd in f.fix:
            console.print(f"  [green]$[/] {escape(cmd)}", soft_wrap=True)


def make_console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)
