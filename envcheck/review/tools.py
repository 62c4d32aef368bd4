"""What the install tools themselves do to an environment (mim, its dependencies, pip, setuptools).

The version thresholds live with the doctor (envcheck.doctor.tooling); this module only adds what
installing the tools brings along, each with its source.
"""

from __future__ import annotations

from envcheck.doctor.tooling import IMPIMPORTER_FIXED as _IMP
from envcheck.doctor.tooling import MIM_EXTRAS_BROKEN as _MIM
from envcheck.doctor.tooling import PKG_RESOURCES_REMOVED as _PKG

PKG_RESOURCES_REMOVED = str(_PKG)
IMPIMPORTER_FIXED = str(_IMP)
MIM_EXTRAS_BROKEN = str(_MIM)

TOOLS_SOURCE = "envcheck:reference/upstream/mim_logic.md §4"
# openmim 0.3.9 is the newest on PyPI (0.3.10 was never uploaded): mim_logic.md §0.
MIM_VERSION = "0.3.9"
# openmim 0.3.9 -> opendatalab 0.0.10 -> openxlab 0.1.3, which requires setuptools~=60.2.0 (read from
# its wheel METADATA, mim_logic.md §4; seen on Colab in open-mmlab/mmcv#3132: "you have setuptools 60.2.0").
OPENXLAB_SETUPTOOLS = "60.2.0"
# What an unpinned `pip install -U setuptools` / `-U pip` gets today: a setuptools without pkg_resources
# (>= 82, 2026-02-08) and a pip in the range that drops mim's extras (>= 24.1). The exact newest
# release does not matter to any rule, only the side of those thresholds it is on.
NEWEST_SETUPTOOLS = PKG_RESOURCES_REMOVED + ".0.0"
PIP_NEWEST = "25.3"
# pip < 25.3 builds a project without pyproject.toml (mmcv, mmcv-full) with the legacy `setup.py
# bdist_wheel` when setuptools and wheel are importable: no isolation, the environment's own setuptools
# and torch. pip 25.3 (2025-10-24) removed that path: every build is PEP 517, isolated unless
# --no-build-isolation (pypa/pip#6334; pip 25.3 changelog).
LEGACY_BUILD_REMOVED = "25.3"
LEGACY_BUILD_SOURCE = "https://github.com/pypa/pip/issues/6334 (removed in pip 25.3, 2025-10-24)"
# Colab's image has wheel installed: its mmcv builds run "Building wheel for mmcv-full (setup.py)", the
# legacy path (open-mmlab/mmdetection#6909, open-mmlab/mmcv#3132).
CONTEXTS_WITH_WHEEL = ("colab",)
# What an unpinned numpy resolves to today, by CPython minor: measured here 2026-12-02 (`pip install
# openmim` in a fresh Python 3.11 venv on glibc 2.36 pulled numpy 2.4.6 through pandas; `pip download numpy
# --python-version 3.9/3.10 --only-binary :all:` gave 2.0.2 and 2.2.6). Pythons not listed: matrices/numpy.toml.
NEWEST_NUMPY = {"3.9": "2.0.2", "3.10": "2.2.6", "3.11": "2.4.6", "3.12": "2.4.6", "3.13": "2.4.6"}
