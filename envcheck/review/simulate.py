"""Steps × Environment × Matrix -> what each step does, what it breaks, and the final stack (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envcheck.doctor import Finding, diagnose_environment
from envcheck.facts.model import Environment, Mmcv, PythonInfo, Torch
from envcheck.matrix import Matrix, MmcvRelease
from envcheck.review.parse.shell import wheel_version
from envcheck.review.steps import Package, Recipe, Step
from envcheck.review.tools import (
    CONTEXTS_WITH_WHEEL,
    IMPIMPORTER_FIXED,
    LEGACY_BUILD_REMOVED,
    LEGACY_BUILD_SOURCE,
    MIM_EXTRAS_BROKEN,
    MIM_VERSION,
    NEWEST_NUMPY,
    NEWEST_SETUPTOOLS,
    OPENXLAB_SETUPTOOLS,
    PIP_NEWEST,
    PKG_RESOURCES_REMOVED,
    TOOLS_SOURCE,
)

WHEEL_MINUTES = 0.2  # a pure-Python or small binary wheel
MMCV_LINK = re.compile(r"/mmcv/dist/(cu\d+|cpu)/torch(\d+\.\d+)(?:\.\d+)?/")
MMCV_WHEEL_URL = re.compile(r"/mmcv/dist/(cu\d+|cpu)/torch(\d+\.\d+)(?:\.\d+)?/(mmcv[_a-z]*)-([^-]+)-(cp\d+)")
TORCH_INDEX = re.compile(r"download\.pytorch\.org/whl/(cu\d+|cpu|rocm[\d.]+)")
MMCV_NAMES = ("mmcv", "mmcv-full", "mmcv-lite")


@dataclass(frozen=True)
class StepResult:
    step: Step
    effect: str
    findings: tuple[Finding, ...] = ()
    minutes: float = 0.0
    failed: bool = False  # the command itself exits non-zero here


@dataclass(frozen=True)
class Review:
    recipe: Recipe
    target: str
    results: tuple[StepResult, ...]
    final_stack: dict[str, str]
    before: tuple[Finding, ...]  # the machine's own findings, before any step (not the recipe's doing)
    minutes: float
    toolkits: tuple[str, ...]  # what the recipe was after
    imports: bool
    smoke: bool

    @property
    def errors(self) -> list[tuple[StepResult, Finding]]:
        return [(r, f) for r in self.results for f in r.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _State:
    python: str
    packages: dict[str, str]
    torch: Torch | None
    mmcv: Mmcv | None
    mmcv_for: tuple[str, str] | None = None  # (torch minor, tag) the installed mmcv's ops were built for
    clones: dict[str, tuple[str, str]] = field(default_factory=dict)  # directory -> (toolkit, version)
    cwd: str = ""
    wanted: list[str] = field(default_factory=list)
    conda_env: bool = False

    def copy(self) -> _State:
        return replace(self, packages=dict(self.packages), clones=dict(self.clones), wanted=list(self.wanted))

    def key(self, relevant: frozenset[str]) -> tuple[object, ...]:
        """What the doctor sees: equal keys give equal findings (its rules read only `relevant` packages)."""
        return (
            self.python,
            tuple(sorted((n, v) for n, v in self.packages.items() if n in relevant)),
            self.torch,
            self.mmcv,
        )

    @property
    def tag(self) -> str:
        return f"cp{''.join(self.python.split('.')[:2])}"

    @property
    def minor(self) -> str:
        return ".".join(self.python.split(".")[:2])


def _v(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def _spec(text: str) -> SpecifierSet:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return SpecifierSet()


def _newest(versions: Iterable[str], spec: str) -> str | None:
    ok = list(_spec(spec).filter(sorted(set(versions), key=Version)))
    return str(max(ok, key=Version)) if ok else None


def _f(code: str, severity: str, title: str, why: str, source: str = "", fix: tuple[str, ...] = ()) -> Finding:
    return Finding(code, severity, title, why, fix, source)


class Simulator:
    """Carries one environment through the steps of a recipe."""

    def __init__(self, env: Environment, matrix: Matrix) -> None:
        self.base = env
        self.matrix = matrix
        py = env.python.version if isinstance(env.python, PythonInfo) else "3.11.0"
        self.platform = env.platform.key if env.platform else "linux"
        self.cpus = env.platform.cpus if env.platform else None
        self.s = _State(py, dict(env.packages), env.torch or None, env.mmcv or None)
        if self.s.mmcv and self.s.torch:
            self.s.mmcv_for = (self.s.torch.minor, self.s.torch.cuda_tag)

    # -- the environment as the doctor sees it -----------------------------------------------

    def env(self) -> Environment:
        s = self.s
        python = self.base.python
        if isinstance(python, PythonInfo) and python.version != s.python:
            python = replace(python, version=s.python, tag=s.tag)
        elif not isinstance(python, PythonInfo):
            python = PythonInfo(s.python, tag=s.tag)
        setuptools = _v(s.packages.get("setuptools"))
        pkg_resources = None if setuptools is None else setuptools < Version(PKG_RESOURCES_REMOVED)
        from envcheck.facts.model import Missing

        return replace(
            self.base,
            python=python,
            dists=(),
            package_versions=dict(s.packages),
            torch=s.torch if s.torch else Missing("not installed"),
            mmcv=s.mmcv if s.mmcv else Missing("not installed"),
            pkg_resources=pkg_resources,
        )

    # -- one step --------------------------------------------------------------------------

    def run(self, step: Step) -> StepResult:
        if step.action == "cd" and (step.repo.startswith("-") or "$" in step.repo):
            return StepResult(step, f"changes directory ({step.repo}: not followed)")
        if step.action == "cd":
            self.s.cwd = step.repo.rstrip("/").split("/")[-1]
            return StepResult(step, f"working directory {step.repo}")
        if step.action == "clone":
            return self._clone(step)
        if step.action == "checkout":
            return self._checkout(step)
        if step.action == "create":
            return self._create(step)
        if step.action == "download":
            return StepResult(step, "downloads only (installs nothing)")
        if step.action == "uninstall":
            return self._uninstall(step)
        if step.tool == "conda":
            return self._conda(step)
        return self._pip(step)

    def _clone(self, step: Step) -> StepResult:
        repo = step.repo.rstrip("/").removesuffix(".git").split("/")[-1]
        name = self.matrix.toolkit_name(repo) or (repo if repo in MMCV_NAMES or repo == "mmengine" else None)
        directory = (step.packages[0].url if step.packages else repo).rstrip("/").split("/")[-1]
        if name is None:
            return StepResult(step, f"clones {repo} (not an OpenMMLab toolkit envcheck knows)")
        version = self._ref_version(name, step.ref)
        self.s.clones[directory] = (name, version)
        self.s.wanted.append(name)
        at = f" at {step.ref}" if step.ref else " (default branch)"
        return StepResult(step, f"clones {repo}{at}: {name} {version or 'unknown version'}")

    def _checkout(self, step: Step) -> StepResult:
        here = self.s.clones.get(self.s.cwd)
        if here is None:
            return StepResult(step, f"checks out {step.ref}")
        version = self._ref_version(here[0], step.ref)
        self.s.clones[self.s.cwd] = (here[0], version)
        return StepResult(step, f"checks out {step.ref}: {here[0]} {version or 'unknown version'}")

    def _ref_version(self, name: str, ref: str) -> str:
        releases = self._releases(name)
        if not releases:
            return ""
        m = re.match(r"^v?(\d+\.\d+\.\d+(?:rc\d+)?)$", ref or "")
        if m:
            return m.group(1)
        m = re.match(r"^(?:dev-)?(\d+)\.x$", ref or "")
        if m:
            same = [v for v in releases if Version(v).major == int(m.group(1))]
            return max(same, key=Version) if same else ""
        return max((v for v in releases if not Version(v).is_prerelease), key=Version, default="")

    def _releases(self, name: str) -> list[str]:
        if name == "mmengine":
            return list(self.matrix.mmengine)
        if name == "mmcv":
            return list(self.matrix.mmcv)
        if name == "mmcv-full":
            return list(self.matrix.mmcv_full)
        return list(self.matrix.toolkits.get(name, {}))

    def _create(self, step: Step) -> StepResult:
        if self.base.context == "colab":
            return self._conda(step)
        py = next((p for p in step.packages if p.name == "python"), None)
        keep = {k: v for k, v in self.s.packages.items() if k in ("pip", "setuptools", "wheel")}
        version = (py.spec.lstrip("=").rstrip(".*") if py and py.spec else self.s.python) or self.s.python
        if version.count(".") == 1:
            version += ".0"
        self.s = _State(
            version, keep, None, None, clones=self.s.clones, cwd=self.s.cwd, wanted=self.s.wanted, conda_env=True
        )
        return StepResult(
            step,
            f"a new conda environment with Python {version}: the machine's torch and packages are not in it",
            (_f("conda-new-env", "info", f"later steps run in a fresh conda env (Python {version})",
                "`conda create` + `conda activate` leave the machine's own torch behind"),),
        )  # fmt: skip

    def _uninstall(self, step: Step) -> StepResult:
        gone = []
        for p in step.packages:
            if self.s.packages.pop(p.name, None) is not None:
                gone.append(p.name)
                if p.name in MMCV_NAMES and self.s.mmcv and self.s.mmcv.dist == p.name:
                    self.s.mmcv, self.s.mmcv_for = None, None
                if p.name == "torch":
                    self.s.torch = None
        return StepResult(step, f"removes {', '.join(gone)}" if gone else "removes nothing that is installed")

    # -- conda ------------------------------------------------------------------------------

    def _conda(self, step: Step) -> StepResult:
        if self.base.context == "colab":
            return StepResult(
                step,
                "fails: Colab has no conda",
                (_f("conda-missing", "error", "`conda` is not installed on Colab", "the command exits with `conda: command not found`; nothing after it in this cell is installed by conda", "https://github.com/googlecolab/backend-info"),),
                failed=True,
            )  # fmt: skip
        effects: list[str] = []
        findings: list[Finding] = []
        cuda = next(
            (p.spec.lstrip("=").rstrip(".*") for p in step.packages if p.name in ("cudatoolkit", "pytorch-cuda")), ""
        )
        for p in step.packages:
            if p.name in ("pytorch", "torch"):
                label = "cu" + cuda.replace(".", "") if cuda else ""
                if not cuda and "cpuonly" in {q.name for q in step.packages}:
                    label = "cpu"
                eff, fs, _ = self._torch(p, label, conda=True, upgrade=step.upgrade)
                effects.append(eff)
                findings += fs
            elif p.name in ("torchvision", "torchaudio", "cudatoolkit", "pytorch-cuda", "cpuonly", "python", "pip"):
                continue
            else:
                eff, fs, _ = self._generic(p, step)
                effects.append(eff)
                findings += fs
        return StepResult(
            step,
            "; ".join(effects) or "conda packages envcheck does not model",
            tuple(findings),
            1.0 if effects else 0.3,
        )

    # -- pip and mim ------------------------------------------------------------------------

    def _pip(self, step: Step) -> StepResult:
        mim = step.tool == "mim"
        findings: list[Finding] = []
        if mim:
            dead = self._mim_dead()
            if dead:
                return StepResult(step, "fails: mim does not start here", (dead,), 0.1, failed=True)
        effects: list[str] = []
        minutes = 0.0
        failed = False
        labels = [
            m.group(1)
            for u in (step.index_url, *step.extra_index_urls, *step.find_links)
            if (m := TORCH_INDEX.search(u))
        ]
        for rf in step.requirement_files:
            effects.append(f"reads {rf} (not part of this recipe: its contents are not simulated)")
        packages = list(step.packages)
        if mim and self.s.torch is None:
            return StepResult(step, "fails: mim needs torch", (_f("mim-needs-torch", "error", "`mim install` fails: torch is not installed", "mim builds its wheel link from torch.__version__ and re-raises the ImportError, whatever is installed", "open-mmlab/mim@v0.3.9:mim/utils/utils.py"),), 0.1, failed=True)  # fmt: skip
        saved = self.s.copy()
        for p in packages:
            eff, fs, mins = self._one(p, step, labels[0] if labels else "", mim)
            effects.append(eff)
            findings += fs
            minutes += mins
            if any(f.severity == "error" and f.code in _STEP_FAILS for f in fs):
                failed = True
                effects = [eff]  # pip resolves the command as a whole: nothing of it is installed
                break
        if failed:
            self.s = saved
            effects.append("nothing from this command is installed")
        return StepResult(
            step,
            "; ".join(e for e in effects if e) or "installs nothing envcheck can see",
            tuple(findings),
            minutes,
            failed,
        )

    def _mim_dead(self) -> Finding | None:
        s = self.s
        if "openmim" not in s.packages:
            return _f(
                "mim-missing",
                "error",
                "`mim` is not installed when this line runs",
                "`mim: command not found` (install openmim first)",
                "https://github.com/open-mmlab/mim/issues/214",
            )
        st = _v(s.packages.get("setuptools"))
        if st is not None and st >= Version(PKG_RESOURCES_REMOVED):
            return _f("mim-pkg_resources", "error", f"mim crashes at start: setuptools {s.packages['setuptools']} has no pkg_resources",
                      "mim 0.3.9 imports pkg_resources when it starts (removed in setuptools 82)", TOOLS_SOURCE,
                      ("pip install 'setuptools<82'",))  # fmt: skip
        if st is not None and st < Version(IMPIMPORTER_FIXED) and Version(s.minor) >= Version("3.12"):
            return _f("mim-pkg_resources", "error", f"mim crashes at start: setuptools {s.packages['setuptools']} on Python {s.minor}",
                      "that setuptools' pkg_resources calls pkgutil.ImpImporter, removed in Python 3.12 (AttributeError)",
                      "https://github.com/open-mmlab/mim/issues/242", ("pip install 'setuptools>=66.1,<82'",))  # fmt: skip
        return None

    def _one(self, p: Package, step: Step, label: str, mim: bool) -> tuple[str, list[Finding], float]:
        name = p.name
        if (p.url and not name) or (p.url and "-e" in step.flags and not name):
            return self._local(p, step, mim)
        if p.url and name and MMCV_WHEEL_URL.search(p.url):
            return self._mmcv_wheel_url(p)
        if p.url and name:
            toolkit = self.matrix.toolkit_name(name) or name
            if toolkit in self.matrix.toolkits:
                ref = p.url.split("@")[-1] if "@" in p.url.split("//")[-1] else ""
                return self._toolkit(Package(toolkit, f"=={self._ref_version(toolkit, ref)}"), step, mim)
            self.s.packages[name] = self.s.packages.get(name, "") or "url"
            return f"installs {name} from {p.url}", [], WHEEL_MINUTES
        if name in ("torch", "pytorch"):
            return self._torch(p, label, upgrade=step.upgrade)
        if name in ("torchvision", "torchaudio"):
            return self._torch_companion(p)
        if name in MMCV_NAMES:
            return self._mmcv(p, step, mim)
        if name == "mmengine" or name in self.matrix.toolkits:
            return self._toolkit(p, step, mim)
        if name == "openmim":
            return self._openmim(p, step)
        return self._generic(p, step)

    def _local(self, p: Package, step: Step, mim: bool) -> tuple[str, list[Finding], float]:
        path = p.url.rstrip("/")
        directory = self.s.cwd if path in (".", "", "setup.py") else path.split("/")[-1]
        clone = self.s.clones.get(directory)
        if clone is None:
            return (
                f"installs the project in {p.url or '.'} (not an OpenMMLab repository envcheck knows)",
                [],
                WHEEL_MINUTES,
            )
        name, version = clone
        if name in ("mmcv", "mmcv-full"):
            return self._mmcv(Package(name, f"=={version}"), step, mim, source_tree=True)
        return self._toolkit(Package(name, f"=={version}" if version else ""), step, mim, editable=True)

    # -- torch --------------------------------------------------------------------------------

    def _torch(
        self, p: Package, label: str, conda: bool = False, upgrade: bool = False
    ) -> tuple[str, list[Finding], float]:
        s = self.s
        spec = p.spec
        local = ""
        pinned = p.pinned
        if pinned and "+" in pinned:
            pinned, local = pinned.split("+", 1)
            spec = f"=={pinned}"
        label = local or label
        if (
            s.torch
            and not upgrade
            and (not spec or _spec(spec).contains(s.torch.base_version, prereleases=True))
            and (not label or label == s.torch.cuda_tag)
        ):
            return f"torch {s.torch.version} already satisfies {p.text or 'torch'}: unchanged", [], 0.0
        rows = sorted(self.matrix.torch.values(), key=lambda r: Version(r.version))
        patches = [(v, r) for r in rows for v in (r.patches or (r.version,))]
        fits = [(v, r) for v, r in patches if _spec(spec).contains(v, prereleases=True)]
        if not pinned and not fits:
            named = re.search(r"(\d+(?:\.\d+)+)", spec)
            pinned = named.group(1) if named else None
        if not fits and pinned:
            oldest = rows[0] if rows else None
            if (
                oldest
                and Version(pinned) < Version(oldest.version)
                and s.minor not in oldest.python
                and Version(s.minor) > max(Version(x) for x in oldest.python)
            ):
                return self._fail_torch(
                    p,
                    f"torch {pinned} predates every torch in envcheck's data; already torch {oldest.minor} has no wheel for Python {s.minor} ({', '.join(oldest.python)} only)",
                    conda,
                )
            # a torch envcheck does not know: install it as asked, say so
            s.torch = Torch(f"{pinned}+{label}" if (label and label != "cpu") or local else pinned, cuda=_cuda(label))
            s.packages["torch"] = s.torch.version
            return f"installs torch {s.torch.version} (not in envcheck's data)", [], 4.0
        usable = [(v, r) for v, r in fits if r.supports_python(s.python)]
        if label and any(r.build(label) for _, r in usable):
            usable = [(v, r) for v, r in usable if r.build(label)]  # the index / pytorch-cuda names the build
        if not usable:
            have = fits[-1][1] if fits else None
            why = f"torch {have.version if have else spec} has no wheel for Python {s.minor}" + (
                f" ({', '.join(have.python)} only)" if have else ""
            )
            return self._fail_torch(p, why, conda)
        version, row = usable[-1]
        tag = label or (row.pypi_default or "cpu")
        if row.build(tag) is None:
            return self._fail_torch(p, f"torch {version} has no {tag} build ({', '.join(row.builds)})", conda)
        full = version if (tag == row.pypi_default and not local and not conda) else f"{version}+{tag}"
        old = s.torch
        s.torch = Torch(full, cuda=_cuda(tag), arch_list=row.build(tag).archs or None)  # type: ignore[union-attr]
        s.packages["torch"] = full
        findings = self._invalidated(old)
        verb = "replaces" if old and old.version != full else "installs"
        was = f" (was {old.version})" if old and old.version != full else ""
        return f"{verb} torch {full}{was}", findings, 1.0 if tag == "cpu" else 4.0

    def _fail_torch(self, p: Package, why: str, conda: bool) -> tuple[str, list[Finding], float]:
        tool = "conda" if conda else "pip"
        return (
            "fails: " + why,
            [
                _f(
                    "python-unsupported",
                    "error",
                    f"`{p.text or 'torch'}` cannot be installed here",
                    f"{why}: {tool} stops with no matching distribution",
                    "matrices/torch.toml",
                )
            ],
            0.2,
        )

    def _torch_companion(self, p: Package) -> tuple[str, list[Finding], float]:
        s = self.s
        torch = s.torch
        row = self.matrix.torch_release(torch.version) if torch else None
        if p.pinned:
            s.packages[p.name] = p.pinned
            return f"installs {p.name} {p.pinned}", [], WHEEL_MINUTES
        if p.name == "torchvision" and row and torch:
            tv = row.torchvision_of(torch.version) or row.torchvision
            label = f"+{torch.cuda_tag}" if "+" in torch.version else ""
            s.packages["torchvision"] = tv + label
            return f"installs torchvision {tv}{label}", [], WHEEL_MINUTES
        s.packages[p.name] = s.packages.get(p.name) or "*"
        return f"installs {p.name}", [], WHEEL_MINUTES

    def _invalidated(self, old: Torch | None) -> list[Finding]:
        """mmcv's compiled ops were made for the torch that was there; a different one breaks them."""
        s = self.s
        if not (s.mmcv and s.mmcv.ops and s.mmcv_for and s.torch):
            return []
        minor, tag = s.mmcv_for
        if minor == s.torch.minor and tag == s.torch.cuda_tag:
            return []
        if minor != s.torch.minor:
            return [_f("abi-undefined-symbol", "error", f"mmcv {s.mmcv.version}'s ops were built for torch {minor}; the torch here is {s.torch.version}",
                       "mmcv/_ext links to C++ symbols of the torch it was built against: `undefined symbol` on import of mmcv.ops",
                       "https://github.com/open-mmlab/mmcv/issues/802")]  # fmt: skip
        return [_f("cuda-version-mismatch", "error", f"mmcv {s.mmcv.version}'s ops were built for {tag}; the torch here is {s.torch.version}",
                   "the ops' CUDA runtime differs from torch's", "https://github.com/open-mmlab/mmcv/issues/802")]  # fmt: skip

    # -- mmcv ---------------------------------------------------------------------------------

    def _links(self, step: Step, mim: bool) -> list[tuple[str, str]]:
        """(cuda tag, torch minor) of every mmcv wheel page this command looks at."""
        out = [(m.group(1), m.group(2)) for u in step.find_links if (m := MMCV_LINK.search(u + "/"))]
        if mim and self.s.torch:  # mim adds the page of the installed torch (mim_logic.md §1a)
            out.append((self.s.torch.cuda_tag, self.s.torch.minor))
        return out

    def _mmcv(self, p: Package, step: Step, mim: bool, source_tree: bool = False) -> tuple[str, list[Finding], float]:
        s = self.s
        m = self.matrix
        known: dict[str, MmcvRelease] = dict(m.mmcv_full if p.name == "mmcv-full" else m.mmcv)
        if p.name == "mmcv-lite":
            version = _newest(m.mmcv_lite, p.spec) or p.pinned
            if not version:
                return f"no mmcv-lite release matches {p.spec}", [], 0.0
            self._set_mmcv(Mmcv(version, "mmcv-lite", ops=False), None)
            return f"installs mmcv-lite {version} (no compiled ops)", [], WHEEL_MINUTES
        current = s.mmcv.version if s.mmcv and s.mmcv.dist == p.name else None
        if (
            current
            and not step.upgrade
            and (not p.spec or _spec(p.spec).contains(current, prereleases=True))
            and not source_tree
        ):
            return f"{p.name} {current} already satisfies {p.text}: unchanged", [], 0.0
        version = p.pinned if p.pinned else _newest(known, p.spec)
        if not version:
            return (
                f"fails: no {p.name} release matches {p.spec}",
                [
                    _f(
                        "no-matching-release",
                        "error",
                        f"no {p.name} release matches `{p.text}`",
                        "pip stops: no matching distribution",
                        "matrices/mmcv.toml",
                    )
                ],
                0.1,
            )
        rel = known.get(version)
        only_binary = any(f.startswith("--only-binary") and ("mmcv" in f or ":all:" in f) for f in step.flags)
        links = [] if source_tree else self._links(step, mim)
        wheel = next(
            ((tag, minor) for tag, minor in links if rel and rel.has_wheel(self.platform, minor, tag, s.tag)), None
        )
        if wheel:
            tag, minor = wheel
            self._set_mmcv(Mmcv(version, p.name, ops=True, ops_cuda=_cuda(tag) or "cpu"), (minor, tag))
            findings = self._invalidated(None)
            return (
                f"installs {p.name} {version} (prebuilt wheel for torch {minor}/{tag}, {s.tag})",
                findings,
                WHEEL_MINUTES * 2,
            )
        links_here = [(t, mi) for t, mi in links if not self._torch_lacks_python(mi)]
        if rel is None and links_here and p.name != "mmcv-lite":
            # a release older than envcheck's wheel lists: the page may well hold it (they did for their torch)
            tag, minor = links_here[0]
            self._set_mmcv(Mmcv(version, p.name, ops=True, ops_cuda=_cuda(tag) or "cpu"), (minor, tag))
            note = _f("unknown-release", "info", f"{p.name} {version} is older than envcheck's wheel lists",
                      f"taken to be the prebuilt wheel on the torch {minor}/{tag} page it names (not verified)", "matrices/mmcv.toml")  # fmt: skip
            return (
                f"installs {p.name} {version} (taken as the wheel for torch {minor}/{tag}; not in envcheck's data)",
                [note, *self._invalidated(None)],
                WHEEL_MINUTES * 2,
            )
        if only_binary:
            return f"fails: no {p.name} {version} wheel here", [_f("no-prebuilt-wheel", "error", f"no prebuilt {p.name} {version} wheel for torch {s.torch.minor if s.torch else '?'}/{s.torch.cuda_tag if s.torch else '?'}, {s.tag}", "--only-binary forbids the source build: pip stops", "matrices/mmcv.toml")], 0.1  # fmt: skip
        return self._build_mmcv(p.name, version, rel, step, known, links)

    def _build_mmcv(
        self,
        dist: str,
        version: str,
        rel: MmcvRelease | None,
        step: Step,
        known: dict[str, MmcvRelease],
        links: list[tuple[str, str]],
    ) -> tuple[str, list[Finding], float]:
        s = self.s
        m = self.matrix
        torch = s.torch
        wheel_where = ", ".join(f"torch {mi}/{t}" for t, mi in links) or "no wheel page given"
        cuda_ops = bool(torch and torch.cuda and (self.base.gpu_list or step.env.get("FORCE_CUDA") == "1"))
        minutes = _build_minutes(m, version, cuda_ops, self.cpus)
        head = f"builds {dist} {version} from its sdist (~{minutes:.0f} min): no wheel for {s.tag} on {wheel_where}"
        findings = [_f("no-prebuilt-wheel-source-build", "warning", f"{dist} {version} is compiled from source here (~{minutes:.0f} min)",
                       f"no prebuilt wheel for {f'torch {torch.minor}/{torch.cuda_tag}' if torch else 'an environment without torch'}, {s.tag} in the pages this command sees ({wheel_where})",
                       "matrices/mmcv.toml")]  # fmt: skip
        fail = self._build_blocker(dist, version, rel, step, known)
        if fail:
            code, why = fail
            findings.append(_f(code, "error", f"the {dist} {version} build fails here", why, m.mmcv_build.source))
            # setup.py dies before compiling anything unless it is the compiler that fails
            return f"{head}, and the build fails: {why}", findings, minutes if code == "build-compiler" else 0.5
        if "--no-build-isolation" not in step.flags:
            head += f" (pip < {LEGACY_BUILD_REMOVED} with wheel installed: legacy `setup.py bdist_wheel`, no isolation; {LEGACY_BUILD_SOURCE})"
        ops_cuda = torch.cuda if cuda_ops and torch else "cpu"
        self._set_mmcv(
            Mmcv(version, dist, ops=True, ops_cuda=ops_cuda), (torch.minor, torch.cuda_tag) if torch else None
        )
        return head, findings, minutes

    def _build_blocker(
        self, dist: str, version: str, rel: MmcvRelease | None, step: Step, known: dict[str, MmcvRelease]
    ) -> tuple[str, str] | None:
        s = self.s
        if "--no-build-isolation" not in step.flags and not self._legacy_build():
            return ("build-pkg-resources", "pip builds it in an isolated environment with the newest setuptools "
                    f"(>= {PKG_RESOURCES_REMOVED}: no pkg_resources), which setup.py imports; add --no-build-isolation and setuptools<82")  # fmt: skip
        st = _v(s.packages.get("setuptools"))
        if st is not None and st >= Version(PKG_RESOURCES_REMOVED):
            return "build-pkg-resources", f"setup.py imports pkg_resources, which setuptools {st} no longer has"
        if st is not None and st < Version(IMPIMPORTER_FIXED) and Version(s.minor) >= Version("3.12"):
            return (
                "build-pkg-resources",
                f"setuptools {st}'s pkg_resources calls pkgutil.ImpImporter, removed in Python {s.minor}",
            )
        if s.torch is None:
            return "no-prebuilt-wheel-source-build", "setup.py imports torch, which is not installed"
        if rel is None:  # older than anything recorded: it inherits the oldest recorded release's limit
            older = sorted((r for r in known.values()), key=lambda r: Version(r.version))
            rel = older[0] if older and Version(version) < Version(older[0].version) else None
        if rel is not None and not rel.can_build_against(s.torch.version):
            return ("build-compiler", f"{dist} {version}'s setup.py compiles with C++14, and torch {s.torch.minor}'s headers "
                    f"need C++17 (it builds only against torch <= {rel.max_torch_for_source_build})")  # fmt: skip
        return None

    def _torch_lacks_python(self, minor: str) -> bool:
        """No wheel of anything built for torch `minor` can exist for this Python (torch had none)."""
        rows = sorted(self.matrix.torch.values(), key=lambda r: Version(r.version))
        row = self.matrix.torch_release(minor)
        if row is not None:
            return not row.supports_python(self.s.python)
        oldest = rows[0] if rows else None
        return bool(
            oldest
            and Version(minor) < Version(oldest.minor)
            and Version(self.s.minor) > max(Version(x) for x in oldest.python)
        )

    def _legacy_build(self) -> bool:
        """pip < 25.3 with setuptools and wheel present builds mmcv with `setup.py bdist_wheel`, unisolated."""
        s = self.s
        pip = _v(s.packages.get("pip"))
        image = self.base.context in CONTEXTS_WITH_WHEEL  # ships setuptools and wheel
        wheel = "wheel" in s.packages or image
        return bool(pip and pip < Version(LEGACY_BUILD_REMOVED) and wheel and ("setuptools" in s.packages or image))

    def _mmcv_wheel_url(self, p: Package) -> tuple[str, list[Finding], float]:
        m = MMCV_WHEEL_URL.search(p.url.replace("%2B", "+"))
        assert m
        tag, minor, _, _, py = m.groups()
        version = wheel_version(p.url) or "?"
        if py != self.s.tag:
            return f"fails: the wheel is for {py}", [_f("python-unsupported", "error", f"{p.name} {version} wheel is for {py}, this Python is {self.s.tag}", "pip: `is not a supported wheel on this platform`")], 0.1  # fmt: skip
        self._set_mmcv(Mmcv(version, p.name, ops=True, ops_cuda=_cuda(tag) or "cpu"), (minor, tag))
        return (
            f"installs {p.name} {version} (wheel for torch {minor}/{tag})",
            self._invalidated(None),
            WHEEL_MINUTES * 2,
        )

    def _set_mmcv(self, mmcv: Mmcv, built_for: tuple[str, str] | None) -> None:
        s = self.s
        s.mmcv, s.mmcv_for = mmcv, built_for
        s.packages[mmcv.dist] = mmcv.version
        s.wanted.append(mmcv.dist)

    # -- toolkits, mmengine -------------------------------------------------------------------

    def _toolkit(self, p: Package, step: Step, mim: bool, editable: bool = False) -> tuple[str, list[Finding], float]:
        s = self.s
        name = p.name
        releases = self._releases(name)
        current = s.packages.get(name)
        if (
            current
            and not step.upgrade
            and not editable
            and (not p.spec or _spec(p.spec).contains(current, prereleases=True))
        ):
            return f"{name} {current} already satisfies {p.text}: unchanged", [], 0.0
        version = p.pinned or self._newest_for_python(name, releases, p.spec)
        if not version:
            return f"fails: no {name} release matches {p.spec or 'this Python'}", [_f("no-matching-release", "error", f"no {name} release matches `{p.text or name}` on Python {s.minor}", "pip stops: no matching distribution", "matrices/toolkits.toml")], 0.1  # fmt: skip
        s.packages[name] = version
        if name != "mmengine":
            s.wanted.append(name)
        how = " (editable, from the clone)" if editable else ""
        effects = [f"installs {name} {version}{how}"]
        findings: list[Finding] = []
        minutes = WHEEL_MINUTES
        rel = self.matrix.toolkit(name, version) if name != "mmengine" else None
        if mim and rel is not None:
            pip = _v(s.packages.get("pip"))
            if pip is not None and pip >= Version(MIM_EXTRAS_BROKEN):
                findings.append(_f("mim-pip-extras", "warning", f"mim installs {name} without its mmcv/mmengine (pip {pip})",
                                   'pip >= 24.1 ignores mim\'s injected `extra == "mim"` requirements', "https://github.com/open-mmlab/mim/issues/244"))  # fmt: skip
            else:
                for dep, req in rel.requires.items():
                    have = s.packages.get(dep) if dep not in ("mmcv",) else (s.mmcv.version if s.mmcv else None)
                    if have and req.allows(have):
                        continue
                    dep_name = (
                        dep
                        if dep != "mmcv"
                        else ("mmcv-full" if any(g.version.startswith("1.") for g in req.guards) else "mmcv")
                    )
                    eff, fs, mins = self._one(
                        Package(dep_name, str(req.specifier), text=f"{dep_name}{req}"), step, "", mim
                    )
                    effects.append(f"mim adds {eff}")
                    findings += fs
                    minutes += mins
        return "; ".join(effects), findings, minutes

    def _newest_for_python(self, name: str, releases: list[str], spec: str) -> str | None:
        ok = []
        for v in releases:
            rel = self.matrix.toolkit(name, v) if name != "mmengine" else None
            if rel is not None and rel.allows_python(self.s.python) is False:
                continue
            ok.append(v)
        return _newest(ok, spec)

    # -- tools and everything else --------------------------------------------------------------

    def _openmim(self, p: Package, step: Step) -> tuple[str, list[Finding], float]:
        s = self.s
        s.packages["openmim"] = MIM_VERSION
        if "--no-deps" in step.flags:
            return f"installs openmim {MIM_VERSION} (no dependencies)", [], WHEEL_MINUTES
        old = s.packages.get("setuptools")
        s.packages["setuptools"] = OPENXLAB_SETUPTOOLS
        brought = ""
        if "numpy" not in s.packages:  # openmim -> pandas -> numpy: the newest for this Python (measured here)
            numpy = self._newest_numpy()
            if numpy:
                s.packages["numpy"] = numpy
                brought = f"; pandas brings numpy {numpy}"
        was = f" (was {old})" if old and old != OPENXLAB_SETUPTOOLS else ""
        findings = []
        if Version(s.minor) >= Version("3.12"):
            findings.append(_f("python312-setuptools", "error", f"openmim's dependency openxlab pins setuptools {OPENXLAB_SETUPTOOLS}, which breaks on Python {s.minor}",
                               "its pkg_resources calls pkgutil.ImpImporter (removed in Python 3.12): mim, and any setup.py importing setuptools, crash",
                               "https://github.com/open-mmlab/mim/issues/246"))  # fmt: skip
        return (
            f"installs openmim {MIM_VERSION}; its dependency openxlab pins setuptools~=60.2.0: setuptools {OPENXLAB_SETUPTOOLS}{was}{brought}",
            findings,
            0.5,
        )

    def _newest_numpy(self) -> str | None:
        if self.s.minor in NEWEST_NUMPY:
            return NEWEST_NUMPY[self.s.minor]
        from envcheck.plan.deps import route

        return route(self.matrix, "numpy", self.s.minor).version

    def _generic(self, p: Package, step: Step) -> tuple[str, list[Finding], float]:
        s = self.s
        name = p.name
        if name == "setuptools":
            v = p.pinned or (
                str(int(PKG_RESOURCES_REMOVED) - 1) + ".0.0"
                if "<" in p.spec and PKG_RESOURCES_REMOVED in p.spec
                else NEWEST_SETUPTOOLS
            )
            if s.packages.get(name) and not step.upgrade and not p.spec:
                return f"setuptools {s.packages[name]} already installed: unchanged", [], 0.0
            s.packages[name] = v
            newest = " (the newest: no pkg_resources)" if v == NEWEST_SETUPTOOLS and not p.pinned else ""
            return f"installs setuptools {'>= ' + v if newest else v}{newest}", [], WHEEL_MINUTES
        if name == "pip":
            if s.packages.get(name) and not step.upgrade and not p.spec:
                return f"pip {s.packages[name]} already installed: unchanged", [], 0.0
            v = p.pinned or (PIP_NEWEST if not p.spec or ">" in p.spec else "24.0")
            s.packages[name] = v
            return f"installs pip {v}", [], WHEEL_MINUTES
        if name in self.matrix.binaries:
            from envcheck.plan.deps import route

            if (
                s.packages.get(name)
                and not step.upgrade
                and (not p.spec or _spec(p.spec).contains(s.packages[name], prereleases=True))
            ):
                return f"{name} {s.packages[name]} already satisfies {p.text}: unchanged", [], 0.0
            if name == "numpy" and not p.spec and (latest := self._newest_numpy()):
                s.packages[name] = latest
                return f"installs numpy {latest}", [], WHEEL_MINUTES
            r = route(self.matrix, p.text or name, s.minor)
            if r.how == "fails":
                return (
                    f"fails: {r.why}",
                    [
                        _f(
                            "toolkit-dependency-build",
                            "error",
                            f"`{p.text}` cannot be installed on Python {s.minor}",
                            r.why,
                            r.source,
                        )
                    ],
                    1.0,
                )
            if r.version:
                s.packages[name] = r.version
            if r.how in ("build", "source"):
                return (
                    f"builds {name} {r.version} from its sdist: {r.why}",
                    [
                        _f(
                            "no-prebuilt-wheel-source-build",
                            "warning",
                            f"{name} {r.version} is compiled from its sdist here",
                            r.why,
                            r.source,
                        )
                    ],
                    max(r.seconds / 60, 1.0),
                )
            return f"installs {name} {r.version or p.spec or ''}".rstrip(), [], WHEEL_MINUTES
        if not name:
            return "", [], 0.0
        if s.packages.get(name) and not step.upgrade and not p.spec:
            return f"{name} already installed: unchanged", [], 0.0
        s.packages[name] = p.pinned or s.packages.get(name) or "*"
        return f"installs {p.text or name}", [], WHEEL_MINUTES


_STEP_FAILS = {
    "python-unsupported", "no-matching-release", "build-pkg-resources", "build-compiler", "mim-pkg_resources",
    "mim-missing", "mim-needs-torch", "toolkit-dependency-build", "conda-missing", "no-prebuilt-wheel",
}  # fmt: skip


def _cuda(tag: str) -> str | None:
    m = re.match(r"^cu(\d+)(\d)$", tag or "")
    return f"{m.group(1)}.{m.group(2)}" if m else None


def _build_minutes(matrix: Matrix, version: str, cuda: bool, cpus: int | None) -> float:
    from envcheck.plan.search import build_minutes

    return build_minutes(matrix, version, cuda, cpus)


def _key(f: Finding) -> tuple[str, str]:
    return (f.code, f.title)


def simulate(recipe: Recipe, env: Environment, matrix: Matrix, target: str = "this machine") -> Review:
    """Run every step in order on a copy of `env`; attribute each finding to the step that caused it."""
    sim = Simulator(env, matrix)
    memo: dict[tuple[object, ...], list[Finding]] = {}

    relevant = _doctor_reads(matrix)

    def doctor() -> list[Finding]:
        key = sim.s.key(relevant)
        if key not in memo:
            memo[key] = diagnose_environment(sim.env(), matrix)
        return memo[key]

    before = doctor()
    present = {_key(f) for f in before}
    results: list[StepResult] = []
    introduced: dict[tuple[str, str], int] = {}
    latest: dict[tuple[str, str], Finding] = {}
    for step in recipe.steps:
        r = sim.run(step)
        changed = step.action not in ("cd", "clone", "checkout", "download") and not r.failed
        if changed:
            now = doctor()
            keys = {_key(f) for f in now}
            for f in now:
                if _key(f) not in present:
                    introduced[_key(f)] = len(results)
                latest[_key(f)] = f
            present = keys
        results.append(r)
    final = doctor()
    extra: dict[int, list[Finding]] = {}
    for f in final:
        k = _key(f)
        if k in introduced and f.code not in {g.code for g in results[introduced[k]].findings}:
            extra.setdefault(introduced[k], []).append(f)
    results = [
        replace(r, findings=r.findings + tuple(extra.get(i, ()))) if i in extra else r for i, r in enumerate(results)
    ]
    # an ABI break a later step healed (mmcv rebuilt or reinstalled for the new torch) is history
    healed = (
        sim.s.mmcv is None
        or not sim.s.mmcv.ops
        or (sim.s.torch is not None and sim.s.mmcv_for == (sim.s.torch.minor, sim.s.torch.cuda_tag))
    )
    if healed:
        results = [replace(r, findings=tuple(_settle(f) for f in r.findings)) for r in results]
    minutes = round(sum(r.minutes for r in results), 1)
    wanted = tuple(dict.fromkeys(n for n in sim.s.wanted if n in matrix.toolkits))
    stack = _stack(sim.s.packages, matrix)
    errors = any(f.severity == "error" for r in results for f in r.findings)
    imports = not errors and all(n in sim.s.packages for n in wanted)
    weights = any(f.code == "weights-only" for f in final) and not any(
        s.env.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD") for s in recipe.steps
    )
    return Review(
        recipe, target, tuple(results), stack, tuple(before), minutes, wanted, imports, imports and not weights
    )


def _doctor_reads(matrix: Matrix) -> frozenset[str]:
    """The packages the doctor's rules look at: OpenMMLab, torch, NumPy and its ABI-bound builds, OpenCV,
    the tools, and every toolkit's undeclared runtime needs. A package outside it cannot change a finding,
    so the doctor runs again only when one of these changes (a 200-line recipe stays well under 0.5 s)."""
    from packaging.requirements import InvalidRequirement, Requirement

    from envcheck.doctor.packages import MMCV_DISTS, OPENCV_DISTS
    from envcheck.facts.model import OPENMMLAB
    from envcheck.matrix import iter_toolkit_releases

    names = {"torch", "torchvision", "torchaudio", "numpy", "pip", "setuptools", "wheel", "openmim", "ninja"}
    names |= set(OPENMMLAB) | set(MMCV_DISTS) | set(OPENCV_DISTS) | set(matrix.toolkits) | set(matrix.binaries)
    names |= {a.package for a in matrix.numpy_abi}
    for rel in iter_toolkit_releases(matrix):
        for text in rel.extra_runtime:
            try:
                names.add(Requirement(text).name.lower())
            except InvalidRequirement:
                continue
    return frozenset(names)


def _settle(f: Finding) -> Finding:
    if f.severity != "error" or f.code not in ("abi-undefined-symbol", "cuda-version-mismatch"):
        return f
    return replace(f, severity="info", why=f.why + " (a later step replaced mmcv: healed)")


def _stack(packages: dict[str, str], matrix: Matrix) -> dict[str, str]:
    names = ["torch", "torchvision", *MMCV_NAMES, "mmengine", *matrix.toolkits, "numpy", "openmim", "setuptools", "pip"]
    return {n: packages[n] for n in names if n in packages}
