"""The one place envcheck starts other programs: argv lists, timeouts, captured output."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Callable, Protocol


@dataclass(frozen=True)
class Completed:
    """What a finished (or failed-to-finish) command left behind.

    `returncode` is None when the program could not be started or was killed at its timeout;
    `error` then says which, in words fit for a report.
    """

    argv: tuple[str, ...]
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def timed_out(self) -> bool:
        return self.error is not None and self.error.startswith("timed out")

    def describe_failure(self) -> str:
        """One line: why this command did not succeed."""
        if self.error:
            return self.error
        tail = (self.stderr or self.stdout).strip().splitlines()
        last = tail[-1] if tail else ""
        if self.returncode is not None and self.returncode < 0:
            try:
                sig = signal.Signals(-self.returncode).name
            except ValueError:
                sig = f"signal {-self.returncode}"
            return f"killed by {sig}" + (f": {last}" if last else "")
        return f"exit {self.returncode}" + (f": {last}" if last else "")


class Runner(Protocol):
    """Runs a program. Implementations never use a shell."""

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> Completed: ...

    def which(self, program: str, path: str | None = None) -> str | None: ...


def _decode(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


class SubprocessRunner:
    """The real runner: each command in its own process group, killed whole at its timeout."""

    def which(self, program: str, path: str | None = None) -> str | None:
        return shutil.which(program, path=path)

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> Completed:
        args = tuple(argv)
        start = time.monotonic()
        popen_env = dict(env) if env is not None else None
        try:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if on_line is None else subprocess.STDOUT,
                env=popen_env,
                cwd=cwd,
                start_new_session=os.name == "posix",
            )
        except FileNotFoundError:
            return Completed(args, None, error=f"not found: {args[0]}")
        except PermissionError:
            return Completed(args, None, error=f"not executable: {args[0]}")
        except OSError as exc:  # ENOEXEC (not a program), ENOMEM ...
            return Completed(args, None, error=f"cannot run {args[0]}: {exc.strerror or exc}")

        if on_line is not None:
            return self._stream(proc, args, timeout, start, on_line)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(proc)
            out, err = proc.communicate()
            return Completed(
                args, None, _decode(out), _decode(err), time.monotonic() - start,
                error=f"timed out after {timeout:g} s",
            )  # fmt: skip
        except KeyboardInterrupt:
            self._kill(proc)
            raise
        return Completed(args, proc.returncode, _decode(out), _decode(err), time.monotonic() - start)

    def _stream(
        self,
        proc: subprocess.Popen[bytes],
        args: tuple[str, ...],
        timeout: float,
        start: float,
        on_line: Callable[[str], None],
    ) -> Completed:
        import threading

        lines: list[str] = []
        timer = threading.Timer(timeout, self._kill, (proc,))
        timer.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = _decode(raw).rstrip("\n")
                lines.append(line)
                on_line(line)
            proc.wait()
        except KeyboardInterrupt:
            self._kill(proc)
            raise
        finally:
            timer.cancel()
        elapsed = time.monotonic() - start
        text = "\n".join(lines)
        if elapsed >= timeout and proc.returncode != 0:
            return Completed(args, None, text, "", elapsed, error=f"timed out after {timeout:g} s")
        return Completed(args, proc.returncode, text, "", elapsed)

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except (ProcessLookupError, PermissionError):
            pass
