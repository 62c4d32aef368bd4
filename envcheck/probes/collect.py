"""Collect: run every probe (in parallel) and assemble one Environment."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from envcheck.facts.model import Environment, Missing, PlatformInfo
from envcheck.probes.context import detect_context
from envcheck.probes.deep import probe_deep
from envcheck.probes.interpreter import parse_child, run_child
from envcheck.probes.nvidia import probe_nvidia
from envcheck.probes.toolchain import probe_toolchain
from envcheck.runner import Runner, SubprocessRunner


def read_distro(root: Path) -> str:
    """PRETTY_NAME from os-release, or "" (macOS and Windows have none)."""
    for rel in ("etc/os-release", "usr/lib/os-release"):
        try:
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    return ""


def inspect_environment(
    python: str | None = None,
    *,
    runner: Runner | None = None,
    environ: Mapping[str, str] | None = None,
    root: Path = Path("/"),
    deep: bool = False,
    timeout: float = 5.0,
) -> Environment:
    """Everything about `python` (default: this interpreter) and the machine it runs on.

    The interpreter probe, the NVIDIA probe and the toolchain probe run concurrently, so the
    whole costs about the slowest of them. A ProbeError escapes only when the interpreter
    itself cannot be inspected; every other failure becomes a Missing fact.
    """
    runner = runner or SubprocessRunner()
    environ = dict(os.environ if environ is None else environ)
    target = python or sys.executable
    with ThreadPoolExecutor(max_workers=4) as pool:
        child = pool.submit(run_child, runner, target, max(timeout * 4, 20.0))
        nvidia = pool.submit(probe_nvidia, runner, root, environ, timeout)
        toolchain = pool.submit(probe_toolchain, runner, root, environ, timeout)
        deep_f = pool.submit(probe_deep, runner, target, max(timeout * 12, 60.0)) if deep else None
        facts = parse_child(child.result(), target)
        driver, gpus = nvidia.result()
        chain = toolchain.result()
        deep_facts = deep_f.result() if deep_f else Missing("run with --deep to import torch")
    context, details = detect_context(environ, root)
    if facts.colab_module and context != "colab":
        context, details = "colab", (*details, "google.colab importable")
    platform = PlatformInfo(
        system=facts.platform.system,
        machine=facts.platform.machine,
        release=facts.platform.release,
        distro=read_distro(root) if facts.platform.system == "Linux" else "",
        glibc=facts.platform.glibc,
        cpus=facts.platform.cpus,
    )
    return Environment(
        python=facts.python,
        platform=platform,
        context=context,
        context_details=details,
        dists=facts.dists,
        torch=facts.torch,
        driver=driver,
        gpus=gpus,
        toolchain=chain,
        mmcv=facts.mmcv,
        pkg_resources=facts.pkg_resources,
        path_errors=facts.path_errors,
        deep=deep_facts,
    )
