"""The parent side of smoke: one child process per check through the Runner, results, diagnoses."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

from envcheck.errors import EnvcheckError, SmokeError
from envcheck.runner import Completed, Runner, SubprocessRunner
from envcheck.smoke import ALIASES, CHECKS
from envcheck.smoke.child import arguments, last_device, last_progress, parse_marker, program, strip_marker
from envcheck.smoke.result import SmokeResult
from envcheck.smoke.spec import SmokeCheck

if TYPE_CHECKING:
    from envcheck.explain.diagnose import Diagnosis
    from envcheck.facts.model import Environment
    from envcheck.matrix import Matrix

DEVICE = re.compile(r"^(?:auto|cpu|cuda(?::\d+)?)$")
TAIL_LINES = 8  # of a failure's output, in `detail`
_PYTHON_NAME = re.compile(r"python|pypy", re.I)
# What every child gets on top of the caller's environment: unbuffered output (a crash loses
# nothing), a headless matplotlib, and hubs that never try to download.
CHILD_ENV = {
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "utf-8",
    "MPLBACKEND": "Agg",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "PYTHONWARNINGS": "ignore",
}


class Diagnoser(Protocol):
    def __call__(self, text: str) -> Diagnosis | None: ...


@dataclass(frozen=True)
class SmokeOptions:
    python: str
    device: str = "auto"
    timeout: float = 300.0


def select(names: Sequence[str]) -> list[SmokeCheck]:
    """The checks named (all, in their order, when none is); an unknown name is a usage error."""
    if not names:
        return list(CHECKS.values())
    wanted: list[str] = []
    for raw in names:
        name = ALIASES.get(raw.lower(), raw.lower())
        if name not in CHECKS:
            import difflib

            close = difflib.get_close_matches(name, list(CHECKS), n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(CHECKS)}"
            raise SmokeError(f"unknown toolkit {raw!r}{hint}")
        if name not in wanted:
            wanted.append(name)
    return [c for c in CHECKS.values() if c.toolkit in wanted]


def validate(options: SmokeOptions, runner: Runner) -> None:
    """Refuse, as usage errors, what can never run: a bad device, timeout or interpreter."""
    if not DEVICE.match(options.device):
        raise SmokeError(f"--device {options.device!r}: use auto, cpu, cuda or cuda:N")
    if not options.timeout > 0:
        raise SmokeError("--timeout must be a positive number of seconds")
    python = options.python
    if os.sep in python or (os.altsep and os.altsep in python):
        path = Path(python)
        if not path.exists():
            raise SmokeError(f"--python {python}: no such file")
        if path.is_dir():
            raise SmokeError(f"--python {python} is a directory", hint=f"e.g. {path / 'bin' / 'python'}")
    elif runner.which(python, os.environ.get("PATH", os.defpath)) is None:
        raise SmokeError(f"--python {python}: not found on PATH")
    if not _PYTHON_NAME.search(Path(python).name):
        raise SmokeError(f"--python {python} does not look like a Python interpreter")


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CARETS = re.compile(r"^\s*[\^~]+\s*$")  # Python 3.11's pointers under a traceback line: noise here


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    kept = [line.rstrip() for line in text.splitlines() if line.strip() and not _CARETS.match(line)]
    return "\n".join(kept[-lines:])


def _stack(stderr: str, lines: int = TAIL_LINES) -> str:
    """faulthandler's report (a crash, or the dump before a timeout): its header and innermost frames."""
    text = [line.rstrip() for line in stderr.splitlines()]
    marks = [i for i, line in enumerate(text) if line.endswith("(most recent call first):")]
    if not marks:
        return ""
    at = marks[-1]
    header = next((text[i] for i in range(at - 1, max(at - 4, -1), -1) if text[i].strip()), "")
    frames = [line for line in text[at + 1 :] if line.strip() and "<frozen importlib" not in line][: lines - 1]
    return "\n".join(x for x in (header, *frames) if x)


def _died(done: Completed) -> str:
    """Why a child that never reported a result ended: a signal, a timeout, an exit status."""
    if done.error:
        return done.error
    code = done.returncode
    if code is not None and code < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    if code is not None and code > 128 and code - 128 < 64:  # a shell between us would say 139
        return f"exit {code} (signal {code - 128}?) before reporting a result"
    return f"exit {code} before reporting a result"


def judge(check: SmokeCheck, done: Completed, requested: str, diagnoser: Diagnoser | None) -> SmokeResult:
    """A finished child → its result: the child's own verdict, or why it died; failures diagnosed."""
    doc = parse_marker(done.stdout)
    stderr = _ANSI.sub("", done.stderr)
    log = _ANSI.sub("", strip_marker(done.stdout).rstrip() + "\n" + done.stderr).strip()
    if doc is not None:
        status = doc["status"]
        device = str(doc.get("device") or requested)
        version = doc.get("version")
        detail = str(doc.get("detail") or "")
        if status == "fail":  # the error first (what a table shows), then where it came from
            error = _ANSI.sub("", str(doc.get("error") or detail)).strip()
            headline = error.splitlines()[0].strip() if error else "failed"
            detail = "\n".join(x for x in (headline, _tail(stderr)) if x)
    else:
        status, device, version = "fail", last_device(done.stdout) or requested, None
        why = _died(done)
        passed = last_progress(done.stdout)
        if passed:  # what the check had proved before it died (the death is then the news)
            why = f"{why} (after: {passed})"
        tail = _stack(stderr) or _tail(log)
        detail = f"{why}\n{tail}" if tail else why
    diagnosis = diagnoser(log) if status == "fail" and diagnoser is not None and log.strip() else None
    return SmokeResult(
        toolkit=check.toolkit,
        status=status,
        device=device,
        seconds=done.seconds,
        detail=detail,
        diagnosis=diagnosis.code if diagnosis else None,
        fix=diagnosis.fix if diagnosis else (),
        version=str(version) if version else None,
        log=log,
    )


class _Facts:
    """This interpreter's facts and the matrix, gathered once, on the first failure (a pass needs neither)."""

    def __init__(self, python: str, runner: Runner) -> None:
        self.python, self.runner = python, runner
        self.loaded = False
        self.env: Environment | None = None
        self.matrix: Matrix | None = None

    def get(self) -> tuple[Environment | None, Matrix | None]:
        if not self.loaded:
            from envcheck.facts.complete import complete
            from envcheck.matrix import load_matrix
            from envcheck.probes.collect import inspect_environment

            self.loaded = True
            try:
                self.matrix = load_matrix()
            except EnvcheckError:
                self.matrix = None
            try:
                env = inspect_environment(self.python, runner=self.runner)
                self.env = complete(env, self.matrix) if self.matrix is not None else env
            except EnvcheckError:
                self.env = None
        return self.env, self.matrix


def default_diagnoser(python: str, runner: Runner) -> Diagnoser:
    """diagnose() sharpened by the target's facts and the matrix (which mmcv wheel, which index ...)."""
    facts = _Facts(python, runner)

    def diagnoser(text: str) -> Diagnosis | None:
        from envcheck.explain.diagnose import top_cause

        env, matrix = facts.get()
        return top_cause(text, env, matrix=matrix)

    return diagnoser


def run_checks(
    checks: Iterable[SmokeCheck],
    options: SmokeOptions,
    *,
    runner: Runner | None = None,
    diagnoser: Diagnoser | None = None,
    environ: Mapping[str, str] | None = None,
    on_start: Callable[[SmokeCheck], None] | None = None,
    on_done: Callable[[SmokeResult], None] | None = None,
) -> list[SmokeResult]:
    """Run each check in its own child of `options.python`, one after another (they are CPU-heavy).

    Each child runs in a fresh temporary directory (what it writes is thrown away) with a timeout;
    a crash, an abort or a hang is that check's failure, never the caller's.
    """
    runner = runner or SubprocessRunner()
    validate(options, runner)
    if diagnoser is None:
        diagnoser = default_diagnoser(options.python, runner)
    env = {**(os.environ if environ is None else environ), **CHILD_ENV}
    results: list[SmokeResult] = []
    for check in checks:
        if on_start:
            on_start(check)
        with tempfile.TemporaryDirectory(prefix=f"envcheck-smoke-{check.toolkit}-") as work:
            argv = [options.python, "-c", program(check), arguments(check, options.device, options.timeout)]
            done = runner.run(argv, timeout=options.timeout, env=env, cwd=work)
        result = judge(check, done, options.device, diagnoser)
        results.append(result)
        if on_done:
            on_done(result)
    return results
