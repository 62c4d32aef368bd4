"""mmpose: a top-down ResNet heatmap model from the config mmpose ships, through init_model/inference_topdown."""

from __future__ import annotations

from envcheck.smoke.spec import SmokeCheck

CONFIG = "body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py"  # mmpose 1.0.0b0+

SOURCE = r"""
def check(ctx):
    with ctx.phase("import"):
        import mmpose
        from mmpose.apis import inference_topdown, init_model
        import numpy as np
    dev = ctx.resolve_device()
    with ctx.phase("build"):
        cfg = load_config("mmpose", "body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_8xb64-210e_coco-256x192.py")
        model = init_model(cfg, checkpoint=None, device=dev)
    with ctx.phase("infer"):
        box = np.array([[16, 16, 176, 240]], dtype=np.float32)
        results = inference_topdown(model, random_image(256, 192), bboxes=box)
    keypoints = results[0].pred_instances.keypoints
    return "mmpose %s · top-down ResNet-50 on %s: %s keypoints for one box" % (
        mmpose.__version__, dev, "x".join(map(str, keypoints.shape)))
"""

CHECK = SmokeCheck(
    toolkit="mmpose",
    module="mmpose",
    dist="mmpose",
    what=f"{CONFIG} with random weights through init_model + inference_topdown on one box",
    source=SOURCE,
)
