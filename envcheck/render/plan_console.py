"""A plan for a person: the stack, each step with its why, what was rejected, or the clash."""

from __future__ import annotations

from typing import TYPE_CHECKING

from envcheck.plan.model import Plan

if TYPE_CHECKING:
    from rich.console import Console


def print_plan(console: Console, plan: Plan) -> None:
    from rich.markup import escape

    head = f"[bold]envcheck plan[/] {escape(' '.join(plan.request))} · for {escape(plan.target)}"
    console.print(head, soft_wrap=True)
    if plan.conflict is not None:
        console.print(f"\n[bold red]✗ No stack works:[/] {escape(plan.conflict.summary)}", soft_wrap=True)
        for clash in plan.conflict.clashes:
            console.print(f"  • {escape(clash.constraint)}  [dim]({escape(clash.source)})[/]", soft_wrap=True)
        if plan.rejected:
            console.print("\n[bold]Where it works[/]")
            for alt in plan.rejected:
                console.print(f"  - {escape(alt.what)}: {escape(alt.why)}", soft_wrap=True)
        return
    console.print("\n[bold]Stack[/]  " + "  ".join(f"{n} [cyan]{v}[/]" for n, v in plan.stack.items()), soft_wrap=True)
    if plan.pins:
        console.print("[bold]Also[/]   " + "  ".join(escape(p) for p in plan.pins), soft_wrap=True)
    console.print("\n[bold]Why[/]")
    for c in plan.choices:
        console.print(f"  {c.component} [cyan]{escape(c.picked)}[/]: {escape(c.why)}", soft_wrap=True)
    compile_note = " [yellow](compiles)[/]" if plan.compiles else ""
    console.print(f"\n[bold]Steps[/] (about {plan.minutes:g} min){compile_note}")
    for i, step in enumerate(plan.steps, 1):
        console.print(f"  [dim]{i}. {escape(step.why)}[/]", soft_wrap=True)
        console.print(f"     [green]$[/] {escape(step.shell())}", soft_wrap=True)
    if plan.rejected:
        console.print("\n[bold]Not chosen[/]")
        for alt in plan.rejected:
            console.print(f"  [dim]- {escape(alt.what)}: {escape(alt.why)}[/]", soft_wrap=True)
    for w in plan.warnings:
        console.print(f"[yellow]! {escape(w)}[/]", soft_wrap=True)
