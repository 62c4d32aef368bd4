"""A real single-host Slurm cluster for tests: munged, slurmctld and N slurmd, all children, stopped by PID.

The recipe measured in shared/reference/fleet/engines.md §1.3-1.4 (Debian's slurmctld/slurmd/munge 22.05,
MULTIPLE_SLURMD): every file under one temp dir, no system config or spool touched, foreground daemons
(-D / -F) so every PID is ours, a free port block per session.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

DAEMONS = ("munged", "slurmctld", "slurmd", "srun", "sinfo", "scontrol")


def missing_programs() -> list[str]:
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
    return [p for p in DAEMONS if shutil.which(p, path=search) is None]


def _program(name: str) -> str:
    found = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
    assert found, name
    return found


def _free_ports(count: int) -> list[int]:
    """`count` consecutive free TCP ports (slurmd ports are looked up by number, any block will do)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + count > 65000:
            continue
        ok = True
        for port in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return list(range(base, base + count))
    raise RuntimeError("no free port block")


@dataclass
class Cluster:
    root: Path
    nodes: tuple[str, ...]
    env: dict[str, str]  # os.environ + SLURM_CONF: what clients (sinfo, srun, envcheck fleet) need

    def run(self, *argv: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)

    def states(self) -> dict[str, str]:
        out = self.run("sinfo", "-h", "-N", "-o", "%N %T").stdout
        return dict(line.split(None, 1) for line in out.splitlines() if line.strip())

    def wait_for(self, predicate: Callable[[dict[str, str]], bool], seconds: float = 30.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate(self.states()):
                return True
            time.sleep(0.1)
        return False


def _config(root: Path, nodes: Sequence[str], ports: list[int], extra: str) -> str:
    host = socket.gethostname().split(".")[0]
    lines = [
        "ClusterName=envchecktest", f"SlurmctldHost={host}", f"SlurmctldPort={ports[0]}",
        "SlurmUser=root", "SlurmdUser=root", "AuthType=auth/munge", f"AuthInfo=socket={root}/munge.sock",
        "CredType=cred/munge", f"StateSaveLocation={root}/state", f"SlurmdSpoolDir={root}/spool/%n",
        f"SlurmctldPidFile={root}/ctld.pid", f"SlurmdPidFile={root}/slurmd.%n.pid",
        f"SlurmctldLogFile={root}/ctld.log", f"SlurmdLogFile={root}/slurmd.%n.log",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none", "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core", "MpiDefault=none", "ReturnToService=2", "SchedulerType=sched/builtin",
        *extra.splitlines(),
    ]  # fmt: skip
    for i, name in enumerate(nodes):
        lines.append(f"NodeName={name} NodeHostname={host} NodeAddr=127.0.0.1 Port={ports[i + 1]} CPUs=1 State=UNKNOWN")
    lines.append("PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP")
    return "\n".join(lines) + "\n"


@contextmanager
def slurm_cluster(
    root: Path,
    nodes: Sequence[str] = ("node01", "node02", "node03"),
    extra: str = "",
    ready: Callable[[dict[str, str]], bool] | None = None,
) -> Iterator[Cluster]:
    """Start the cluster under `root`, wait until `ready` (default: every node idle), yield it, stop every daemon by PID."""
    for sub in ("state", *(f"spool/{n}" for n in nodes)):
        (root / sub).mkdir(parents=True, exist_ok=True)
    key = root / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    ports = _free_ports(len(nodes) + 1)
    conf = root / "slurm.conf"
    conf.write_text(_config(root, nodes, ports, extra), encoding="utf-8")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    env["PATH"] = os.pathsep.join([env.get("PATH", ""), "/usr/sbin", "/sbin"])
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    children: list[subprocess.Popen[bytes]] = []
    try:
        children.append(subprocess.Popen(
            [_program("munged"), "-F", "--force", f"--key-file={key}", f"--socket={root}/munge.sock",
             f"--pid-file={root}/munged.pid", f"--log-file={root}/munged.log", f"--seed-file={root}/munge.seed"],
            **quiet,  # type: ignore[call-overload]
        ))  # fmt: skip
        deadline = time.monotonic() + 10
        while not (root / "munge.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        children.append(subprocess.Popen([_program("slurmctld"), "-D", "-f", str(conf)], **quiet))  # type: ignore[call-overload]
        for name in nodes:
            children.append(subprocess.Popen([_program("slurmd"), "-D", "-f", str(conf), "-N", name], **quiet))  # type: ignore[call-overload]
        cluster = Cluster(root, tuple(nodes), env)
        if not cluster.wait_for(ready or (lambda s: sum(1 for v in s.values() if v == "idle") == len(nodes))):
            log = (root / "ctld.log").read_text(errors="replace")[-2000:] if (root / "ctld.log").exists() else ""
            raise RuntimeError(f"the test cluster did not come up: {cluster.states()}\n{log}")
        yield cluster
    finally:
        for proc in reversed(children):  # slurmd first, munged last
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
