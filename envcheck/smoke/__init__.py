"""Smoke checks: one real, small inference per installed toolkit, each in its own child process."""

from __future__ import annotations

from envcheck.smoke import mmcv, mmdeploy, mmdet, mmengine, mmocr, mmpose, mmpretrain, mmseg, torch
from envcheck.smoke.result import SmokeResult
from envcheck.smoke.spec import SmokeCheck

# The order they run in: the foundations first, so their failures read first.
CHECKS: dict[str, SmokeCheck] = {
    c.toolkit: c
    for c in (
        torch.CHECK,
        mmcv.CHECK,
        mmengine.CHECK,
        mmdet.CHECK,
        mmseg.CHECK,
        mmpose.CHECK,
        mmocr.CHECK,
        mmpretrain.CHECK,
        mmdeploy.CHECK,
    )
}
ALIASES = {
    "mmsegmentation": "mmseg", "pytorch": "torch", "mmcv-full": "mmcv", "mmcv-lite": "mmcv",
    # the OneDL fork's distributions (matrices/channels.toml) provide the same modules, so the same checks
    "onedl-mmcv": "mmcv", "onedl-mmengine": "mmengine", "onedl-mmdetection": "mmdet",
    "onedl-mmsegmentation": "mmseg", "onedl-mmpretrain": "mmpretrain",
}  # fmt: skip

__all__ = ["ALIASES", "CHECKS", "SmokeCheck", "SmokeResult"]
