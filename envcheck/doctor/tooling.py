"""Doctor rules about tooling and runtime breaks: setuptools, mim, wheels, nvcc, numpy, weights_only."""

from __future__ import annotations

from collections.abc import Iterator

from packaging.version import Version

from envcheck.doctor import Finding, pip_install, plan_command
from envcheck.doctor.packages import installed_mmcv
from envcheck.facts.model import CudaHome, Environment, Gpu, Mmcv, Tool, Torch, parse_version, version_tuple
from envcheck.matrix import Matrix
from envcheck.matrix.nvcc import arch_gaps, toolkit_for
from envcheck.plan.deps import route
from envcheck.plan.search import python_minor

PKG_RESOURCES_REMOVED = Version("82")  # setuptools NEWS v82.0.0 (2026-02-08)
IMPIMPORTER_FIXED = Version("66.1.0")  # pypa/setuptools#3685, setuptools history v66.1.0
MIM_EXTRAS_BROKEN = Version("24.1")  # open-mmlab/mim#244
WEIGHTS_ONLY_DEFAULT = Version("2.6")  # torch 2.6 flipped torch.load's default


def _has_ops(env: Environment) -> bool:
    return isinstance(env.mmcv, Mmcv) and env.mmcv.ops


def _setuptools_pin(env: Environment) -> str:
    py = parse_version(env.python.version) if env.python else None
    if py and py >= Version("3.12"):
        return f"setuptools>={IMPIMPORTER_FIXED},<{PKG_RESOURCES_REMOVED}"
    return f"setuptools<{PKG_RESOURCES_REMOVED}"


def pkg_resources_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    st = env.version_of("setuptools")
    absent = env.pkg_resources is False or (
        env.pkg_resources is None and st is not None and st >= PKG_RESOURCES_REMOVED
    )
    py = parse_version(env.python.version) if env.python else None
    if not absent and st and py and py >= Version("3.12") and st < IMPIMPORTER_FIXED:
        yield Finding(
            "python312-setuptools",
            "error",
            f"setuptools {st} is too old for Python {py}",
            "its pkg_resources uses pkgutil.ImpImporter, removed in Python 3.12: mim and mmcv builds crash on import",
            (pip_install(env, _setuptools_pin(env)),),
            "pypa/setuptools#3685",
        )
    if not absent:
        return
    have = f"setuptools {st}" if st else "no setuptools"
    fix = (pip_install(env, _setuptools_pin(env)),)
    if env.has("openmim"):
        yield Finding(
            "mim-pkg_resources",
            "error",
            f"mim cannot start: {have} has no pkg_resources",
            "mim/utils/utils.py imports pkg_resources at startup: `No module named 'pkg_resources'`",
            fix,
            "open-mmlab/mim@v0.3.9:mim/utils/utils.py",
        )
    engine = env.version_of("mmengine")
    row = matrix.mmengine.get(str(engine)) if engine else None
    if row is not None and row.pkg_resources_at_runtime:
        yield Finding(
            "mim-pkg_resources",
            "warning",
            f"mmengine {engine} needs pkg_resources at run time ({have})",
            "mmengine.utils.get_installed_path imports it: configs inheriting another package's (mmdet::...) and mmpose inference fail",
            fix,
            row.source,
        )
    if not _has_ops(env):
        yield Finding(
            "build-isolation-pkg_resources",
            "warning",
            f"a source build of mmcv will fail ({have} has no pkg_resources)",
            "mmcv's setup.py imports pkg_resources; pip's isolated build env always gets the newest setuptools",
            (
                pip_install(env, _setuptools_pin(env), "wheel", "ninja"),
                plan_command(env, matrix, "--torch", "keep")
                + "   (prints the exact build steps, --no-build-isolation)",
            ),
            "open-mmlab/mmcv@v2.2.0:setup.py",
        )


def prebuilt_wheel_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    found = installed_mmcv(env)
    if _has_ops(env) or (found and found[0] == "mmcv-full") or not env.python or not env.platform:
        return
    py_tag, platform = env.python.tag or "cp" + env.python.minor.replace(".", ""), env.platform.key
    releases = [r for r in matrix.mmcv.values() if r.name == "mmcv"]
    tags = sorted({t for r in releases for t in r.python_tags}, key=lambda t: int(t[2:]) if t[2:].isdigit() else 0)
    if tags and py_tag not in tags and int(py_tag[2:] or 0) > int(tags[-1][2:] or 0):
        yield Finding(
            "python-unsupported",
            "warning",
            f"no mmcv release has a prebuilt wheel for Python {env.python.minor}",
            f"the newest wheels stop at {tags[-1]}: installing mmcv with ops here means a source build (20+ minutes)",
            ("envcheck plan mmdet   (shows the options and their cost)",),
            "matrices/mmcv.toml",
        )
        return
    torch = env.torch
    if not isinstance(torch, Torch):
        return
    if any(r.has_wheel(platform, torch.minor, torch.cuda_tag, py_tag) for r in releases):
        return
    listed = sorted({m for r in releases for m in r.wheels.get(platform, {})}, key=version_tuple)
    newest = listed[-1] if listed else "none"
    yield Finding(
        "no-prebuilt-wheel",
        "warning",
        f"no prebuilt mmcv wheel for torch {torch.minor} ({torch.cuda_tag}), {py_tag}, {platform}",
        f"prebuilt wheels stop at torch {newest}: `pip install mmcv` compiles from source (20+ minutes, often fails)",
        ("envcheck plan mmdet   (shows the options and their cost)",),
        "matrices/mmcv.toml",
    )


def mim_pip_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    pip = env.version_of("pip")
    if env.has("openmim") and pip and pip >= MIM_EXTRAS_BROKEN:
        yield Finding(
            "mim-pip-extras",
            "warning",
            f"`mim install` drops OpenMMLab dependencies with pip {pip}",
            'pip >= 24.1 ignores mim\'s injected `extra == "mim"` requirements: mmcv/mmengine silently not installed',
            (plan_command(env, matrix) + "   (explicit pip pins instead of mim)", pip_install(env, "pip<24.1")),
            "open-mmlab/mim#244",
        )


def nvcc_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    torch, chain = env.torch, env.toolchain
    home = chain.cuda_home
    if (
        isinstance(home, CudaHome)
        and not home.variable.startswith("default")
        and (not home.exists or not home.has_nvcc)
    ):
        state = "does not exist" if not home.exists else "has no bin/nvcc"
        yield Finding(
            "cuda-home",
            "warning",
            f"{home.variable}={home.path} {state}",
            "CUDA extension builds (mmcv ops) read it to find nvcc and fail",
            (f"export {home.variable}=<the CUDA toolkit matching torch's CUDA>  (or unset it)",),
        )
    if not (isinstance(torch, Torch) and torch.cuda) or _has_ops(env):
        return
    nvcc = chain.nvcc
    if isinstance(nvcc, Tool) and version_tuple(nvcc.version)[:1] != version_tuple(torch.cuda)[:1]:
        yield Finding(
            "cuda-version-mismatch-build",
            "warning",
            f"nvcc {nvcc.version} ({nvcc.path}) differs from torch's CUDA {torch.cuda}",
            "torch's extension builder refuses a CUDA major mismatch: an mmcv source build fails",
            (f"install the CUDA {torch.cuda} toolkit and point CUDA_HOME at it, or use a prebuilt mmcv wheel",),
        )


def nvcc_arch_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    """nvcc here cannot compile for a GPU here: a source build of CUDA ops for it fails (mmcv's, any)."""
    nvcc = env.toolchain.nvcc
    gpus: tuple[Gpu, ...] = env.gpu_list or (env.deep.devices if env.deep else ())
    if not isinstance(nvcc, Tool) or not gpus:
        return
    gaps = arch_gaps(matrix, nvcc.version, gpus)
    if not gaps:
        return
    torch = env.torch
    tag = torch.cuda_tag if isinstance(torch, Torch) and torch.cuda else None
    toolkit = toolkit_for(matrix, [g.compute_capability for g in gpus if g.compute_capability], tag)
    fix = [toolkit.text]
    if toolkit.version and env.platform and env.platform.key == "linux":
        home = f"/usr/local/cuda-{toolkit.version}"
        fix.append(f"export CUDA_HOME={home} PATH={home}/bin:$PATH")
    fix.append("envcheck plan mmdet   (a prebuilt mmcv wheel where one exists, else the toolkit a build needs)")
    for gap in gaps:
        arch = gap.arch
        fatal = f"`nvcc fatal : Unsupported gpu architecture 'compute_{arch.sm[3:]}'`"
        yield Finding(
            "build-nvcc-too-old" if gap.too_old else "build-nvcc-too-new",
            "warning",
            f"nvcc {nvcc.version} ({nvcc.path}) cannot compile for {gap.gpu} ({arch.sm})",
            (
                f"nvcc compiles for {arch.sm} from CUDA {arch.first} on"
                if gap.too_old
                else f"CUDA {arch.last} was the last toolkit whose nvcc compiles for {arch.sm}"
            )
            + f": a source build of CUDA ops for this GPU (mmcv with FORCE_CUDA=1) stops at {fatal}",
            tuple(fix),
            arch.source,
        )


def weights_only_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    torch, engine = env.torch, env.version_of("mmengine")
    if not (isinstance(torch, Torch) and engine):
        return
    tv = parse_version(torch.base_version)
    row = matrix.mmengine.get(str(engine))
    if tv and tv >= WEIGHTS_ONLY_DEFAULT and row is not None and not row.weights_only_safe:
        yield Finding(
            "weights-only",
            "warning",
            f"mmengine {engine} cannot load OpenMMLab checkpoints under torch {torch.base_version}",
            "torch >= 2.6 loads with weights_only=True by default: `Weights only load failed` in load_checkpoint",
            ("export TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1   (only for checkpoints you trust)",),
            f"{row.source}; https://docs.pytorch.org/docs/stable/miscellaneous_environment_variables.html",
        )


def _numpy1_fix(env: Environment, matrix: Matrix) -> str | None:
    """`pip install numpy<2`, where NumPy 1 has a wheel for this Python (numpy.toml: none for cp313)."""
    pin = next((p for p in matrix.numpy1_pins if p.startswith("numpy")), "numpy<2")
    py = python_minor(env)
    return pip_install(env, pin) if route(matrix, pin, py).how in ("wheel", "unknown") else None


def _rebuild_fixes(env: Environment, matrix: Matrix, package: str, version: Version) -> tuple[str, ...]:
    """Rebuild a NumPy-1 wheel from its sdist against the installed NumPy 2, where that recipe works here."""
    dist = matrix.binaries.get(package)
    py = python_minor(env)
    if dist is None or dist.build is None or py is None or not dist.build.builds_on(py):
        return ()
    flags = () if dist.build.isolation else ("--no-build-isolation",)
    again = ("--no-binary", package, "--no-cache-dir", "--force-reinstall", "--no-deps", f"{package}=={version}")
    # A bare setuptools would install 82+ where none is, and mmengine <= 0.10.7 needs pkg_resources.
    needs = [_setuptools_pin(env) if n == "setuptools" else n for n in dist.build.needs]
    return (pip_install(env, *needs), pip_install(env, *flags, *again))


def numpy_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    numpy = env.version_of("numpy")
    if numpy is None or numpy.major < 2:
        return
    downgrade = _numpy1_fix(env, matrix)
    torch = env.torch
    if isinstance(torch, Torch):
        row = matrix.torch_release(torch.version)
        if row is not None and not row.numpy2:
            yield Finding(
                "numpy2-abi",
                "error",
                f"torch {torch.version} was built for NumPy 1, NumPy {numpy} is installed",
                "torch < 2.3 cannot use NumPy 2: `A module that was compiled using NumPy 1.x cannot be run in NumPy 2`",
                tuple(x for x in (downgrade,) if x),
                row.source,
            )
    for entry in matrix.numpy_abi:
        have = env.version_of(entry.package)
        if have is None:
            continue
        first = parse_version(entry.numpy2_from) if entry.numpy2_from else None
        if first is None or have < first:
            upgrade = (pip_install(env, f"{entry.package}>={first}"),) if first else ()
            fixes = (*upgrade, *_rebuild_fixes(env, matrix, entry.package, have), *((downgrade,) if downgrade else ()))
            yield Finding(
                "numpy2-abi",
                "error",
                f"{entry.package} {have} was built for NumPy 1, NumPy {numpy} is installed",
                entry.symptom,
                fixes,
                entry.source,
            )


def torch_missing_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    if isinstance(env.torch, Torch) or not env.python:
        return
    yield Finding(
        "torch-missing",
        "warning",
        "torch is not installed in this interpreter",
        "every OpenMMLab package needs it; mim cannot even compute a wheel index without it",
        ("envcheck plan mmdet   (picks a torch build for this machine)",),
    )


RULES = (
    torch_missing_rule,
    pkg_resources_rule,
    prebuilt_wheel_rule,
    mim_pip_rule,
    nvcc_rule,
    nvcc_arch_rule,
    weights_only_rule,
    numpy_rule,
)
