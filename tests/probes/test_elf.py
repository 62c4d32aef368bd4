"""DT_NEEDED from real ELF files, built here with the system compiler, and the CUDA read from them."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from envcheck.probes.elf import cuda_of_needed, needed_libraries

cc = shutil.which("cc") or shutil.which("gcc")


def _shared(tmp_path: Path, name: str, links: list[str]) -> Path:
    """A real shared object named `name` that links the given stub libraries (by soname)."""
    assert cc
    flags = []
    for soname in links:
        stub = tmp_path / soname
        src = tmp_path / "stub.c"
        src.write_text(f"int stub_symbol_{len(soname)}(void) {{ return 0; }}\n")
        subprocess.run([cc, "-shared", "-fPIC", f"-Wl,-soname,{soname}", "-o", str(stub), str(src)], check=True)
        flags.append(str(stub))
    main = tmp_path / "ext.c"
    main.write_text("int ext_entry(void) { return 1; }\n")
    out = tmp_path / name
    subprocess.run([cc, "-shared", "-fPIC", "-Wl,--no-as-needed", "-o", str(out), str(main), *flags], check=True)
    return out


@pytest.mark.skipif(cc is None, reason="no C compiler")
def test_cuda_build_links_cudart(tmp_path: Path) -> None:
    so = _shared(tmp_path, "_ext.cpython-311-x86_64-linux-gnu.so", ["libc10_cuda.so", "libcudart.so.12"])
    with so.open("rb") as fh:
        needed = needed_libraries(fh)
    assert "libcudart.so.12" in needed and "libc10_cuda.so" in needed
    assert cuda_of_needed(needed) == "12"


@pytest.mark.skipif(cc is None, reason="no C compiler")
def test_cpu_build_links_no_cuda(tmp_path: Path) -> None:
    so = _shared(tmp_path, "_ext.so", ["libc10.so", "libtorch_cpu.so"])
    with so.open("rb") as fh:
        needed = needed_libraries(fh)
    assert {"libc10.so", "libtorch_cpu.so"} <= set(needed)
    assert cuda_of_needed(needed) == "cpu"


def test_old_cudart_soname_carries_minor() -> None:
    assert cuda_of_needed(["libcudart.so.10.2", "libc10_cuda.so"]) == "10.2"
    assert cuda_of_needed(["libc10_cuda.so", "libtorch_cuda.so"]) is None
    assert cuda_of_needed(["libamdhip64.so.6"]) == "rocm"


@pytest.mark.parametrize(
    "data",
    [b"", b"\x7fELF", b"MZ\x90\x00" * 100, b"\x7fELF\x02\x01\x01" + b"\xff" * 200],
    ids=["empty", "magic-only", "windows-pe", "corrupt-headers"],
)
def test_not_elf_or_truncated_is_empty(data: bytes) -> None:
    assert needed_libraries(io.BytesIO(data)) == []
