"""NVIDIA probe: parsers on captured real outputs, the probe on fake trees and fake runners."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Callable

import pytest

from envcheck.facts.model import Driver, Gpu, Missing
from envcheck.probes.nvidia import (
    QUERY_FIELDS,
    QUERY_FIELDS_OLD,
    parse_proc_driver_version,
    parse_proc_gpu_information,
    parse_smi_csv,
    parse_smi_header,
    parse_smi_mig_devices,
    parse_smi_query,
    parse_smi_table,
    probe_nvidia,
)
from envcheck.runner import SubprocessRunner
from tests.probes.helpers import FakeRunner, assert_sourced, cases, done, read_capture, timed_out

Tree = Callable[..., Path]

PROC_VERSION = {
    "proprietary-384-ubuntu": "384.98",
    "proprietary-580-truenas": "580.173.02",
    "open-565-ubuntu": "565.57.01",
    "open-525-arch": "525.60.11",
    "open-555-gentoo-one-line": "555.58",
    "open-aarch64-jetson": "35.3.1",
}

# capture -> (driver, cuda, [(index, name as printed, memory MiB, mig)])
H100 = [(i, "NVIDIA H100 80GB HBM3", 81559, False) for i in range(8)]
GEFORCE = "NVIDIA GeForce ..."  # nvidia-smi's own truncation
SMI_TABLES = {
    "h100-sxm-x8-565": ("565.57.01", "12.7", H100),
    "kmd-610-rtx5070-laptop": (
        "610.43.02",
        "13.3",
        [(0, "NVIDIA GeForce RTX 5070 ...", 12227, False)],
    ),
    "kmd-610-rtx3080": ("610.43.03", "13.3", [(0, "NVIDIA GeForce RTX 3080 ...", 16384, False)]),
    "wsl2-555-rtx4070": ("555.99", "12.5", [(0, "NVIDIA GeForce RTX 4070 ...", 12282, False)]),
    "wsl2-cuda-err": ("546.80", None, [(0, "NVIDIA GeForce RTX 3060 ...", 6144, False)]),
    "windows-517-two-gpus": (
        "517.48",
        "11.7",
        [(0, GEFORCE, 11264, False), (1, GEFORCE, 11264, False)],
    ),
    "colab-p100-smi-driver-differ": ("418.67", "10.1", [(0, "Tesla P100-PCIE...", 16280, False)]),
    "old-331-no-cuda-column": (
        "331.62",
        None,
        [(i, "GeForce GTX 680", 4095, False) for i in (0, 1, 2)],
    ),
    "mig-devices-excerpt-510": (None, None, []),
    "no-devices": (None, None, []),
    "cannot-communicate-wsl": (None, None, []),
}

RTX2080_FIELDS = [
    "power.limit",
    "power.min_limit",
    "power.max_limit",
    "memory.total",
    "vbios_version",
    "driver_version",
    "name",
    "gpu_uuid",
    "power.draw",
    "temperature.gpu",
    "temperature.memory",
    "clocks.current.graphics",
    "clocks.sm",
    "clocks.mem",
    "utilization.gpu",
    "utilization.memory",
    "fan.speed",
    "pcie.link.width.current",
    "pstate",
]
TRITON_FIELDS = ("compute_cap", "compute_mode", "driver_version", "name", "index")
QUERY_CASES = {
    "triton-two-gpus-with-header": (
        TRITON_FIELDS,
        [
            Gpu(0, "NVIDIA TITAN V", "7.0", source="nvidia-smi --query-gpu"),
            Gpu(1, "NVIDIA RTX 5880 Ada Generation", "8.9", source="nvidia-smi --query-gpu"),
        ],
    ),
    "gpu-utils-rtx2080-nounits": (
        RTX2080_FIELDS,
        [
            Gpu(
                0,
                "GeForce RTX 2080",
                None,
                7979,
                "GPU-22b2c6ac-2d49-4863-197c-9c469071178a",
                source="nvidia-smi --query-gpu",
            )
        ],
    ),
    # Not our query's shape: nothing may be misread as a GPU.
    "uv-driver-version-two-gpus": (QUERY_FIELDS, []),
    "compute-cap-not-valid": (QUERY_FIELDS, []),
    "no-devices": (QUERY_FIELDS, []),
}

H100_UUIDS = (
    "GPU-b42dd28e-ffdd-8720-1df0-98bd8cdc05b1",
    "GPU-7c3cadbd-17e5-0913-f69b-c618122ea0cd",
)
H100_CSV = "".join(
    f"{i}, NVIDIA H100 80GB HBM3, 9.0, 81559, {uuid}, 565.57.01, Disabled\n" for i, uuid in enumerate(H100_UUIDS)
)
SMI = "/usr/bin/nvidia-smi"
QUERY = (SMI, "--query-gpu=" + ",".join(QUERY_FIELDS), "--format=csv,noheader,nounits")
QUERY_OLD = (SMI, "--query-gpu=" + ",".join(QUERY_FIELDS_OLD), "--format=csv,noheader,nounits")
ENV = {"PATH": "/usr/local/bin:/usr/bin"}


@pytest.mark.parametrize("tool", ["proc-driver-version", "proc-gpu-information", "nvidia-smi", "nvidia-smi-query"])
def test_every_capture_is_sourced_and_tested(tool: str) -> None:
    assert_sourced(tool)
    tested = {
        "proc-driver-version": PROC_VERSION,
        "proc-gpu-information": {"gtx650": 1, "kata-unknown-model": 1},
        "nvidia-smi": SMI_TABLES,
        "nvidia-smi-query": QUERY_CASES,
    }[tool]
    assert cases(tool) == set(tested)


@pytest.mark.parametrize("case", sorted(PROC_VERSION))
def test_parse_proc_driver_version(case: str) -> None:
    text = read_capture(f"proc-driver-version/{case}")
    assert parse_proc_driver_version(text) == PROC_VERSION[case]
    assert parse_proc_driver_version(text.replace("\n", "\r\n")) == PROC_VERSION[case]


def test_parse_proc_driver_version_rejects_other_text() -> None:
    assert parse_proc_driver_version("") is None
    assert parse_proc_driver_version(read_capture("nvidia-smi/no-devices")) is None


def test_parse_proc_gpu_information() -> None:
    info = parse_proc_gpu_information(read_capture("proc-gpu-information/gtx650"))
    assert info["Model"] == "GeForce GTX 650"
    assert info["GPU UUID"] == "GPU-e3f822b9-8c5f-95a5-b379-8dfdeefd7758"
    assert info["Bus Location"] == "0000:04:00.0"
    assert info["DMA Size"] == "40 bits"
    assert "Device Minor" not in info  # drivers of that era did not print it
    kata = parse_proc_gpu_information(read_capture("proc-gpu-information/kata-unknown-model"))
    assert kata == {"Model": "Unknown", "IRQ": "35"}  # tabs around the values


@pytest.mark.parametrize("case", sorted(SMI_TABLES))
def test_parse_smi_header_and_table(case: str) -> None:
    driver, cuda, rows = SMI_TABLES[case]
    text = read_capture(f"nvidia-smi/{case}")
    assert parse_smi_header(text) == (driver, cuda)
    gpus = parse_smi_table(text)
    assert [(g.index, g.name, g.memory_mib, g.mig) for g in gpus] == rows
    assert parse_smi_table(text.replace("\n", "\r\n")) == gpus  # Windows line endings


def test_parse_smi_mig_devices() -> None:
    text = read_capture("nvidia-smi/mig-devices-excerpt-510")
    assert parse_smi_mig_devices(text) == {1: 3, 2: 1}
    assert parse_smi_mig_devices(read_capture("nvidia-smi/h100-sxm-x8-565")) == {}


def test_parse_smi_table_marks_mig_from_mode_cell_and_devices() -> None:
    # The H100 capture with GPU 3 switched to MIG ("Enabled" in its MIG M. cell) and a
    # "MIG devices:" table naming GPU 5: both must come out as mig=True.
    text = read_capture("nvidia-smi/h100-sxm-x8-565")
    blocks = text.split("|   3  NVIDIA H100", 1)
    head, tail = blocks[1].split("Disabled |", 1)
    text = blocks[0] + "|   3  NVIDIA H100" + head + " Enabled |" + tail
    text += read_capture("nvidia-smi/mig-devices-excerpt-510").replace("|  1 ", "|  5 ")
    assert [g.index for g in parse_smi_table(text) if g.mig] == [2, 3, 5]


@pytest.mark.parametrize("case", sorted(QUERY_CASES))
def test_parse_smi_query_captures(case: str) -> None:
    fields, expected = QUERY_CASES[case]
    text = read_capture(f"nvidia-smi-query/{case}")
    assert parse_smi_query(text, fields) == expected
    assert parse_smi_query(text.replace("\n", "\r\n"), fields) == expected


def test_parse_smi_csv_one_row_per_gpu() -> None:
    text = read_capture("nvidia-smi-query/uv-driver-version-two-gpus")
    assert parse_smi_csv(text, ["driver_version"]) == [{"driver_version": "572.60"}] * 2


def test_parse_smi_query_not_available_and_mig() -> None:
    text = (
        "0, NVIDIA A100-SXM4-40GB, [N/A], 40960, GPU-9e4aeb94-01c0-5173-4811-4ca60f77b3a9, "
        "580.126.09, Enabled\n"
        "1, NVIDIA A100-SXM4-40GB, 8.0, [Not Supported], [N/A], 580.126.09, [Not Supported]\n"
    )
    a, b = parse_smi_query(text)
    assert (a.compute_capability, a.memory_mib, a.mig) == (None, 40960, True)
    assert (b.compute_capability, b.memory_mib, b.uuid, b.mig) == ("8.0", None, None, False)


def test_parse_smi_query_garbage() -> None:
    garbage = "Segmentation fault (core dumped)\n\x00\x7f\ufffd,,,\n,,,,,,\nx, y, 7.5, 1, u, d, m\n"
    assert parse_smi_query(garbage) == []
    assert parse_smi_header(garbage) == (None, None)
    assert parse_smi_table(garbage) == []


# ----------------------------------------------------------------- the probe, fake runner


def driver_tree(tree: Tree, version_case: str = "open-565-ubuntu", **files: str) -> Path:
    gpu = "proc/driver/nvidia/gpus/{}/information"
    return tree(
        {
            "proc/driver/nvidia/version": read_capture(f"proc-driver-version/{version_case}"),
            gpu.format("0000:18:00.0"): f"Model: NVIDIA H100 80GB HBM3\nGPU UUID: {H100_UUIDS[0]}\n",
            gpu.format("0000:2a:00.0"): f"Model: NVIDIA H100 80GB HBM3\nGPU UUID: {H100_UUIDS[1]}\n",
            **files,
        }
    )


def smi_runner(plain: object, query: object, *more: tuple[tuple[str, ...], object]) -> FakeRunner:
    runner = FakeRunner()
    runner.install(SMI)
    runner.replies = {(SMI,): plain, QUERY: query, **dict(more)}  # type: ignore[dict-item]
    return runner


def test_probe_driver_and_gpus(tree: Tree) -> None:
    root = driver_tree(tree)
    runner = smi_runner(done(read_capture("nvidia-smi/h100-sxm-x8-565")), done(H100_CSV))
    driver, gpus = probe_nvidia(runner, root, ENV, timeout=3)
    assert driver == Driver("565.57.01", cuda_max="12.7", source="/proc/driver/nvidia/version")
    assert gpus == tuple(
        Gpu(i, "NVIDIA H100 80GB HBM3", "9.0", 81559, uuid, source="nvidia-smi --query-gpu")
        for i, uuid in enumerate(H100_UUIDS)
    )
    assert sorted(runner.calls) == sorted([(SMI,), QUERY])


def test_probe_retries_without_compute_cap(tree: Tree) -> None:
    rejected = done(read_capture("nvidia-smi-query/compute-cap-not-valid"), returncode=2)
    old_rows = "0, Tesla K80, 11441, GPU-78b84756-65f8-ec6b-851d-3878b541caf4, 470.182.03, [N/A]\n"
    runner = smi_runner(done("No table"), rejected, (QUERY_OLD, done(old_rows)))
    driver, gpus = probe_nvidia(runner, driver_tree(tree, "proprietary-384-ubuntu"), ENV)
    assert isinstance(driver, Driver) and driver.version == "384.98"
    assert driver.cuda_max is None  # no header, no table lookup here
    assert gpus == (
        Gpu(
            0,
            "Tesla K80",
            None,
            11441,
            "GPU-78b84756-65f8-ec6b-851d-3878b541caf4",
            source="nvidia-smi --query-gpu",
        ),
    )
    assert QUERY in runner.calls and QUERY_OLD in runner.calls


@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("no-devices", 6, "No devices were found"),
        ("cannot-communicate-wsl", 9, "couldn't communicate with the NVIDIA driver"),
    ],
)
def test_probe_smi_fails_driver_kept(tree: Tree, case: str, code: int, words: str) -> None:
    failure = done(read_capture(f"nvidia-smi/{case}"), returncode=code)
    runner = smi_runner(failure, failure)
    driver, gpus = probe_nvidia(runner, driver_tree(tree), ENV)
    assert isinstance(driver, Driver) and driver.version == "565.57.01"
    assert isinstance(gpus, Missing) and gpus.source == "nvidia-smi"
    assert words in gpus.reason and f"exit {code}" in gpus.reason
    assert "the kernel driver lists 2: NVIDIA H100 80GB HBM3" in gpus.reason


def test_probe_smi_timeout_is_a_value(tree: Tree) -> None:
    runner = smi_runner(timed_out(5), timed_out(5))
    driver, gpus = probe_nvidia(runner, driver_tree(tree), ENV, timeout=5)
    assert isinstance(driver, Driver) and driver.version == "565.57.01"
    assert isinstance(gpus, Missing)
    assert gpus.reason.startswith("nvidia-smi timed out after 5 s")


def test_probe_table_when_query_fails(tree: Tree) -> None:
    plain = done(read_capture("nvidia-smi/old-331-no-cuda-column"))
    runner = smi_runner(plain, done("garbage", returncode=3))
    _driver, gpus = probe_nvidia(runner, driver_tree(tree), ENV)
    assert isinstance(gpus, tuple) and [g.name for g in gpus] == ["GeForce GTX 680"] * 3


def test_probe_without_nvidia_smi_uses_proc(tree: Tree, fake_runner: FakeRunner) -> None:
    driver, gpus = probe_nvidia(fake_runner, driver_tree(tree), ENV)
    assert driver == Driver("565.57.01", source="/proc/driver/nvidia/version")
    assert gpus == tuple(
        Gpu(
            i,
            "NVIDIA H100 80GB HBM3",
            uuid=uuid,
            source=f"/proc/driver/nvidia/gpus/{bus}/information",
        )
        for i, (uuid, bus) in enumerate(zip(H100_UUIDS, ["0000:18:00.0", "0000:2a:00.0"]))
    )
    assert fake_runner.calls == []


def test_probe_sys_module_version(tree: Tree, fake_runner: FakeRunner) -> None:
    root = tree({"sys/module/nvidia/version": "550.54.15\n"})
    driver, gpus = probe_nvidia(fake_runner, root, ENV)
    assert driver == Driver("550.54.15", source="/sys/module/nvidia/version")
    assert isinstance(gpus, Missing) and "nvidia-smi not found" in gpus.reason


def pci(bus: str, vendor: str, cls: str, device: str) -> dict[str, str]:
    base = f"sys/bus/pci/devices/{bus}/"
    return {base + "vendor": vendor + "\n", base + "class": cls + "\n", base + "device": device}


def test_probe_gpu_without_driver(tree: Tree, fake_runner: FakeRunner) -> None:
    fake_runner.install(SMI)  # the package is installed, the module is not loaded
    root = tree(
        {
            **pci("0000:00:02.0", "0x8086", "0x030000", "0x9a49"),
            **pci("0000:18:00.0", "0x10de", "0x030200", "0x2330"),
            **pci("0000:18:00.1", "0x10de", "0x040300", "0x22a3"),
        }
    )
    driver, gpus = probe_nvidia(fake_runner, root, ENV)
    assert driver == Missing("NVIDIA GPU present (PCI 10de:2330) but no driver loaded", "/sys/bus/pci/devices")
    assert gpus == (Gpu(0, "NVIDIA PCI device 10de:2330", source="/sys/bus/pci/devices/0000:18:00.0"),)
    assert fake_runner.calls == []


def test_probe_nothing_nvidia(tree: Tree, fake_runner: FakeRunner) -> None:
    root = tree(pci("0000:00:02.0", "0x8086", "0x030000", "0x9a49"))
    driver, gpus = probe_nvidia(fake_runner, root, ENV)
    assert driver == Missing("no NVIDIA driver: /proc/driver/nvidia/version absent", "/proc/driver/nvidia/version")
    assert gpus == ()  # the PCI bus was read: zero GPUs is a fact, not a gap
    assert fake_runner.calls == []


def test_probe_nothing_readable(tmp_path: Path, fake_runner: FakeRunner) -> None:
    driver, gpus = probe_nvidia(fake_runner, tmp_path, {})
    assert isinstance(driver, Missing) and isinstance(gpus, Missing)
    assert fake_runner.calls == []


def test_probe_macos(tmp_path: Path, fake_runner: FakeRunner) -> None:
    driver, gpus = probe_nvidia(fake_runner, tmp_path, ENV, system="Darwin")
    assert isinstance(driver, Missing) and "macOS" in driver.reason
    assert gpus == () and fake_runner.calls == []


def test_probe_wsl2_driver_from_nvidia_smi(tree: Tree, fake_runner: FakeRunner) -> None:
    # WSL2: no /proc/driver/nvidia; the Windows driver's nvidia-smi lives in /usr/lib/wsl/lib.
    root = tree({"usr/lib/wsl/lib/nvidia-smi": ""})
    smi = str(root / "usr/lib/wsl/lib/nvidia-smi")
    row = "0, NVIDIA GeForce RTX 4070 Laptop GPU, 8.9, 8188, [N/A], 555.99, [N/A]\n"
    fake_runner.replies = {
        (smi,): done(read_capture("nvidia-smi/wsl2-555-rtx4070")),
        (smi, QUERY[1]): done(row),
    }
    driver, gpus = probe_nvidia(fake_runner, root, {"PATH": "/usr/bin"})
    assert driver == Driver("555.99", cuda_max="12.5", source="nvidia-smi")
    assert gpus == (Gpu(0, "NVIDIA GeForce RTX 4070 Laptop GPU", "8.9", 8188, source="nvidia-smi --query-gpu"),)


def test_probe_windows_system32(tmp_path: Path, fake_runner: FakeRunner) -> None:
    smi = fake_runner.install(r"C:\Windows\System32\nvidia-smi.exe", r"C:\Windows\System32", "nvidia-smi")
    fake_runner.replies = {
        (smi,): done(read_capture("nvidia-smi/windows-517-two-gpus").replace("\n", "\r\n")),
        (smi, QUERY[1]): done("0, NVIDIA GeForce RTX 2080 Ti, 7.5, 11264, [N/A], 517.48, [N/A]\r\n"),
    }
    env = {"PATH": r"C:\Python311", "SystemRoot": r"C:\Windows"}
    driver, gpus = probe_nvidia(fake_runner, tmp_path, env, system="Windows")
    assert driver == Driver("517.48", cuda_max="11.7", source="nvidia-smi")
    assert isinstance(gpus, tuple) and gpus[0].compute_capability == "7.5"


def test_probe_windows_without_driver(tmp_path: Path, fake_runner: FakeRunner) -> None:
    driver, gpus = probe_nvidia(fake_runner, tmp_path, {"PATH": r"C:\Python311"}, system="Windows")
    assert driver == Missing("no NVIDIA driver: nvidia-smi not found", "nvidia-smi")
    assert isinstance(gpus, Missing) and fake_runner.calls == []


COMPAT = "usr/local/cuda-12.8/compat/"


@pytest.mark.parametrize(
    ("ld_library_path", "conf"),
    [
        ("/usr/local/cuda-12.8/compat:/usr/lib64-nvidia", None),
        ("", "/usr/local/cuda-12.8/compat\n"),
        ("/usr/local/cuda-12.8/compat/", "# comment only\n"),
    ],
)
def test_probe_forward_compat_in_use(
    tree: Tree, fake_runner: FakeRunner, ld_library_path: str, conf: str | None
) -> None:
    files = {
        COMPAT + "libcuda.so.570.124.06": "",
        COMPAT + "libcuda.so.1": "",
        COMPAT + "libcuda.so": "",
    }
    if conf is not None:
        files["etc/ld.so.conf.d/000_cuda.conf"] = conf
    root = tree({"sys/module/nvidia/version": "550.54.15\n", **files})
    driver, _ = probe_nvidia(fake_runner, root, {**ENV, "LD_LIBRARY_PATH": ld_library_path})
    assert driver == Driver(
        "550.54.15",
        source="/sys/module/nvidia/version",
        forward_compat="/usr/local/cuda-12.8/compat/libcuda.so.570.124.06",
        forward_compat_version="570.124.06",
    )
    assert isinstance(driver, Driver) and driver.forward_compat_cuda is None


def test_probe_forward_compat_present_but_unused(tree: Tree, fake_runner: FakeRunner) -> None:
    root = tree({"sys/module/nvidia/version": "550.54.15\n", COMPAT + "libcuda.so.570.124.06": ""})
    driver, _ = probe_nvidia(fake_runner, root, {**ENV, "LD_LIBRARY_PATH": "/usr/lib64-nvidia"})
    assert isinstance(driver, Driver) and driver.forward_compat is None


# ------------------------------------------------------- the probe, real processes


def script(folder: Path, body: str) -> str:
    path = folder / "nvidia-smi"
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


@pytest.mark.integration
@pytest.mark.skipif(os.name != "posix", reason="shell-script stand-in for nvidia-smi")
def test_real_hung_nvidia_smi_is_killed(tree: Tree) -> None:
    root = driver_tree(tree)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    script(bin_dir, "sleep 30")
    start = time.monotonic()
    driver, gpus = probe_nvidia(SubprocessRunner(), root, {"PATH": str(bin_dir)}, timeout=1.0)
    elapsed = time.monotonic() - start
    assert elapsed < 10, elapsed  # generous: proves the timeout fired instead of the 30 s sleep
    assert isinstance(driver, Driver) and driver.version == "565.57.01"
    assert isinstance(gpus, Missing) and gpus.reason.startswith("nvidia-smi timed out after 1 s")


@pytest.mark.integration
@pytest.mark.skipif(os.name != "posix", reason="shell-script stand-in for nvidia-smi")
def test_real_crashing_nvidia_smi(tree: Tree) -> None:
    root = driver_tree(tree)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    script(bin_dir, r"printf '\377\376 *** stack smashing detected ***\n\001' >&2; exit 9")
    driver, gpus = probe_nvidia(SubprocessRunner(), root, {"PATH": str(bin_dir)}, timeout=5.0)
    assert isinstance(driver, Driver) and driver.version == "565.57.01"
    assert isinstance(gpus, Missing) and gpus.reason.startswith("nvidia-smi failed: exit 9")
