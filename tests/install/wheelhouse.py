"""A local wheelhouse of tiny generated packages named like the real ones, for real pip in real venvs.

Each wheel is a proper one (WHEEL, METADATA, RECORD with sha256 hashes), small enough that pip
installs it in milliseconds. mmdet and mmsegmentation carry their real import-time version
guards; mmcv carries a fake compiled `_ext` (mmcv-lite and mmcv 2.0.1 do not); xtcocotools is
corrupt half-way through (pip dies while writing it, after it has upgraded setuptools for it, as
the real xtcocotools wheel pulls setuptools); chumpy is an sdist whose setup.py sleeps, for
interrupting a step while it runs.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

DIGIT_VERSION = '''
import re


def digit_version(version_str, length=4):
    """mmengine.utils.digit_version, reduced: release numbers, rc below final."""
    main, _, pre = version_str.partition("rc")
    nums = [int(x) for x in re.findall(r"\\d+", main)][:3]
    nums += [0] * (3 - len(nums))
    rc = [-1, int(pre or 0)] if pre else [0, 0]
    return tuple(nums + rc)
'''

MMDET_GUARD = """# Copyright (c) OpenMMLab. All rights reserved.
import mmcv
import mmengine
from mmengine.utils import digit_version

from .version import __version__, version_info

mmcv_minimum_version = '2.0.0rc4'
mmcv_maximum_version = '{mmcv_max}'
mmcv_version = digit_version(mmcv.__version__)

mmengine_minimum_version = '0.7.1'
mmengine_maximum_version = '1.0.0'
mmengine_version = digit_version(mmengine.__version__)

assert (mmcv_version >= digit_version(mmcv_minimum_version)
        and mmcv_version < digit_version(mmcv_maximum_version)), \\
    f'MMCV=={{mmcv.__version__}} is used but incompatible. ' \\
    f'Please install mmcv>={{mmcv_minimum_version}}, <{{mmcv_maximum_version}}.'

assert (mmengine_version >= digit_version(mmengine_minimum_version)
        and mmengine_version < digit_version(mmengine_maximum_version)), \\
    f'MMEngine=={{mmengine.__version__}} is used but incompatible. ' \\
    f'Please install mmengine>={{mmengine_minimum_version}}, ' \\
    f'<{{mmengine_maximum_version}}.'

__all__ = ['__version__', 'version_info', 'digit_version']
"""

MMSEG_GUARD = """# Copyright (c) OpenMMLab. All rights reserved.
import warnings

import mmcv
import mmengine
from mmengine.utils import digit_version

import ftfy  # noqa: F401  mmseg imports it (through its text encoders) without declaring it
import regex  # noqa: F401

from .version import __version__, version_info

MMCV_MIN = '2.0.0rc4'
MMCV_MAX = '2.2.0'
MMENGINE_MIN = '0.5.0'
MMENGINE_MAX = '1.0.0'

mmcv_version = digit_version(mmcv.__version__)
assert (digit_version(MMCV_MIN) <= mmcv_version < digit_version(MMCV_MAX)), \\
    f'MMCV=={mmcv.__version__} is used but incompatible. ' \\
    f'Please install mmcv>=2.0.0rc4.'
"""

TORCH_VERSION_PY = """from typing import Optional

__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip', 'xpu']
__version__ = '{version}'
debug = False
cuda: Optional[str] = None
git_version = '0123456789abcdef0123456789abcdef01234567'
hip: Optional[str] = None
xpu: Optional[str] = None
"""


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(
    dest: Path,
    name: str,
    version: str,
    files: dict[str, str | bytes],
    requires: tuple[str, ...] = (),
    corrupt: str | None = None,
    entry_points: dict[str, str] | None = None,
) -> Path:
    """A py3-none-any wheel; `corrupt` names a member whose stored bytes get flipped (bad CRC-32)."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires
    )
    members: dict[str, bytes] = {p: (c.encode() if isinstance(c, str) else c) for p, c in files.items()}
    members[f"{info}/METADATA"] = meta.encode()
    if entry_points:
        members[f"{info}/entry_points.txt"] = (
            "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items())
        ).encode()
    members[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: envcheck-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "\n".join([*(_record_line(p, d) for p, d in members.items()), f"{info}/RECORD,,"]) + "\n"
    members[f"{info}/RECORD"] = record.encode()
    path = dest / f"{dist}-{version}-py3-none-any.whl"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for p, d in members.items():
            zf.writestr(p, d)
    raw = bytearray(buf.getvalue())
    if corrupt is not None:
        data = members[corrupt]
        at = raw.find(data)
        raw[at] ^= 0xFF  # stored, so this is the file's content: its CRC-32 no longer matches
    path.write_bytes(bytes(raw))
    return path


def build_sdist(dest: Path, name: str, version: str, setup_py: str) -> Path:
    base = f"{name}-{version}"
    path = dest / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for rel, text in (
            ("setup.py", setup_py),
            ("PKG-INFO", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"),
        ):
            data = text.encode()
            ti = tarfile.TarInfo(f"{base}/{rel}")
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return path


def _mmcv(dest: Path, dist: str, version: str, ops: bool) -> Path:
    files: dict[str, str | bytes] = {
        "mmcv/__init__.py": "from .version import __version__\n",
        "mmcv/version.py": f"__version__ = '{version}'\nversion_info = tuple(__version__.split('.'))\n",
        "mmcv/ops/__init__.py": "from mmcv import _ext_check  # noqa: F401\n" if ops else "from mmcv import _ext\n",
    }
    if ops:
        files["mmcv/_ext_check.py"] = (
            "import os\nassert os.path.exists(os.path.join(os.path.dirname(__file__), '_ext.so'))\n"
        )
        files["mmcv/_ext.so"] = b"\x7fELF fake compiled ops for tests"
    return build_wheel(dest, dist, version, files, requires=("mmengine>=0.3.0",))


def _toolkit(dest: Path, dist: str, module: str, version: str, init: str) -> Path:
    return build_wheel(dest, dist, version, {
        f"{module}/__init__.py": init,
        f"{module}/version.py": f"__version__ = '{version}'\nversion_info = tuple(__version__.split('.'))\n",
    })  # fmt: skip


def _simple(dest: Path, name: str, version: str, requires: tuple[str, ...] = ()) -> Path:
    module = name.replace("-", "_")
    return build_wheel(dest, name, version, {f"{module}/__init__.py": f"__version__ = '{version}'\n"}, requires)


def build_wheelhouse(dest: Path) -> Path:
    """Every package the tests install, in one --find-links directory."""
    dest.mkdir(parents=True, exist_ok=True)
    for v in ("2.13.0+cpu",):
        build_wheel(dest, "torch", v, {
            "torch/__init__.py": "from .version import __version__\n",
            "torch/version.py": TORCH_VERSION_PY.format(version=v),
        })  # fmt: skip
    _mmcv(dest, "mmcv", "2.1.0", ops=True)
    _mmcv(dest, "mmcv", "2.2.0", ops=True)
    _mmcv(dest, "mmcv", "2.0.1", ops=False)  # "built" without its ops: a build that must count as failed
    _mmcv(dest, "mmcv-lite", "2.1.0", ops=False)
    for v in ("0.10.6", "0.10.7"):
        build_wheel(dest, "mmengine", v, {
            "mmengine/__init__.py": f"__version__ = '{v}'\n\n\ndef main():\n    print(__version__)\n",
            "mmengine/utils/__init__.py": DIGIT_VERSION,
            "mmengine/marker.txt": f"mmengine {v}\n",
        }, entry_points={"mmengine-version": "mmengine:main"})  # fmt: skip
    _toolkit(dest, "mmdet", "mmdet", "3.3.0", MMDET_GUARD.format(mmcv_max="2.2.0"))
    _toolkit(dest, "mmdet", "mmdet", "3.2.0", MMDET_GUARD.format(mmcv_max="2.2.0"))
    _toolkit(dest, "mmsegmentation", "mmseg", "1.2.2", MMSEG_GUARD)
    for name, v in (("ftfy", "6.3.1"), ("regex", "2024.11.6"), ("wheel", "0.45.1"), ("ninja", "1.13.0"),
                    ("psutil", "7.1.3"), ("addict", "2.4.0")):  # fmt: skip
        _simple(dest, name, v)
    _simple(dest, "setuptools", "84.2.1")  # what xtcocotools' `setuptools>=18`-style pull upgrades to
    build_wheel(dest, "xtcocotools", "1.14.3", {
        "xtcocotools/__init__.py": "",
        "xtcocotools/coco.py": "# " + "x" * 4000 + "\n",
        "xtcocotools/mask.py": "# the member pip dies on\n" + "y" * 4000 + "\n",
    }, requires=("setuptools>=70",), corrupt="xtcocotools/mask.py")  # fmt: skip
    build_sdist(
        dest,
        "chumpy",
        "0.70",
        "import time\ntime.sleep(120)\nfrom setuptools import setup\nsetup(name='chumpy', version='0.70')\n",
    )
    return dest
