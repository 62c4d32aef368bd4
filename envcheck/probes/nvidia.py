"""NVIDIA driver and GPUs: read from /proc, /sys and nvidia-smi, cheapest source first."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from envcheck.facts.model import Driver, Gpu, Maybe, Missing
from envcheck.runner import Completed, Runner

QUERY_FIELDS = (
    "index", "name", "compute_cap", "memory.total", "uuid", "driver_version", "mig.mode.current",
)  # fmt: skip
# Drivers before ~510 reject compute_cap; the probe retries without it.
QUERY_FIELDS_OLD = tuple(f for f in QUERY_FIELDS if f != "compute_cap")
SMI_NO_DEVICES = "No devices were found"
SMI_NO_DRIVER = "couldn't communicate with the NVIDIA driver"

_PROC_VERSION = re.compile(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)\b")
# R610 renamed the header fields (KMD Version, CUDA UMD Version); -q output puts spaces before ':'.
_SMI_DRIVER = re.compile(r"(?:Driver|KMD) Version\s*:\s*(\d+(?:\.\d+)+)")
_SMI_CUDA = re.compile(r"CUDA (?:UMD )?Version\s*:\s*(\d+\.\d+)")
_TABLE_GPU = re.compile(
    r"^\|\s*(\d+)\s+(.+?)\s+(?:On|Off|WDDM|TCC|N/A)\s*\|\s*[0-9A-Fa-f]+:[0-9A-Fa-f]+:[0-9A-Fa-f]+\.\d"
)
_TABLE_MEM = re.compile(r"\|\s*\d+MiB\s*/\s*(\d+)MiB\s*\|")
_TABLE_MIG_MODE = re.compile(r"(Enabled|Disabled)\*?\s*\|\s*$")
_TABLE_MIG_DEVICE = re.compile(r"^\|\s*(\d+)\s+\d+\s+\d+\s+\d+\s+\|\s*\d+MiB")
_LIBCUDA = re.compile(r"libcuda\.so\.(\d+\.\d+(?:\.\d+)*)$")
_NOT_AVAILABLE = {"", "n/a", "[n/a]", "[not supported]", "not supported", "[unknown error]"}


def parse_proc_driver_version(text: str) -> str | None:
    """Driver version from /proc/driver/nvidia/version (proprietary or open module, any arch)."""
    m = _PROC_VERSION.search(text)
    return m.group(1) if m else None


def parse_proc_gpu_information(text: str) -> dict[str, str]:
    """{"Model": ..., "GPU UUID": ...} from /proc/driver/nvidia/gpus/<bus>/information."""
    info: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            info[key.strip()] = value.strip()
    return info


def _cell(value: str) -> str | None:
    value = value.strip()
    return None if value.lower() in _NOT_AVAILABLE else value


def parse_smi_csv(text: str, fields: Sequence[str]) -> list[dict[str, str]]:
    """{field: cell} per line of `--query-gpu=<fields> --format=csv`; other shapes are skipped.

    One line per GPU (reading it as one value is what broke uv on two-GPU machines).
    """
    rows = []
    for line in text.replace("\r\n", "\n").splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(fields) or not line.strip():
            continue
        if [c.split(" [")[0].lower() for c in cells] == [f.lower() for f in fields]:
            continue  # the header line of --format=csv (units in brackets)
        rows.append(dict(zip(fields, cells)))
    return rows


def parse_smi_query(text: str, fields: Sequence[str] = QUERY_FIELDS) -> list[Gpu]:
    """GPUs from `nvidia-smi --query-gpu=<fields> --format=csv[,noheader][,nounits]`."""
    gpus = []
    for ordinal, row in enumerate(parse_smi_csv(text, fields)):
        name = _cell(row.get("name", "")) or _cell(row.get("gpu_name", ""))
        index = row.get("index", str(ordinal))
        if not name or not index.isdigit():
            continue
        cap = _cell(row.get("compute_cap", ""))
        memory = (_cell(row.get("memory.total", "")) or "").split(" ")[0]
        gpus.append(
            Gpu(
                index=int(index),
                name=name,
                compute_capability=cap if cap and re.fullmatch(r"\d+\.\d+", cap) else None,
                memory_mib=int(memory) if memory.isdigit() else None,
                uuid=_cell(row.get("uuid", "")) or _cell(row.get("gpu_uuid", "")),
                mig=(_cell(row.get("mig.mode.current", "")) or "").lower() == "enabled",
                source="nvidia-smi --query-gpu",
            )
        )
    return gpus


def parse_smi_header(text: str) -> tuple[str | None, str | None]:
    """(driver version, newest CUDA the driver runs) from plain `nvidia-smi` or `nvidia-smi -q`."""
    driver = _SMI_DRIVER.search(text)
    cuda = _SMI_CUDA.search(text)
    return (driver.group(1) if driver else None, cuda.group(1) if cuda else None)


def parse_smi_mig_devices(text: str) -> dict[int, int]:
    """{GPU index: number of MIG devices} from the "MIG devices:" table of plain `nvidia-smi`."""
    counts: dict[int, int] = {}
    for line in text.replace("\r\n", "\n").splitlines():
        m = _TABLE_MIG_DEVICE.match(line.strip())
        if m:
            counts[int(m.group(1))] = counts.get(int(m.group(1)), 0) + 1
    return counts


def parse_smi_table(text: str) -> list[Gpu]:
    """GPUs (name as printed, total memory, MIG mode) from the table of plain `nvidia-smi`.

    nvidia-smi truncates long names ("NVIDIA GeForce RTX 4070 ..."); they are kept as printed.
    """
    rows: list[tuple[int, str, int | None, bool]] = []
    in_gpu = False
    for raw in text.replace("\r\n", "\n").splitlines():
        line = raw.strip()
        gpu = _TABLE_GPU.match(line)
        if gpu:
            rows.append((int(gpu.group(1)), gpu.group(2), None, False))
            in_gpu = True
        elif line.startswith("+") or not line.startswith("|"):
            in_gpu = False  # a GPU's block ends at the next +----+ rule
        elif in_gpu:
            index, name, memory, mig = rows[-1]
            mem = _TABLE_MEM.search(line)
            mode = None if mem else _TABLE_MIG_MODE.search(line)  # the "MIG M." cell, 3rd row
            if mem and memory is None:
                memory = int(mem.group(1))
            rows[-1] = (index, name, memory, mig or bool(mode and mode.group(1) == "Enabled"))
    mig_parents = parse_smi_mig_devices(text)
    return [
        Gpu(index, name, memory_mib=memory, mig=mig or index in mig_parents, source="nvidia-smi")
        for index, name, memory, mig in rows
    ]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _proc_gpus(root: Path) -> list[Gpu]:
    base = root / "proc/driver/nvidia/gpus"
    try:
        buses = sorted(p for p in base.iterdir() if p.is_dir())
    except OSError:
        return []
    gpus: list[Gpu] = []
    for bus in buses:  # nvidia-smi numbers GPUs in PCI bus order, as this sort does
        info = parse_proc_gpu_information(_read(bus / "information") or "")
        source = f"/proc/driver/nvidia/gpus/{bus.name}/information"
        gpus.append(Gpu(len(gpus), info.get("Model", "unknown"), uuid=info.get("GPU UUID"), source=source))
    return gpus


def _pci_gpus(root: Path) -> list[tuple[str, str]] | None:
    """(bus, device id) of NVIDIA display controllers; None when sysfs is unreadable."""
    try:
        devices = sorted((root / "sys/bus/pci/devices").iterdir())
    except OSError:
        return None
    found = []
    for dev in devices:
        vendor, cls = _read(dev / "vendor"), _read(dev / "class")
        if vendor and cls and vendor.strip() == "0x10de" and cls.strip().startswith("0x03"):
            found.append((dev.name, (_read(dev / "device") or "????").strip().replace("0x", "")))
    return found


def _find_smi(runner: Runner, root: Path, environ: Mapping[str, str], system: str) -> str | None:
    found = runner.which("nvidia-smi", environ.get("PATH", ""))  # None would search os.environ
    if found:
        return found
    wsl = root / "usr/lib/wsl/lib/nvidia-smi"  # WSL2 puts the Windows driver's tools here
    if wsl.exists():
        return str(wsl)
    if system == "Windows":  # DCH drivers: System32; older drivers: NVSMI under Program Files
        windir = environ.get("SystemRoot", r"C:\Windows")
        program_files = environ.get("ProgramFiles", r"C:\Program Files")
        for folder in (windir + r"\System32", program_files + r"\NVIDIA Corporation\NVSMI"):
            found = runner.which("nvidia-smi", folder)
            if found:
                return found
    return None


def _forward_compat(root: Path, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(path, version) of a cuda-compat libcuda that the loader will pick up, else (None, None)."""
    loader_dirs = {p.rstrip("/") for p in environ.get("LD_LIBRARY_PATH", "").split(":") if p}
    for conf in sorted((root / "etc/ld.so.conf.d").glob("*.conf")):
        for line in (_read(conf) or "").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                loader_dirs.add(line.strip().rstrip("/"))
    best: tuple[tuple[int, ...], str, str] | None = None
    for lib in (root / "usr/local").glob("cuda*/compat/libcuda.so.*"):
        m = _LIBCUDA.search(lib.name)
        host_dir = "/" + str(lib.parent.relative_to(root)).replace("\\", "/")
        if m and host_dir in loader_dirs:
            key = tuple(int(x) for x in m.group(1).split("."))
            if best is None or key > best[0]:
                best = (key, f"{host_dir}/{lib.name}", m.group(1))
    return (best[1], best[2]) if best else (None, None)


def _smi_failure(done: Completed, timeout: float) -> str:
    # A hung nvidia-smi usually means a wedged driver or a GPU fallen off the bus.
    if done.timed_out:
        return f"nvidia-smi timed out after {timeout:g} s"
    for known in (SMI_NO_DRIVER, SMI_NO_DEVICES):  # describe_failure would quote the last line
        if known in done.stdout + done.stderr:
            return f"nvidia-smi: {known} (exit {done.returncode})"
    return f"nvidia-smi failed: {done.describe_failure()}"


def _query(runner: Runner, smi: str, timeout: float) -> tuple[Completed, Sequence[str]]:
    fields: Sequence[str] = QUERY_FIELDS
    fmt = "--format=csv,noheader,nounits"
    done = runner.run([smi, "--query-gpu=" + ",".join(fields), fmt], timeout=timeout)
    if not done.ok and "is not a valid field" in done.stdout + done.stderr:
        fields = QUERY_FIELDS_OLD
        done = runner.run([smi, "--query-gpu=" + ",".join(fields), fmt], timeout=timeout)
    return done, fields


def _driver_version(root: Path) -> tuple[str | None, str]:
    """(version, where) from the kernel module's own files; no process is started."""
    for rel in ("proc/driver/nvidia/version", "sys/module/nvidia/version"):
        text = (_read(root / rel) or "").strip()
        version = parse_proc_driver_version(text)
        if version is None and re.fullmatch(r"\d+(?:\.\d+)+", text):
            version = text  # /sys/module/nvidia/version holds the bare number
        if version:
            return version, "/" + rel
    return None, ""


def _no_driver(root: Path, system: str, smi: str | None) -> tuple[Missing, Maybe[tuple[Gpu, ...]]]:
    pci = _pci_gpus(root)
    if pci:
        ids = ", ".join(f"10de:{dev}" for _, dev in pci)
        on_bus = tuple(
            Gpu(i, f"NVIDIA PCI device 10de:{dev}", source=f"/sys/bus/pci/devices/{bus}")
            for i, (bus, dev) in enumerate(pci)
        )
        reason = f"NVIDIA GPU present (PCI {ids}) but no driver loaded"
        return Missing(reason, "/sys/bus/pci/devices"), on_bus
    if system == "Windows":
        return Missing("no NVIDIA driver: nvidia-smi not found", "nvidia-smi"), Missing(
            "no NVIDIA driver to list GPUs", "nvidia-smi"
        )
    reason = "no NVIDIA driver: /proc/driver/nvidia/version absent"
    if smi:  # the user-space package without its kernel module: worth saying
        reason += f" ({smi} is installed but the kernel module is not loaded)"
    gpus: Maybe[tuple[Gpu, ...]] = () if pci is not None else Missing("/sys/bus/pci unreadable")
    return Missing(reason, "/proc/driver/nvidia/version"), gpus


def _run_smi(
    runner: Runner, smi: str, timeout: float, proc_gpus: Sequence[Gpu]
) -> tuple[str | None, str | None, Maybe[tuple[Gpu, ...]]]:
    """(driver version, CUDA from the header, GPUs) from nvidia-smi's table and CSV query."""
    with ThreadPoolExecutor(max_workers=1) as pool:  # both calls cost one timeout, not two
        plain_future = pool.submit(runner.run, [smi], timeout=timeout)
        query, fields = _query(runner, smi, timeout)
        plain = plain_future.result()
    driver, cuda = parse_smi_header(plain.stdout) if plain.ok else (None, None)
    rows = parse_smi_csv(query.stdout, fields) if query.ok else []
    driver = driver or (_cell(rows[0].get("driver_version", "")) if rows else None)
    from_query = parse_smi_query(query.stdout, fields) if query.ok else []
    from_table = parse_smi_table(plain.stdout) if plain.ok else []
    if from_query or from_table:
        return driver, cuda, tuple(from_query or from_table)
    failed = query if not query.ok else plain
    reason = _smi_failure(failed, timeout) if not failed.ok else "nvidia-smi listed no GPUs"
    if proc_gpus:
        reason += f" (the kernel driver lists {len(proc_gpus)}: {proc_gpus[0].name}, ...)"
    return driver, cuda, Missing(reason, "nvidia-smi")


def probe_nvidia(
    runner: Runner,
    root: Path = Path("/"),
    environ: Mapping[str, str] | None = None,
    timeout: float = 5.0,
    *,
    system: str = "Linux",
) -> tuple[Maybe[Driver], Maybe[tuple[Gpu, ...]]]:
    """The driver and the GPUs, from /proc and /sys first, nvidia-smi only when a driver is there.

    `environ`: the environment to search (None: an empty one; the caller passes os.environ);
    `system`: platform.system() of the inspected machine (Linux, Windows, Darwin).
    """
    environ = environ if environ is not None else {}
    if system == "Darwin":
        return Missing("no NVIDIA driver: macOS has no CUDA driver", "platform"), ()
    version, where = _driver_version(root)
    smi = _find_smi(runner, root, environ, system)
    # A native Linux driver always shows in /proc; only WSL2 and Windows drivers hide from it.
    hidden_driver = system == "Windows" or (root / "usr/lib/wsl/lib").is_dir()
    if version is None and (smi is None or not hidden_driver):
        return _no_driver(root, system, smi)
    proc_gpus = _proc_gpus(root)
    if smi is None:
        assert version is not None
        found: Maybe[tuple[Gpu, ...]] = tuple(proc_gpus) or Missing("nvidia-smi not found on PATH", "nvidia-smi")
        return _with_compat(Driver(version, source=where), root, environ), found
    smi_version, cuda_max, gpus = _run_smi(runner, smi, timeout, proc_gpus)
    if version is None:
        if smi_version is None:
            reason = gpus.reason if isinstance(gpus, Missing) else "nvidia-smi showed no version"
            return Missing(reason, "nvidia-smi"), gpus
        version, where = smi_version, "nvidia-smi"
    return _with_compat(Driver(version, cuda_max=cuda_max, source=where), root, environ), gpus


def _with_compat(driver: Driver, root: Path, environ: Mapping[str, str]) -> Driver:
    path, version = _forward_compat(root, environ)
    return replace(driver, forward_compat=path, forward_compat_version=version) if path else driver
