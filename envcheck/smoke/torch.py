"""torch: the device, a matmul and a conv on it (cuDNN on a GPU), a round trip, compute capability vs arch list."""

from __future__ import annotations

from envcheck.smoke.spec import SmokeCheck

SOURCE = r"""
OWN_DEVICE = True  # a cuda request without a GPU is this check's failure, not a skip


def check(ctx):
    with ctx.phase("import"):
        import torch
    req = ctx.requested
    if req.startswith("cuda") and not torch.cuda.is_available():
        # Asked for the GPU and torch has none: let torch itself say why (CPU build, no driver ...),
        # in its own words, which is what the diagnosis signatures know.
        ctx.device = req
        torch.zeros(1, device=req if ":" in req else "cuda:0")
        raise RuntimeError("%s requested, but torch.cuda.is_available() is False" % req)
    dev = ctx.resolve_device()
    gen = torch.Generator().manual_seed(0)
    facts = ["torch %s" % torch.__version__]
    if dev.startswith("cuda"):
        index = torch.device(dev).index or 0
        major, minor = torch.cuda.get_device_capability(index)
        name = torch.cuda.get_device_name(index)
        archs = torch.cuda.get_arch_list()
        sm = "sm_%d%d" % (major, minor)
        ptx_ok = [a for a in archs if a.startswith("compute_") and int(a.split("_")[1]) <= major * 10 + minor]
        same_major = [a for a in archs if a.startswith("sm_") and int(a[3:]) // 10 == major and int(a[3:]) <= major * 10 + minor]
        if sm not in archs and not same_major and not ptx_ok:
            raise RuntimeError(
                "%s with CUDA capability %s is not compatible with the current PyTorch installation. "
                "The current PyTorch install supports CUDA capabilities %s." % (name, sm, " ".join(archs)))
        facts.append("%s (%s, CUDA %s, cuDNN %s)" % (name, sm, torch.version.cuda, torch.backends.cudnn.version()))
    with ctx.phase("compute"):
        a = torch.randn(128, 96, generator=gen)
        b = torch.randn(96, 64, generator=gen)
        got = (a.to(dev) @ b.to(dev)).cpu()
        want = a.double() @ b.double()
        if not torch.allclose(got.double(), want, rtol=1e-2, atol=1e-2):
            raise AssertionError("matmul on %s differs from the CPU result (max error %g)"
                                 % (dev, (got.double() - want).abs().max().item()))
        conv = torch.nn.Conv2d(3, 8, 3, padding=1).eval()
        x = torch.randn(2, 3, 32, 32, generator=gen)
        with torch.no_grad():
            want = conv(x)
            if dev.startswith("cuda"):
                torch.backends.cudnn.enabled = True
                if not torch.backends.cudnn.is_available():
                    raise RuntimeError("cuDNN is not available to torch %s" % torch.__version__)
            got = conv.to(dev)(x.to(dev)).cpu()
        if not torch.allclose(got, want, rtol=1e-2, atol=1e-2):
            raise AssertionError("conv2d on %s differs from the CPU result" % dev)
        data = torch.arange(4096, dtype=torch.float32).reshape(64, 64)
        back = data.to(dev).mul(2).to("cpu").div(2)
        if not torch.equal(back, data):
            raise AssertionError("a tensor sent to %s and back came back changed" % dev)
        if dev.startswith("cuda"):
            torch.cuda.synchronize()
    return ", ".join(facts) + " · matmul, conv2d%s, round trip" % (" (cuDNN)" if dev.startswith("cuda") else "")
"""

CHECK = SmokeCheck(
    toolkit="torch",
    module="torch",
    dist="torch",
    what="the device, a matmul and a conv on it (cuDNN on a GPU), a round trip, compute capability vs arch list",
    source=SOURCE,
)
