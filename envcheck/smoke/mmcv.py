"""mmcv: compiled ops present; nms, roi_align, a rotated and a deformable op on CPU and on the device."""

from __future__ import annotations

from envcheck.smoke.spec import SmokeCheck

SOURCE = r'''
def _ops_on(device, torch, ops):
    """Run the ops on `device`; return their outputs (moved to the CPU) to compare across devices."""
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(64, 2, generator=gen) * 200
    wh = torch.rand(64, 2, generator=gen) * 60 + 4
    boxes = torch.cat([xy, xy + wh], 1)
    scores = torch.rand(64, generator=gen)
    out = {}
    dets, keep = ops.nms(boxes.to(device), scores.to(device), 0.5)
    out["nms"] = keep.cpu().sort()[0]
    feat = torch.rand(1, 4, 32, 32, generator=gen)
    rois = torch.tensor([[0, 2.0, 2.0, 20.0, 24.0], [0, 8.0, 4.0, 30.0, 30.0]])
    out["roi_align"] = ops.roi_align(feat.to(device), rois.to(device), (7, 7), 1.0, 2, "avg", True).cpu()
    rboxes = torch.cat([xy + wh / 2, wh, (torch.rand(64, 1, generator=gen) - 0.5) * 3.0], 1)
    _, rkeep = ops.nms_rotated(rboxes.to(device), scores.to(device), 0.5)
    out["nms_rotated"] = rkeep.cpu().sort()[0]
    conv = ops.DeformConv2d(4, 4, 3, padding=1).eval()
    offset = (torch.rand(1, 18, 32, 32, generator=gen) - 0.5) * 2
    try:
        with torch.no_grad():
            out["deform_conv"] = conv.to(device)(feat.to(device), offset.to(device)).cpu()
    except (RuntimeError, NotImplementedError) as exc:
        if device != "cpu" or "implementation for device" not in str(exc).lower() and "not implemented" not in str(exc).lower():
            raise
        out["deform_conv"] = None  # this mmcv has no CPU kernel for it: the GPU run covers it
    return out


def check(ctx):
    with ctx.phase("import"):
        import torch
        import mmcv
        from mmcv import ops  # fails here when the compiled ops (mmcv._ext) are missing or built for another torch
    dev = ctx.resolve_device()
    with ctx.phase("ops"):
        cpu = _ops_on("cpu", torch, ops)
        ran = [k for k, v in cpu.items() if v is not None]
        where = "cpu"
        if dev != "cpu":
            gpu = _ops_on(dev, torch, ops)
            for name, value in gpu.items():
                ref = cpu.get(name)
                if value is None or ref is None:
                    continue
                same = torch.equal(value, ref) if value.dtype in (torch.int64, torch.int32) else torch.allclose(value, ref, atol=1e-3, rtol=1e-3)
                if not same:
                    raise AssertionError("mmcv.ops.%s on %s disagrees with the CPU result" % (name, dev))
            ran = [k for k, v in gpu.items() if v is not None]
            where = "cpu + " + dev
    # mmcv's own info calls last: they are what mmcv's collect_env runs, and they have crashed where the
    # ops themselves work (a SIGSEGV in get_compiling_cuda_version, mmcv 2.1.0 on torch 2.11+cu130, H200)
    ctx.progress("%s passed on %s; then mmcv.ops.get_compiling_cuda_version()" % (", ".join(ran), where))
    try:
        built_cuda = ops.get_compiling_cuda_version()
    except Exception as exc:
        built_cuda = "unknown (%s)" % exc
    try:
        compiler = ops.get_compiler_version()
    except Exception:
        compiler = "?"
    if dev != "cpu" and torch.version.cuda and built_cuda.split(".")[0] != torch.version.cuda.split(".")[0]:
        ctx.note("ops built with CUDA %s, torch runs CUDA %s" % (built_cuda, torch.version.cuda))
    return "mmcv %s · %s on %s · ops built with CUDA %s, %s" % (
        mmcv.__version__, ", ".join(ran), where, built_cuda, compiler)
'''

CHECK = SmokeCheck(
    toolkit="mmcv",
    module="mmcv",
    dist="mmcv",
    what="compiled ops load; nms, roi_align, nms_rotated, DeformConv2d on CPU and on the device; their CUDA",
    source=SOURCE,
)
