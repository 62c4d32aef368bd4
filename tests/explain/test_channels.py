"""explain knows the fork's trap: onedl-mmcv built under build isolation has no ops (#14 item 7)."""

from __future__ import annotations

from envcheck.explain.diagnose import diagnose
from envcheck.matrix import load_matrix

# The lines pip printed here (2026-12-02, CPU) for `pip wheel onedl-mmcv==2.3.6` with default isolation,
# then the install that reused the cached ops-less wheel.
LOG = """\
Building wheels for collected packages: onedl-mmcv
  Building wheel for onedl-mmcv (pyproject.toml) ... started
  Skip building ext ops due to the absence of torch.
  Created wheel for onedl-mmcv: filename=onedl_mmcv-2.3.6-py3-none-any.whl size=766012
Successfully built onedl-mmcv
Processing ./onedl_mmcv-2.3.6-py3-none-any.whl
Using cached onedl_mmcv-2.3.6-py3-none-any.whl
Traceback (most recent call last):
  File "<string>", line 1, in <module>
ModuleNotFoundError: No module named 'mmcv._ext'
"""


def test_the_ops_less_fork_build_is_named_with_the_no_isolation_fix() -> None:
    found = diagnose(LOG, None, matrix=load_matrix())
    top = found[0]
    assert top.code == "mmcv-ops-missing"
    assert "onedl-mmcv" in top.title
    assert any("--no-build-isolation --no-cache-dir" in step for step in top.fix)
