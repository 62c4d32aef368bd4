"""mmdeploy: export the small mmdet model to ONNX with torch2onnx, run it in onnxruntime with mmdeploy's ops."""

from __future__ import annotations

from envcheck.smoke.spec import SmokeCheck

SOURCE = r'''
def _torchscript_exporter(torch):
    """torch >= 2.9 exports with dynamo by default; mmdeploy's rewriters need the TorchScript exporter."""
    from packaging.version import Version
    if Version(torch.__version__.split("+")[0]) < Version("2.9"):
        return False
    original = torch.onnx.export

    def export(*args, **kwargs):
        kwargs.setdefault("dynamo", False)
        return original(*args, **kwargs)

    torch.onnx.export = export
    return True


def check(ctx):
    with ctx.phase("import"):
        import numpy as np
        import torch
        import onnxruntime as ort
        import mmdeploy
        from mmengine.config import Config
        from mmdeploy.apis import torch2onnx
        from mmdeploy.backend.onnxruntime.init_plugins import get_ops_path
    dev = ctx.resolve_device()
    forced = _torchscript_exporter(torch)
    ops_path = get_ops_path()
    if not ops_path or not os.path.exists(ops_path):
        raise FileNotFoundError("mmdeploy's ONNX Runtime custom ops library libmmdeploy_onnxruntime_ops.so was not found "
                                "(get_ops_path() returned %r)" % (ops_path,))
    model_cfg = load_config("mmdet", "retinanet/retinanet_r18_fpn_1x_coco.py")
    model_cfg.model.test_cfg.nms_pre = 200
    # mmdeploy's wheel ships no deploy configs: this is configs/mmdet/detection/detection_onnxruntime_static.py inline
    deploy_cfg = Config(dict(
        onnx_config=dict(type="onnx", export_params=True, keep_initializers_as_inputs=False, opset_version=11,
                         save_file="end2end.onnx", input_names=["input"], output_names=["dets", "labels"],
                         input_shape=[320, 256], optimize=True),
        codebase_config=dict(type="mmdet", task="ObjectDetection", model_type="end2end",
                             post_processing=dict(score_threshold=0.05, confidence_threshold=0.005, iou_threshold=0.5,
                                                  max_output_boxes_per_class=200, pre_top_k=1000, keep_top_k=100,
                                                  background_label_id=-1)),
        backend_config=dict(type="onnxruntime"),
    ))
    work = os.path.abspath("mmdeploy-work")
    with ctx.phase("export"):
        torch2onnx(random_image(256, 320), work, "end2end.onnx", deploy_cfg, model_cfg, model_checkpoint=None, device=dev)
    onnx_file = os.path.join(work, "end2end.onnx")
    with ctx.phase("onnxruntime"):
        options = ort.SessionOptions()
        options.register_custom_ops_library(ops_path)
        providers = ["CPUExecutionProvider"]
        if dev.startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        session = ort.InferenceSession(onnx_file, options, providers=providers)
        image = np.random.RandomState(0).rand(1, 3, 256, 320).astype(np.float32)
        dets, labels = session.run(["dets", "labels"], {"input": image})
    return "mmdeploy %s · RetinaNet-R18 -> ONNX%s -> onnxruntime %s (%s) with %s: dets %s" % (
        mmdeploy.__version__, " (TorchScript exporter forced)" if forced else "", ort.__version__,
        session.get_providers()[0], os.path.basename(ops_path), "x".join(map(str, dets.shape)))
'''

CHECK = SmokeCheck(
    toolkit="mmdeploy",
    module="mmdeploy",
    dist="mmdeploy",
    what="RetinaNet-R18 exported by torch2onnx (inline deploy config), run in onnxruntime with mmdeploy's custom ops",
    source=SOURCE,
)
