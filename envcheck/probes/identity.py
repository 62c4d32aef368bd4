"""The node's name: the scheduler's name for it when a job step runs there, else the host name."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Callable

# Scheduler variables that name the node a task runs on (documented ones only; add others as they are met).
SCHEDULER_VARIABLES = (
    ("SLURMD_NODENAME", "slurm"),  # set by slurmd for job steps and for HealthCheckProgram
)


def node_name(environ: Mapping[str, str], hostname: Callable[[], str] = socket.gethostname) -> tuple[str, str]:
    """(name, source): source is the variable that named it, or "hostname"."""
    for variable, _scheduler in SCHEDULER_VARIABLES:
        value = environ.get(variable, "").strip()
        if value:
            return value, variable
    try:
        name = hostname().strip()
    except OSError:
        name = ""
    return (name.split(".")[0] or "unknown"), "hostname"
