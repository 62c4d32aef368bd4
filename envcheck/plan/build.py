"""From a search to a Plan: the exact steps, why each choice, what was rejected, or the clash."""

from __future__ import annotations

from dataclasses import replace

from packaging.version import Version

from envcheck.facts.model import Environment, PlatformInfo, PythonInfo, Tool, Torch, parse_version, version_tuple
from envcheck.matrix import Matrix
from envcheck.matrix.nvcc import compilable, toolkit_fix
from envcheck.plan.conflict import explain_conflict
from envcheck.plan.deps import StackDeps, build_steps, stack_deps
from envcheck.plan.memo import cached_version, matrix_cache
from envcheck.plan.model import Alternative, Choice, Plan, Step
from envcheck.plan.search import (
    Request,
    Search,
    Solution,
    cpu_count,
    cuda_build_possible,
    python_info,
    python_minor,
    python_tag,
    python_version,
    search,
)
from envcheck.plan.selection import imports_mmdet

PKG_RESOURCES_REMOVED = "82"  # setuptools NEWS v82.0.0
IMPIMPORTER_FIXED = "66.1"  # pypa/setuptools#3685


def make_plan(request: Request, env: Environment, matrix: Matrix, target: str = "this machine") -> Plan:
    s = search(request, env, matrix)
    if not s.solutions:
        return Plan(
            request.typed,
            target,
            conflict=explain_conflict(s),
            rejected=tuple(profile_options(request, env, matrix)),
        )
    plan = build_plan(s, s.solutions[0], target)
    if plan.compiles:
        plan = replace(plan, rejected=plan.rejected + tuple(profile_options(request, env, matrix)))
    return plan


# -- a plan ----------------------------------------------------------------------------------


def _py(env: Environment) -> str:
    py = python_info(env)
    return (py.executable if py else "") or "python"


def _pins(s: Search, sol: Solution) -> tuple[dict[str, str], list[str], list[str], StackDeps]:
    """(stack, extra requirements, warnings, what the toolkits need beyond the stack) for a solution."""
    env, matrix = s.env, s.matrix
    stack: dict[str, str] = {"torch": sol.torch.version}
    row = sol.torch.row
    needs_tv = any(r.needs_torchvision for r in sol.selection.releases.values())
    warnings: list[str] = []
    if needs_tv or (env.has("torchvision") and sol.torch.changed):
        tv = (row.torchvision_of(sol.torch.base) or row.torchvision) if row else None
        if tv and not sol.torch.changed and env.has("torchvision"):
            stack["torchvision"] = env.packages["torchvision"]  # kept: exactly what is installed
        elif tv:
            labelled = "+" in sol.torch.version  # torchvision carries the same local label as torch
            stack["torchvision"] = tv if "+" in tv or not labelled else f"{tv}+{sol.torch.tag}"
        else:
            warnings.append(f"torchvision for torch {sol.torch.version} is not in envcheck's data: pin it by hand")
    stack["mmcv"] = sol.selection.mmcv
    stack["mmengine"] = sol.selection.mmengine
    for name, rel in sol.selection.releases.items():
        stack[name] = rel.version
    # numpy<2 only where a NumPy-1 binary really gets installed on this Python (numpy.toml).
    deps = stack_deps(matrix, sol.selection.releases.values(), row, python_minor(env))
    extras = list(deps.extras)
    warnings += deps.warnings
    engine = matrix.mmengine.get(sol.selection.mmengine)
    py = python_version(env)
    if engine is not None and engine.pkg_resources_at_runtime:
        low = f">={IMPIMPORTER_FIXED}," if py and py >= Version("3.12") else ""
        extras.append(f"setuptools{low}<{PKG_RESOURCES_REMOVED}")
    torch_v = parse_version(sol.torch.base)
    if engine is not None and not engine.weights_only_safe and torch_v and torch_v >= Version("2.6"):
        warnings.append(
            f"mmengine {engine.version} + torch {sol.torch.base}: loading OpenMMLab checkpoints fails "
            "(weights_only); export TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 for checkpoints you trust"
        )
    return stack, extras, warnings, deps


def _mim_works(env: Environment) -> bool:
    """mim 0.3.9 works only with pkg_resources (setuptools < 82), pip < 24.1 and Python < 3.12."""
    st, pip = env.version_of("setuptools"), env.version_of("pip")
    py = python_version(env)
    return (
        env.has("openmim")
        and env.pkg_resources is not False
        and st is not None
        and st < Version(PKG_RESOURCES_REMOVED)
        and pip is not None
        and pip < Version("24.1")
        and py is not None
        and py < Version("3.12")
    )


def _arch_list(s: Search, sol: Solution) -> tuple[str, list[str]]:
    """TORCH_CUDA_ARCH_LIST for a CUDA build, and the archs of torch's own list this nvcc cannot compile.

    With GPUs here: their compute capabilities (the search already rejected an nvcc that cannot
    compile for one of them). Without (a docker or CI image): torch's own archs (a kept torch's as
    the environment reports them), less those the image's nvcc does not know (nvcc 12.4 beside a
    cu128 torch cannot compile sm_100, sm_120).
    """
    ccs = sorted({g.compute_capability for g in s.env.gpu_list if g.compute_capability}, key=version_tuple)
    if ccs:
        return ";".join(ccs), []
    kept = s.env.torch if not sol.torch.changed and isinstance(s.env.torch, Torch) else None
    archs = sol.torch.build.archs if sol.torch.build else (kept.arch_list or () if kept else ())
    ccs = sorted({f"{a[3:-1]}.{a[-1]}" for a in archs if a.startswith("sm_") and a[3:].isdigit()}, key=version_tuple)
    nvcc = s.env.toolchain.nvcc
    if not isinstance(nvcc, Tool):
        return ";".join(ccs), []
    keep, drop = compilable(s.matrix, nvcc.version, ccs)
    return ";".join(keep), drop


def _unusual_compiler(env: Environment) -> str | None:
    """A warning when mmcv would be compiled on Linux by a C++ compiler outside the system's and the
    environment's own (CC/CXX or PATH pointing at, say, /opt/gcc): measured on an H200 image, an
    extension built so crashed in its first std::string-returning call (extension-toolchain-abi)."""
    py, plat = env.python, env.platform
    if not isinstance(plat, PlatformInfo) or plat.system != "Linux":
        return None
    tool = env.toolchain.gxx if isinstance(env.toolchain.gxx, Tool) else env.toolchain.gcc
    if not isinstance(tool, Tool) or tool.path.startswith(("/usr/bin/", "/bin/")):
        return None
    prefixes = [x for x in (py.prefix, py.conda, py.virtualenv) if x] if isinstance(py, PythonInfo) else []
    if any(tool.path.startswith(x.rstrip("/") + "/") for x in prefixes):
        return None  # conda's own compilers go with conda's own libstdc++
    via = f"{tool.source}=" if tool.source in ("CC", "CXX") else ""
    return (
        f"mmcv is compiled by {via}{tool.path} ({tool.version}), not the system compiler: on one image such a "
        "toolchain built extensions that crash in their first std::string call (mmcv.ops.get_compiling_cuda_version; "
        "measured, `extension-toolchain-abi`). If `envcheck smoke mmcv` fails that way, rebuild with "
        "CC=/usr/bin/gcc CXX=/usr/bin/g++"
    )


def build_plan(s: Search, sol: Solution, target: str) -> Plan:
    env, matrix = s.env, s.matrix
    stack, extras, warnings, deps = _pins(s, sol)
    py = _py(env)
    pip = (py, "-m", "pip", "install")
    # Pins name distribution versions as pip sees them. A kept torch from PyPI reports 2.0.1+cu117 in
    # torch.__version__ but is the distribution 2.0.1, which `torch==2.0.1+cu117` does not match.
    kept = {n: env.packages[n] for n in ("torch", "torchvision") if not sol.torch.changed and env.has(n)}
    torch_pins = tuple(f"{n}=={kept.get(n, stack[n])}" for n in ("torch", "torchvision") if n in stack)
    steps: list[Step] = []
    find_links: list[str] = []
    index_url: str | None = None
    if sol.torch.changed:
        # A build label (+cu121, +cpu) lives only on the PyTorch index; unlabelled wheels (macOS)
        # come from PyPI.
        index_url = matrix.torch_index_url(sol.torch.tag) if "+" in sol.torch.version else None
        where = ("--index-url", index_url) if index_url else ()
        steps.append(
            Step(
                "pip",
                (*pip, *torch_pins, *where),
                f"torch {sol.torch.version} from "
                + (f"the PyTorch index for {sol.torch.tag}" if index_url else "PyPI"),
                minutes=4.0 if sol.torch.tag != "cpu" else 1.0,
            )
        )
    elif "+" in stack.get("torchvision", "") and not env.has("torchvision"):
        # PyPI's torchvision is built for PyPI's torch (cu130 for 2.11, or CPU elsewhere): beside a
        # +cu128 or +cpu torch its ops fail to load. The matching build is on the PyTorch index.
        index_url = matrix.torch_index_url(sol.torch.tag)
        steps.append(
            Step(
                "pip",
                (*pip, *torch_pins, "--index-url", index_url),
                f"torchvision {stack['torchvision']}: the build for the kept torch {sol.torch.version}",
                minutes=0.5,
            )
        )
    route = sol.route
    mmcv_pin = f"mmcv=={sol.selection.mmcv}"
    # mmcv-lite / mmcv-full own the same `mmcv` import directory: installing over them mixes
    # files (and uninstalling them later takes mmcv's with them). The same mmcv version already
    # there (without ops, or built for another torch) is "already satisfied" to pip, which would
    # skip the install; --force-reinstall would reinstall the pinned torch too. Remove them first.
    stale = [d for d in ("mmcv-lite", "mmcv-full") if env.has(d)]
    if env.packages.get("mmcv") == sol.selection.mmcv:
        stale.insert(0, "mmcv")
    if stale and route.how != "installed":
        steps.append(
            Step(
                "pip",
                (py, "-m", "pip", "uninstall", "-y", *stale),
                f"remove the installed {', '.join(stale)} first: "
                "pip would keep it as it is, or mix its files with the new mmcv",
                minutes=0.1,
            )
        )
    if route.how == "wheel":
        url = matrix.wheel_index_url(sol.torch.tag, sol.torch.version)
        find_links.append(url)
        if _mim_works(env) and not sol.torch.changed:
            steps.append(
                Step(
                    "mim",
                    (py, "-m", "mim", "install", mmcv_pin, "--only-binary", "mmcv", *torch_pins),
                    "prebuilt mmcv wheel through mim (it adds the same find-links page); "
                    "--only-binary makes a missing wheel fail fast instead of compiling",
                    minutes=0.5,
                )
            )
        else:
            steps.append(
                Step(
                    "pip",
                    (*pip, mmcv_pin, "--only-binary", "mmcv", "-f", url, *torch_pins),
                    "prebuilt mmcv wheel; --only-binary makes a missing wheel fail fast instead of "
                    "compiling; torch pinned so pip never swaps it",
                    minutes=0.5,
                )
            )
    elif route.how == "build":
        b = matrix.mmcv_build
        py_v = python_version(env)
        setuptools = (
            f"setuptools>={IMPIMPORTER_FIXED},<{PKG_RESOURCES_REMOVED}"
            if py_v and py_v >= Version("3.12")
            else f"setuptools<{PKG_RESOURCES_REMOVED}"
        )
        tools = [setuptools] + [p for p in b.preinstall if not p.startswith("setuptools")]
        if sol.torch.row is not None and not sol.torch.row.numpy2:
            tools.append("numpy<2")
        steps.append(
            Step(
                "pip",
                (*pip, *tools, *torch_pins),
                "build tooling: mmcv's setup.py needs pkg_resources (setuptools < 82) and builds "
                "without isolation against the installed torch",
                minutes=0.5,
            )
        )
        build_env = {k: v for k, v in b.env.items()}
        build_env["MMCV_WITH_OPS"] = "1"
        if sol.torch.tag != "cpu" and cuda_build_possible(env, sol.torch.tag):
            build_env["FORCE_CUDA"] = "1"
            arch, left_out = _arch_list(s, sol)
            if arch:
                build_env["TORCH_CUDA_ARCH_LIST"] = arch
            if left_out:
                nvcc = s.env.toolchain.nvcc
                version = nvcc.version if isinstance(nvcc, Tool) else "?"
                warnings.append(
                    f"nvcc {version} cannot compile for {', '.join(_sm(c) for c in left_out)} (in torch {sol.torch.version}'s "
                    f"arch list): mmcv's ops are built for {arch or 'no GPU arch'} only; "
                    f"for those GPUs {toolkit_fix(s.matrix, left_out, sol.torch.tag)}"
                )
        elif sol.torch.tag != "cpu":
            # No GPU and no nvcc for torch's CUDA: setup.py would fail with FORCE_CUDA=1, and without a GPU
            # there is nothing to run CUDA ops on. Build the CPU ops and say so.
            build_env["FORCE_CUDA"] = "0"
            warnings.append(
                f"no GPU and no nvcc {sol.torch.tag[2:-1]}.x here: mmcv's ops are compiled for the CPU only; "
                "on a GPU machine rebuild them with FORCE_CUDA=1"
            )
        cpus = cpu_count(env) or 2
        build_env["MAX_JOBS"] = str(cpus)
        odd = _unusual_compiler(env)
        if odd:
            warnings.append(odd)
        steps.append(
            Step(
                "pip",
                (*pip, *b.pip_args, mmcv_pin, *torch_pins),
                f"compile mmcv {sol.selection.mmcv} with ops against torch {sol.torch.version} "
                f"(~{route.minutes:g} min on {cpus} cores)",
                compiles=True,
                env=build_env,
                minutes=route.minutes,
            )
        )
    rest = [f"mmengine=={stack['mmengine']}", *(f"{n}=={stack[n]}" for n in sol.selection.releases)]
    steps += build_steps(deps, extras, pip, torch_pins)
    steps.append(
        Step(
            "pip",
            (*pip, *rest, *extras, *torch_pins),
            "the toolkits, with their undeclared runtime needs; torch pinned so pip never swaps it",
            minutes=0.5,
        )
    )
    if sol.torch.changed and env.context in ("colab", "kaggle"):
        warnings.append("torch changes in a running notebook: restart the runtime before importing it")
    if route.confidence != "high":
        warnings.append(
            f"the mmcv {sol.selection.mmcv} wheel for torch {sol.torch.minor}/{sol.torch.tag} is listed but "
            f"{route.confidence}: if it is missing, the step fails fast (--only-binary)"
        )
    if sol.torch.row is None:
        warnings.append(
            f"torch {sol.torch.version} is newer than envcheck's data: its arch list and wheels are unverified"
        )
    return Plan(
        request=s.request.typed,
        target=target,
        stack=stack,
        pins=tuple(extras),
        steps=tuple(steps),
        choices=tuple(_choices(s, sol)) + ((Choice("numpy", "<2", "; ".join(deps.numpy1)),) if deps.numpy1 else ()),
        rejected=tuple(_rejected(s, sol)),
        warnings=tuple(warnings),
        minutes=round(sum(st.minutes for st in steps), 1),
        find_links=tuple(find_links),
        index_url=index_url,
        torch_changed=sol.torch.changed,
    )


def _choices(s: Search, sol: Solution) -> list[Choice]:
    env = s.env
    cur = env.torch.version if isinstance(env.torch, Torch) else None
    out = []
    if not sol.torch.changed:
        out.append(Choice("torch", sol.torch.version, "kept: the installed torch"))
    else:
        why = f"replaces {cur}" if cur else "not installed yet"
        kept = [x for x in s.solutions if not x.torch.changed]
        if kept:
            means = {"build": "compiling mmcv", "wheel": "the mmcv wheel", "installed": "the installed mmcv"}
            why += f"; keeping {cur} means {means[kept[0].route.how]} (~{kept[0].route.minutes:g} min)"
        runs = "the CPU" if sol.torch.tag == "cpu" else ("this GPU" if env.gpu_list else "GPUs with driver >= its CUDA")
        out.append(Choice("torch", sol.torch.version, why + f"; runs on {runs}"))
    where = f"torch {sol.torch.minor}/{sol.torch.tag}/{python_tag(env)}"
    how = {
        "installed": "already installed with ops for this torch",
        "wheel": f"prebuilt wheel for {where}",
        "build": f"compiled from source (~{sol.route.minutes:g} min): no prebuilt wheel for {where}",
    }[sol.route.how]
    newer = [v for v, why in s.mmcv_rejections.items() if Version(v) > Version(sol.selection.mmcv)]
    out.append(
        Choice(
            "mmcv",
            sol.selection.mmcv,
            how + "".join(f"; {v} rejected: {s.mmcv_rejections[v]}" for v in newer[:2]),
        )
    )
    for name, rel in sol.selection.releases.items():
        spec = dict(s.request.toolkits).get(name)
        newest = max((r for r in s.matrix.toolkits[name].values()), key=lambda r: Version(r.version))
        why = "newest release" if rel.version == newest.version else f"newest that accepts mmcv {sol.selection.mmcv}"
        if spec and str(spec):
            why += f" within {name}{spec}"
        if name not in dict(s.request.toolkits):
            users = [f"{n} {r.version}" for n, r in sol.selection.releases.items() if imports_mmdet(r)]
            why += f" (imported by {', '.join(users)})"
        if cached_version(rel.version).is_prerelease:
            why += " (a pre-release: no stack of final releases fits)"
        out.append(Choice(name, rel.version, why))
    out.append(Choice("mmengine", sol.selection.mmengine, "newest release every toolkit's guard accepts"))
    return out


def _rejected(s: Search, sol: Solution) -> list[Alternative]:
    """The best stack of each other kind (kept torch, changed torch, wheel, build) and why not."""
    seen = {(sol.torch.changed, sol.route.how == "build")}
    out = []
    for other in s.solutions[1:]:
        kind = (other.torch.changed, other.route.how == "build")
        if kind in seen:
            continue
        seen.add(kind)
        what = f"torch {other.torch.version} + mmcv {other.selection.mmcv} ({other.route.how})"
        reason = []
        if other.route.how == "build":
            reason.append(f"compiles mmcv (~{other.route.minutes:g} min)")
        if other.torch.changed and not sol.torch.changed:
            reason.append("changes torch")
        mine, theirs = sol.selection.releases, other.selection.releases
        lost = [n for n in mine if n in theirs and cached_version(theirs[n].version) < cached_version(mine[n].version)]
        if lost:
            reason.append("older " + ", ".join(f"{n} {other.selection.releases[n].version}" for n in lost))
        gained = [
            n for n in mine if n in theirs and cached_version(theirs[n].version) > cached_version(mine[n].version)
        ]
        if gained:  # the trade is visible: mmpose 1.3.2 needs mmdet, which rejects the mmcv wheel here
            added = [f"{n} {r.version}" for n, r in theirs.items() if n not in mine]
            reason.append("would give " + ", ".join([f"{n} {theirs[n].version}" for n in gained] + added))
        if other.minutes > sol.minutes and not reason:
            reason.append(f"slower (~{other.minutes:g} min)")
        out.append(Alternative(what, "; ".join(reason) or "ranked lower", other.minutes))
    current = s.env.torch.version if isinstance(s.env.torch, Torch) else None
    shown = 0
    for (torch, mmcv), why in s.route_rejections.items():
        if torch == current and shown < 2:  # why the installed torch could not simply be kept
            out.append(Alternative(f"torch {torch} + mmcv {mmcv}", why))
            shown += 1
    return out


# -- other runtimes --------------------------------------------------------------------------


def profile_options(request: Request, env: Environment, matrix: Matrix, limit: int = 2) -> list[Alternative]:
    """Named runtimes (older Colab images ...) on which the request installs without compiling."""
    from envcheck.facts.complete import complete
    from envcheck.facts.document import from_document

    here = python_minor(env)
    envs = matrix_cache(matrix).profile_envs
    out = []
    for name, profile in matrix.profiles.items():
        if name not in envs:
            envs[name] = complete(from_document(profile.as_json(), f"profile {name}"), matrix)
        penv = envs[name]
        if python_minor(penv) == here and penv.context == env.context:
            continue
        found = search(replace(request, no_build=True), penv, matrix)
        if found.solutions:
            best = found.solutions[0]
            out.append(
                Alternative(
                    f"--target {name} ({profile.description.split(':')[0]}; Python {python_minor(penv)})",
                    f"torch {best.torch.version} + mmcv {best.selection.mmcv} ({best.route.how}), no compiling",
                    best.minutes,
                )
            )
        if len(out) >= limit:
            break
    return out


def _sm(cc: str) -> str:
    return "sm_" + cc.replace(".", "")
