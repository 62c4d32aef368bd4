"""ELF shared objects: the libraries one needs (DT_NEEDED), read without loading it."""

from __future__ import annotations

import re
import struct
from typing import BinaryIO

SHT_DYNAMIC = 6
DT_NULL, DT_NEEDED = 0, 1


def needed_libraries(fh: BinaryIO) -> list[str]:
    """The DT_NEEDED entries of an ELF file; [] when it is not ELF, is damaged or has none.

    Reads only the headers and two small sections, so a 100 MB mmcv/_ext*.so costs a few reads.
    """
    try:
        return _needed(fh)
    except (OSError, OverflowError, ValueError, struct.error):  # truncated or corrupt: no answer
        return []


def _needed(fh: BinaryIO) -> list[str]:
    ident = fh.read(16)
    if len(ident) < 16 or ident[:4] != b"\x7fELF":
        return []
    is64 = ident[4] == 2
    end = "<" if ident[5] == 1 else ">"
    if is64:
        hdr = fh.read(48)
        if len(hdr) < 48:
            return []
        shoff, shentsize, shnum = (
            struct.unpack(end + "Q", hdr[24:32])[0],
            struct.unpack(end + "H", hdr[42:44])[0],
            struct.unpack(end + "H", hdr[44:46])[0],
        )
    else:
        hdr = fh.read(36)
        if len(hdr) < 36:
            return []
        shoff = struct.unpack(end + "I", hdr[16:20])[0]
        shentsize, shnum = struct.unpack(end + "HH", hdr[30:34])
    if not shoff or not shnum or shnum > 65535:
        return []
    fh.seek(shoff)
    table = fh.read(shentsize * shnum)
    sections = []
    for i in range(shnum):
        raw = table[i * shentsize : (i + 1) * shentsize]
        if len(raw) < shentsize:
            break
        if is64:
            _, stype, _, _, off, size, link, _, _, entsize = struct.unpack(end + "IIQQQQIIQQ", raw[:64])
        else:
            _, stype, _, _, off, size, link, _, _, entsize = struct.unpack(end + "IIIIIIIIII", raw[:40])
        sections.append((stype, off, size, link, entsize))
    for stype, off, size, link, entsize in sections:
        if stype != SHT_DYNAMIC or link >= len(sections):
            continue
        fh.seek(off)
        dyn = fh.read(size)
        _, str_off, str_size, _, _ = sections[link]
        fh.seek(str_off)
        strtab = fh.read(str_size)
        step = entsize or (16 if is64 else 8)
        fmt = end + ("qQ" if is64 else "iI")
        names = []
        for pos in range(0, len(dyn) - step + 1, step):
            tag, val = struct.unpack(fmt, dyn[pos : pos + struct.calcsize(fmt)])
            if tag == DT_NULL:
                break
            if tag == DT_NEEDED and val < len(strtab):
                names.append(strtab[val : strtab.index(b"\0", val)].decode("ascii", "replace"))
        return names
    return []


_CUDART = re.compile(r"^libcudart\.so\.(\d+)(?:\.(\d+))?")


def cuda_of_needed(needed: list[str]) -> str | None:
    """The CUDA an extension links against: "12" (or "11.8" for old SONAMEs), "cpu", or None.

    libcudart's SONAME carries the major version (libcudart.so.12) and, before CUDA 11, the
    minor too (libcudart.so.10.2). An extension that links none of cudart, c10_cuda and
    torch_cuda was built without CUDA. ROCm builds link amdhip64 instead.
    """
    for lib in needed:
        m = _CUDART.match(lib)
        if m:
            return m.group(1) + (f".{m.group(2)}" if m.group(2) else "")
    if any(lib.startswith(("libc10_cuda", "libtorch_cuda")) for lib in needed):
        return None  # a CUDA build whose runtime version is not visible in its links
    if any(lib.startswith(("libamdhip64", "libc10_hip", "libtorch_hip")) for lib in needed):
        return "rocm"
    return "cpu"
