"""The real Slurm cluster the integration tests share (3 nodes on this host), and the interpreters they use."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fleet.cluster import Cluster, missing_programs, slurm_cluster

ODD_NODE = "node02"


def _can_run_slurm() -> str:
    """Why the real-cluster tests cannot run here, or "" when they can."""
    missing = missing_programs()
    if missing:
        return f"Slurm is not installed ({', '.join(missing)} missing): .ci/run installs slurmctld slurmd slurm-client munge"
    if os.name != "posix" or os.geteuid() != 0:
        return "the test cluster runs slurmd as root (SlurmdUser=root)"
    return ""


def other_interpreter(scratch: Path) -> str:
    """Another Python than this one: pyenv's 3.12 (or any other minor) when there, else the system python3,
    else a bare venv of this one made in `scratch` (same version, another prefix and package set)."""
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[0-9]*/bin/python3")), reverse=True)
    candidates += [p for p in (shutil.which(f"python3.{m}") for m in range(9, 15)) if p]
    for path in candidates:
        if f"/{mine}" not in path and not path.endswith(f"python{mine}"):
            return path
    for path in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(path) and os.path.realpath(path) != os.path.realpath(sys.executable):
            return path  # same minor perhaps, but another prefix and another package set
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(scratch / "venv")], check=True)
    # a stack key must differ too (doctor --baseline errs on the stack, warns on the rest): an old numpy
    site = scratch / "venv" / "lib" / f"python{mine}" / "site-packages" / "numpy-1.21.0.dist-info"
    site.mkdir(parents=True)
    (site / "METADATA").write_text("Metadata-Version: 2.1\nName: numpy\nVersion: 1.21.0\n")
    return str(scratch / "venv" / "bin" / "python3")


def write_switch(folder: Path, odd: str) -> Path:
    """A `python3` that is this interpreter on every node but ODD_NODE, where it is `odd` (the drift)."""
    folder.mkdir(parents=True, exist_ok=True)
    switch = folder / "python3"
    switch.write_text(
        f'#!/bin/sh\nif [ "$SLURMD_NODENAME" = {ODD_NODE} ]; then exec {odd} "$@"; fi\nexec {sys.executable} "$@"\n'
    )
    switch.chmod(0o755)
    return switch


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    why = _can_run_slurm()
    if why:
        pytest.skip(why)
    with tempfile.TemporaryDirectory(prefix="envcheck-slurm-") as d, slurm_cluster(Path(d)) as c:
        yield c


@pytest.fixture(scope="session")
def switch_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_switch(tmp_path_factory.mktemp("switch"), other_interpreter(tmp_path_factory.mktemp("other")))


def envcheck(cluster: Cluster, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**cluster.env, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "envcheck", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=str(cluster.root), check=False)  # fmt: skip
