"""Diagnoses for a person: ranked causes, each with its fix, confidence and the lines that show it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from envcheck.explain.diagnose import CONFIDENT, Diagnosis
from envcheck.explain.logtext import Evidence

if TYPE_CHECKING:
    from rich.console import Console

SCHEMA = 1


def confidence_word(confidence: float) -> str:
    if confidence >= CONFIDENT:
        return "likely"
    return "possible" if confidence >= 0.5 else "a guess"


def to_json(diagnoses: Sequence[Diagnosis], suspicious: Sequence[Evidence] = ()) -> dict[str, Any]:
    """The `explain --json` document (DESIGN.md §3)."""
    return {
        "schema": SCHEMA,
        "diagnoses": [d.to_json() for d in diagnoses],
        "suspicious": [{"line": e.line_no, "text": e.text} for e in suspicious],
    }


def to_markdown(diagnoses: Sequence[Diagnosis], suspicious: Sequence[Evidence] = (), source: str = "") -> str:
    """The diagnoses as Markdown, to paste into an issue thread: cause, fix, evidence, source."""
    head = f"### envcheck explain{f' · `{source}`' if source else ''}"
    if not diagnoses:
        lines = [head, "", "No known cause matched. The lines that look most like the error:", "", "```"]
        lines += [f"{e.line_no:>6} | {e.text}" for e in suspicious] + ["```"]
        return "\n".join(lines) + "\n"
    lines = [head]
    for rank, d in enumerate(diagnoses, 1):
        sure = f"{round(d.confidence * 100)}% {confidence_word(d.confidence)}"
        lines += ["", f"#### {rank}. {d.title} (`{d.code}`, {sure})", "", d.cause, "", "```sh"]
        lines += [*d.fix, "```", "", "Evidence:", "", "```"]
        lines += [f"{e.line_no:>6} | {e.text}" for e in d.evidence] + ["```", "", f"Source: {d.source}"]
    return "\n".join(lines) + "\n"


def _evidence(console: Console, evidence: Sequence[Evidence]) -> None:
    from rich.markup import escape

    width = len(str(max((e.line_no for e in evidence), default=0)))
    for e in evidence:
        console.print(f"    [dim]{e.line_no:>{width}} │[/] {escape(e.text)}", soft_wrap=True)


def print_diagnoses(console: Console, diagnoses: Sequence[Diagnosis], source: str = "the log") -> None:
    """The best diagnosis in full, the others shorter; fixes are never wrapped mid-command."""
    from rich.markup import escape

    plural = "s" if len(diagnoses) != 1 else ""
    console.print(
        f"[bold]envcheck explain[/] · {escape(source)}: {len(diagnoses)} probable cause{plural}",
        soft_wrap=True,
    )
    for rank, d in enumerate(diagnoses, 1):
        style = "bold red" if d.confident else ("yellow" if d.confidence >= 0.5 else "cyan")
        sure = f"{round(d.confidence * 100)}% {confidence_word(d.confidence)}"
        console.print(f"\n[{style}]{rank}. {escape(d.title)}[/] [dim]\\[{d.code}] {sure}[/]", soft_wrap=True)
        if rank == 1 or d.confidence >= 0.5:
            console.print(f"  {escape(d.cause)}", soft_wrap=True)
        console.print("  [bold]Evidence[/]")
        _evidence(console, d.evidence)
        console.print("  [bold]Fix[/]")
        for step in d.fix:
            if step.startswith("#"):
                console.print(f"  [dim]{escape(step)}[/]", soft_wrap=True)
            else:
                console.print(f"  [green]$[/] {escape(step)}", soft_wrap=True)
        console.print(f"  [dim]source: {escape(d.source)}[/]", soft_wrap=True)


def print_no_match(console: Console, suspicious: Sequence[Evidence], source: str = "the log") -> None:
    """No known cause: say so, and show the lines a person should look at first."""
    from rich.markup import escape

    console.print(f"[bold]envcheck explain[/] · {escape(source)}: [yellow]no known cause matched[/]", soft_wrap=True)
    if not suspicious:
        console.print("  No line looks like an error. Pass the full output of the failing command.", soft_wrap=True)
        return
    console.print("  The lines that look most like the error:")
    _evidence(console, suspicious)
    console.print(
        "  [dim]Search the project's issues for the last of these lines, or run "
        "`envcheck doctor` to check the environment itself.[/]",
        soft_wrap=True,
    )
