"""Facts that follow from other facts plus matrices/: CUDA ceilings, compute capabilities, archs."""

from __future__ import annotations

from dataclasses import replace

from envcheck.facts.model import Driver, Environment, Gpu, Torch
from envcheck.matrix import Matrix


def complete(env: Environment, matrix: Matrix) -> Environment:
    """Fill what the probes could not read directly, naming matrices/ as the source.

    - a driver's CUDA ceiling (and the forward-compat libcuda's) from the driver table;
    - a GPU's compute capability from its name when nvidia-smi was not there to say;
    - torch's CUDA arch list, preferring what --deep read from torch itself.
    """
    driver = env.driver
    if isinstance(driver, Driver):
        driver = replace(
            driver,
            cuda_max=driver.cuda_max or matrix.driver_cuda_max(driver.version),
            forward_compat_cuda=driver.forward_compat_cuda
            or (
                matrix.driver_cuda_max(driver.forward_compat_version)
                if driver.forward_compat and driver.forward_compat_version
                else None
            ),
        )
    gpus = env.gpus
    if isinstance(gpus, tuple):
        gpus = tuple(_gpu(g, matrix) for g in gpus)
    torch = env.torch
    if isinstance(torch, Torch) and torch.arch_list is None:
        deep = env.deep
        if deep and deep.arch_list:
            torch = replace(torch, arch_list=deep.arch_list, arch_list_source="torch.cuda.get_arch_list()")
        elif torch.cuda:
            release = matrix.torch_release(torch.version)
            build = release.builds.get(torch.cuda_tag) if release else None
            if build and build.archs:
                torch = replace(torch, arch_list=build.archs, arch_list_source=f"matrices/torch.toml ({build.source})")
    if isinstance(torch, Torch) and env.deep:
        torch = replace(
            torch,
            cudnn=torch.cudnn or env.deep.cudnn,
            cxx11_abi=torch.cxx11_abi if torch.cxx11_abi is not None else env.deep.cxx11_abi,
        )
    return replace(env, driver=driver, gpus=gpus, torch=torch)


def _gpu(gpu: Gpu, matrix: Matrix) -> Gpu:
    if gpu.compute_capability:
        return gpu
    cc = matrix.gpu_compute_capability(gpu.name)
    return replace(gpu, compute_capability=cc, source=f"{gpu.source}; cc from matrices/nvidia.toml") if cc else gpu
