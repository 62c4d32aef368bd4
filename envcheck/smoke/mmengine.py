"""mmengine: a Config round trip; a checkpoint saved and loaded back by mmengine (torch >= 2.6 weights_only)."""

from __future__ import annotations

from envcheck.smoke.spec import SmokeCheck

SOURCE = r"""
def check(ctx):
    with ctx.phase("import"):
        import numpy as np
        import torch
        import mmengine
        from mmengine.config import Config
        from mmengine.logging import MessageHub
        from mmengine.runner import load_checkpoint, save_checkpoint
    dev = ctx.resolve_device()
    with ctx.phase("config"):
        source = dict(
            model=dict(type="ToyNet", depth=18, norm_cfg=dict(type="BN", requires_grad=True), widths=[16, 32]),
            optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
            classes=("cat", "dog"),
        )
        cfg = Config(source)
        for suffix in (".py", ".json", ".yaml"):
            path = os.path.abspath("smoke_config" + suffix)
            cfg.dump(path)
            back = Config.fromfile(path).to_dict()
            if back["model"] != cfg.to_dict()["model"] or list(back["classes"]) != ["cat", "dog"]:
                raise AssertionError("Config did not survive a %s round trip: %r" % (suffix, back))
    with ctx.phase("checkpoint"):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU()).to(dev)
        hub = MessageHub.get_instance("envcheck-smoke")
        hub.update_scalar("train/loss", 0.5)
        hub.update_scalar("train/loss", np.float32(0.25))
        hub.update_info("iter", 10)
        # What mmengine's Runner writes: meta with the config text and numpy values, the message hub
        # (HistoryBuffer objects) and optimizer state: exactly what torch >= 2.6's weights_only rejects.
        checkpoint = {
            "meta": {"epoch": 1, "iter": 10, "cfg": cfg.pretty_text, "seed": np.int64(0),
                     "mmengine_version": mmengine.__version__, "dataset_meta": {"classes": ("cat", "dog")}},
            "state_dict": model.state_dict(),
            "message_hub": hub.state_dict(),
            "optimizer": torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9).state_dict(),
        }
        path = os.path.abspath("smoke_checkpoint.pth")
        save_checkpoint(checkpoint, path)
        fresh = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.ReLU()).to(dev)
        loaded = load_checkpoint(fresh, path, map_location=dev)
        for (name, want), got in zip(model.state_dict().items(), fresh.state_dict().values()):
            if not torch.equal(want.cpu(), got.cpu()):
                raise AssertionError("checkpoint round trip changed %s" % name)
        if "message_hub" not in loaded or loaded["meta"]["iter"] != 10:
            raise AssertionError("the loaded checkpoint lost its meta / message_hub")
    if os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "").lower() in ("1", "true", "yes", "y", "on"):
        ctx.note("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD is set: torch.load does not default to weights_only")
    return "mmengine %s · Config .py/.json/.yaml round trip · Runner-style checkpoint saved and loaded on %s" % (
        mmengine.__version__, dev)
"""

CHECK = SmokeCheck(
    toolkit="mmengine",
    module="mmengine",
    dist="mmengine",
    what="a Config round trip; a Runner-style checkpoint saved and loaded back with mmengine (weights_only)",
    source=SOURCE,
)
