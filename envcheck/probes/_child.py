"""The interpreter probe: run by the TARGET Python, stdlib only, prints one JSON document.

Its source is passed with `python -c`, so it must stay importable by any Python 3 (no
f-strings with `=`, no walrus, no dataclasses) and must never import torch, mmcv or any
third-party package: it reads files and metadata only. Everything it returns is raw; the
parent process parses and judges.
"""

import json
import os
import platform
import sys

WANTED_PACKAGES = ("torch", "mmcv", "pkg_resources", "setuptools", "numpy", "cv2", "google.colab")


def dist_name_version(entry, full):
    """(name, version) of a *.dist-info / *.egg-info directory, from its name or metadata."""
    stem = entry.rsplit(".", 1)[0]
    parts = stem.split("-")
    if len(parts) >= 2 and parts[1][:1].isdigit():
        return parts[0], parts[1]
    meta = "METADATA" if entry.endswith(".dist-info") else "PKG-INFO"
    path = os.path.join(full, meta) if os.path.isdir(full) else full
    name, version = parts[0], ""
    try:
        with open(path, "rb") as fh:
            for raw in fh:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    break
                if line.startswith("Name:"):
                    name = line[5:].strip()
                elif line.startswith("Version:"):
                    version = line[8:].strip()
    except (IOError, OSError):
        pass
    return name, version


def read_small(path, limit=65536):
    try:
        with open(path, "rb") as fh:
            return fh.read(limit).decode("utf-8", "replace")
    except (IOError, OSError):
        return None


def scan_dists(paths):
    found = []
    errors = []
    for location in paths:
        try:
            entries = sorted(os.listdir(location))
        except (IOError, OSError) as exc:
            errors.append({"path": location, "error": "%s: %s" % (type(exc).__name__, exc)})
            continue
        for entry in entries:
            if not (entry.endswith(".dist-info") or entry.endswith(".egg-info")):
                continue
            full = os.path.join(location, entry)
            name, version = dist_name_version(entry, full)
            item = {"name": name, "version": version, "location": location}
            if entry.endswith(".dist-info"):
                installer = read_small(os.path.join(full, "INSTALLER"), 256)
                if installer:
                    item["installer"] = installer.strip()
                direct = read_small(os.path.join(full, "direct_url.json"), 16384)
                if direct:
                    try:
                        info = json.loads(direct)
                        item["editable"] = bool(info.get("dir_info", {}).get("editable"))
                        item["url"] = info.get("url", "")
                    except ValueError:
                        pass
            found.append(item)
        # Legacy `setup.py develop` installs leave NAME.egg-link pointing at the source tree.
        for entry in entries:
            if entry.endswith(".egg-link"):
                target = (read_small(os.path.join(location, entry), 4096) or "").splitlines()
                if target:
                    src = target[0].strip()
                    egg = [e for e in safe_listdir(src) if e.endswith(".egg-info")]
                    for e in egg:
                        name, version = dist_name_version(e, os.path.join(src, e))
                        found.append({"name": name, "version": version, "location": src, "editable": True})
    return found, errors


def safe_listdir(path):
    try:
        return sorted(os.listdir(path))
    except (IOError, OSError):
        return []


def find_package(name):
    """Where `import name` would load from, without importing it (or its parent)."""
    try:
        import importlib.util

        if "." in name:
            # find_spec("a.b") imports "a"; look for the file instead.
            head, tail = name.split(".", 1)
            top = find_package(head)
            if not top or not top.get("dir"):
                return None
            sub = os.path.join(top["dir"], *tail.split("."))
            if os.path.isdir(sub) or os.path.isfile(sub + ".py"):
                return {"dir": sub if os.path.isdir(sub) else os.path.dirname(sub)}
            return None
        spec = importlib.util.find_spec(name)
    except Exception as exc:  # a broken finder on sys.path must not kill the probe
        return {"error": "%s: %s" % (type(exc).__name__, exc)}
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if locations:
        return {"dir": locations[0]}
    if spec.origin:
        return {"dir": os.path.dirname(spec.origin), "file": spec.origin}
    return {"dir": None}


def torch_facts(pkg):
    base = pkg.get("dir")
    if not base:
        return pkg
    out = {"dir": base}
    out["version_py"] = read_small(os.path.join(base, "version.py"))
    libdir = os.path.join(base, "lib")
    out["lib_files"] = [f for f in safe_listdir(libdir) if "cudnn" in f.lower() or "miopen" in f]
    cmake = read_small(os.path.join(base, "share", "cmake", "Torch", "TorchConfig.cmake"))
    if cmake:
        out["cmake_flags"] = [ln.strip() for ln in cmake.splitlines() if "CXX11_ABI" in ln]
    return out


def mmcv_facts(pkg):
    base = pkg.get("dir")
    if not base:
        return pkg
    files = safe_listdir(base)
    return {
        "dir": base,
        "ext_files": [os.path.join(base, f) for f in files if f.startswith("_ext")],
        "version_py": read_small(os.path.join(base, "version.py")),
    }


def usable_cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return getattr(os, "cpu_count", lambda: None)()


def main():
    paths = []
    for p in sys.path:
        # '' is the current directory of whoever runs us: not part of the environment.
        if p and os.path.isdir(p) and p not in paths:
            paths.append(os.path.abspath(p))
    dists, errors = scan_dists(paths)
    packages = {}
    for name in WANTED_PACKAGES:
        packages[name] = find_package(name)
    if packages.get("torch") and packages["torch"].get("dir"):
        packages["torch"] = torch_facts(packages["torch"])
    if packages.get("mmcv") and packages["mmcv"].get("dir"):
        packages["mmcv"] = mmcv_facts(packages["mmcv"])
    impl = platform.python_implementation()
    prefix_tag = {"CPython": "cp", "PyPy": "pp"}.get(impl, impl.lower()[:2])
    base_prefix = getattr(sys, "real_prefix", None) or getattr(sys, "base_prefix", sys.prefix)
    glibc = None
    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        pass
    doc = {
        "probe": 1,
        "python": {
            "version": "%d.%d.%d" % sys.version_info[:3],
            "releaselevel": sys.version_info[3],
            "implementation": impl,
            "executable": sys.executable,
            "prefix": sys.prefix,
            "base_prefix": base_prefix,
            "tag": "%s%d%d" % (prefix_tag, sys.version_info[0], sys.version_info[1]),
            "bits": 64 if sys.maxsize > 2**32 else 32,
            "conda_meta": os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
        },
        "platform": {
            "system": platform.system(),
            "machine": platform.machine(),
            "release": platform.release(),
            "glibc": glibc,
            "cpus": usable_cpus(),
        },
        "sys_path": paths,
        "dists": dists,
        "path_errors": errors,
        "packages": packages,
    }
    sys.stdout.write(json.dumps(doc))
    sys.stdout.write("\n")


main()
