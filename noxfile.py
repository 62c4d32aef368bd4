"""Developer sessions: tests (unit + integration), lint (ruff + mypy), e2e (a real OpenMMLab stack, smoke-tested)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Unit and integration tests: pure functions on data, real child processes and real venvs."""
    session.install("-e", ".", "pytest>=7", "hypothesis>=6")
    session.run("python", "-m", "pytest", *(session.posargs or ["-q"]))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (style, imports, bugbear) and mypy --strict on the package."""
    session.install("-e", ".", "ruff>=0.5", "mypy>=1.10")
    session.run("ruff", "check", "envcheck", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "envcheck", "tests", "benchmarks", "noxfile.py")
    session.run("mypy")


# ---- e2e: a real stack on this machine (CPU), set up by envcheck itself, then `envcheck smoke` ----------
#
# Each stack starts from a fresh venv holding only its torch (what a user or an image brings), then
# `envcheck setup TOOLKITS --yes` plans and installs the rest (mmcv compiled on the first run, taken from
# envcheck's wheel cache afterwards; download.openmmlab.com is unreachable here, so envcheck re-plans
# without it). Every `expect` toolkit must PASS its smoke check; a skip there fails the session.


@dataclass(frozen=True)
class Stack:
    torch: list[str]  # installed with plain pip first, as the starting point
    toolkits: list[str]  # what `envcheck setup` is asked for
    expect: list[str]  # toolkits whose smoke check must pass
    smoke_env: dict[str, str] = field(default_factory=dict)


STACKS = {
    # torch 2.13 CPU from local disk; mmcv 2.1.0 compiled here (18 min on 2 cores, cached after). No
    # torchvision exists for torch 2.13 here (so no mmpose/mmpretrain), and mmocr needs mmdet < 3.2.
    "torch2.13": Stack(
        torch=["torch==2.13.0"],
        toolkits=["mmdet", "mmseg", "mmdeploy"],
        expect=["torch", "mmcv", "mmengine", "mmdet", "mmseg", "mmdeploy"],
        # mmengine 0.10.7 calls torch.load without weights_only=False: under torch >= 2.6 the checkpoints its
        # own Runner writes do not load (the mmengine smoke check fails: weights-only). This is the fix
        # `envcheck doctor`/`explain` prescribe for trusted checkpoints; the session proves that it works.
        smoke_env={"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"},
    ),
    # torch 2.0.1 (+ torchvision 0.15.2) from PyPI; mmcv 2.0.1 compiled here (7 min): all seven toolkits.
    "torch2.0": Stack(
        torch=["torch==2.0.1", "torchvision==0.15.2"],
        toolkits=["mmdet", "mmseg", "mmocr", "mmpose", "mmpretrain", "mmdeploy"],
        expect=["torch", "mmcv", "mmengine", "mmdet", "mmseg", "mmpose", "mmocr", "mmpretrain", "mmdeploy"],
    ),
}


@nox.session
@nox.parametrize("stack", list(STACKS))
def e2e(session: nox.Session, stack: str) -> None:
    """A real OpenMMLab stack in a fresh venv (CPU) set up by `envcheck setup`; `envcheck smoke` must pass.

    Cold, the mmcv compile dominates (7-18 minutes a stack on 2 cores); envcheck keeps the wheel in its
    cache (~/.cache/envcheck/wheels, keyed by mmcv/torch/Python/platform), so later runs compile nothing.
    """
    spec = STACKS[stack]
    session.install("-e", ".")
    venv = (Path(session.create_tmp()) / f"stack-{stack}").resolve()
    shutil.rmtree(venv, ignore_errors=True)  # every run starts from nothing but torch
    session.run(sys.executable, "-m", "venv", str(venv), external=True)
    python = str(venv / "bin" / "python")
    started = time.monotonic()
    session.run(python, "-m", "pip", "install", "--progress-bar", "off", *spec.torch, external=True)
    session.run("python", "-m", "envcheck", "setup", *spec.toolkits, "--python", python, "--yes")
    session.log(f"stack {stack} set up by envcheck in {time.monotonic() - started:.0f} s")

    out_dir = Path(session.create_tmp())
    junit = out_dir / f"smoke-{stack}.xml"
    doc_text = session.run(
        "python", "-m", "envcheck", "smoke", "--python", python, "--device", "cpu", "--json", "--junit", str(junit),
        silent=True, success_codes=[0, 1], env=spec.smoke_env,
    )  # fmt: skip
    doc = json.loads(str(doc_text)[str(doc_text).index("{") :])
    (out_dir / f"smoke-{stack}.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    bad = []
    for r in doc["results"]:
        session.log(f"{r['status']:4} {r['toolkit']:<10} {r['seconds']:6.1f} s  {r['detail'].splitlines()[0]}")
        if r["status"] == "fail" or (r["toolkit"] in spec.expect and r["status"] != "pass"):
            bad.append(f"{r['toolkit']}: {r['status']} ({r['diagnosis'] or 'no diagnosis'}): {r['detail']}")
    session.log(f"JSON and JUnit: {out_dir}")
    if bad:
        session.error("smoke failed on stack " + stack + ":\n" + "\n".join(bad))
    session.log(f"e2e {stack}: every toolkit passed in {time.monotonic() - started:.0f} s")
