"""Tiny generated packages named like the real ones, for smoke checks in real child processes.

Each fake reproduces only what a check meets first: a version, an import-time guard copied from
the real package, an `ext_loader` that imports `mmcv._ext`, a compiled `_ext` that links a symbol
no torch exports. They live in a temporary site dir put first on PYTHONPATH.
"""

from __future__ import annotations

import importlib.machinery
import shutil
import subprocess
import textwrap
from pathlib import Path

FAKE_TORCH = """
__version__ = "2.13.0+cpu"


class _Cuda:
    @staticmethod
    def is_available():
        return False


cuda = _Cuda()
"""

# mmcv 2.x: mmcv/ops/__init__.py imports its ops, which load mmcv._ext through ext_loader.
MMCV_INIT = '__version__ = "{version}"\n'
MMCV_EXT_LOADER = """
import importlib


def load_ext(name, funcs):
    ext = importlib.import_module('mmcv.' + name)
    for fun in funcs:
        assert hasattr(ext, fun), f'{fun} miss in module {name}'
    return ext
"""
MMCV_OPS = """
from ..utils import ext_loader

ext_module = ext_loader.load_ext('_ext', ['nms', 'roi_align_forward'])


def nms(*args, **kwargs):
    raise NotImplementedError
"""

# mmdet 3.3.0's guard (mmdet/__init__.py), verbatim in spirit: mmcv >= 2.0.0rc4, < 2.2.0.
MMDET_INIT = """
import mmcv

__version__ = "{version}"
mmcv_minimum_version = '2.0.0rc4'
mmcv_maximum_version = '2.2.0'


def _v(text):
    return tuple(int(p) if p.isdigit() else -1 for p in text.replace('rc', '.').split('.'))


assert (_v(mmcv_minimum_version) <= _v(mmcv.__version__) < _v(mmcv_maximum_version)), \\
    f'MMCV=={{mmcv.__version__}} is used but incompatible. ' \\
    f'Please install mmcv>={{mmcv_minimum_version}}, <{{mmcv_maximum_version}}.'
"""
MMDET_APIS = """
from mmcv.ops import nms  # mmdet/structures/mask/structures.py imports mmcv.ops at import time


def init_detector(*args, **kwargs):
    raise NotImplementedError
"""

# mmocr 1.0.1's guard (mmocr/__init__.py): mmdet >= 3.0.0rc5, < 3.2.0.
MMOCR_INIT = """
import mmdet

__version__ = '1.0.1'
mmdet_minimum_version = '3.0.0rc5'
mmdet_maximum_version = '3.2.0'


def _v(text):
    return tuple(int(p) if p.isdigit() else -1 for p in text.replace('rc', '.').split('.'))


assert (_v(mmdet_minimum_version) <= _v(mmdet.__version__) < _v(mmdet_maximum_version)), \\
    f'MMDetection {mmdet.__version__} is incompatible with MMOCR {__version__}. ' \\
    f'Please use MMDetection >= {mmdet_minimum_version}, < {mmdet_maximum_version} instead.'
"""

# A C "extension" that calls a c10 function no installed torch exports: dlopen() fails the way an
# mmcv built against another torch does ("undefined symbol: _ZN3c10...").
MISSING_SYMBOL_C = """
extern void _ZN3c106detail23torchInternalAssertFailEPKcS2_jS2_RKSs(void);
void envcheck_fake_op(void) { _ZN3c106detail23torchInternalAssertFailEPKcS2_jS2_RKSs(); }
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def mmcv_files(version: str = "2.1.0") -> dict[str, str]:
    return {
        "mmcv/__init__.py": MMCV_INIT.format(version=version),
        "mmcv/utils/__init__.py": "",
        "mmcv/utils/ext_loader.py": MMCV_EXT_LOADER,
        "mmcv/ops/__init__.py": MMCV_OPS,
    }


def mmdet_files(version: str = "3.3.0") -> dict[str, str]:
    return {"mmdet/__init__.py": MMDET_INIT.format(version=version), "mmdet/apis/__init__.py": MMDET_APIS}


def compile_missing_symbol_ext(package_dir: Path) -> Path | None:
    """Build `<package_dir>/_ext<EXT_SUFFIX>` with the C compiler; None when there is no compiler."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        return None
    src = package_dir / "_fake_ext.c"
    src.write_text(MISSING_SYMBOL_C, encoding="utf-8")
    out = package_dir / ("_ext" + importlib.machinery.EXTENSION_SUFFIXES[0])
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(out), str(src)], check=True, capture_output=True, timeout=60)
    src.unlink()
    return out
