"""mmseg: FCN-R18 from the config mmseg ships, random weights, through init_model/inference_model."""

from __future__ import annotations

from envcheck.smoke.spec import SmokeCheck

CONFIG = "fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py"  # every mmseg 1.x

SOURCE = r"""
def check(ctx):
    with ctx.phase("import"):
        import mmseg
        from mmseg.apis import inference_model, init_model
    dev = ctx.resolve_device()
    with ctx.phase("build"):
        cfg = load_config("mmseg", "fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py")  # SyncBN -> BN: init_model keeps SyncBN
        small_inputs(cfg, (128, 128))  # the config resizes to 2048x1024
        model = init_model(cfg, checkpoint=None, device=dev)
    with ctx.phase("infer"):
        result = inference_model(model, random_image(128, 128))
    shape = tuple(result.pred_sem_seg.data.shape)
    return "mmseg %s · FCN-R18 on %s: a %s label map" % (mmseg.__version__, dev, "x".join(map(str, shape)))
"""

CHECK = SmokeCheck(
    toolkit="mmseg",
    module="mmseg",
    dist="mmsegmentation",
    what=f"{CONFIG} with random weights through init_model + inference_model",
    source=SOURCE,
)
