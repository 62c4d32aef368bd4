"""Install: carry out prepared steps in the target interpreter — snapshot, run, check, roll back on failure.

Order of events: preflight (site-packages writable, https hosts reachable) → freeze + hard-link
snapshot → each command through the Runner, streamed to the log and the progress display → the
post-install check (re-inspect + doctor + imports) → discard the snapshot. A failed command, a
failed check, Ctrl-C or SIGTERM anywhere after the snapshot restores it with signals shielded,
then proves the restore twice over: every file is the very inode it was, and the freeze (every
distribution and version on sys.path) equals the one taken before. Exit 3 says exactly that;
when the restore cannot be proved, InstallFailed carries restored=False (exit 1) and the
snapshot is kept for a manual restore.
"""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from envcheck.doctor import diagnose_environment
from envcheck.errors import InstallError
from envcheck.facts.model import Environment
from envcheck.install.snapshot import Snapshot, restore, snapshot_home, take
from envcheck.install.steps import (
    BASE_ENV,
    Action,
    Prepared,
    classify,
    decorate,
    discard_build_dir,
    https_hosts,
    reach_https,
)
from envcheck.install.verify import CheckResult, check
from envcheck.install.wheelcache import wheel_has_ops
from envcheck.matrix import Matrix
from envcheck.render.progress import Progress, StepLog, elapsed
from envcheck.runner import Completed, Runner

if TYPE_CHECKING:
    from envcheck.explain.diagnose import Diagnosis

TAIL = 30


class InstallFailed(InstallError):
    """A step or the check failed. Exit 3 when the environment was restored exactly, 1 when it was not."""

    def __init__(self, message: str, *, code: str, step: str = "", tail: Sequence[str] = (), restored: bool = True,
                 restore_error: str = "", log: Path | None = None, changed: bool = True, hint: str = "",
                 diagnosis: Diagnosis | None = None) -> None:  # fmt: skip
        super().__init__(message, hint=hint)
        self.code, self.step, self.tail = code, step, tuple(tail)
        self.diagnosis = diagnosis  # explain's top cause for the failed command's output, when one matched
        self.restored, self.restore_error, self.log, self.changed = restored, restore_error, log, changed
        self.exit_code = 3 if restored else 1


class _StepFailed(Exception):
    def __init__(self, code: str, message: str, tail: Sequence[str] = (), output: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.tail = code, message, tuple(tail)
        self.output = output  # the failed command's whole output, for explain's matcher


@dataclass
class StepReport:
    n: int
    title: str
    seconds: float
    ok: bool
    note: str = ""


@dataclass
class Outcome:
    steps: list[StepReport] = field(default_factory=list)
    check: CheckResult | None = None
    seconds: float = 0.0
    snapshot_seconds: float = 0.0
    snapshot_files: int = 0
    log: Path | None = None
    compiled: bool = False
    cached: bool = False


def freeze_of(runner: Runner, python: str) -> tuple[str, ...]:
    """`pip freeze` as envcheck sees it: every distribution on the target's sys.path, with where it lives."""
    from envcheck.probes.interpreter import parse_child, run_child

    dists = parse_child(run_child(runner, python), python).dists
    return tuple(sorted(f"{d.name}=={d.version} ({d.location})" for d in dists))


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (a CI cancel, `kill`) rolls back the way Ctrl-C does."""

    def raise_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, raise_interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextmanager
def shielded() -> Iterator[None]:
    """No Ctrl-C or SIGTERM while restoring: half a restore is worse than either state."""
    try:
        old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class Installer:
    def __init__(self, prepared: Prepared, matrix: Matrix, runner: Runner, progress: Progress, log: StepLog, *,
                 reach: Callable[[str], str | None] = reach_https, check_imports: bool = True,
                 inspect: Callable[[str], Environment] | None = None, background_discard: bool = False) -> None:  # fmt: skip
        self.p, self.matrix, self.runner, self.progress, self.log = prepared, matrix, runner, progress, log
        self.reach = reach
        self.check_imports = check_imports
        self.background_discard = background_discard
        self._inspect = inspect
        self._reach_cache: dict[str, str | None] = {}
        self._tail: deque[str] = deque(maxlen=TAIL)

    # -- helpers ---------------------------------------------------------------------------

    def unreachable(self, host: str) -> str | None:
        if host not in self._reach_cache:
            self._reach_cache[host] = self.reach(host)
        return self._reach_cache[host]

    def inspect(self) -> Environment:
        if self._inspect is not None:
            return self._inspect(self.p.layout.python)
        from envcheck.facts.complete import complete
        from envcheck.probes.collect import inspect_environment

        return complete(inspect_environment(self.p.layout.python, runner=self.runner), self.matrix)

    def _on_line(self, line: str) -> None:
        self._tail.append(line)
        self.log.write(line)
        self.progress.line(line)

    def run(self, argv: Sequence[str], env: dict[str, str], timeout: float) -> Completed:
        argv = decorate(argv, self.p.pip_args)
        self.log.command(argv, env)
        self._tail.clear()
        merged = {**os.environ, **BASE_ENV, **env}
        done = self.runner.run(argv, timeout=timeout, env=merged, on_line=self._on_line)
        self.log.write(f"# {'ok' if done.ok else done.describe_failure()} in {done.seconds:.1f} s")
        if not done.ok:
            code, why = classify(done, argv, self.unreachable)
            output = "\n".join(x for x in (done.stdout, done.stderr) if x)
            raise _StepFailed(code, why, list(self._tail) or [done.describe_failure()], output)
        return done

    # -- the steps -------------------------------------------------------------------------

    def preflight(self) -> None:
        """Fail fast, before the snapshot, on an https host a step needs and this machine cannot reach."""
        for host in https_hosts(self.p.actions, self.p.pip_args):
            why = self.unreachable(host)
            if why:
                n = next((i for i, a in enumerate(self.p.actions, 1) if host in " ".join(a.argv)), 0)
                needs = (
                    f"step {n} ({self.p.actions[n - 1].title}) downloads from it" if n else "ENVCHECK_PIP_ARGS names it"
                )
                raise InstallFailed(
                    f"{host} is not reachable from this machine ({why}); {needs}",
                    code="index-unreachable", changed=False,
                    hint="choose a plan that needs no download from it (e.g. `--torch keep`), or fix the network",
                )  # fmt: skip

    def do(self, action: Action) -> str:
        """Run one action; the note for its progress line."""
        minutes = max(action.minutes, 0.5)
        if action.kind != "build":
            self.run(action.argv, dict(action.env), timeout=max(1200.0, minutes * 240))
            return "taken from envcheck's wheel cache: nothing compiled" if action.kind == "cached" else ""
        assert action.key is not None
        out = Path(action.argv[action.argv.index("-w") + 1])
        out.mkdir(parents=True, exist_ok=True)
        try:
            done = self.run(action.argv, dict(action.env), timeout=max(3 * 3600.0, minutes * 240))
            wheels = sorted(out.glob("*.whl"))
            if not wheels:
                raise _StepFailed("step-failed", f"pip reported success but left no wheel in {out}", list(self._tail))
            if not wheel_has_ops(wheels[0], action.key.package):
                raise _StepFailed(
                    "mmcv-ops-missing",
                    f"the build \"succeeded\" but {wheels[0].name} has no {action.key.package}/_ext*: no compiled ops",
                    list(self._tail),
                )  # fmt: skip
            cached = self.p.cache.store(action.key, wheels[0], done.seconds)
        finally:
            discard_build_dir(action)
        self.log.write(f"# cached {cached.path} ({action.key.describe()})")
        self.run(action.install, {}, timeout=1200.0)
        return f"wheel kept in envcheck's cache: {cached.path.name}"

    def carry_out(self) -> Outcome:
        start = time.monotonic()
        out = Outcome(log=self.log.path)
        self.preflight()
        before_findings = diagnose_environment(self.p.env, self.matrix)
        freeze_before = freeze_of(self.runner, self.p.layout.python)
        self.progress.note("Taking a snapshot of site-packages (hard links) so any failure can be undone ...")
        try:
            snap = take(self.p.layout, snapshot_home(self.p.layout, self.p.cache.root / "snapshots"))
        except OSError as exc:
            raise InstallFailed(f"cannot take a snapshot to roll back to: {exc}", code="snapshot-failed",
                                changed=False) from None  # fmt: skip
        out.snapshot_seconds, out.snapshot_files = snap.seconds, snap.files()
        self.log.write(f"# snapshot {snap.where}: {out.snapshot_files} files in {snap.seconds:.2f} s")
        total = len(self.p.actions) + 1
        n, title = 0, "before the first step"
        try:
            with sigterm_interrupts():
                for n, action in enumerate(self.p.actions, 1):
                    title = action.title
                    self.progress.start(n, total, title)
                    t0 = time.monotonic()
                    try:
                        note = self.do(action)
                    except BaseException:
                        self.progress.end(False, time.monotonic() - t0)
                        raise
                    self.progress.end(True, time.monotonic() - t0, note)
                    out.steps.append(StepReport(n, title, time.monotonic() - t0, True, note))
                    out.compiled |= action.kind == "build"
                    out.cached |= action.kind == "cached"
                n, title = total, "check the result (inspect, doctor, imports)"
                self.progress.start(n, total, title)
                t0 = time.monotonic()
                result = check(self.p.plan, self.inspect(), self.matrix, before_findings, self.runner,
                               self.p.layout.python, imports=self.check_imports)  # fmt: skip
                self.progress.end(result.ok, time.monotonic() - t0)
                out.check = result
                if not result.ok:
                    raise _StepFailed(result.problems[0].code, "; ".join(p.text for p in result.problems[:3]),
                                      [f"{p.code}: {p.text}" for p in result.problems])  # fmt: skip
        except _StepFailed as exc:
            self.log.write(f"# FAILED at step {n}/{total} ({title}): {exc.message}")
            found = self.diagnose(exc.output)
            self.rollback(snap, freeze_before, f"step {n}/{total} ({title})", exc.code, exc.message, exc.tail, found)
        except KeyboardInterrupt:
            self.progress.close()
            self.log.write(f"# INTERRUPTED at step {n}/{total} ({title})")
            self.rollback(snap, freeze_before, f"step {n}/{total} ({title})", "interrupted",
                          "interrupted (Ctrl-C or SIGTERM)", list(self._tail))  # fmt: skip
        snap.discard(self.background_discard)
        out.seconds = time.monotonic() - start
        return out

    def diagnose(self, output: str) -> Diagnosis | None:
        """explain's top cause for a failed command's output (None: nothing matched, or nothing to read)."""
        from envcheck.explain.diagnose import top_cause

        top = top_cause(output, self.p.env, matrix=self.matrix) if output.strip() else None
        if top is not None:
            self.log.write(f"# diagnosis: {top.code} ({top.confidence:.0%}): {top.cause}")
        return top

    def rollback(self, snap: Snapshot, freeze_before: tuple[str, ...], step: str, code: str, message: str,
                 tail: Sequence[str], diagnosis: Diagnosis | None = None) -> None:  # fmt: skip
        """Restore, prove it, and raise InstallFailed either way."""
        self.progress.note(f"Failed at {step}: restoring the snapshot ...")
        t0 = time.monotonic()
        error = ""
        with shielded():
            try:
                restore(snap)
                after = freeze_of(self.runner, self.p.layout.python)
                if after != freeze_before:
                    gone = sorted(set(freeze_before) - set(after))[:3]
                    new = sorted(set(after) - set(freeze_before))[:3]
                    error = f"the freeze differs after restoring (missing {gone}, extra {new})"
            except InstallError as exc:
                error = exc.message
            except OSError as exc:
                error = f"{type(exc).__name__}: {exc}"
        self.log.write(f"# restore: {'FAILED: ' + error if error else 'ok'} in {time.monotonic() - t0:.2f} s")
        if error:
            raise InstallFailed(f"{message} — and restoring the environment FAILED: {error}", code=code, step=step,
                                tail=tail, restored=False, restore_error=error, log=self.log.path,
                                hint=f"the snapshot is kept at {snap.where}", diagnosis=diagnosis)  # fmt: skip
        snap.discard(self.background_discard)
        self.progress.note(f"Restored in {elapsed(time.monotonic() - t0)}: every file and the freeze are as before.")
        raise InstallFailed(
            message, code=code, step=step, tail=tail, restored=True, log=self.log.path, diagnosis=diagnosis
        )
