"""The Slurm adapter: `sinfo` for the usable nodes, `srun -l` to run one envcheck task on each, demultiplexed.

Plain subprocess calls through the injected Runner (no Python dependency on Slurm). Measured on a real
cluster (shared/reference/fleet/engines.md §1.4-1.6): a drained node blocks `srun -N<all>` forever, so
nodes are listed first and only usable ones are asked, with `--immediate` as the backstop; merged stdout
interleaves long lines of concurrent tasks, so every line is labelled by its task (`-l`) and each task
writes its envelope as indented (short-lined) JSON.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from envcheck.errors import UsageError
from envcheck.fleet.documents import kind_of
from envcheck.fleet.hostlist import sort_nodes
from envcheck.fleet.report import Node
from envcheck.runner import Completed, Runner

USABLE = frozenset(("idle", "mixed", "allocated"))  # sinfo %T; a drained idle node shows as "drained"
_LABEL = re.compile(r"^\s*(\d+): ?(.*)$")
_TASK_ERROR = re.compile(r"srun: error: ([^:\s]+): task (\d+): (.+)$")


class SlurmError(UsageError):
    """Slurm could not be asked at all (no srun, sinfo failing, nothing to ask): one line, exit 2."""


@dataclass(frozen=True)
class Listing:
    usable: tuple[str, ...]
    unusable: Mapping[str, str]  # {node: "drained: reason"}


def _last_line(done: Completed) -> str:
    return done.describe_failure()


def require(runner: Runner, program: str = "srun") -> str:
    path = runner.which(program)
    if path is None:
        raise SlurmError(f"{program} not found on PATH: --slurm needs the Slurm client commands (sinfo, srun)")
    return path


def parse_sinfo(text: str) -> Listing:
    """Lines of `sinfo -h -N -o %N|%T|%E`; a node in several partitions appears once."""
    usable: list[str] = []
    unusable: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.strip().split("|", 2)
        if len(parts) < 2 or not parts[0]:
            continue
        name, state = parts[0], parts[1].strip().lower()
        reason = parts[2].strip() if len(parts) > 2 else ""
        if state in USABLE:
            if name not in usable:
                usable.append(name)
        else:
            unusable[name] = state + (f": {reason}" if reason and reason.lower() != "none" else "")
    unusable = {n: r for n, r in unusable.items() if n not in usable}
    return Listing(tuple(sort_nodes(usable)), dict(sorted(unusable.items())))


def list_nodes(
    runner: Runner, *, nodes: str | None = None, partition: str | None = None, timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
) -> Listing:  # fmt: skip
    """The nodes envcheck may ask (idle, mixed, allocated) and the others with their state and reason."""
    argv = ["sinfo", "-h", "-N", "-o", "%N|%T|%E"]
    if nodes:
        argv += ["-n", nodes]
    if partition:
        argv += ["-p", partition]
    done = runner.run(argv, timeout=timeout, env=env)
    if not done.ok:
        raise SlurmError(f"sinfo failed: {_last_line(done)}")
    listing = parse_sinfo(done.stdout)
    if not listing.usable and not listing.unusable:
        what = f"node list {nodes!r}" if nodes else "this cluster"
        raise SlurmError(f"{what}{f' in partition {partition!r}' if partition else ''} matches no node")
    return listing


def srun_argv(nodes: Sequence[str], command: Sequence[str], *, partition: str | None, timeout: float,
              immediate: int = 30) -> list[str]:  # fmt: skip
    """One task on each node, every output line labelled by its task number."""
    # --chdir=/: `python -m` puts the working directory first on sys.path, and the caller's may hold another
    # envcheck checkout (measured: a task run from an older checkout failed with "No module named envcheck.fleet").
    argv = ["srun", "--job-name=envcheck", "--chdir=/", "-N", str(len(nodes)), "-n", str(len(nodes)), "--ntasks-per-node=1", "-l",
            f"--immediate={immediate}", f"--time={max(1, math.ceil(timeout / 60))}", "-w", ",".join(nodes)]  # fmt: skip
    if partition:
        argv += ["-p", partition]
    return [*argv, *command]


def demultiplex(stdout: str) -> dict[int, str]:
    """{task number: its output} from `srun -l` output; unlabelled lines (srun's own) are dropped."""
    tasks: dict[int, list[str]] = {}
    for line in stdout.splitlines():
        m = _LABEL.match(line)
        if m:
            tasks.setdefault(int(m.group(1)), []).append(m.group(2))
    return {t: "\n".join(lines) for t, lines in sorted(tasks.items())}


def parse_envelope(text: str) -> dict[str, object] | None:
    """The envelope a task printed, or None when its output is not one."""
    start = text.find("{")
    if start < 0:
        return None
    try:
        doc = json.loads(text[start:])
    except json.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or kind_of(doc) != "envelope" or not isinstance(doc.get("node"), str):
        return None
    return doc


def gather(done: Completed, asked: Sequence[str]) -> list[Node]:
    """One Node per asked node: its envelope's document, or no document and the reason (never dropped)."""
    got: dict[str, Node] = {}
    broken: dict[int, str] = {}
    for task, text in demultiplex(done.stdout).items():
        envelope = parse_envelope(text)
        if envelope is None:
            first = next((ln for ln in text.splitlines() if ln.strip()), "")
            broken[task] = f"unreadable output: {first[:120]}" if first else "no output"
            continue
        name = str(envelope["node"])
        code = envelope.get("exit")
        inner = envelope.get("document")
        exit_code = code if isinstance(code, int) else None
        if isinstance(inner, dict):
            got[name] = Node(name, exit_code, inner)
        else:
            got[name] = Node(name, exit_code, None, str(envelope.get("reason") or f"exit {code}: no document"))
    task_errors: dict[str, str] = {}
    for line in (done.stderr or "").splitlines():
        m = _TASK_ERROR.search(line)
        if m:
            task = int(m.group(2))
            task_errors[m.group(1)] = broken.get(task, m.group(3).strip())
    # A task that printed no envelope and that srun did not name: with one task per node (-N n -n n
    # --ntasks-per-node=1, block distribution) task i runs on the i-th node of the sorted list.
    order = sort_nodes(asked)
    for task, why in broken.items():
        if task < len(order) and order[task] not in got and order[task] not in task_errors:
            task_errors[order[task]] = why
    overall = _last_line(done) if not done.ok else "no answer from its task"
    for name in asked:
        if name not in got:
            got[name] = Node(name, None, None, task_errors.get(name, overall))
    return [got[n] for n in sort_nodes(got)]


def fan_out(
    runner: Runner, nodes: Sequence[str], command: Sequence[str], *, partition: str | None, timeout: float,
    env: Mapping[str, str] | None = None,
) -> list[Node]:  # fmt: skip
    """Run `command` (an envcheck agent) once on each node and gather one Node per node."""
    done = runner.run(srun_argv(nodes, command, partition=partition, timeout=timeout), timeout=timeout, env=env)
    return gather(done, nodes)


def drain_argv(node: str, reason: str) -> list[str]:
    return ["scontrol", "update", f"NodeName={node}", "State=DRAIN", f"Reason={reason[:200]}"]


def drain_line(node: str, reason: str) -> str:
    return shlex.join(drain_argv(node, reason))
