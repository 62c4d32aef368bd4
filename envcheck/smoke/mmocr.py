"""mmocr: DBNet-R18 and CRNN from the configs mmocr ships, weights=None, through their inferencers."""

from __future__ import annotations

from envcheck.smoke.spec import SmokeCheck

DET = "textdet/dbnet/dbnet_resnet18_fpnc_1200e_icdar2015.py"
REC = "textrecog/crnn/crnn_mini-vgg_5e_mj.py"

SOURCE = r"""
def check(ctx):
    with ctx.phase("import"):
        import mmocr
        from mmocr.apis import TextDetInferencer, TextRecInferencer
    dev = ctx.resolve_device()
    # A config *path* with weights=None builds random weights; a model *name* would download them.
    with ctx.phase("build"):
        det_cfg = load_config("mmocr", "textdet/dbnet/dbnet_resnet18_fpnc_1200e_icdar2015.py")
        small_inputs(det_cfg, (160, 160))  # the config resizes to 4068x1024
        rec_cfg = load_config("mmocr", "textrecog/crnn/crnn_mini-vgg_5e_mj.py")
        det = TextDetInferencer(model=det_cfg, weights=None, device=dev)
        rec = TextRecInferencer(model=rec_cfg, weights=None, device=dev)
    with ctx.phase("infer"):
        found = det(random_image(128, 128), return_vis=False)["predictions"][0]
        read = rec(random_image(32, 100, seed=1), return_vis=False)["predictions"][0]
    return "mmocr %s · DBNet-R18 on %s: %d polygons · CRNN: %r (score %.2f)" % (
        mmocr.__version__, dev, len(found["polygons"]), read["text"][:12], float(read["scores"]))
"""

CHECK = SmokeCheck(
    toolkit="mmocr",
    module="mmocr",
    dist="mmocr",
    what=f"{DET} + {REC}, weights=None, through TextDetInferencer + TextRecInferencer",
    source=SOURCE,
)
