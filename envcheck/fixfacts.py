"""FixFacts: what a fix template may name and what a signature may check, from env, log and matrix."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable

from packaging.version import InvalidVersion, Version

from envcheck.facts import CudaHome, Driver, Environment, Gpu, Mmcv, PlatformInfo, PythonInfo, Torch
from envcheck.logfacts import LogFacts
from envcheck.matrix import Guard, Matrix, MmcvRelease, TorchBuild, torch_minor

DEFAULT_INDEX = "https://download.openmmlab.com/mmcv/dist/{cuda_tag}/torch{major}.{minor}/index.html"
_GUARD_OP = re.compile(r"(>=|<=|==|!=|>|<)\s*\(?\s*(\d+(?:\s*[.,]\s*\d+)*(?:rc\d+|[ab]\d+)?)")
_PYPI = {"mmcv": "mmcv", "mmdetection": "mmdet", "mmdet": "mmdet", "mmengine": "mmengine",
         "mmsegmentation": "mmsegmentation", "mmpretrain": "mmpretrain"}  # fmt: skip
# Toolkits by OpenMMLab generation: the first major version that needs mmcv 2.x.
_TWO_ZERO = {"mmdet": 3, "mmsegmentation": 1, "mmpose": 1, "mmocr": 1, "mmrotate": 1, "mmyolo": 0,
             "mmpretrain": 0, "mmengine": 0, "mmdet3d": 1, "mmaction2": 1, "mmagic": 0}  # fmt: skip
_ONE_ZERO = ("mmcls", "mmtrack", "mmedit")


def _v(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def guard_ops(spec: str) -> list[tuple[str, str]]:
    """ "mmcv>=2.0.0rc4, <2.2.0." / ">=(1, 3, 13, 0), <(1, 7, 0)" -> [(">=", "2.0.0rc4"), ("<", "2.2.0")]."""
    return [(op, re.sub(r"\s*[.,]\s*", ".", ver)) for op, ver in _GUARD_OP.findall(spec)]


def _major_range(spec: str) -> tuple[int | None, int | None]:
    """The lowest and highest major version a guard admits: ">=2.0.0rc4, <2.2.0" -> (2, 2)."""
    low = high = None
    for op, ver in guard_ops(spec):
        parsed = _v(ver)
        if parsed is None:
            continue
        if op in (">=", ">", "=="):
            low = parsed.major
        if op in ("<=", "=="):
            high = parsed.major
        elif op == "<":
            exact_major = not any(parsed.release[1:]) and parsed.pre is None
            high = parsed.major - 1 if exact_major else parsed.major
    return low, high


def same_generation(installed: str, spec: str) -> bool | None:
    """Whether the installed major version lies in the majors the guard asks for (None: unknown)."""
    got = _v(installed.split("+")[0])
    low, high = _major_range(spec)
    if got is None or (low is None and high is None):
        return None
    return (low is None or got.major >= low) and (high is None or got.major <= high)


def _interval_disjoint(a: str, b: str) -> bool:
    def bounds(spec: str) -> tuple[Version | None, Version | None]:
        low = high = None
        for op, ver in guard_ops(spec):
            parsed = _v(ver)
            if parsed is not None and op in (">=", ">", "=="):
                low = parsed
            if parsed is not None and op in ("<=", "<", "=="):
                high = parsed
        return low, high

    (la, ha), (lb, hb) = bounds(a), bounds(b)
    return bool((la and hb and la > hb) or (lb and ha and lb > ha))


def _generations(packages: Mapping[str, str]) -> set[int]:
    """1 and/or 2: the OpenMMLab generations the installed packages belong to."""
    gens: set[int] = set()
    for name, version in packages.items():
        parsed = _v(version.split("+")[0])
        if parsed is None:
            continue
        if name == "mmcv-full":
            gens.add(1)
        elif name == "mmcv":
            gens.add(2 if parsed.major >= 2 else 1)
        elif name in _TWO_ZERO:
            gens.add(2 if parsed.major >= _TWO_ZERO[name] else 1)
        elif name in _ONE_ZERO:
            gens.add(1)
    return gens


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
        if spec:
            guards = [Guard(op, ver) for op, ver in guard_ops(spec) if _v(ver)]
            found = [v for v in found if all(g.allows(v) for g in guards)]
        else:
            found = self._toolkit_ok(found)
        return max(found, key=Version) if found else None

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
    def _allows(m: Matrix, toolkit: str, version: str, mmcv: str) -> bool:
        release = m.toolkit(toolkit, version)
        return release is None or release.requirement("mmcv") is None or release.allows("mmcv", mmcv)


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
    elif cuda is None and log.index_tag:
        cuda = "cpu" if log.index_tag == "cpu" else f"{log.index_tag[2:-1]}.{log.index_tag[-1]}"
    return version, cuda


def gather(env: Environment | None, log: LogFacts, matrix: Matrix | None = None) -> FixFacts:
    """Merge the facts: this machine (or --env) first, then what the log says, then matrices/."""
    packages = dict(log.packages)
    if env is not None:
        packages.update(env.packages)
    values: dict[str, str] = {"python": "python", "setuptools_pin": "setuptools<82"}
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
        values["setuptools_pin"] = f"setuptools<{matrix.mmcv_build.setuptools_max_exclusive}"
    if minor and "cuda_tag" in values and _index_has_wheels(matrix, plat, minor, values["cuda_tag"]):
        major, _, mi = minor.partition(".")
        template = matrix.wheel_index if matrix is not None else DEFAULT_INDEX
        values["mmcv_index"] = template.format(cuda_tag=values["cuda_tag"], major=major, minor=mi)
    facts = FixFacts(values, {}, log, packages, matrix, plat)
    for name, dist in (("mmcv_for_torch", None), ("mmcv_full_for_torch", "mmcv-full")):
        found = facts.mmcv_for(dist=dist)
        if found:
            values[name] = found
    sdist = log.sdists.get(values["mmcv_dist"]) or log.sdists.get("mmcv") or log.sdists.get("mmcv-full")
    pin = sdist or mmcv_version or values.get("mmcv_for_torch")
    values["mmcv_req"] = f"{values['mmcv_dist']}=={pin}" if pin else values["mmcv_dist"]
    _machine_values(values, env, log, matrix, minor)
    facts.checks = _checks(env, log, packages, values, plat)
    return facts


def _index_has_wheels(matrix: Matrix | None, platform: str, minor: str, cuda_tag: str) -> bool:
    """Whether any mmcv release lists a wheel under that index page (unknown matrix: assume so).

    A fix must not point pip at an index page that holds nothing for this torch: then the
    rebuild line is the fix."""
    if matrix is None:
        return True
    releases = [*matrix.mmcv.values(), *matrix.mmcv_full.values()]
    return any(cuda_tag in r.wheel_tags(platform, minor) for r in releases)


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
    gens = _generations(packages)
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


# ---- checks on the groups captured from one matched line ---------------------------------------

WhenCheck = Callable[[Mapping[str, str], "list[Mapping[str, str]]", FixFacts], bool]


def _when_same(c: Mapping[str, str], _all: list[Mapping[str, str]], _f: FixFacts) -> bool:
    return same_generation(c.get("installed", ""), c.get("guard_spec", "")) is not False


def _when_differs(c: Mapping[str, str], _all: list[Mapping[str, str]], _f: FixFacts) -> bool:
    return same_generation(c.get("installed", ""), c.get("guard_spec", "")) is False


def _when_contradict(c: Mapping[str, str], all_: list[Mapping[str, str]], _f: FixFacts) -> bool:
    specs = [x.get("guard_spec", "") for x in all_ if x.get("guard_spec")]
    return any(_interval_disjoint(a, b) for i, a in enumerate(specs) for b in specs[i + 1 :])


def _when_mixed(_c: Mapping[str, str], _all: list[Mapping[str, str]], f: FixFacts) -> bool:
    return len(_generations(f.packages)) > 1


WHEN: Mapping[str, WhenCheck] = {
    "same_generation": _when_same,
    "generation_differs": _when_differs,
    "guards_contradict": _when_contradict,
    "mixed_generations": _when_mixed,
}


def derived(captures: Mapping[str, str], facts: FixFacts, import_to_pip: Mapping[str, str]) -> dict[str, str]:
    """Placeholders that follow from what one line captured (the guard's range, a module's package)."""
    out: dict[str, str] = {}
    spec, guarded = captures.get("guard_spec"), (captures.get("guarded") or "").lower()
    if spec and guarded:
        ops = guard_ops(spec)
        name = _PYPI.get(guarded, guarded)
        if name == "mmcv" and same_generation("1.0.0", spec):
            name = "mmcv-full"
        if ops:
            out["guard_requirement"] = name + ",".join(op + ver for op, ver in ops)
        if name in ("mmcv", "mmcv-full"):
            found = facts.mmcv_for(spec, dist=name)
            if found:
                out["mmcv_for_guard"] = found
    module = captures.get("missing_module")
    if module:
        pair = module in ("ftfy", "regex")  # mmseg needs both: name them together
        out["missing_pip"] = "ftfy regex" if pair else import_to_pip.get(module, module)
    return out
