"""A reviewed recipe for a person: each step's effect, the findings on their line, the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envcheck.review import Reviewed

if TYPE_CHECKING:
    from rich.console import Console

_MARK = {"error": "[red]✗[/]", "warning": "[yellow]![/]", "info": "[dim]·[/]"}


def print_review(console: Console, r: Reviewed, source: str) -> None:
    from rich.markup import escape

    rv = r.review
    console.print(
        f"[bold]envcheck review[/] {escape(source)} · {rv.recipe.format} · on {escape(rv.target)}", soft_wrap=True
    )
    for note in rv.recipe.notes:
        console.print(f"[dim]{escape(note)} (simulated on the target above, not on that image)[/]", soft_wrap=True)
    for u in rv.recipe.unparsed:
        console.print(
            f"[yellow]? line {u.line}[/] could not be read: {escape(u.why)}  [dim]{escape(u.text)}[/]", soft_wrap=True
        )
    console.print()
    for res in rv.results:
        colour = "red" if res.failed else ("cyan" if res.step.action == "install" else "dim")
        mins = f" [dim](~{res.minutes:g} min)[/]" if res.minutes >= 1 else ""
        console.print(f"[bold]{res.step.line:>4}[/] [dim]{escape(res.step.text)}[/]", soft_wrap=True)
        console.print(f"      [{colour}]→ {escape(res.effect)}[/]{mins}", soft_wrap=True)
        for f in res.findings:
            console.print(f"      {_MARK.get(f.severity, '·')} {escape(f.title)} [dim]\\[{f.code}][/]", soft_wrap=True)
            console.print(f"        [dim]{escape(f.why)}[/]", soft_wrap=True)
    console.print()
    stack = "  ".join(f"{n} [cyan]{escape(v)}[/]" for n, v in rv.final_stack.items())
    console.print(f"[bold]Final stack[/]  {stack or '(nothing OpenMMLab)'}", soft_wrap=True)
    errors = len(rv.errors)
    if rv.ok:
        verdict = "[green]works as written[/]"
    else:
        verdict = f"[red]breaks[/]: {errors} error finding{'s' if errors != 1 else ''}"
    smoke = "yes" if rv.smoke else "no"
    imports = "yes" if rv.imports else "no"
    tk = " ".join(rv.toolkits) or "-"
    console.print(
        f"[bold]Verdict[/]      {verdict} · toolkits {escape(tk)} import: {imports} · smoke: {smoke} · about {rv.minutes:g} min",
        soft_wrap=True,
    )
    if r.fixed is not None:
        console.print("\n[bold]Fixed recipe[/] (same format)")
        console.print(escape(r.fixed), soft_wrap=True, highlight=False)
    elif r.fix_problem:
        colour = "green" if r.review.ok else "yellow"
        console.print(f"\n[{colour}]No fixed recipe:[/] {escape(r.fix_problem)}", soft_wrap=True)
