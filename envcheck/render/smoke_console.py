"""Smoke results for a person: a live table with a spinner per running check, then the verdict."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from envcheck.smoke.result import SmokeResult, counts
from envcheck.smoke.spec import SmokeCheck

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.table import Table

STYLE = {"pass": "green", "fail": "bold red", "skip": "dim"}
MARK = {"pass": "✓ pass", "fail": "✗ fail", "skip": "- skip"}


class SmokeProgress:
    """on_start/on_done for run_checks: a live table in a terminal, one line per check elsewhere (CI logs)."""

    def __init__(self, console: Console, checks: Sequence[SmokeCheck], python: str, device: str) -> None:
        self.console = console
        self.checks = list(checks)
        self.results: dict[str, SmokeResult] = {}
        self.running: str | None = None
        self.started = 0.0
        self.live: Live | None = None
        console.print(f"[bold]envcheck smoke[/] · {python} · device {device}")

    def __enter__(self) -> SmokeProgress:
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(console=self.console, refresh_per_second=8, transient=True, get_renderable=self._table)
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def on_start(self, check: SmokeCheck) -> None:
        self.running = check.toolkit
        self.started = time.monotonic()

    def on_done(self, result: SmokeResult) -> None:
        self.results[result.toolkit] = result
        self.running = None
        if self.live is None:  # no terminal: a line as each check ends, so a CI log shows progress
            from rich.markup import escape

            self.console.print(
                f"[{STYLE[result.status]}]{MARK[result.status]}[/] {result.toolkit:<11} {result.device:<7} "
                f"{result.seconds:6.1f} s  {escape(result.headline)}",
                soft_wrap=True,
            )

    def _table(self) -> RenderableType:
        from rich.spinner import Spinner

        table = result_table([self.results[c.toolkit] for c in self.checks if c.toolkit in self.results])
        for check in self.checks:
            if check.toolkit in self.results:
                continue
            if check.toolkit == self.running:
                spent = time.monotonic() - self.started
                table.add_row(Spinner("dots", style="cyan"), check.toolkit, "", f"{spent:.0f} s", "[dim]running[/]")
            else:
                table.add_row("[dim]·[/]", f"[dim]{check.toolkit}[/]", "", "", "[dim]waiting[/]")
        return table


def result_table(results: Sequence[SmokeResult]) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("device", no_wrap=True)
    table.add_column("time", justify="right", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for r in results:
        detail = escape(r.headline)
        if r.status == "fail" and r.diagnosis:
            detail += f" [yellow]\\[{r.diagnosis}][/]"
        table.add_row(f"[{STYLE[r.status]}]{MARK[r.status]}[/]", r.toolkit, r.device, f"{r.seconds:.1f} s", detail)
    return table


def print_results(console: Console, results: Sequence[SmokeResult], *, live_shown: bool) -> None:
    """The final table (a terminal's live one vanishes), each failure's tail and fix, the verdict."""
    from rich.markup import escape

    if live_shown:
        console.print(result_table(results))
    for r in results:
        if r.status != "fail":
            continue
        console.print(f"\n[bold red]✗ {r.toolkit}[/] [dim]({r.device}, {r.seconds:.1f} s)[/]")
        for line in r.detail.splitlines()[1:]:
            console.print(f"  [dim]{escape(line)}[/]", soft_wrap=True)
        if r.diagnosis:
            console.print(f"  [yellow]diagnosis: {r.diagnosis}[/]  (`envcheck explain` reads the full log)")
            for cmd in r.fix:
                console.print(f"  [green]$[/] {escape(cmd)}", soft_wrap=True)
    n = counts(results)
    total = sum(r.seconds for r in results)
    verdict = f"{n['pass']} passed, {n['fail']} failed, {n['skip']} skipped in {total:.1f} s"
    if not n["pass"] and not n["fail"]:
        verdict += " (nothing to check here: no toolkit is installed)"
    console.print(f"\n[{'bold red' if n['fail'] else 'bold green'}]{verdict}[/]")
