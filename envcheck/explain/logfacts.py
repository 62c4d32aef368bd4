"""LogFacts: versions and machine facts that a log itself gives away (pip output, paths, collect_env)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from packaging.utils import canonicalize_name

from envcheck.explain.logtext import LogText

_KNOWN = (
    "torch|torchvision|pytorch|mmcv|mmcv-full|mmcv_full|mmcv-lite|mmengine|mmdet|mmsegmentation|mmpose|"
    "mmocr|mmpretrain|mmcls|mmdeploy|mmdeploy-runtime|mmdeploy-runtime-gpu|mmtrack|mmrotate|mmyolo|"
    "mmdet3d|mmaction2|mmagic|mmedit|numpy|setuptools|pip|opencv-python|opencv-python-headless|"
    "onnxruntime|onnxruntime-gpu|yapf|cython|xtcocotools|pycocotools|mmpycocotools|openmim"
)
_VERSION = r"\d+(?:\.\d+)*(?:(?:a|b|rc|\.post|\.dev)\d+)*(?:\+[\w.]+)?"
_ROW = re.compile(rf"^\s*(?P<name>{_KNOWN})\s+(?P<version>{_VERSION})(?:\s+\S+)*\s*$", re.IGNORECASE)
_INSTALLED = re.compile(r"Successfully installed (?P<rest>.+)", re.IGNORECASE)
_SATISFIED = re.compile(
    r"Requirement already satisfied: (?P<name>[\w.\-]+)(?:[<>=!~][^ ]*)? in (?P<path>\S+)"
    rf"(?: \(from [^)]*\))? \((?P<version>{_VERSION})\)",
    re.IGNORECASE,
)
_ARCHIVE = re.compile(
    r"(?:Using cached|Downloading|Processing|Obtaining|Collecting)\s+(?:\S*/)?"
    rf"(?P<name>[A-Za-z][\w.]*?(?:[-_][A-Za-z]\w*)*)-(?P<version>{_VERSION})"
    r"(?:-(?P<tag>cp\d+|py\d)\S*\.whl|\.tar\.gz|\.zip)",
    re.IGNORECASE,
)
_SITE = re.compile(r"python(?P<py>[23]\.\d+)[/\\](?:site|dist)-packages", re.IGNORECASE)
_CPYTHON = re.compile(r"(?:cpython-|\bcp)(?P<py>3\d{1,2})(?:m|-|\b)", re.IGNORECASE)
_FIELDS = (
    r"PyTorch|PyTorch version|TorchVision|MMCV|MMEngine|MMDetection|MMCV CUDA Compiler|NVCC|Python|"
    r"Python version|GPU[\s\d,]*|sys\.platform|CUDA used to build PyTorch"
)
# collect_env output, one field a line ("PyTorch: 1.8.0+cu111") or as a dict ("'PyTorch': '1.13.0'").
_ENV = re.compile(rf"^\W*(?P<field>{_FIELDS})\W*:\s*\W?(?P<value>[^'\"\n]+)", re.IGNORECASE)
_ENV_DICT = re.compile(rf"'(?P<field>{_FIELDS})': '(?P<value>[^']*)'", re.IGNORECASE)
_ENV_KEYS = ("pytorch", "torchvision:", "mmcv:", "mmengine:", "mmdetection:", "python:", "python version",
             "gpu ", "sys.platform", "cuda used to build")  # fmt: skip
_INSTALL_CMD = re.compile(
    r"(?<![\w-])(?P<pkg>pytorch|torch|cudatoolkit|pytorch-cuda|mmcv-full|mmcv|numpy)\s*={1,2}\s*(?P<version>\d[\w.]*(?:\+\w+)?)",
    re.IGNORECASE,
)
_IS_INSTALL = re.compile(r"\b(?:conda|mamba|pip3?|mim)\s+install\b", re.IGNORECASE)
_INDEX = re.compile(r"/mmcv/dist/(?P<tag>cu\d+|cpu)/torch(?P<minor>\d+\.\d+)", re.IGNORECASE)
_TORCH_INDEX = re.compile(r"download\.pytorch\.org/whl/(?P<tag>cu\d+|cpu)\b", re.IGNORECASE)
# Where a log names the OpenMMLab package it ran or installed: a traceback frame's path, an import,
# an install command ("mim install mmdet", "pip install -U mmsegmentation==1.2.2").
_FRAME = re.compile(r'(?P<path>[^"]+)", line \d+', re.IGNORECASE)  # a frame, even one cut at its start
_PATH_PART = re.compile(r"(?:^|[/\\])(?P<name>mm[a-z0-9]+)(?=[/\\])", re.IGNORECASE)
_IMPORT = re.compile(r"^\W*(?:>>>\s*)?(?:from|import)\s+(?P<name>mm[a-z0-9]+)\b", re.IGNORECASE)
_INSTALL_NAMES = re.compile(r"\b(?:mim|pip3?)\s+install\b(?P<rest>[^\n#]*)", re.IGNORECASE)
_NAME = re.compile(r"(?<![\w./-])(?P<name>mm[a-z0-9]+)(?![\w/])", re.IGNORECASE)
_NVCC = re.compile(r"Cuda compilation tools, release (?P<version>\d+\.\d+)", re.IGNORECASE)
_SM = re.compile(r"CUDA capability sm_(?P<sm>\d+)", re.IGNORECASE)
_WINDOWS = re.compile(r"(?:^|[\s'\"(=])[A-Za-z]:\\|win_amd64|\bwin32\b", re.IGNORECASE)
_MACOS = re.compile(r"macosx[-_]\d|\bdarwin\b|/opt/homebrew/", re.IGNORECASE)


@dataclass
class LogFacts:
    """What the log says about the machine; every field may stay unknown."""

    packages: dict[str, str] = field(default_factory=dict)  # canonical name -> version
    sdists: dict[str, str] = field(default_factory=dict)  # packages pip built from source
    python: str | None = None  # "3.10"
    platform: str | None = None  # linux | windows | macos
    torch_cuda: str | None = None  # "12.1" when the log says it
    index_tag: str | None = None  # cu121 | cpu: the mmcv index pip/mim looked in
    index_torch: str | None = None  # the torch X.Y of that index
    torch_index_tag: str | None = None  # cu121 | cpu: the PyTorch index torch was installed from
    nvcc: str | None = None
    gpus: list[str] = field(default_factory=list)
    gpu_sms: list[str] = field(default_factory=list)  # "86" from "CUDA capability sm_86"
    guards: list[tuple[str, str]] = field(default_factory=list)  # (installed, spec) of mmcv guards
    mentions_mmcv_full: bool = False
    cython_exts: list[str] = field(default_factory=list)  # Cython extension packages the log names
    named: list[str] = field(default_factory=list)  # mm* names run or installed (tracebacks, imports, installs)

    def version(self, name: str) -> str | None:
        return self.packages.get(canonicalize_name(name))

    def _put(self, name: str, version: str, *, strong: bool = True) -> None:
        canonical = canonicalize_name(name)
        key = "torch" if canonical == "pytorch" else str(canonical)
        if strong or key not in self.packages:
            self.packages[key] = version


def _installed(f: LogFacts, m: re.Match[str]) -> None:
    for token in m.group("rest").split():
        name, _, version = token.rpartition("-")
        if name and version[:1].isdigit():
            f._put(name, version)


def _satisfied(f: LogFacts, m: re.Match[str]) -> None:
    f._put(m.group("name"), m.group("version"), strong=False)
    _site(f, m.group("path"))


def _archive(f: LogFacts, m: re.Match[str]) -> None:
    name, version = canonicalize_name(m.group("name")), m.group("version")
    if m.group(0).endswith((".tar.gz", ".zip")):
        f.sdists[name] = version
    tag = m.group("tag")
    if tag and tag.startswith("cp") and not f.python:
        f.python = f"3.{tag[3:]}"
    f._put(name, version, strong=False)


def _site(f: LogFacts, text: str) -> None:
    m = _SITE.search(text)
    if m and not f.python:
        f.python = m.group("py")


def _env_line(f: LogFacts, m: re.Match[str]) -> None:
    name, value = m.group("field").strip().lower(), m.group("value").strip()
    first = value.split()[0] if value.split() else ""
    if name in ("pytorch", "pytorch version") and first[:1].isdigit():
        f._put("torch", first)
    elif name == "torchvision" and first[:1].isdigit():
        f._put("torchvision", first)
    elif name in ("mmcv", "mmengine", "mmdetection") and first[:1].isdigit():
        f._put({"mmdetection": "mmdet"}.get(name, name), first)
    elif name in ("python", "python version"):
        py = re.match(r"3\.\d+", value)
        if py:
            f.python = py.group(0)
    elif name == "cuda used to build pytorch" and first[:1].isdigit():
        f.torch_cuda = ".".join(first.split(".")[:2])
    elif name.startswith("gpu") and value and value.lower() not in ("none", "n/a"):
        f.gpus.append(value.strip(" ,"))
    elif name == "sys.platform":
        f.platform = {"win32": "windows", "darwin": "macos"}.get(first, "linux")


def _install_cmd(f: LogFacts, m: re.Match[str]) -> None:
    if not _IS_INSTALL.search(m.string):
        return
    pkg, version = m.group("pkg").lower(), m.group("version")
    if pkg in ("cudatoolkit", "pytorch-cuda"):
        f.torch_cuda = f.torch_cuda or ".".join(version.split(".")[:2])
    else:
        f._put(pkg, version, strong=False)


def _index(f: LogFacts, m: re.Match[str]) -> None:
    f.index_tag, f.index_torch = m.group("tag").lower(), m.group("minor")


def _torch_index(f: LogFacts, m: re.Match[str]) -> None:
    if _IS_INSTALL.search(m.string):
        f.torch_index_tag = m.group("tag").lower()


def _name(f: LogFacts, name: str) -> None:
    name = name.lower()
    if name not in f.named:
        f.named.append(name)


def _frame(f: LogFacts, m: re.Match[str]) -> None:
    for part in _PATH_PART.finditer(m.group("path")):
        _name(f, part.group("name"))


def _import(f: LogFacts, m: re.Match[str]) -> None:
    _name(f, m.group("name"))


def _install_names(f: LogFacts, m: re.Match[str]) -> None:
    for token in _NAME.finditer(m.group("rest")):
        _name(f, token.group("name"))


def _nvcc(f: LogFacts, m: re.Match[str]) -> None:
    f.nvcc = m.group("version")


def _sm(f: LogFacts, m: re.Match[str]) -> None:
    if m.group("sm") not in f.gpu_sms:
        f.gpu_sms.append(m.group("sm"))


def _row(f: LogFacts, m: re.Match[str]) -> None:
    f._put(m.group("name"), m.group("version"), strong=False)


_Handler = Callable[[LogFacts, "re.Match[str]"], None]
EXTRACTORS: tuple[tuple[tuple[str, ...], re.Pattern[str], _Handler], ...] = (
    (("successfully installed",), _INSTALLED, _installed),
    (("requirement already satisfied",), _SATISFIED, _satisfied),
    ((".tar.gz", ".whl", ".zip"), _ARCHIVE, _archive),
    (_ENV_KEYS, _ENV, _env_line),
    (("install",), _INSTALL_CMD, _install_cmd),
    (("/mmcv/dist/",), _INDEX, _index),
    (("download.pytorch.org/whl/",), _TORCH_INDEX, _torch_index),
    (('", line ',), _FRAME, _frame),
    (("from mm", "import mm"), _IMPORT, _import),
    ((" install ",), _INSTALL_NAMES, _install_names),
    (("cuda compilation tools",), _NVCC, _nvcc),
    (("capability sm_",), _SM, _sm),
)  # fmt: skip
HEAD, TAIL = 200, 400  # candidate lines read per extractor in a long log
_ROW_KEYS = ("torch", "mmcv", "mmengine", "mmdet", "mmseg", "mmpose", "mmocr", "mmpretrain", "mmcls",
             "mmdeploy", "mmtrack", "mmrotate", "mmyolo", "mmaction", "mmagic", "mmedit", "numpy",
             "setuptools", "opencv", "onnxruntime", "yapf", "cython", "cocotools", "openmim")  # fmt: skip


def extract(log: LogText) -> LogFacts:
    """Scan only the lines that hold an extractor's keyword; later lines win over earlier ones.

    A huge log is read at its head and tail only: that is where the commands, pip's summary
    lines and the error are; the middle of a 10 MB build log is compiler output.
    """
    log = log.window()
    facts = LogFacts()
    for keys, regex, handler in EXTRACTORS:
        lines = sorted({i for key in keys for i in log.lines_with(key)})
        if len(lines) > HEAD + TAIL:  # thousands of pip lines: the first and the last decide
            lines = lines[:HEAD] + lines[-TAIL:]
        for i in lines:
            for m in regex.finditer(log.line(i)):
                handler(facts, m)
    rows = sorted({i for key in _ROW_KEYS for i in log.lines_with(key)})
    for i in rows[:HEAD] + rows[-TAIL:] if len(rows) > HEAD + TAIL else rows:
        line = log.line(i)
        if len(line) < 120:  # a `pip list` / `conda list` row is short
            row = _ROW.match(line)
            if row:
                _row(facts, row)
    for i in log.lines_with("': '")[-20:]:
        for m in _ENV_DICT.finditer(log.line(i)):
            _env_line(facts, m)
    for i in log.lines_with("-packages")[-50:]:
        _site(facts, log.line(i))
    if not facts.python:
        for i in log.lines_with("cp3")[-20:] + log.lines_with("cpython-")[-20:]:
            tag = _CPYTHON.search(log.line(i))
            if tag:
                facts.python = f"3.{tag.group('py')[1:]}"
                break
    if facts.platform is None:
        facts.platform = _platform(log)
    facts.mentions_mmcv_full = bool(log.lines_with("mmcv-full") or log.lines_with("mmcv_full"))
    facts.cython_exts = [p for p in ("xtcocotools", "mmpycocotools", "pycocotools") if log.lines_with(p)]
    return facts


def _platform(log: LogText) -> str | None:
    for key in (":\\", "win_amd64", "win32"):
        for i in log.lines_with(key)[:20]:
            if _WINDOWS.search(log.line(i)):
                return "windows"
    for key in ("macosx", "darwin", "/opt/homebrew/"):
        for i in log.lines_with(key)[:20]:
            if _MACOS.search(log.line(i)):
                return "macos"
    return None
