"""Doctor rules about installed distributions: guards, ops, mixed installs, missing needs."""

from __future__ import annotations

from collections.abc import Iterator

from packaging.version import Version

from envcheck.doctor import Finding, pip_install, pip_uninstall
from envcheck.facts.model import Environment, Mmcv, Torch, parse_version
from envcheck.matrix import Matrix, ToolkitRelease
from envcheck.plan.deps import numpy2_requirement

MMCV_DISTS = ("mmcv", "mmcv-full", "mmcv-lite")
OPENCV_DISTS = (
    "opencv-python",
    "opencv-python-headless",
    "opencv-contrib-python",
    "opencv-contrib-python-headless",
)


def installed_mmcv(env: Environment) -> tuple[str, Version] | None:
    """(distribution, version) of what `import mmcv` loads, if anything."""
    if isinstance(env.mmcv, Mmcv):
        v = parse_version(env.mmcv.version)
        return (env.mmcv.dist, v) if v else None
    for name in MMCV_DISTS:
        v = env.version_of(name)
        if v:
            return name, v
    return None


def dep_version(env: Environment, dep: str) -> Version | None:
    if dep == "mmcv":
        found = installed_mmcv(env)
        return found[1] if found else None
    return env.version_of(dep)


def toolkit_release(matrix: Matrix, name: str, version: Version) -> ToolkitRelease | None:
    for key, release in matrix.toolkits.get(name, {}).items():
        if parse_version(key) == version:
            return release
    return None


def installed_toolkits(env: Environment, matrix: Matrix) -> list[tuple[str, Version, ToolkitRelease | None]]:
    out = []
    for name in matrix.toolkits:
        v = env.version_of(name)
        if v is not None:
            out.append((name, v, toolkit_release(matrix, name, v)))
    return out


def known_versions(matrix: Matrix, dep: str) -> list[Version]:
    """Every released version of `dep` that matrices/ knows, newest first."""
    if dep == "mmcv":
        keys = [r.version for r in matrix.mmcv.values() if r.name == "mmcv"]
    elif dep == "mmengine":
        keys = list(matrix.mmengine)
    else:
        keys = list(matrix.toolkits.get(dep, {}))
    versions = [v for v in (parse_version(k) for k in keys) if v is not None]
    return sorted(versions, reverse=True)


def mmcv_has_wheel(env: Environment, matrix: Matrix, version: Version) -> bool:
    torch = env.torch
    if not isinstance(torch, Torch) or not env.platform or not env.python:
        return False
    for release in matrix.mmcv.values():
        if release.name == "mmcv" and parse_version(release.version) == version:
            return release.has_wheel(env.platform.key, torch.minor, torch.cuda_tag, env.python.tag or None)
    return False


def best_version(
    env: Environment, matrix: Matrix, dep: str, toolkits: list[tuple[str, Version, ToolkitRelease | None]]
) -> Version | None:
    """The newest `dep` every installed toolkit's guard admits; for mmcv, a prebuilt one first."""
    allowed = [
        v
        for v in known_versions(matrix, dep)
        if not v.is_prerelease
        and all(r is None or dep not in r.requires or r.requires[dep].allows(v) for _, _, r in toolkits)
    ]
    if dep == "mmcv":
        with_wheel = [v for v in allowed if mmcv_has_wheel(env, matrix, v)]
        if with_wheel:
            return with_wheel[0]
    return allowed[0] if allowed else None


def mmcv_fix(env: Environment, matrix: Matrix, version: Version, toolkits: str) -> tuple[str, ...]:
    """Commands that put mmcv==version (with ops) in place of what is installed.

    With a prebuilt wheel for this torch: the exact pip line, torch pinned. Without one, mmcv
    must be compiled, which takes several exact steps: the planner prints them.
    """
    torch = env.torch
    found = installed_mmcv(env)
    remove = (pip_uninstall(env, found[0]),) if found and found[0] != "mmcv" else ()
    if isinstance(torch, Torch) and mmcv_has_wheel(env, matrix, version):
        url = matrix.wheel_index_url(torch.cuda_tag, torch.version)
        pin = f"torch=={torch.base_version}"
        return (*remove, pip_install(env, f"mmcv=={version}", "--only-binary", "mmcv", "-f", url, pin))
    where = f" --python {env.python.executable}" if env.python and env.python.executable else ""
    return (f"envcheck plan {toolkits} --torch keep --format shell{where}   (mmcv {version} must be compiled here)",)


def guard_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    toolkits = installed_toolkits(env, matrix)
    names = " ".join(n for n, _, _ in toolkits)
    for name, version, release in toolkits:
        if release is None:
            yield Finding(
                "unknown-release",
                "info",
                f"{name} {version} is not in envcheck's matrices",
                "its import-time version checks could not be verified",
                source="matrices/toolkits.toml",
            )
            continue
        for dep, req in release.requires.items():
            have = dep_version(env, dep)
            if have is not None and req.allows(have):
                continue
            fix = _dep_fix(env, matrix, dep, best_version(env, matrix, dep, toolkits), names)
            if have is None:
                yield Finding(
                    "missing-dependency",
                    "error",
                    f"{name} {version} needs {dep}, which is not installed",
                    f"`import {release.import_name}` fails without {dep} ({dep}{req} is required)",
                    fix,
                    release.source,
                )
            else:
                yield Finding(
                    "version-guard",
                    "error",
                    f"{name} {version} rejects the installed {dep} {have}",
                    f"its import-time check requires {dep}{req}: `import {release.import_name}` raises",
                    fix,
                    release.source,
                )


def _dep_fix(env: Environment, matrix: Matrix, dep: str, best: Version | None, names: str) -> tuple[str, ...]:
    """The commands that install the best `dep` for every installed toolkit, or the planner when none fits."""
    if best is None:
        return (f"envcheck plan {names}   (no single {dep} release satisfies every installed toolkit)",)
    if dep == "mmcv":
        return mmcv_fix(env, matrix, best, names)
    return (pip_install(env, f"{dep}=={best}"),)


def ops_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    found = installed_mmcv(env)
    if not found:
        return
    dist, version = found
    mmcv = env.mmcv
    has_ops = mmcv.ops if isinstance(mmcv, Mmcv) else dist != "mmcv-lite" and not (dist == "mmcv" and version.major < 2)
    if has_ops:
        return
    needing = [f"{n} {v}" for n, v, r in installed_toolkits(env, matrix) if r is not None and r.needs_ops]
    if not needing:
        return
    toolkits = installed_toolkits(env, matrix)
    best = best_version(env, matrix, "mmcv", toolkits)
    names = " ".join(n for n, _, _ in toolkits)
    fix = mmcv_fix(env, matrix, best, names) if best else (f"envcheck plan {names}",)
    yield Finding(
        "mmcv-ops-missing",
        "error",
        f"{dist} {version} has no compiled ops, but {', '.join(needing)} need them",
        "they import mmcv.ops: `No module named 'mmcv._ext'`",
        fix,
        "matrices/toolkits.toml (needs_ops)",
    )


def mixed_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    present = [n for n in MMCV_DISTS if env.has(n)]
    if len(present) > 1:
        keep = "mmcv" if "mmcv" in present else present[0]
        yield Finding(
            "package-conflict",
            "error",
            f"{' and '.join(present)} are installed together",
            "they all install the `mmcv` package into the same place; whichever came last wins, files mixed",
            (pip_uninstall(env, *present), pip_install(env, f"{keep}=={env.packages[keep]}")),
            "shared/reference/failures/CODES.md (package-conflict)",
        )
    cv = sorted(n for n in env.packages if n in OPENCV_DISTS)
    if len(cv) > 1:
        yield Finding(
            "package-conflict",
            "warning",
            f"several OpenCV builds installed: {', '.join(cv)}",
            "they share the cv2 module; uninstalling one breaks the others",
            (pip_uninstall(env, *cv), pip_install(env, cv[0])),
        )
    for name, copies in env.duplicates.items():
        where = "; ".join(f"{d.version} in {d.location}" for d in copies)
        yield Finding(
            "package-conflict",
            "warning",
            f"{name} is installed {len(copies)} times",
            f"the first on sys.path shadows the rest ({where})",
            (pip_uninstall(env, name), pip_install(env, f"{name}=={copies[0].version}")),
        )


def _requirement_name(text: str) -> str:
    """The distribution a PEP 508 string names: onnxruntime==1.15.1 -> onnxruntime, a[x]>=1 -> a."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        return Requirement(text).name
    except InvalidRequirement:
        return text


def runtime_needs_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    torch = env.torch
    for name, version, release in installed_toolkits(env, matrix):
        if release is None:
            continue
        missing = [m for m in release.extra_runtime if not env.has(_requirement_name(m))]
        if missing:
            # Under NumPy 2 (or none yet: pip brings 2), only releases whose wheels work with it (numpy.toml).
            numpy = env.version_of("numpy")
            wants = (
                missing if numpy is not None and numpy.major < 2 else [numpy2_requirement(matrix, m) for m in missing]
            )
            yield Finding(
                "missing-optional-dependency",
                "error",
                f"{name} {version} needs {', '.join(missing)} (not installed)",
                f"`import {release.import_name}` fails: it imports them but does not declare them",
                (pip_install(env, *wants),),
                release.source,
            )
        if release.needs_torchvision and isinstance(torch, Torch):
            tv = env.version_of("torchvision")
            row = matrix.torch_release(torch.version)
            want = row.torchvision if row else None
            if tv is None:
                pin = f"torchvision=={want}" if want else "torchvision"
                yield Finding(
                    "missing-optional-dependency",
                    "error",
                    f"{name} {version} needs torchvision (not installed)",
                    f"`import {release.import_name}` imports torchvision",
                    (pip_install(env, pin, f"torch=={torch.base_version}"),),
                    release.source,
                )


def torchvision_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    torch, tv = env.torch, env.version_of("torchvision")
    if not isinstance(torch, Torch) or tv is None:
        return
    row = matrix.torch_release(torch.version)
    if row is None or not row.torchvision:
        return
    want = parse_version(row.torchvision)
    if want and (want.major, want.minor) != (tv.major, tv.minor):
        yield Finding(
            "torchvision-mismatch",
            "error",
            f"torchvision {tv} does not match torch {torch.version} (wants {row.torchvision})",
            "torchvision's compiled ops are built for one torch release: `operator torchvision::nms does not exist`",
            (pip_install(env, f"torchvision=={row.torchvision}", f"torch=={torch.base_version}"),),
            row.source,
        )


def unreadable_path_rule(env: Environment, matrix: Matrix) -> Iterator[Finding]:
    for error in env.path_errors:
        yield Finding(
            "unreadable-site-packages",
            "warning",
            f"cannot read a sys.path entry: {error}",
            "packages there are invisible to envcheck and to pip; imports from there may fail too",
        )


RULES = (unreadable_path_rule, guard_rule, ops_rule, mixed_rule, runtime_needs_rule, torchvision_rule)
