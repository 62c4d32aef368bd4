"""Install progress for a person (a live spinner, or plain lines where nothing can redraw) and the log file.

A terminal or a Jupyter kernel gets rich's Live display: step n/N, what, elapsed, and the last
line pip printed (ninja's `[23/77]` while mmcv compiles). A notebook's `!envcheck setup ...` cell,
CI logs and pipes cannot redraw a line, so they get one line per step start and end plus a
heartbeat every `heartbeat` seconds while a step runs quiet, so an 18-minute compile never looks hung.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from envcheck import __version__

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

_NINJA = re.compile(r"^\[(\d+)/(\d+)\]")


def elapsed(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress(Protocol):
    def start(self, n: int, total: int, title: str) -> None: ...
    def line(self, text: str) -> None: ...
    def end(self, ok: bool, seconds: float, note: str = "") -> None: ...
    def note(self, text: str) -> None: ...
    def close(self) -> None: ...


class _Step:
    def __init__(self, n: int, total: int, title: str) -> None:
        self.n, self.total, self.title = n, total, title
        self.started = time.monotonic()
        self.last = ""
        self.ninja = ""

    def seen(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        m = _NINJA.match(text)
        if m:
            self.ninja = f"compiled {m.group(1)}/{m.group(2)}"
        self.last = text

    @property
    def head(self) -> str:
        return f"[{self.n}/{self.total}] {self.title}"


class LineProgress:
    """Plain lines: for notebooks' `!` cells, CI and pipes."""

    def __init__(self, console: Console, heartbeat: float = 60.0) -> None:
        self.console = console
        self.heartbeat = heartbeat
        self.step: _Step | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, n: int, total: int, title: str) -> None:
        self.step = _Step(n, total, title)
        self.console.print(f"{self.step.head} ...", highlight=False, soft_wrap=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            step = self.step
            if step is not None:
                what = step.ninja or step.last[:100]
                self.console.print(
                    f"    still running ({elapsed(time.monotonic() - step.started)}){': ' + what if what else ''}",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )

    def line(self, text: str) -> None:
        if self.step is not None:
            self.step.seen(text)

    def end(self, ok: bool, seconds: float, note: str = "") -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        head = self.step.head if self.step else "step"
        mark = "done" if ok else "FAILED"
        self.console.print(f"{head}: {mark} in {elapsed(seconds)}{' · ' + note if note else ''}", highlight=False,
                           markup=False, soft_wrap=True)  # fmt: skip
        self.step = None

    def note(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False, soft_wrap=True)

    def close(self) -> None:
        self._stop.set()


class RichProgress:
    """A live line per running step (rich redraws it in place, in a terminal or a Jupyter kernel)."""

    def __init__(self, console: Console) -> None:
        from rich.live import Live
        from rich.spinner import Spinner

        self._spinner = Spinner("dots")
        self.console = console
        self.step: _Step | None = None
        self.live = Live(self, console=console, refresh_per_second=4, transient=True)

    def __rich__(self) -> RenderableType:
        from rich.table import Table
        from rich.text import Text

        step = self.step
        if step is None:
            return Text("")
        text = Text(f"{step.head}  ", style="bold")
        text.append(elapsed(time.monotonic() - step.started), style="cyan")
        what = step.ninja or step.last
        if what:
            text.append(f"  {what[:110]}", style="dim")
        line = Table.grid(padding=(0, 1))  # one line, cut with an ellipsis: a wrapped line cannot be redrawn cleanly
        line.add_column(no_wrap=True)
        line.add_column(no_wrap=True, overflow="ellipsis")
        line.add_row(self._spinner, text)
        return line

    def start(self, n: int, total: int, title: str) -> None:
        self.step = _Step(n, total, title)
        self.live.start()

    def line(self, text: str) -> None:
        if self.step is not None:
            self.step.seen(text)

    def end(self, ok: bool, seconds: float, note: str = "") -> None:
        from rich.markup import escape

        self.live.stop()
        head = escape(self.step.head) if self.step else "step"
        mark = "[green]✓[/]" if ok else "[bold red]✗[/]"
        self.console.print(f"{mark} {head} [dim]{elapsed(seconds)}{' · ' + escape(note) if note else ''}[/]",
                           soft_wrap=True, highlight=False)  # fmt: skip
        self.step = None

    def note(self, text: str) -> None:
        from rich.markup import escape

        self.console.print(escape(text), soft_wrap=True)

    def close(self) -> None:
        self.live.stop()


def make_progress(console: Console) -> Progress:
    if console.is_terminal or console.is_jupyter:
        return RichProgress(console)
    return LineProgress(console)


class StepLog:
    """The full log: every command, the variables it was given, all it printed, and how it ended."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fh: IO[str] = path.open("a", encoding="utf-8", errors="replace")
        self._lock = threading.Lock()
        self.write(f"# envcheck {__version__} install log, {time.strftime('%Y-%m-%d %H:%M:%S %z')}")

    def write(self, text: str) -> None:
        with self._lock:
            self._fh.write(text + "\n")
            self._fh.flush()

    def command(self, argv: tuple[str, ...] | list[str], env: dict[str, Any]) -> None:
        import shlex

        prefix = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items())
        self.write(f"\n$ {prefix + ' ' if prefix else ''}{shlex.join(argv)}")

    def close(self) -> None:
        with self._lock:
            self._fh.close()
