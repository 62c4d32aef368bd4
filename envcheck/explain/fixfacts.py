"""FixFacts: what a fix template may name and what a signature may check, from env, log and matrix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from packaging.version import Version

from envcheck.explain.guards import PYPI, generations, guard_ops, same_generation
from envcheck.explain.guards import version_or_none as _v
from envcheck.explain.logfacts import LogFacts
from envcheck.facts.model import CudaHome, Driver, Environment, Gpu, Mmcv, PlatformInfo, PythonInfo, Torch
from envcheck.matrix import Guard, Matrix, MmcvRelease, TorchBuild, torch_minor

# What `envcheck plan` accepts, by the names logs use, for when matrices/ could not be loaded.
_TOOLKITS = ("mmdet", "mmsegmentation", "mmpose", "mmocr", "mmdeploy", "mmcls", "mmpretrain", "mmdet3d",
             "mmyolo", "mmaction2", "mmedit", "mmagic")  # fmt: skip
_ALIASES = {"mmdetection": "mmdet", "mmseg": "mmsegmentation", "mmaction": "mmaction2", "mmdetection3d": "mmdet3d",
            "mmclassification": "mmpretrain", "mmediting": "mmagic"}  # fmt: skip


def toolkit_dist(name: str, matrix: Matrix | None) -> str | None:
    """The PyPI name of a toolkit as a log or a user spells it (MMDetection, mmseg ...); None: no toolkit."""
    if matrix is not None:
        return matrix.toolkit_name(name)
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    return key if key in _TOOLKITS else None


@dataclass
class FixFacts:
    """Placeholder values and fact checks for one diagnosis run."""

    values: dict[str, str]
    checks: dict[str, bool | None]
    log: LogFacts
    packages: dict[str, str]  # env first, then the log
    matrix: Matrix | None = None
    platform: str = "linux"
    extra: dict[str, str] = field(default_factory=dict)
    toolkits: list[str] = field(default_factory=list)  # PyPI names installed or named in the log

    def plan(self, also: tuple[str, ...] = (), any_generation: bool = False) -> str | None:
        """`envcheck plan TOOLKIT...` for the toolkits seen (and `also`), for this Python; None when
        there are none, or (unless `any_generation`) when the stack is OpenMMLab 1.0 (mmcv-full):
        the planner resolves 2.0 stacks only, so its plan would move the user to another generation."""
        if self.values.get("mmcv_dist") != "mmcv" and not any_generation:
            return None
        named = {d for n in also if (d := toolkit_dist(n, self.matrix))} | set(self.toolkits)
        order = list(self.matrix.toolkits) if self.matrix is not None else list(_TOOLKITS)
        names = [n for n in order if n in named]  # a fixed order: stable output
        if not names:
            return None
        python = self.values.get("python", "python")
        return "envcheck plan " + " ".join(names) + (f" --python {python}" if python != "python" else "")

    def mmcv_to_build(self, spec: str | None = None, dist: str | None = None) -> str | None:
        """The newest mmcv (of `dist`, else this stack's distribution) that compiles against this
        torch, passes `spec` (or else the toolkits' guards) and is no pre-release; None without a matrix."""
        m, dist = self.matrix, dist or self.values.get("mmcv_dist", "mmcv")
        if m is None:
            return None
        releases: Mapping[str, MmcvRelease] = m.mmcv_full if dist == "mmcv-full" else m.mmcv
        torch = self.values.get("torch_version")
        found = [v for v, r in releases.items() if not Version(v).is_prerelease
                 and (torch is None or r.can_build_against(torch))]  # fmt: skip
        return self._newest(found, spec)

    def guard_pin(self, name: str, spec: str) -> str | None:
        """`mmdet==3.1.0`: the newest release of a pure-Python package (a toolkit, mmengine) inside a
        guard's range that the installed mmcv and mmengine pass too; None unless the facts make it exact."""
        m = self.matrix
        guards = [Guard(op, ver) for op, ver in guard_ops(spec) if _v(ver)]
        if m is None or not guards:
            return None
        if name == "mmengine":
            dist, versions = "mmengine", list(m.mmengine)
            ok = [v for v in versions if all(self._allows(m, n, tv, v, dep="mmengine") for n, tv in self._installed())]
        else:
            dist = m.toolkit_name(name) or ""
            mmcv, engine = self.packages.get("mmcv"), self.packages.get("mmengine")
            if not dist or not mmcv:  # which release works depends on the mmcv it has to import
                return None
            releases = m.toolkits.get(dist, {}).values()
            ok = [
                r.version for r in releases if r.allows("mmcv", mmcv) and (not engine or r.allows("mmengine", engine))
            ]
        ok = [v for v in ok if all(g.allows(v) for g in guards) and not Version(v).is_prerelease]
        return f"{dist}=={max(ok, key=Version)}" if ok else None

    def _installed(self) -> list[tuple[str, str]]:
        m = self.matrix
        return [(n, v) for n, v in self.packages.items() if m is not None and m.toolkit_name(n)]

    def mmcv_for(self, spec: str | None = None, dist: str | None = None) -> str | None:
        """The newest mmcv with a wheel for this torch/CUDA/Python that the toolkits (or `spec`) accept."""
        m, minor, tag = self.matrix, self.values.get("torch_minor"), self.values.get("cuda_tag")
        if m is None or not minor or not tag:
            return None
        dist = dist or self.values.get("mmcv_dist", "mmcv")
        releases: Mapping[str, MmcvRelease] = m.mmcv_full if dist == "mmcv-full" else m.mmcv
        py = self.values.get("python_version")
        found = [
            v for v, r in releases.items()
            if r.has_wheel(self.platform, minor, tag, py) and r.wheel_confidence(minor) != "doubtful"
        ]  # fmt: skip
        return self._newest(found, spec)

    def _newest(self, versions: list[str], spec: str | None) -> str | None:
        """The newest of `versions` that `spec` (a guard's range) allows, or else the toolkits' guards."""
        if spec:
            guards = [Guard(op, ver) for op, ver in guard_ops(spec) if _v(ver)]
            versions = [v for v in versions if all(g.allows(v) for g in guards)]
        else:
            versions = self._toolkit_ok(versions)
        return max(versions, key=Version) if versions else None

    def _toolkit_ok(self, versions: list[str]) -> list[str]:
        m = self.matrix
        if m is None:
            return versions
        skip = ("mmcv", "mmengine")
        installed = [(n, v) for n, v in self.packages.items() if m.toolkit_name(n) and n not in skip]
        if not installed:  # nothing known: prefer what the newest mmdet and mmseg accept
            common = [n for n in ("mmdet", "mmsegmentation") if m.toolkits.get(n)]
            installed = [(n, max(m.toolkits[n], key=Version)) for n in common]
        ok = [v for v in versions if all(self._allows(m, n, tv, v) for n, tv in installed)]
        return ok or versions

    @staticmethod
    def _allows(m: Matrix, toolkit: str, version: str, dep_version: str, dep: str = "mmcv") -> bool:
        release = m.toolkit(toolkit, version)
        return release is None or release.requirement(dep) is None or release.allows(dep, dep_version)


def _torch(env: Environment | None, log: LogFacts) -> tuple[str | None, str | None]:
    """(torch version, CUDA version or "cpu")."""
    torch = env.torch if env is not None and isinstance(env.torch, Torch) else None
    if torch is not None:
        return torch.version, torch.cuda or ("cpu" if torch.cpu_only else None)
    version = log.version("torch")
    local = version.split("+")[1] if version and "+" in version else ""
    cuda = log.torch_cuda
    if local.startswith("cu") and local[2:].isdigit():
        cuda = f"{local[2:-1]}.{local[-1]}"
    elif local == "cpu":
        cuda = "cpu"
    elif cuda is None and log.torch_index_tag:  # torch from the PyTorch index of that build
        tag = log.torch_index_tag
        cuda = "cpu" if tag == "cpu" else f"{tag[2:-1]}.{tag[-1]}"
    elif cuda is None and log.index_tag:
        cuda = "cpu" if log.index_tag == "cpu" else f"{log.index_tag[2:-1]}.{log.index_tag[-1]}"
    return version, cuda


def gather(env: Environment | None, log: LogFacts, matrix: Matrix | None = None) -> FixFacts:
    """Merge the facts: this machine (or --env) first, then what the log says, then matrices/."""
    packages = dict(log.packages)
    if env is not None:
        packages.update(env.packages)
    values: dict[str, str] = {"python": "python", "setuptools_pin": "setuptools<82", "setuptools_max": "82"}
    py = env.python if env is not None and isinstance(env.python, PythonInfo) else None
    if py is not None:
        values["python"] = py.executable or "python"
        values["python_version"] = py.minor
    elif log.python:
        values["python_version"] = log.python
    version, cuda = _torch(env, log)
    if version:
        values["torch_version"], values["torch_base"] = version, version.split("+")[0]
    minor = torch_minor(version) if version else log.index_torch
    if minor:
        values["torch_minor"] = minor
    if cuda:
        values["cuda_tag"] = "cpu" if cuda == "cpu" else "cu" + cuda.replace(".", "")
        if cuda != "cpu":
            values["torch_cuda"] = cuda
    plat = env.platform.key if env is not None and isinstance(env.platform, PlatformInfo) else None
    plat = plat or log.platform or "linux"
    mmcv = env.mmcv if env is not None and isinstance(env.mmcv, Mmcv) else None
    mmcv_version = (mmcv.version if mmcv else None) or packages.get("mmcv") or packages.get("mmcv-full")
    full = (mmcv is not None and mmcv.dist == "mmcv-full") or (
        mmcv is None and ("mmcv-full" in packages or log.mentions_mmcv_full
                          or bool(mmcv_version and mmcv_version.startswith("1.")))
    )  # fmt: skip
    values["mmcv_dist"] = "mmcv-full" if full else "mmcv"
    if matrix is not None:
        values["setuptools_max"] = matrix.mmcv_build.setuptools_max_exclusive
        values["setuptools_pin"] = f"setuptools<{values['setuptools_max']}"
    tag, py_version = values.get("cuda_tag"), values.get("python_version")
    if matrix is not None and minor and tag and _index_has_wheels(matrix, plat, minor, tag, py_version):
        major, _, mi = minor.partition(".")
        values["mmcv_index"] = matrix.wheel_index.format(cuda_tag=tag, major=major, minor=mi)
    facts = FixFacts(values, {}, log, packages, matrix, plat, toolkits=_toolkits(packages, log, matrix))
    for name, dist in (("mmcv_for_torch", None), ("mmcv2_for_torch", "mmcv"), ("mmcv_full_for_torch", "mmcv-full")):
        found = facts.mmcv_for(dist=dist)
        if found:
            values[name] = found
    for name, dist in (("mmcv2_build", "mmcv"), ("mmcv_full_build", "mmcv-full")):
        found = facts.mmcv_to_build(dist=dist)
        if found:
            values[name] = f"{dist}=={found}"
    sdist = log.sdists.get(values["mmcv_dist"]) or log.sdists.get("mmcv") or log.sdists.get("mmcv-full")
    pin = sdist or mmcv_version or values.get("mmcv_for_torch")
    if pin and not _builds(matrix, pin.split("+")[0], version):
        pin = None  # a C++14 mmcv cannot compile against a torch that needs C++17: build one that can
    pin = pin or facts.mmcv_to_build()
    values["mmcv_req"] = f"{values['mmcv_dist']}=={pin}" if pin else values["mmcv_dist"]
    _machine_values(values, env, log, matrix, minor)
    facts.checks = _checks(env, log, packages, values, plat)
    return facts


def _index_has_wheels(matrix: Matrix, platform: str, minor: str, cuda_tag: str, python: str | None) -> bool:
    """Whether some mmcv release has a wheel for this torch, CUDA and Python under that index page.

    A fix must not point pip at an index page that holds nothing for this machine (nor at one that
    no matrix vouches for): then the planner (or the rebuild line) is the fix."""
    releases = [*matrix.mmcv.values(), *matrix.mmcv_full.values()]
    return any(r.has_wheel(platform, minor, cuda_tag, python) and r.wheel_confidence(minor) != "doubtful"
               for r in releases)  # fmt: skip


def _builds(matrix: Matrix | None, mmcv: str, torch: str | None) -> bool:
    release = matrix.mmcv_release(mmcv) if matrix is not None else None
    return release is None or torch is None or release.can_build_against(torch)


def _toolkits(packages: Mapping[str, str], log: LogFacts, matrix: Matrix | None) -> list[str]:
    """The toolkits (PyPI names) installed here or named by the log: what `envcheck plan` should plan."""
    found: list[str] = []
    for name in [*packages, *log.named]:
        dist = toolkit_dist(name, matrix)
        if dist and dist not in found:
            found.append(dist)
    return found


def _machine_values(values: dict[str, str], env: Environment | None, log: LogFacts,
                    matrix: Matrix | None, minor: str | None) -> None:  # fmt: skip
    gpus = env.gpu_list if env is not None else ()
    ccs = [g.compute_capability for g in gpus if g.compute_capability]
    if not ccs and log.gpu_sms:
        ccs = [f"{sm[:-1]}.{sm[-1]}" for sm in log.gpu_sms]
    if not ccs and matrix is not None:
        ccs = [cc for name in log.gpus if (cc := matrix.gpu_compute_capability(name))]
    if ccs:
        values["gpu_arch"] = ";".join(sorted(set(ccs), key=Version))
    names = [g.name for g in gpus] or log.gpus
    if names:
        values["gpu_name"] = names[0]
    driver = env.driver if env is not None and isinstance(env.driver, Driver) else None
    cuda_max = _v(driver.effective_cuda_max) if driver is not None else None
    if cuda_max is not None:
        values["driver_cuda"] = str(cuda_max)
        release = matrix.torch_release(minor) if matrix is not None and minor else None
        builds = {t: v for t, b in (release.builds.items() if release else ()) if (v := _v(b.cuda)) is not None}
        runnable = [t for t, v in builds.items() if v <= cuda_max]
        if runnable:
            values["cuda_tag_for_driver"] = max(runnable, key=lambda t: builds[t])
    home = env.toolchain.cuda_home if env is not None else None
    if isinstance(home, CudaHome) and home.has_nvcc and ":" not in home.path[2:]:
        values["cuda_home"] = home.path
    mmdeploy = (env.packages.get("mmdeploy") if env is not None else None) or log.version("mmdeploy")
    if mmdeploy:
        values["mmdeploy_version"] = mmdeploy
    for pkg in ("xtcocotools", "mmpycocotools", "pycocotools"):
        if pkg in log.cython_exts:
            values["cython_pkg"] = pkg
            break


def _major(packages: Mapping[str, str], name: str) -> int | None:
    parsed = _v(packages.get(name, "").split("+")[0])
    return parsed.major if parsed else None


def _checks(env: Environment | None, log: LogFacts, packages: Mapping[str, str],
            values: Mapping[str, str], plat: str) -> dict[str, bool | None]:  # fmt: skip
    known_plat = (env is not None and isinstance(env.platform, PlatformInfo)) or log.platform is not None
    cuda = values.get("cuda_tag")
    gpus = env.gpu_list if env is not None else ()
    has_gpu: bool | None = True if gpus or log.gpus or log.gpu_sms else (False if env is not None else None)
    py = _v(values.get("python_version"))
    numpy = _major(packages, "numpy")
    setuptools = _v(packages.get("setuptools"))
    mmcv = env.mmcv if env is not None and isinstance(env.mmcv, Mmcv) else None
    torch = env.torch if env is not None and isinstance(env.torch, Torch) else None
    gens = generations(packages)
    flavours = [n for n in ("mmcv", "mmcv-full", "mmcv-lite") if n in packages]
    checks: dict[str, bool | None] = {
        "windows": plat == "windows" if known_plat else None,
        "not_macos": plat != "macos" if known_plat else None,
        "no_gpu": (not has_gpu) if has_gpu is not None else None,
        "torch_cpu_only": cuda == "cpu" if cuda else None,
        "torch_has_cuda": (cuda != "cpu") if cuda else None,
        "gpu_with_cpu_torch": (cuda == "cpu" and has_gpu) if cuda and has_gpu is not None else None,
        "numpy1": numpy == 1 if numpy is not None else None,
        "numpy2": numpy is not None and numpy >= 2 if numpy is not None else None,
        "pkg_resources_gone": (env.pkg_resources is False if env is not None and env.pkg_resources is not None
                               else (setuptools >= Version("82") if setuptools else None)),
        "python_ge_312": py >= Version("3.12") if py else None,
        "python_lt_312": py < Version("3.12") if py else None,
        "mmcv_no_ops": (mmcv.flavour == "lite") if mmcv else ("mmcv-lite" in packages or None),
        "mmcv_ops_cpu": (mmcv.ops_cuda == "cpu") if mmcv and mmcv.ops_cuda else None,
        "mmcv_built_for_other_cuda": _other_cuda(mmcv, torch),
        "mmcv_generation_mismatch": (len(gens) > 1) if gens else None,
        "mixed_mmcv": (len(flavours) > 1 or bool(env and "mmcv" in env.duplicates)) if flavours else None,
        "gpu_arch_missing_in_torch": _arch_missing(torch, gpus),
        "driver_older_than_torch_cuda": _driver_old(values),
        "cuda_home_broken": _cuda_home_broken(env),
    }  # fmt: skip
    return checks


def _other_cuda(mmcv: Mmcv | None, torch: Torch | None) -> bool | None:
    if mmcv is None or torch is None or not mmcv.ops_cuda or not torch.cuda:
        return None
    return mmcv.ops_cuda not in ("cpu", torch.cuda)


def _arch_missing(torch: Torch | None, gpus: tuple[Gpu, ...]) -> bool | None:
    """Whether some GPU gets no kernel from torch's arch list (cubin of the same major, or PTX)."""
    ccs = [g.compute_capability for g in gpus if g.compute_capability]
    if torch is None or not torch.arch_list or not ccs:
        return None
    build = TorchBuild("", "", torch.arch_list, False, "")  # the matrix's arch rules, on torch's list
    return not all(build.supports_cc(cc) for cc in ccs)


def _driver_old(values: Mapping[str, str]) -> bool | None:
    have, need = _v(values.get("driver_cuda")), _v(values.get("torch_cuda"))
    return have < need if have and need else None


def _cuda_home_broken(env: Environment | None) -> bool | None:
    if env is None:
        return None
    home = env.toolchain.cuda_home
    if not isinstance(home, CudaHome):
        return None if "not probed" in home.reason else True
    return not home.has_nvcc or ":" in home.path[2:]


def derived(captures: Mapping[str, str], facts: FixFacts, import_to_pip: Mapping[str, str]) -> dict[str, str]:
    """Placeholders that follow from what one line captured (the guard's range, a module's package)."""
    out: dict[str, str] = {}
    spec, guarded = captures.get("guard_spec"), (captures.get("guarded") or "").lower()
    named = tuple(c for c in (guarded, (captures.get("toolkit") or "").lower()) if c)
    plan, plan_any = facts.plan(named), facts.plan(named, any_generation=True)
    if plan:
        out["plan"] = plan
    if plan_any:
        out["plan_mmcv2"] = plan_any
    if spec and guarded:
        name = PYPI.get(guarded, guarded)
        if name == "mmcv" and same_generation("1.0.0", spec):
            name = "mmcv-full"
        if name in ("mmcv", "mmcv-full"):
            found = facts.mmcv_for(spec, dist=name)
            if found:
                out["guard_wheel"] = f"{name}=={found}"
            build = facts.mmcv_to_build(spec, dist=name) if not plan and not found else None
            if build:  # nothing better to offer: compile a release the guard accepts
                out["guard_build"] = f"{name}=={build}"
        else:
            pin = facts.guard_pin(name, spec)
            if pin:
                out["guard_pin"] = pin
    if guarded and not {"plan", "guard_wheel", "guard_pin", "guard_build"} & set(out):
        name = PYPI.get(guarded, guarded)
        if name == "mmcv" and (captures.get("installed") or "").startswith("1."):
            name = "mmcv-full"
        out["guard_unresolved"] = name  # no exact command: say where the range is
    module = captures.get("missing_module")
    if module:
        pair = module in ("ftfy", "regex")  # mmseg needs both: name them together
        out["missing_pip"] = "ftfy regex" if pair else import_to_pip.get(module, module)
    return out
