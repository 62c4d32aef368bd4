"""Doctor rules about the GPU stack: driver vs CUDA, archs, CPU-only builds, mmcv's ops CUDA."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from envcheck.doctor import Finding, pip_install
from envcheck.facts.model import Driver, Environment, Gpu, Missing, Mmcv, Torch, version_tuple
from envcheck.matrix import Matrix, TorchBuild


def arch_covers(arch_list: Sequence[str], compute_capability: str) -> bool:
    """Can a build with these archs run on this GPU?

    Real code (sm_XY) runs on GPUs of the same major and an equal or higher minor; PTX
    (compute_XY) is JIT-compiled for any GPU at or above XY. Arch-specific targets (sm_90a)
    run on that exact GPU only.
    """
    cc = version_tuple(compute_capability)
    if len(cc) < 2:
        return True  # unknown: nothing to say
    for arch in arch_list:
        kind, _, digits = arch.partition("_")
        exact = digits.endswith(("a", "f"))
        digits = digits.rstrip("af")
        if not digits.isdigit() or len(digits) < 2:
            continue
        major, minor = int(digits[:-1]), int(digits[-1])
        if kind == "sm" and (major, minor) == cc:
            return True
        if kind == "sm" and not exact and major == cc[0] and minor <= cc[1]:
            return True
        if kind == "compute" and (major, minor) <= cc:
            return True
    return False


def driver_runs(env: Environment, matrix: Matrix, cuda: str) -> bool:
    """Does this machine's driver run CUDA `cuda` (minor-version compatibility, or forward compat)?"""
    driver = env.driver
    if not isinstance(driver, Driver):
        return True  # unknown: nothing to rule out
    floor = matrix.min_driver(cuda, env.platform.key if env.platform else "linux", minor_compat=True)
    fwd = version_tuple(driver.forward_compat_cuda)
    return (
        floor is None
        or version_tuple(driver.version) >= version_tuple(floor)
        or (bool(fwd) and fwd >= version_tuple(cuda))
    )


def suggest_cuda_build(env: Environment, matrix: Matrix, torch: Torch) -> tuple[str, TorchBuild] | None:
    """(torch version, build) to switch to: the newest CUDA build of this torch release that the
    driver runs and that covers every GPU; failing that, the same from the next newer release."""
    current = matrix.torch_release(torch.version)
    if current is None:
        return None
    later = sorted(
        (r for r in matrix.torch.values() if version_tuple(r.minor) > version_tuple(current.minor)),
        key=lambda r: version_tuple(r.minor),
    )
    for row in (current, *later):
        fits = [
            b
            for b in row.builds.values()
            if b.cuda
            and driver_runs(env, matrix, b.cuda)
            and all(b.supports_cc(g.compute_capability) for g in env.gpu_list if g.compute_capability)
        ]
        if fits:
            best = max(fits, key=lambda b: version_tuple(b.cuda))
            return (torch.base_version if row is current else row.version), best
    return None


def _switch(env: Environment, torch: Torch, found: tuple[str, TorchBuild] | None) -> tuple[str, ...]:
    if found is None:
        return ()
    version, build = found
    pins = [f"torch=={version}"]
    tv = env.version_of("torchvision")
    if tv and version == torch.base_version:
        pins.append(f"torchvision=={tv.base_version}")
    elif tv:
        pins.append("torchvision")  # a newer torch needs its own torchvision: let pip pair them
    return (pip_install(env, "--force-reinstall", *pins, "--index-url", build.index_url),)


def torch_cpu_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    torch = env.torch
    if not (isinstance(torch, Torch) and torch.cpu_only and env.gpu_list and isinstance(env.driver, Driver)):
        return
    found = suggest_cuda_build(env, matrix, torch)
    fix = _switch(env, torch, found)
    names = ", ".join(sorted({g.name for g in env.gpu_list}))
    yield Finding(
        "torch-cpu-only",
        "warning",
        f"torch {torch.version} is a CPU-only build, but this machine has {names}",
        "everything runs on the CPU; `.cuda()` raises `Torch not compiled with CUDA enabled`",
        fix,
        found[1].source if found else "",
    )


def driver_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    torch, driver = env.torch, env.driver
    if not (isinstance(torch, Torch) and torch.cuda):
        return
    if isinstance(driver, Missing):
        if env.gpu_list or "present" in driver.reason:
            yield Finding(
                "driver-too-old",
                "error",
                "NVIDIA GPU present but no working driver",
                driver.reason,
                ("install the NVIDIA driver (>= the version below) and reboot",),
            )
        return
    platform = env.platform.key if env.platform else "linux"
    need = version_tuple(torch.cuda)
    compat_floor = matrix.min_driver(torch.cuda, platform, minor_compat=True)
    full_floor = matrix.min_driver(torch.cuda, platform)
    have = version_tuple(driver.version)
    fwd = version_tuple(driver.forward_compat_cuda)
    lifted = bool(fwd) and fwd[:2] >= need[:2]
    found = suggest_cuda_build(env, matrix, torch)
    fix = _switch(env, torch, found) if found and found[1].tag != torch.cuda_tag else ()
    if compat_floor and have < version_tuple(compat_floor):
        if lifted:
            yield Finding(
                "driver-forward-compat",
                "info",
                f"driver {driver.version} is older than CUDA {torch.cuda} needs; forward compat lifts it to {driver.forward_compat_cuda}",
                f"{driver.forward_compat} is on the loader path (data-center GPUs only)",
            )
            return
        yield Finding(
            "driver-too-old",
            "error",
            f"driver {driver.version} is too old for torch's CUDA {torch.cuda} (needs >= {compat_floor})",
            "`torch.cuda.is_available()` is False: the CUDA runtime refuses to start on this driver",
            (*fix, f"or upgrade the NVIDIA driver to >= {full_floor or compat_floor}"),
            "matrices/nvidia.toml",
        )
    elif full_floor and have < version_tuple(full_floor) and not lifted:
        yield Finding(
            "driver-too-old",
            "warning",
            f"driver {driver.version} runs CUDA {torch.cuda} only under minor-version compatibility (full support from {full_floor})",
            "prebuilt kernels run, but PTX JIT and code built with a newer nvcc can fail; build with TORCH_CUDA_ARCH_LIST set to this GPU",
            fix,
            "matrices/nvidia.toml",
        )
    elif lifted and full_floor and have < version_tuple(full_floor):
        yield Finding(
            "driver-forward-compat",
            "info",
            f"forward compatibility ({driver.forward_compat}) runs CUDA {driver.forward_compat_cuda} on driver {driver.version}",
            "not a problem: the host driver alone would be too old, the cuda-compat libcuda makes up for it",
        )


def arch_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    torch = env.torch
    if not (isinstance(torch, Torch) and torch.cuda and torch.arch_list):
        return
    gpus: Sequence[Gpu] = env.gpu_list or (env.deep.devices if env.deep else ())
    for gpu in gpus:
        if gpu.compute_capability and not arch_covers(torch.arch_list, gpu.compute_capability):
            yield Finding(
                "cuda-arch",
                "error",
                f"torch {torch.version} has no kernels for {gpu.name} ({gpu.sm})",
                f"it was built for {' '.join(torch.arch_list)}: `no kernel image is available for execution on the device`",
                _switch(env, torch, suggest_cuda_build(env, matrix, torch)),
                torch.arch_list_source,
            )


def mmcv_cuda_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    torch, mmcv = env.torch, env.mmcv
    if not (isinstance(mmcv, Mmcv) and mmcv.ops and isinstance(torch, Torch)):
        return
    ops = mmcv.ops_cuda
    if env.deep and env.deep.mmcv_ops_cuda:  # what mmcv itself says beats reading its links
        ops = "cpu" if env.deep.mmcv_ops_cuda == "not available" else env.deep.mmcv_ops_cuda
    if ops is None:
        return
    if ops == "cpu":
        if torch.cuda and env.gpu_list:
            yield Finding(
                "mmcv-cpu-only-build",
                "warning",
                f"mmcv {mmcv.version}'s ops were compiled without CUDA",
                "ops on cuda:0 fail: `... implementation for device cuda:0 not found`",
                ("rebuild: see `envcheck plan` (FORCE_CUDA=1, TORCH_CUDA_ARCH_LIST for this GPU)",),
                mmcv.ops_cuda_source,
            )
        return
    if ops == "rocm" or torch.hip:
        return
    if not torch.cuda:
        yield Finding(
            "abi-undefined-symbol",
            "error",
            f"mmcv {mmcv.version}'s ops need CUDA {ops}, but torch {torch.version} is CPU-only",
            "importing mmcv.ops fails: its CUDA libraries (libc10_cuda, libcudart) are absent",
            ("reinstall mmcv built for this torch: envcheck plan",),
            mmcv.ops_cuda_source,
        )
    elif version_tuple(ops)[:1] != version_tuple(torch.cuda)[:1]:
        yield Finding(
            "abi-undefined-symbol",
            "error",
            f"mmcv {mmcv.version}'s ops were built for CUDA {ops}, torch uses CUDA {torch.cuda}",
            "importing mmcv.ops fails (missing libcudart / undefined symbol)",
            ("reinstall mmcv built for this torch: envcheck plan",),
            mmcv.ops_cuda_source,
        )


def deep_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    deep, torch = env.deep, env.torch
    if not deep:
        return
    if deep.error:
        yield Finding("torch-import", "error", "torch fails at import or CUDA init", deep.error)
    elif isinstance(torch, Torch) and torch.cuda and env.gpu_list and not deep.cuda_available:
        yield Finding(
            "cuda-init",
            "error",
            f"torch {torch.version} sees no CUDA device although {len(env.gpu_list)} GPU(s) exist",
            "torch.cuda.is_available() is False: driver too old, GPU hidden (CUDA_VISIBLE_DEVICES) or a broken install",
        )
    if deep.mmcv_ops_error:
        text = deep.mmcv_ops_error
        code = (
            "abi-undefined-symbol"
            if "undefined symbol" in text
            else "mmcv-ops-missing"
            if "_ext" in text
            else "abi-dll-load-failed"
            if "DLL load failed" in text
            else "mmcv-ops-import"
        )
        yield Finding(code, "error", "`import mmcv.ops` fails", text, ("envcheck explain  (paste the full error)",))


RULES = (torch_cpu_rule, driver_rule, arch_rule, mmcv_cuda_rule, deep_rule)
