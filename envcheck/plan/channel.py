"""Channel choice: upstream OpenMMLab or the OneDL fork family (or the two mixed), per request, with the reason.

Pure, like the rest of the planner. The upstream plan comes from `planner.make_plan`; the fork's is built
here from matrices/channels.toml: onedl-mmcv (a wheel from the fork's own index where one exists for
this torch/Python, else compiled without build isolation), onedl-mmengine (loads checkpoints under
torch >= 2.6), the fork's toolkit distributions, and upstream toolkits measured to import on the fork
(mmpose 1.3.2, mmpretrain 1.2.0). Upstream twins that own the same import directory are uninstalled
BEFORE the fork is installed: removing them afterwards deletes the shared directory.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from envcheck.errors import PlanError
from envcheck.facts.model import Environment, PlatformInfo, Torch, parse_version, version_tuple
from envcheck.matrix import Matrix
from envcheck.matrix.channels import Channel, ChannelDist
from envcheck.plan.build import make_plan
from envcheck.plan.model import Alternative, Choice, Clash, Conflict, Plan, Step
from envcheck.plan.search import Request, TorchOption, cpu_count, cuda_build_possible, python_minor, python_tag, search

CHANNELS = ("auto", "upstream", "onedl")
FORK = "onedl"
SIMILAR_MINUTES = 5.0
CAPPED = ("numpy", "opencv-python", "opencv-python-headless")  # requirements a plan spells out with their caps


def _name(requirement: str) -> str:
    from packaging.requirements import Requirement

    return Requirement(
        requirement
    ).name  # a fork route this much slower than upstream still wins when only it loads checkpoints


def check_channel(text: str) -> str:
    if text not in CHANNELS:
        raise PlanError(f"--channel {text!r}: expected one of {', '.join(CHANNELS)}")
    return text


def plan_with_channels(request: Request, env: Environment, matrix: Matrix, target: str, channel: str = "auto") -> Plan:
    """The plan for `request` on the channel asked for; `auto` picks one and says why (a Choice)."""
    check_channel(channel)
    ch = matrix.channels.get(FORK)
    if channel == "upstream" or ch is None:
        up = make_plan(request, env, matrix, target)
        return _tag(up, "upstream", "asked for (--channel upstream)" if channel == "upstream" else "the only channel")
    fork, why_not = fork_plan(request, env, matrix, target, ch)
    if channel == FORK:
        if fork is None:
            pinned = _pinned_unavailable(request, ch)
            if pinned:
                raise PlanError(pinned)
            return Plan(
                request.typed, target, conflict=Conflict(f"the {FORK} channel: {why_not}", (Clash(why_not, ch.source),))
            )
        return _tag(fork, FORK, "asked for (--channel onedl)")
    # upstream on auto: its mmcv and toolkits, with the fork's mmengine mixed in where upstream's cannot load
    # checkpoints (torch >= 2.6) and every guard admits it
    up = make_plan(replace(request, mixed_engine=True), env, matrix, target)
    if fork is None:
        return _tag(up, "upstream", f"the {FORK} fork cannot serve it: {why_not}" + _mixed(up))
    if not up.ok:
        assert up.conflict is not None
        return _tag(fork, FORK, f"upstream has no stack here ({up.conflict.summary})")
    if up.compiles and not fork.compiles:
        return _tag(fork, FORK, f"a prebuilt onedl-mmcv wheel; upstream compiles mmcv (~{up.minutes:g} min)", other=up)
    similar = fork.minutes <= up.minutes + SIMILAR_MINUTES
    verdict = matrix.builds.verdict("mmcv", up.stack.get("mmcv", ""), python_minor(env)) if up.compiles else None
    if verdict is not None and similar:
        how = "fails" if verdict.fails else f"builds only patched ({verdict.patch.name if verdict.patch else ''})"
        return _tag(
            fork, FORK,
            f"upstream mmcv {verdict.version}'s sdist {how} on Python {verdict.python} ({verdict.defect.error}); "
            f"onedl-mmcv {fork.stack.get('onedl-mmcv')} builds as released, at a similar cost "
            f"(~{fork.minutes:g} vs ~{up.minutes:g} min)",
            other=up,
        )  # fmt: skip
    torch = parse_version(up.stack.get("torch", "").split("+")[0])
    engine = matrix.mmengine.get(up.stack.get("mmengine", ""))
    unsafe = torch is not None and torch >= Version("2.6") and engine is not None and not engine.weights_only_safe
    if unsafe and engine is not None and similar:
        return _tag(
            fork, FORK,
            f"upstream mmengine {engine.version} cannot load OpenMMLab checkpoints under torch {torch} "
            f"(weights_only); onedl-mmengine {fork.stack.get('onedl-mmengine')} can, at a similar cost "
            f"(~{fork.minutes:g} vs ~{up.minutes:g} min)",
            other=up,
        )  # fmt: skip
    return _tag(
        up, "upstream", f"upstream works here (the {FORK} route: ~{fork.minutes:g} min)" + _mixed(up), other=fork
    )


def _mixed(plan: Plan) -> str:
    twin = next((n for n in plan.stack if n.startswith("onedl-")), None)
    return f"; mixed with {twin} {plan.stack[twin]}, which loads checkpoints under torch >= 2.6" if twin else ""


def _tag(plan: Plan, channel: str, why: str, other: Plan | None = None) -> Plan:
    """The plan with the channel as its first choice and the other channel's stack among the rejected."""
    rejected = plan.rejected
    if other is not None and other.ok:
        what = (
            "the "
            + ("upstream" if channel == FORK else FORK)
            + " channel: "
            + ", ".join(f"{n} {v}" for n, v in other.stack.items())
        )
        rejected = (Alternative(what, "ranked lower (see the channel choice)", other.minutes), *rejected)
    return replace(plan, choices=(Choice("channel", channel, why), *plan.choices), rejected=rejected)


def _pinned_unavailable(request: Request, ch: Channel) -> str | None:
    """One line when the user pinned a version the channel does not have (bad input, exit 2)."""
    for name, spec in request.toolkits:
        if not str(spec):
            continue
        dist = ch.dist_of(name)
        if dist is not None and not any(Version(v) in spec for v in dist.versions):
            return (
                f"--channel {ch.name}: {name}{spec} is not in the {ch.name} channel "
                f"({dist.name} {dist.versions[0]} … {dist.newest})"
            )
        if dist is None and not any(d == name and Version(v) in spec for d, v in ch.upstream_on_channel):
            return f"--channel {ch.name}: {name}{spec} is not known to run on the {ch.name} channel"
    return None


@dataclass(frozen=True)
class _Route:
    torch: TorchOption
    how: str  # installed | wheel | build
    minutes: float
    folder: str = ""


def fork_plan(request: Request, env: Environment, matrix: Matrix, target: str, ch: Channel) -> tuple[Plan | None, str]:
    """(the fork's plan, "") or (None, why the fork cannot serve this request here)."""
    py = python_minor(env)
    mmcv, engine = ch.dist_of("mmcv"), ch.dist_of("mmengine")
    assert mmcv is not None and engine is not None  # validated on load
    if py is not None and Version(py + ".0") not in SpecifierSet(mmcv.python):
        return None, f"onedl-mmcv needs Python {mmcv.python} (here {py})"
    picks: dict[str, str] = {}  # distribution -> version
    dists: dict[str, ChannelDist] = {}
    for name, spec in request.toolkits:
        dist = ch.dist_of(name)
        if dist is not None:
            ok = [v for v in dist.versions if Version(v) in spec]
            if not ok:
                return None, f"{name}{spec}: {dist.name} has {dist.versions[0]} … {dist.newest}"
            if not (dist.allows("mmcv", mmcv.newest) and dist.allows("mmengine", engine.newest)):
                return None, f"{dist.name} {ok[-1]} rejects onedl-mmcv {mmcv.newest}"
            picks[dist.name], dists[dist.name] = ok[-1], dist
            continue
        up = [v for d, v in ch.upstream_on_channel if d == name and Version(v) in spec]
        if not up:
            return None, f"{name} has no {ch.name} distribution and no release of it is known to import on onedl-mmcv"
        picks[name] = up[-1]
        release = matrix.toolkit(name, up[-1])
        if release is not None and release.needs_mmdet:
            mmdet = ch.dist_of("mmdet")
            if mmdet is not None and mmdet.name not in picks:
                picks[mmdet.name], dists[mmdet.name] = mmdet.newest, mmdet
    needs_tv = any(d.needs_torchvision for d in dists.values()) or any(
        (r := matrix.toolkit(n, v)) is not None and r.needs_torchvision for n, v in picks.items() if n not in dists
    )
    route, why = _best_route(request, env, matrix, ch, mmcv.newest)
    if route is None:
        return None, why
    return _steps(request, env, matrix, target, ch, route, picks, dists, needs_tv), ""


def _best_route(
    request: Request, env: Environment, matrix: Matrix, ch: Channel, version: str
) -> tuple[_Route | None, str]:
    s = search(replace(request, toolkits=()), env, matrix) if request.toolkits else search(request, env, matrix)
    options = list(s.torch_options)
    if not options:
        return None, "; ".join(s.torch_rejections[:2]) or "no torch fits this machine"
    py_tag = python_tag(env)
    installed = env.mmcv if env.packages.get("onedl-mmcv") == version else None
    routes = []
    for opt in options:
        if installed is not None and not opt.changed and getattr(installed, "ops", False):
            routes.append(_Route(opt, "installed", 0.0))
            continue
        folder = ch.wheel_folder(version, opt.minor, opt.tag, py_tag)
        if folder is not None and not request.no_wheels and _wheels_run_here(env, ch):
            routes.append(_Route(opt, "wheel", 0.5, folder.folder))
            continue
        if request.no_build:
            continue
        cuda = opt.tag != "cpu" and cuda_build_possible(env, opt.tag) and request.cuda_ops_without_gpu_ok(env)
        routes.append(_Route(opt, "build", _build_minutes(ch, version, cuda, cpu_count(env))))
    if not routes:
        return (
            None,
            f"no prebuilt onedl-mmcv {version} wheel for this torch/Python ({py_tag}), and --no-build forbids compiling",
        )

    def rank(r: _Route) -> tuple[object, ...]:
        keep = not r.torch.changed and r.how != "build"
        total = r.minutes + (0.0 if not r.torch.changed else (1.0 if r.torch.tag == "cpu" else 4.0))
        return (not keep, round(total), r.torch.changed, [-x for x in version_tuple(r.torch.base)])

    return sorted(routes, key=rank)[0], ""


def _wheels_run_here(env: Environment, ch: Channel) -> bool:
    """The fork's index wheels are manylinux_2_34 x86_64: Linux x86_64 with glibc >= glibc_min (unknown: trusted)."""
    plat = env.platform
    if not isinstance(plat, PlatformInfo):
        return True  # a document that does not say
    if plat.system != "Linux" or plat.machine not in ("x86_64", "AMD64"):
        return False
    glibc = parse_version(plat.glibc.split()[-1]) if plat.glibc else None
    return glibc is None or glibc >= Version(ch.glibc_min)


def _build_minutes(ch: Channel, version: str, cuda: bool, cpus: int | None) -> float:
    runs = [d for d in ch.build.durations if d.cuda == cuda] or list(ch.build.durations)
    if not runs:
        return 30.0
    best = next((d for d in runs if d.mmcv == version), runs[0])
    seconds = best.seconds * (1.0 if best.cuda == cuda else 2.5)
    return round(seconds / 60 * best.cores / max(1, cpus or 2), 1)


def _steps(
    request: Request,
    env: Environment,
    matrix: Matrix,
    target: str,
    ch: Channel,
    route: _Route,
    picks: dict[str, str],
    dists: dict[str, ChannelDist],
    needs_tv: bool,
) -> Plan:
    from envcheck.plan.build import _py  # the interpreter a plan's commands name

    mmcv, engine = ch.dist_of("mmcv"), ch.dist_of("mmengine")
    assert mmcv is not None and engine is not None
    py = _py(env)
    pip = (py, "-m", "pip", "install")
    opt = route.torch
    stack: dict[str, str] = {"torch": opt.version}
    warnings: list[str] = []
    steps: list[Step] = []
    kept = {n: env.packages[n] for n in ("torch", "torchvision") if not opt.changed and n in env.packages}
    if needs_tv:
        row = opt.row
        tv = (
            env.packages.get("torchvision")
            if not opt.changed
            else ((row.torchvision_of(opt.base) or row.torchvision) if row else None)
        )
        if tv:
            stack["torchvision"] = tv if "+" in tv or "+" not in opt.version or not opt.changed else f"{tv}+{opt.tag}"
        else:
            warnings.append(f"torchvision for torch {opt.version} is not in envcheck's data: pin it by hand")
    torch_pins = tuple(f"{n}=={kept.get(n, stack[n])}" for n in ("torch", "torchvision") if n in stack)
    index_url = None
    if opt.changed and request.torch_from == "pypi":
        torch_pins = tuple(p.split("+")[0] for p in torch_pins)
    if opt.changed:
        index_url = matrix.torch_index_url(opt.tag) if "+" in opt.version and request.torch_from != "pypi" else None
        steps.append(
            Step("pip", (*pip, *torch_pins, *(("--index-url", index_url) if index_url else ())),
                 f"torch {opt.version} from " + (f"the PyTorch index for {opt.tag}" if index_url else "PyPI"),
                 minutes=4.0 if opt.tag != "cpu" else 1.0)
        )  # fmt: skip
    twins = [d for d in ch.replaces if d in env.packages]
    if twins:
        steps.append(
            Step("pip", (py, "-m", "pip", "uninstall", "-y", *twins),
                 f"remove upstream {', '.join(twins)} first: the fork installs the same import directories, and "
                 "removing the upstream twin afterwards would delete them", minutes=0.1)
        )  # fmt: skip
    # The toolkits' caps on NumPy/OpenCV (onedl-mmdetection's imaug: opencv < 4.13, so numpy < 2.3) go with
    # every install step: onedl-mmcv alone would pull the newest opencv-python, which the next step replaces.
    extras = [r for d in dists.values() for r in d.requires if _name(r) in CAPPED]
    extras = list(dict.fromkeys(extras))
    pin = f"{mmcv.name}=={mmcv.newest}"
    stack[mmcv.name] = mmcv.newest
    find_links: tuple[str, ...] = ()
    if route.how == "wheel":
        url = ch.wheel_index.format(folder=route.folder)
        find_links = (url,)
        steps.append(
            Step("pip", (*pip, pin, "--only-binary", mmcv.name, "-f", url, *extras, *torch_pins),
                 f"prebuilt onedl-mmcv wheel from the fork's index ({route.folder}); --only-binary: a missing wheel "
                 "fails fast instead of building an mmcv without ops", minutes=0.5)
        )  # fmt: skip
        warnings.append(
            f"the onedl-mmcv wheel folder {route.folder} is reconstructed from the fork's publish workflow, "
            f"not listed from the index itself; the wheels need glibc >= {ch.glibc_min}"
        )
    elif route.how == "build":
        steps.append(
            Step("pip", (*pip, *ch.build.preinstall, *torch_pins),
                 "build tooling: onedl-mmcv's setup.py compiles ops only when torch imports, so it builds "
                 "without isolation against the installed torch (no setuptools cap: no pkg_resources)", minutes=0.5)
        )  # fmt: skip
        build_env = {"MAX_JOBS": str(cpu_count(env) or 2)}
        if opt.tag != "cpu" and cuda_build_possible(env, opt.tag) and request.cuda_ops_without_gpu_ok(env):
            build_env["FORCE_CUDA"] = "1"
            ccs = sorted({g.compute_capability for g in env.gpu_list if g.compute_capability}, key=version_tuple)
            if ccs:
                build_env["TORCH_CUDA_ARCH_LIST"] = ";".join(ccs)
        else:
            build_env["FORCE_CUDA"] = "0"
            if opt.tag != "cpu":
                warnings.append(
                    "no GPU here: onedl-mmcv's ops are compiled for the CPU only; on a GPU machine (or with "
                    "FORCE_CUDA=1 set for an image built without one) they are compiled for CUDA"
                )
        steps.append(
            Step("pip", (*pip, *ch.build.pip_args, pin, *extras, *torch_pins),
                 f"compile onedl-mmcv {mmcv.newest} with ops against torch {opt.version} (~{route.minutes:g} min on "
                 f"{cpu_count(env) or 2} cores; no wheel for torch {opt.minor}/{opt.tag}/{python_tag(env)} on the fork's index)",
                 compiles=True, env=build_env, minutes=route.minutes)
        )  # fmt: skip
    stack[engine.name] = engine.newest
    rest = [f"{engine.name}=={engine.newest}"]
    for name, version in picks.items():
        stack[name] = version
        rest.append(f"{name}=={version}")
    steps.append(
        Step("pip", (*pip, *rest, *extras, *torch_pins),
             "onedl-mmengine and the toolkits (their NumPy/OpenCV caps spelled out); torch pinned so pip never swaps it",
             minutes=1.0)
    )  # fmt: skip
    choices = [
        Choice("torch", opt.version, "kept: the installed torch" if not opt.changed else "the cheapest torch for this route"),
        Choice(mmcv.name, mmcv.newest, {"installed": "already installed", "wheel": f"prebuilt wheel ({route.folder})",
                                        "build": f"compiled from source (~{route.minutes:g} min)"}[route.how]),
        Choice(engine.name, engine.newest, "loads OpenMMLab checkpoints under torch >= 2.6 (weights_only handled)"),
    ]  # fmt: skip
    for name, version in picks.items():
        choices.append(
            Choice(
                name,
                version,
                "the fork's newest release" if name in dists else "upstream release measured to import on onedl-mmcv",
            )
        )
    if opt.changed and env.context in ("colab", "kaggle"):
        warnings.append("torch changes in a running notebook: restart the runtime before importing it")
    return Plan(
        request=request.typed,
        target=target,
        stack=stack,
        pins=tuple(extras),
        steps=tuple(steps),
        choices=tuple(choices),
        warnings=tuple(warnings),
        minutes=round(sum(s.minutes for s in steps), 1),
        find_links=find_links,
        index_url=index_url,
        torch_changed=opt.changed,
    )


def installed_torch(env: Environment) -> Torch | None:
    return env.torch if isinstance(env.torch, Torch) else None
