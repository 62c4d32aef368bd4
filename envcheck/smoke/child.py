"""The child side's shared prelude (stdlib only) and the assembly of one check's program.

Everything in PRELUDE and in each toolkit's SOURCE runs inside the *target* interpreter with
`python -c`, so it is data here: never imported by envcheck, written for Python >= 3.7, and it
must not import anything the target may lack before the check itself asks for it.

Protocol: the child prints, as its last stdout line, MARKER followed by a JSON object
{"status", "device", "detail", "version", "error"}; anything else it (or the libraries) print
is the log. A child that dies before that line (a signal, os._exit, a timeout) is judged by the
parent from its exit status and output.
"""

from __future__ import annotations

import json
from typing import Any

from envcheck.smoke.spec import SmokeCheck

MARKER = "@@envcheck-smoke@@"

PRELUDE = r'''
import faulthandler, json, os, sys, time, traceback
faulthandler.enable()  # a segfault prints the Python stack to stderr before the process dies
_ARGS = json.loads(sys.argv[1])
if _ARGS.get("timeout"):
    # shortly before the parent kills a hung check, dump every thread's stack: the log shows where
    faulthandler.dump_traceback_later(max(1.0, float(_ARGS["timeout"]) - 2.0), exit=False)
_MARKER = "@@envcheck-smoke@@"


class Skip(Exception):
    """Raised by a check that cannot run here (no GPU for a GPU-only part ...)."""


def _block_network():
    """No downloads in a smoke check: refuse every non-local connection, loudly."""
    import socket
    original = socket.socket.connect
    original_ex = socket.socket.connect_ex

    def _local(sock, address):
        if getattr(socket, "AF_UNIX", None) is not None and sock.family == socket.AF_UNIX:
            return True
        host = address[0] if isinstance(address, tuple) and address else address
        return host in ("127.0.0.1", "::1", "localhost")

    def connect(sock, address):
        if _local(sock, address):
            return original(sock, address)
        raise OSError("envcheck smoke: network access is disabled in smoke checks (tried %r)" % (address,))

    def connect_ex(sock, address):
        if _local(sock, address):
            return original_ex(sock, address)
        raise OSError("envcheck smoke: network access is disabled in smoke checks (tried %r)" % (address,))

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex


class Ctx(object):
    """What a check gets: the requested device, timing of phases, notes for the detail line."""

    def __init__(self, requested):
        self.requested = requested
        self.device = None
        self.notes = []
        self.times = []

    def resolve_device(self):
        """cpu, or cuda:N when asked (auto: when torch sees a GPU). No GPU for a cuda request: skip."""
        if self.device is not None:
            return self.device
        import torch
        req = self.requested
        if req == "cpu":
            self.device = "cpu"
        elif req == "auto":
            self.device = "cuda:0" if torch.cuda.is_available() else "cpu"
        else:
            if not torch.cuda.is_available():
                raise Skip("%s requested, but torch sees no CUDA device (see the torch check)" % req)
            self.device = req if ":" in req else "cuda:0"
        return self.device

    def phase(self, name):
        ctx = self

        class _Phase(object):
            def __enter__(self):
                self.t0 = time.time()

            def __exit__(self, *exc):
                ctx.times.append("%s %.1f s" % (name, time.time() - self.t0))
                return False

        return _Phase()

    def note(self, text):
        self.notes.append(str(text))

    def progress(self, text):
        """What has passed so far, said to the parent at once: a crash after this line still reports it."""
        _emit({"status": "running", "device": self.device, "progress": str(text)})


def mim_config(package, relative):
    """The path of a config the installed package ships under <pkg>/.mim/configs (no download)."""
    import importlib
    module = importlib.import_module(package)
    root = os.path.join(os.path.dirname(os.path.abspath(module.__file__)), ".mim", "configs")
    path = os.path.join(root, relative)
    if not os.path.isfile(path):
        raise FileNotFoundError("%s ships no config %s (looked in %s)" % (package, relative, root))
    return path


_SYNC_BN = ("SyncBN", "MMSyncBN", "naiveSyncBN", "TorchSyncBN", "NaiveSyncBatchNorm2d")


def offline_model(node):
    """In place, over a config's model dict: no init_cfg, no pretrained, SyncBN -> BN."""
    if isinstance(node, dict):
        for key in list(node.keys()):
            if key in ("init_cfg", "pretrained"):
                node[key] = None
            elif key == "type" and node[key] in _SYNC_BN:
                node[key] = "BN"
            else:
                offline_model(node[key])
    elif isinstance(node, (list, tuple)):
        for item in node:
            offline_model(item)
    return node


def load_config(package, relative):
    from mmengine.config import Config
    cfg = Config.fromfile(mim_config(package, relative))
    offline_model(cfg.model)
    return cfg


def small_inputs(cfg, scale):
    """Resize steps of the test pipelines to `scale` (w, h): configs upscale to 1333x800 and more."""
    def walk(node):
        if isinstance(node, dict):
            if str(node.get("type", "")).split(".")[-1] == "Resize" and "scale" in node:
                node["scale"] = scale
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item)
    for key in ("test_pipeline", "test_dataloader"):
        if key in cfg:
            walk(cfg[key])
    return cfg


def random_image(height, width, seed=0):
    import numpy as np
    return np.random.RandomState(seed).randint(0, 256, (height, width, 3), dtype=np.uint8)


def _version(dist, module):
    try:
        from importlib.metadata import version
        try:
            return version(dist)
        except Exception:
            # a channel twin provides the module (onedl-mmdetection for mmdet): ask who owns it
            from importlib.metadata import packages_distributions
            owners = packages_distributions().get(module) or []
            return version(owners[0]) if owners else getattr(sys.modules.get(module), "__version__", None)
    except Exception:
        mod = sys.modules.get(module)
        return getattr(mod, "__version__", None)


def _emit(doc):
    sys.stdout.flush()
    sys.stderr.flush()
    sys.stdout.write("\n" + _MARKER + json.dumps(doc) + "\n")
    sys.stdout.flush()


def _run(check):
    import importlib.util
    module, dist = _ARGS["module"], _ARGS["dist"]
    ctx = Ctx(_ARGS.get("device", "auto"))
    doc = {"device": None, "version": None, "error": None}
    try:
        installed = importlib.util.find_spec(module) is not None
    except Exception:  # a broken parent package: let the check's import say why
        installed = True
    if not installed:
        doc.update(status="skip", detail="%s is not installed in %s" % (dist, sys.executable))
        _emit(doc)
        return
    _block_network()
    try:
        if not globals().get("OWN_DEVICE"):
            try:  # first, so that even an import failure says where it ran
                ctx.resolve_device()
            except ImportError:
                pass  # no torch: the check's own imports will say so
            else:  # and a crash too: the parent keeps the last device it heard of
                _emit({"status": "running", "device": ctx.device})
        detail = check(ctx)
    except Skip as exc:
        doc.update(status="skip", detail=str(exc))
    except BaseException as exc:  # SystemExit and KeyboardInterrupt too: a check must never just vanish
        traceback.print_exc()
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        if len(error) > 2000:
            error = error[:2000] + " ..."
        doc.update(status="fail", detail=error, error=error)
    else:
        parts = [p for p in [detail] + ctx.notes if p]
        if ctx.times:
            parts.append(", ".join(ctx.times))
        doc.update(status="pass", detail=" · ".join(parts))
    faulthandler.cancel_dump_traceback_later()
    doc["device"] = ctx.device
    doc["version"] = _version(dist, module)
    _emit(doc)
'''

EPILOGUE = "\n_run(check)\n"


def program(check: SmokeCheck) -> str:
    """The whole child program for one check: prelude, the toolkit's source, the call."""
    return PRELUDE + "\n" + check.source.strip("\n") + "\n" + EPILOGUE


def arguments(check: SmokeCheck, device: str, timeout: float) -> str:
    """The child's one argv argument (JSON): which module, which device, how long it has."""
    return json.dumps({"module": check.module, "dist": check.dist, "device": device, "timeout": timeout})


def parse_marker(stdout: str) -> dict[str, Any] | None:
    """The child's result object (its last MARKER line), or None when it died before printing it."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                doc = json.loads(line[len(MARKER) :])
            except ValueError:
                return None
            if isinstance(doc, dict) and doc.get("status") == "running":
                continue  # a progress line: the child died before its verdict
            return doc if isinstance(doc, dict) and doc.get("status") in ("pass", "fail", "skip") else None
    return None


def _last_marked(stdout: str, key: str) -> str | None:
    """The newest string `key` of the child's marker lines (progress lines included), or None."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                doc = json.loads(line[len(MARKER) :])
            except ValueError:
                continue
            if isinstance(doc, dict) and isinstance(doc.get(key), str):
                return str(doc[key])
    return None


def last_progress(stdout: str) -> str | None:
    """What a check that died had said it had passed (Ctx.progress), or None."""
    return _last_marked(stdout, "progress")


def last_device(stdout: str) -> str | None:
    """The device the child said it was running on, for a child that died before its result."""
    return _last_marked(stdout, "device")


def strip_marker(stdout: str) -> str:
    return "\n".join(line for line in stdout.splitlines() if not line.startswith(MARKER))
