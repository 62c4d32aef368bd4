"""mmdet: RetinaNet-R18 from the config mmdet ships, random weights, through init_detector/inference_detector."""

from __future__ import annotations

from envcheck.smoke.spec import SmokeCheck

CONFIG = "retinanet/retinanet_r18_fpn_1x_coco.py"  # every mmdet 3.x (and 2.28); BN; one small backbone

SOURCE = r"""
def check(ctx):
    with ctx.phase("import"):
        import mmdet
        from mmdet.apis import inference_detector, init_detector
    dev = ctx.resolve_device()
    with ctx.phase("build"):
        cfg = load_config("mmdet", "retinanet/retinanet_r18_fpn_1x_coco.py")
        # random weights score every anchor near 0.5: keep the post-processing small
        cfg.model.test_cfg.nms_pre = 200
        cfg.model.test_cfg.max_per_img = 50
        small_inputs(cfg, (320, 256))  # the config upscales to 1333x800
        model = init_detector(cfg, checkpoint=None, device=dev)
    with ctx.phase("infer"):
        result = inference_detector(model, random_image(256, 320))
    boxes = getattr(getattr(result, "pred_instances", None), "bboxes", None)
    count = len(boxes) if boxes is not None else sum(len(r) for r in result)
    return "mmdet %s · RetinaNet-R18 on %s: %d boxes from a 320x256 image" % (mmdet.__version__, dev, count)
"""

CHECK = SmokeCheck(
    toolkit="mmdet",
    module="mmdet",
    dist="mmdet",
    what=f"{CONFIG} with random weights through init_detector + inference_detector",
    source=SOURCE,
)
