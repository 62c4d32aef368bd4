"""Install for a person: the commands about to run, what happened, and the one verdict line of setup."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from envcheck.install.installer import InstallFailed, Outcome
from envcheck.install.steps import Prepared
from envcheck.render.progress import elapsed

if TYPE_CHECKING:
    from rich.console import Console


def print_actions(console: Console, prepared: Prepared, command: str = "install") -> None:
    from rich.markup import escape

    plan = prepared.plan
    console.print(
        f"[bold]envcheck {command}[/] {escape(' '.join(plan.request))} into {escape(prepared.layout.python)}",
        soft_wrap=True,
    )
    console.print(
        "[bold]Stack[/]  " + "  ".join(f"{n} [cyan]{escape(v)}[/]" for n, v in plan.stack.items()), soft_wrap=True
    )
    if plan.pins:
        console.print("[bold]Also[/]   " + "  ".join(escape(p) for p in plan.pins), soft_wrap=True)
    minutes = sum(a.minutes for a in prepared.actions)
    builds = [a for a in prepared.actions if a.compiles]
    note = " [yellow](compiles mmcv: the wheel is kept for next time)[/]" if builds else ""
    console.print(f"\n[bold]Steps[/] (about {minutes:.0f} min){note}")
    for i, a in enumerate(prepared.actions, 1):
        console.print(f"  {i}. {escape(a.title)}", soft_wrap=True)
        if a.why:
            console.print(f"     [dim]{escape(a.why)}[/]", soft_wrap=True)
        for cmd in a.commands():
            env = " ".join(f"{k}={shlex.quote(v)}" for k, v in a.env.items()) if cmd is a.argv else ""
            console.print(f"     [green]$[/] {escape((env + ' ' if env else '') + shlex.join(cmd))}", soft_wrap=True)
    console.print(
        f"  {len(prepared.actions) + 1}. check the result: inspect, doctor, import the toolkits", soft_wrap=True
    )
    if prepared.pip_args:
        console.print(f"[dim]extra pip arguments (ENVCHECK_PIP_ARGS): {escape(shlex.join(prepared.pip_args))}[/]",
                      soft_wrap=True)  # fmt: skip
    for w in plan.warnings:
        console.print(f"[yellow]! {escape(w)}[/]", soft_wrap=True)


def print_failure(console: Console, exc: InstallFailed) -> None:
    from rich.markup import escape

    from envcheck.render.diagnoses import confidence_word

    where = f" at {exc.step}" if exc.step else ""
    console.print(f"\n[bold red]✗ Install failed{escape(where)}[/] [dim]\\[{exc.code}][/]", soft_wrap=True)
    console.print(f"  {escape(exc.message)}", soft_wrap=True)
    if exc.tail:
        console.print("  [dim]last lines of its output:[/]")
        for line in exc.tail[-20:]:
            console.print(f"  [dim]│[/] {escape(line)}", soft_wrap=True)
    if exc.diagnosis is not None:  # what `envcheck explain` says of the failed command's output
        d = exc.diagnosis
        sure = f"{round(d.confidence * 100)}% {confidence_word(d.confidence)}"
        console.print(f"  [bold]Likely cause:[/] {escape(d.title)} [dim]\\[{escape(d.code)}] {sure}[/]", soft_wrap=True)
        console.print(f"  {escape(d.cause)}", soft_wrap=True)
        for step in d.fix:
            mark = "[dim]" if step.startswith("#") else "[green]$[/] "
            console.print(f"    {mark}{escape(step)}{'[/]' if step.startswith('#') else ''}", soft_wrap=True)
    if not exc.changed:
        console.print("  [green]Nothing was changed.[/]")
    elif exc.restored:
        console.print(
            "  [green]The environment was restored: every file and every installed version are as before.[/]",
            soft_wrap=True,
        )
    else:
        console.print(
            f"  [bold red]Restoring the environment failed too:[/] {escape(exc.restore_error)}", soft_wrap=True
        )
    if exc.hint:
        console.print(f"  {escape(exc.hint)}", soft_wrap=True)
    if exc.log:
        console.print(f"  Full log: {escape(str(exc.log))}", soft_wrap=True)


def restart_notice(prepared: Prepared) -> str | None:
    if prepared.plan.torch_changed and prepared.env.context in ("colab", "kaggle"):
        return "torch was changed in a running notebook: restart the runtime (Runtime > Restart session) before importing it"
    return None


def print_outcome(console: Console, prepared: Prepared, outcome: Outcome) -> None:
    from rich.markup import escape

    from envcheck.render.console import print_findings

    if outcome.check is not None:
        rest = [f for f in outcome.check.findings if f.severity != "info"]
        if rest:
            print_findings(console, rest)
    console.print(
        f"\n[bold green]✓ Installed[/] in {elapsed(outcome.seconds)} "
        f"[dim](snapshot of {outcome.snapshot_files} files in {outcome.snapshot_seconds:.1f} s, discarded)[/]",
        soft_wrap=True,
    )
    if outcome.log:
        console.print(f"  Full log: {escape(str(outcome.log))}", soft_wrap=True)
    notice = restart_notice(prepared)
    if notice:
        console.print(f"[bold yellow]! {escape(notice)}[/]", soft_wrap=True)


def verdict(prepared: Prepared, outcome: Outcome | None, failure: InstallFailed | None = None) -> str:
    """The one line `envcheck setup` ends with (for a notebook cell or a CI log)."""
    plan = prepared.plan
    toolkits = [f"{n} {v}" for n, v in plan.stack.items() if n not in ("torch", "torchvision", "mmcv", "mmengine")]
    if failure is not None:
        state = (
            "nothing changed"
            if not failure.changed
            else ("environment restored" if failure.restored else "RESTORE FAILED")
        )
        cause = f"; likely cause [{failure.diagnosis.code}]" if failure.diagnosis is not None else ""
        return (
            f"envcheck setup: FAILED{' at ' + failure.step if failure.step else ''} [{failure.code}]{cause} — {state}"
        )
    assert outcome is not None
    base = ", ".join(f"{n} {plan.stack[n]}" for n in ("torch", "mmcv", "mmengine") if n in plan.stack)
    how = (
        " (mmcv compiled, wheel cached)"
        if outcome.compiled
        else (" (mmcv from the wheel cache)" if outcome.cached else "")
    )
    restart = "; restart the runtime before importing torch" if restart_notice(prepared) else ""
    return f"envcheck setup: OK — {', '.join(toolkits)} on {base}{how} in {elapsed(outcome.seconds)}{restart}"
