"""Install steps: from a Plan to the exact commands envcheck runs, and what a failed one means.

`prepare` turns the plan's steps into the commands that will run (a compile step becomes "build
a wheel into envcheck's cache, then install it", or just "install the cached wheel") and checks
what can be checked without changing anything (policy; envcheck.install.installer is the process).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envcheck.errors import UsageError
from envcheck.facts.model import Environment, Torch
from envcheck.install.snapshot import Layout
from envcheck.install.wheelcache import WheelCache, WheelKey
from envcheck.plan.model import Plan, Step
from envcheck.runner import Completed

NET_OPTS = ("--timeout", "20", "--retries", "2")  # pip's defaults (15 s x 5 retries, 180 s here) hang for minutes
INDEX_OPTS = ("-f", "--find-links", "-i", "--index-url", "--extra-index-url")
VALUE_OPTS = (*INDEX_OPTS, "-c", "--constraint", "-r", "--requirement", "--timeout", "--retries", "--only-binary",
              "--no-binary", "--progress-bar", "--trusted-host", "-w", "--wheel-dir", "--prefix", "--root", "-t")  # fmt: skip
MMCV_DISTS = ("mmcv", "mmcv-full")
BASE_ENV = {"PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONUNBUFFERED": "1"}
_NET_ERRORS = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Name or service not known|"
    r"Temporary failure in name resolution|Could not fetch URL|ConnectTimeoutError|Network is unreachable|"
    r"No route to host|Connection refused|Read timed out",
    re.I,
)


@dataclass(frozen=True)
class Action:
    """One command line envcheck will run (two for a build: the wheel, then installing it)."""

    title: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    minutes: float = 0.5
    kind: str = "run"  # run | build | cached
    key: WheelKey | None = None
    install: tuple[str, ...] = ()  # build: the command that installs the wheel once it is in the cache
    why: str = ""

    @property
    def compiles(self) -> bool:
        return self.kind == "build"

    def commands(self) -> list[tuple[str, ...]]:
        return [self.argv, self.install] if self.install else [self.argv]


@dataclass(frozen=True)
class Prepared:
    plan: Plan
    env: Environment
    layout: Layout
    actions: tuple[Action, ...]
    cache: WheelCache
    pip_args: tuple[str, ...] = ()


# -- from steps to commands ------------------------------------------------------------------


def _split(args: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(requirements, index options with their values, other options) of a pip command's arguments."""
    reqs: list[str] = []
    index: list[str] = []
    other: list[str] = []
    it = iter(args)
    for a in it:
        opt = a.split("=", 1)[0]
        target = index if opt in INDEX_OPTS or a == "--no-index" else other
        if a.startswith("-"):
            target.append(a)
            if opt in VALUE_OPTS and "=" not in a:
                target.append(next(it, ""))
        else:
            reqs.append(a)
    return reqs, index, other


def _name(req: str) -> str:
    try:
        return canonicalize_name(Requirement(req).name)
    except InvalidRequirement:
        return ""


def check_urls(argv: Sequence[str]) -> None:
    """Only https indexes (or local paths): a plain-http index lets anyone on the path swap a wheel."""
    for a in argv:
        if "://" in a.split("=", 1)[-1] and not a.split("=", 1)[-1].startswith(("https://", "file:")):
            raise UsageError(f"refusing {a!r}: envcheck only uses https:// indexes (or local paths)")


def wheel_key(plan: Plan, env: Environment, layout: Layout, step: Step, package: str, version: str) -> WheelKey:
    torch = plan.stack.get("torch", "")
    if "+" not in torch:
        tag = env.torch.cuda_tag if isinstance(env.torch, Torch) else "unknown"
        torch = f"{torch or 'none'}+{tag}"
    cuda = not torch.endswith("+cpu")
    tag = env.python.tag if env.python and env.python.tag else "py3"
    return WheelKey(
        package, version, torch, tag, layout.platform, step.env.get("TORCH_CUDA_ARCH_LIST", "") if cuda else ""
    )


def _title(reqs: Sequence[str]) -> str:
    return "pip install " + " ".join(reqs[:5]) + (" …" if len(reqs) > 5 else "")


def _is_mmcv_uninstall(argv: tuple[str, ...]) -> bool:
    """`python -m pip uninstall -y` of mmcv-family distributions only: the one removal envcheck runs."""
    return (
        len(argv) > 5
        and argv[1:5] == ("-m", "pip", "uninstall", "-y")
        and all(canonicalize_name(a) in (*MMCV_DISTS, "mmcv-lite") for a in argv[5:])
    )


def prepare(plan: Plan, env: Environment, layout: Layout, cache: WheelCache, pip_args: Sequence[str] = ()) -> Prepared:
    """The commands that will run, in order; UsageError for a plan envcheck will not carry out."""
    if not plan.ok:
        raise UsageError("the plan has no stack to install (see `envcheck plan` for the conflict)")
    check_urls(pip_args)
    py = layout.python
    actions: list[Action] = []
    for step in plan.steps:
        argv = tuple(step.argv)
        if _is_mmcv_uninstall(argv):
            # The planner removes a stale mmcv / mmcv-lite / mmcv-full before installing mmcv (pip would keep
            # a same-version install as it is, or mix the files of two distributions of one package).
            actions.append(Action("pip uninstall " + " ".join(argv[5:]), (py, *argv[1:]), why=step.why))
            continue
        if len(argv) < 4 or argv[1:3] not in (("-m", "pip"), ("-m", "mim")) or argv[3] != "install":
            raise UsageError(f"refusing a step that is not `python -m pip|mim install ...`: {step.shell()}")
        check_urls(argv)
        argv = (py, *argv[1:])  # the interpreter checked above, whatever the plan was written for
        reqs, index, _ = _split(argv[4:])
        mmcv = [r for r in reqs if _name(r) in MMCV_DISTS]
        if not step.compiles or not mmcv or argv[1:3] != ("-m", "pip"):
            actions.append(Action(_title(reqs), argv, dict(step.env), step.minutes, why=step.why))
            continue
        req = Requirement(mmcv[0])
        versions = [s.version for s in req.specifier if s.operator in ("==", "===")]
        pins = [r for r in reqs if r != mmcv[0]]
        key = wheel_key(plan, env, layout, step, canonicalize_name(req.name), versions[0] if versions else "any")
        hit = cache.find(key) if versions else None
        # By name from the key's own folder, not by file path: `pip freeze` then says mmcv==2.1.0, not
        # `mmcv @ file:///<cache>`; --only-binary keeps pip from ever compiling here.
        install = (*argv[:4], "--only-binary", req.name, "--find-links", str(cache.folder(key)), mmcv[0], *pins, *index)
        if hit is not None:
            actions.append(Action(f"{req.name} {key.version} from envcheck's wheel cache (compiled earlier)",
                                  install, minutes=0.3, kind="cached", key=key,
                                  why=f"{key.describe()}: built {hit.built[:10]} in {hit.seconds / 60:.0f} min"))  # fmt: skip
            continue
        build_dir = cache.root / "build" / f"{key.slug}.{os.getpid()}"
        wheel_cmd = (*argv[:3], "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir", "-v",
                     "-w", str(build_dir), *index, mmcv[0])  # fmt: skip
        actions.append(Action(f"compile {req.name} {key.version} with ops for torch {key.torch}", wheel_cmd,
                              build_env(step, key), step.minutes, "build", key, install,
                              why=step.why))  # fmt: skip
    return Prepared(plan, env, layout, tuple(actions), cache, tuple(pip_args))


def build_env(step: Step, key: WheelKey) -> dict[str, str]:
    """MMCV_WITH_OPS=1 and MAX_JOBS always; FORCE_CUDA=0 for a CPU torch so a stray FORCE_CUDA=1 cannot leak in."""
    out = {"MMCV_WITH_OPS": "1", **step.env}
    if "MAX_JOBS" not in out:
        out["MAX_JOBS"] = str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2)
    if key.torch.endswith("+cpu"):
        out.setdefault("FORCE_CUDA", "0")
    return out


def decorate(argv: Sequence[str], pip_args: Sequence[str]) -> tuple[str, ...]:
    """Short network timeouts for pip, no progress bars in logs, then the caller's extra pip arguments."""
    argv = tuple(argv)
    if argv[1:3] != ("-m", "pip"):
        return (*argv, *pip_args)
    given = {a.split("=", 1)[0] for a in (*argv, *pip_args)}
    extra = [x for i in range(0, len(NET_OPTS), 2) if NET_OPTS[i] not in given for x in NET_OPTS[i : i + 2]]
    if "--progress-bar" not in given:
        extra += ["--progress-bar", "off"]
    return (*argv[:4], *extra, *argv[4:], *pip_args)


# -- the network -----------------------------------------------------------------------------


def https_hosts(actions: Sequence[Action], pip_args: Sequence[str] = ()) -> list[str]:
    urls = [a for act in actions for cmd in act.commands() for a in cmd] + list(pip_args)
    out = []
    for u in urls:
        u = u.split("=", 1)[-1]
        if u.startswith("https://"):
            host = urlsplit(u).netloc
            if host and host not in out:
                out.append(host)
    return out


def reach_https(host: str, timeout: float = 5.0) -> str | None:
    """None when a TCP connection to host:443 opens; else why not, in words (DNS, refused, timeout)."""
    if any(os.environ.get(v) for v in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")):
        return None  # pip goes through the proxy: a direct connection proves nothing
    name, _, port = host.partition(":")
    try:
        socket.create_connection((name, int(port or 443)), timeout=timeout).close()
    except OSError as exc:
        return str(exc.strerror or exc)
    return None


def classify(done: Completed, argv: Sequence[str], unreachable: Callable[[str], str | None]) -> tuple[str, str]:
    """(code, one line) for a failed command: the few causes envcheck can name without the log matcher."""
    text = done.stdout + done.stderr
    if done.timed_out:
        return "step-timeout", done.describe_failure()
    hosts = https_hosts([Action("", tuple(argv))])
    if _NET_ERRORS.search(text) or "No matching distribution found" in text:
        for host in hosts:
            why = unreachable(host)
            if why:
                return "index-unreachable", f"{host} is not reachable from this machine ({why})"
        if _NET_ERRORS.search(text):
            return "index-unreachable", "pip could not reach a package index"
    if "No module named 'pkg_resources'" in text:
        return "build-pkg-resources", "the build needs pkg_resources: setuptools < 82 in the target"
    return "step-failed", done.describe_failure()


def discard_build_dir(action: Action) -> None:
    if action.kind == "build":
        shutil.rmtree(action.argv[action.argv.index("-w") + 1], ignore_errors=True)


def load_plan(path: str) -> Plan:
    """A plan saved by `envcheck plan --json` (to review it first, or to carry out one made elsewhere)."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
        if doc.get("conflict"):
            raise UsageError(f"--plan {path} is a conflict, not a stack: {doc['conflict'].get('summary', '')}")
        steps = tuple(
            Step(str(s["tool"]), tuple(str(a) for a in s["argv"]), str(s.get("why", "")), bool(s.get("compiles")),
                 {str(k): str(v) for k, v in (s.get("env") or {}).items()}, float(s.get("minutes") or 0.0))
            for s in doc["steps"]
        )  # fmt: skip
        return Plan(
            request=tuple(doc.get("request") or ()),
            target=str(doc.get("target", path)),
            stack={str(k): str(v) for k, v in (doc.get("stack") or {}).items()},
            pins=tuple(doc.get("pins") or ()),
            steps=steps,
            warnings=tuple(doc.get("warnings") or ()),
            torch_changed=bool(doc.get("torch_changed", False)),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--plan {path}: not a plan written by `envcheck plan --json` ({exc})") from None


def cached_builds(cache: WheelCache, env: Environment, layout: Layout) -> frozenset[tuple[str, str]]:
    """(mmcv version, torch version) pairs the cache can serve this interpreter: a hint for the planner.

    The planner spells an installed torch as torch spells itself (2.14.1 from PyPI carries no build
    tag) while the cache key always has one, so both spellings are offered. The exact key (arch list
    included) is still checked by `prepare`; the hint only makes a cached build rank as cheap.
    """
    torch = env.torch if isinstance(env.torch, Torch) else None
    tag = env.python.tag if env.python and env.python.tag else "py3"
    out: set[tuple[str, str]] = set()
    for c in cache.entries():
        if c.key.python_tag != tag or c.key.platform != layout.platform:
            continue
        out.add((c.key.version, c.key.torch))
        if torch is not None and "+" not in torch.version and c.key.torch == f"{torch.version}+{torch.cuda_tag}":
            out.add((c.key.version, torch.version))
    return frozenset(out)
