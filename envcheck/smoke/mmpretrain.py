"""mmpretrain: ResNet-18 from the config mmpretrain ships, get_model(pretrained=False) and one forward pass."""

from __future__ import annotations

from envcheck.smoke.spec import SmokeCheck

CONFIG = "resnet/resnet18_8xb32_in1k.py"  # every mmcls / mmpretrain release; no pretrained URL

SOURCE = r"""
def check(ctx):
    with ctx.phase("import"):
        import torch
        import mmpretrain
        from mmpretrain import get_model
    dev = ctx.resolve_device()
    with ctx.phase("build"):
        # the path, not the name: a name resolves metafile weights; pretrained=False keeps them away
        model = get_model(mim_config("mmpretrain", "resnet/resnet18_8xb32_in1k.py"), pretrained=False, device=dev)
        model.eval()
    with ctx.phase("infer"):
        inputs = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)).to(dev)
        with torch.no_grad():
            scores = model(inputs, mode="tensor")
        if isinstance(scores, (tuple, list)):
            scores = scores[-1]
    return "mmpretrain %s · ResNet-18 on %s: scores %s" % (
        mmpretrain.__version__, dev, "x".join(map(str, scores.shape)))
"""

CHECK = SmokeCheck(
    toolkit="mmpretrain",
    module="mmpretrain",
    dist="mmpretrain",
    what=f"{CONFIG} through get_model(..., pretrained=False) and a forward pass",
    source=SOURCE,
)
