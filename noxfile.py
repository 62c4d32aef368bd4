"""Developer sessions: tests (unit + integration), lint (ruff + mypy), e2e (a real OpenMMLab stack, smoke-tested)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    broken: tuple[Broken, ...] = ()  # then broken on purpose, each must fail the right checks
    python: str = ""  # a CPython minor found under pyenv ("3.13"); "" = the interpreter running nox


@dataclass(frozen=True)
class Broken:
    """A stack broken on purpose: real packages put in front of the good stack on PYTHONPATH.

    `layer` is what `pip install --no-deps --target` puts there ("cached:mmcv==V+TORCH" is a wheel from
    envcheck's cache, compiled for another torch); `fails` maps each check that must fail to the
    diagnosis code its failure must carry.
    """

    name: str
    layer: tuple[str, ...]
    fails: dict[str, str]


STACKS = {
    # torch 2.13 CPU from local disk; mmcv 2.1.0 compiled here (18 min on 2 cores, cached after). No
    # torchvision exists for torch 2.13 here (so no mmpose/mmpretrain), and mmocr needs mmdet < 3.2.
    "torch2.13": Stack(
        torch=["torch==2.13.0"],
        toolkits=["mmdet", "mmseg", "mmdeploy"],
        expect=["torch", "mmcv", "mmengine", "mmdet", "mmseg", "mmdeploy"],
        # No TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD: the planner mixes onedl-mmengine 0.10.12 into this upstream stack
        # (upstream mmengine 0.10.7 cannot load checkpoints under torch >= 2.6; mmdeploy keeps it off the fork).
        broken=(
            Broken(
                "mmcv-lite under mmdet 3.3",
                ("mmcv-lite==2.1.0",),
                {"mmcv": "mmcv-ops-missing", "mmdet": "mmcv-ops-missing", "mmseg": "mmcv-ops-missing"},
            ),
            Broken("mmocr 1.0.1 with mmdet 3.3.0", ("mmocr==1.0.1",), {"mmocr": "version-guard"}),
        ),
    ),
    # Today's Colab, built like it: Python 3.13, pip 24.1.2, torch 2.13.0 from PyPI (its +cu130 build, on
    # the CPU). The planner picks the OneDL fork (upstream mmengine cannot load checkpoints under torch >= 2.6
    # and mmcv 2.1.0's setup.py fails on 3.13): onedl-mmcv 2.3.6 compiled with CPU ops (no GPU here), cached
    # after; mmengine's checkpoint round trip passes WITHOUT TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD.
    "py3.13": Stack(
        torch=["pip==24.1.2", "torch==2.13.0"],
        toolkits=["mmdet", "mmseg"],
        expect=["torch", "mmcv", "mmengine", "mmdet", "mmseg"],
        python="3.13",
    ),
    # torch 2.0.1 (+ torchvision 0.15.2) from PyPI; mmcv 2.0.1 compiled here (7 min): all seven toolkits.
    "torch2.0": Stack(
        torch=["torch==2.0.1", "torchvision==0.15.2"],
        toolkits=["mmdet", "mmseg", "mmocr", "mmpose", "mmpretrain", "mmdeploy"],
        expect=["torch", "mmcv", "mmengine", "mmdet", "mmseg", "mmpose", "mmocr", "mmpretrain", "mmdeploy"],
        # the torch2.13 stack's mmcv (its wheel, from envcheck's cache) under torch 2.0.1
        broken=(
            Broken(
                "mmcv built for torch 2.13 under torch 2.0.1",
                ("cached:mmcv==2.1.0+2.13.0",),
                {"mmcv": "abi-undefined-symbol"},
            ),
        ),
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
    session.run(_interpreter(session, spec.python), "-m", "venv", str(venv), external=True)
    python = str(venv / "bin" / "python")
    started = time.monotonic()
    session.run(python, "-m", "pip", "install", "--progress-bar", "off", *spec.torch, external=True)
    session.run("python", "-m", "envcheck", "setup", *spec.toolkits, "--python", python, "--yes")
    session.log(f"stack {stack} set up by envcheck in {time.monotonic() - started:.0f} s")

    out_dir = Path(session.create_tmp())
    doc = _smoke(session, python, [], spec.smoke_env, out_dir / f"smoke-{stack}")
    bad = []
    for r in doc["results"]:
        session.log(f"{r['status']:4} {r['toolkit']:<10} {r['seconds']:6.1f} s  {r['detail'].splitlines()[0]}")
        if r["status"] == "fail" or (r["toolkit"] in spec.expect and r["status"] != "pass"):
            bad.append(f"{r['toolkit']}: {r['status']} ({r['diagnosis'] or 'no diagnosis'}): {r['detail']}")
    session.log(f"JSON and JUnit: {out_dir}")
    if bad:
        session.error("smoke failed on stack " + stack + ":\n" + "\n".join(bad))
    session.log(f"e2e {stack}: every toolkit passed in {time.monotonic() - started:.0f} s")
    for broken in spec.broken:
        _prove_broken(session, python, spec, broken, out_dir)


def _interpreter(session: nox.Session, minor: str) -> str:
    """The interpreter a stack starts from: nox's own, or CPython `minor` from pyenv (or fail saying what is missing)."""
    if not minor:
        return sys.executable
    import subprocess

    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        root = str(Path.home() / ".pyenv")
    found = sorted(Path(root, "versions").glob(f"{minor}*/bin/python"))
    if not found:
        session.error(f"stack needs CPython {minor}: no {root}/versions/{minor}*/bin/python (pyenv install {minor})")
    return str(found[-1])


def _smoke(session: nox.Session, python: str, checks: list[str], env: dict[str, str], out: Path) -> dict[str, Any]:
    """`envcheck smoke --json --junit` on the stack; the JSON document (also kept beside the JUnit file)."""
    text = session.run(
        "python", "-m", "envcheck", "smoke", *checks, "--python", python, "--device", "cpu",
        "--json", "--junit", f"{out}.xml", silent=True, success_codes=[0, 1], env=env,
    )  # fmt: skip
    doc: dict[str, Any] = json.loads(str(text)[str(text).index("{") :])
    Path(f"{out}.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return doc


def _prove_broken(session: nox.Session, python: str, spec: Stack, broken: Broken, out_dir: Path) -> None:
    """Put the broken layer in front of the stack; each named check must fail with its diagnosis."""
    layer = (out_dir / ("broken-" + "".join(c if c.isalnum() else "-" for c in broken.name))).resolve()
    shutil.rmtree(layer, ignore_errors=True)
    wanted = []
    for item in broken.layer:
        if not item.startswith("cached:"):
            wanted.append(item)
            continue
        package, _, version = item[len("cached:") :].partition("==")
        release, _, torch = version.partition("+")
        listing = session.run("python", "-m", "envcheck", "cache", "list", "--json", silent=True)
        wheels = json.loads(str(listing)[str(listing).index("{") :])["wheels"]
        found = [
            w["path"] for w in wheels
            if w["package"] == package and w["version"] == release and w["torch"].split("+")[0] == torch
        ]  # fmt: skip
        if not found:
            session.warn(f"broken stack {broken.name!r} not tried: no cached {package} {release} for torch {torch}")
            return
        wanted.append(found[0])
    session.run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(layer), *wanted, external=True)
    env = {**spec.smoke_env, "PYTHONPATH": str(layer)}
    doc = _smoke(session, python, list(broken.fails), env, out_dir / f"smoke-{layer.name}")
    got = {r["toolkit"]: r for r in doc["results"]}
    wrong = []
    for toolkit, code in broken.fails.items():
        r = got.get(toolkit)
        status, diagnosis = (r["status"], r["diagnosis"]) if r else ("missing", None)
        head = r["detail"].splitlines()[0] if r and r["detail"] else ""
        session.log(f"{broken.name}: {status:4} {toolkit:<8} [{diagnosis}] {head}")
        if status != "fail" or diagnosis != code:
            wrong.append(f"{toolkit}: {status} [{diagnosis}], expected fail [{code}]")
    if wrong:
        session.error(f"broken stack {broken.name!r} was not caught as expected:\n" + "\n".join(wrong))
    session.log(f"broken stack {broken.name!r}: every check failed with the right diagnosis")
