"""The facts of an Environment as (label, text) rows: shared by the console and Markdown reports."""

from __future__ import annotations

from envcheck.facts.model import CudaHome, Driver, Environment, Missing, Mmcv, Tool, Torch


def _missing(m: Missing) -> str:
    return f"— {m.reason}" if m.reason else "—"


def _tool(t: object, label: str = "") -> str:
    if isinstance(t, Tool):
        return f"{label}{t.version} ({t.path})"
    return f"{label}{_missing(t)}" if isinstance(t, Missing) else f"{label}—"


def python_row(env: Environment) -> str:
    py = env.python
    if isinstance(py, Missing):
        return _missing(py)
    where = f"venv {py.virtualenv}" if py.virtualenv else f"conda {py.conda}" if py.conda else "system"
    return f"{py.version} {py.implementation} · {py.tag or '?'} · {where} · {py.executable}"


def system_row(env: Environment) -> str:
    p = env.platform
    if isinstance(p, Missing):
        return _missing(p)
    parts = [f"{p.system} {p.machine}", p.distro, f"glibc {p.glibc}" if p.glibc else ""]
    ctx = env.context + (f" ({', '.join(env.context_details)})" if env.context_details else "")
    return " · ".join(x for x in (*parts, ctx) if x)


def torch_row(env: Environment) -> str:
    t = env.torch
    if not isinstance(t, Torch):
        return _missing(t)
    if t.cuda:
        build = f"CUDA {t.cuda}" + (f" · cuDNN {t.cudnn}" if t.cudnn else "")
    elif t.hip:
        build = f"ROCm {t.hip}"
    else:
        build = "CPU-only build"
    arch = f" · archs {' '.join(t.arch_list)}" if t.arch_list else ""
    abi = "" if t.cxx11_abi is None else f" · cxx11 ABI {'yes' if t.cxx11_abi else 'no'}"
    return f"{t.version} · {build}{arch}{abi}{' · DEBUG' if t.debug else ''}"


def driver_row(env: Environment) -> str:
    d = env.driver
    if not isinstance(d, Driver):
        return _missing(d)
    text = f"{d.version} · CUDA ≤ {d.cuda_max or '?'}"
    if d.forward_compat:
        text += f" · forward compat {d.forward_compat_cuda or d.forward_compat_version or ''} via {d.forward_compat}"
    return text + (f" · from {d.source}" if d.source else "")


def gpus_row(env: Environment) -> str:
    if isinstance(env.gpus, Missing):
        return _missing(env.gpus)
    if not env.gpu_list:
        return "none"
    out = []
    for g in env.gpu_list:
        mem = f", {g.memory_mib // 1024} GiB" if g.memory_mib else ""
        cc = f"sm {g.compute_capability}" if g.compute_capability else "sm ?"
        out.append(f"{g.index}: {g.name} ({cc}{mem}{', MIG' if g.mig else ''})")
    return " · ".join(out)


def toolchain_row(env: Environment) -> str:
    c = env.toolchain
    home = c.cuda_home
    if isinstance(home, CudaHome):
        state = "ok" if home.exists and home.has_nvcc else "no nvcc" if home.exists else "missing"
        origin = home.variable.replace("default:", "default ").replace("PATH:nvcc", "nvcc on PATH")
        home_text = f"CUDA home {home.path} ({state}; from {origin})"
    else:
        home_text = f"CUDA_HOME {_missing(home)}"
    cc = [_tool(c.nvcc, "nvcc "), home_text, _tool(c.gcc, "gcc "), _tool(c.gxx, "g++ ")]
    if isinstance(c.msvc, Tool):
        cc.append(_tool(c.msvc, "MSVC "))
    return " · ".join(cc)


def tools_row(env: Environment) -> str:
    pk = env.packages
    st = pk.get("setuptools", "—")
    if env.pkg_resources is False:
        st += " (no pkg_resources)"
    cv = [f"{n} {v}" for n, v in sorted(pk.items()) if n.startswith("opencv-")]
    return (
        f"pip {pk.get('pip', '—')} · setuptools {st} · wheel {pk.get('wheel', '—')} · ninja {pk.get('ninja', '—')}"
        f" · numpy {pk.get('numpy', '—')} · {', '.join(cv) or 'opencv —'}"
    )


def openmmlab_row(env: Environment) -> str:
    dists = env.openmmlab
    if not dists:
        return "none installed"
    return " · ".join(f"{d.name} {d.version}{' (editable)' if d.editable else ''}" for d in dists)


def mmcv_row(env: Environment) -> str:
    m = env.mmcv
    if not isinstance(m, Mmcv):
        return _missing(m)
    if not m.ops:
        return f"{m.dist} {m.version} · flavour {m.flavour} · no compiled ops"
    cuda = {None: "CUDA unknown", "cpu": "CPU-only ops"}.get(m.ops_cuda, f"ops for CUDA {m.ops_cuda}")
    return f"{m.dist} {m.version} · flavour {m.flavour} · {cuda} · {m.ops_path}"


def rows(env: Environment) -> list[tuple[str, str]]:
    out = [
        ("Python", python_row(env)),
        ("System", system_row(env)),
        ("torch", torch_row(env)),
        ("NVIDIA driver", driver_row(env)),
        ("GPUs", gpus_row(env)),
        ("Toolchain", toolchain_row(env)),
        ("Build tools", tools_row(env)),
        ("OpenMMLab", openmmlab_row(env)),
        ("mmcv", mmcv_row(env)),
    ]
    if env.deep:
        d = env.deep
        state = f"CUDA available, {d.device_count} device(s)" if d.cuda_available else "CUDA not available"
        out.append(("--deep", state + (f" · {d.error}" if d.error else "")))
    if env.duplicates:
        out.append(("Duplicates", ", ".join(sorted(env.duplicates))))
    return out
