"""Patched source builds through the installer, with a fake pip: fetch, strict patch, build, cache, install."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Callable

import pytest
from rich.console import Console

from envcheck.errors import UsageError
from envcheck.facts.model import PythonInfo
from envcheck.install.installer import Installer, InstallFailed
from envcheck.install.patched import FETCH_CHILD, index_urls, unpack
from envcheck.install.snapshot import Layout
from envcheck.install.steps import load_plan, prepare
from envcheck.install.wheelcache import WheelCache
from envcheck.matrix import load_matrix
from envcheck.plan.model import Plan, Step
from envcheck.render.progress import LineProgress, StepLog
from envcheck.runner import Completed
from envcheck.udiff import PatchError
from tests.install.test_install import LAYOUT, PIP, fake_site, make_env, tree_state
from tests.install.wheelhouse import build_wheel

PATCH = "xtcocotools-pep667-get-version"


def defective_setup() -> str:
    """A setup.py holding exactly the lines the patch was written against (its old side), plus filler."""
    files = load_matrix().builds.patches[PATCH].files
    old = "\n".join(line[1:] for line in files[0].hunks[0].lines if line[0] in " -")
    return "from setuptools import setup\n\nversion_file = 'xtcocotools/version.py'\n\n" + old + "\n"


def make_sdist(folder: Path, setup: str, name: str = "xtcocotools-1.14.3") -> Path:
    src = folder / "sdist-src" / name
    src.mkdir(parents=True)
    (src / "setup.py").write_text(setup)
    out = folder / f"{name}.tar.gz"
    with tarfile.open(out, "w:gz") as tf:
        tf.add(src, arcname=name)
    return out


def patched_plan(patch: str = PATCH) -> Plan:
    step = Step("pip", (*PIP, "--no-build-isolation", "xtcocotools==1.14.3", "setuptools<82"),
                "build patched upstream xtcocotools 1.14.3", compiles=True, minutes=0.1, patch=patch)  # fmt: skip
    return Plan(("mmpose",), "t", stack={}, steps=(step,))


class PatchingPip:
    """Probe answers from site-packages; the fetch child saves `sdist`; pip wheel writes a wheel; install adds it."""

    def __init__(self, site: Path, sdist: Path) -> None:
        self.site, self.sdist = site, sdist
        self.calls: list[tuple[str, ...]] = []
        self.built_from: str = ""

    def which(self, program: str, path: str | None = None) -> str | None:
        return None

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
            cwd: str | None = None, on_line: Callable[[str], None] | None = None) -> Completed:  # fmt: skip
        args = tuple(argv)
        self.calls.append(args)
        if args[1] == "-c" and args[2] == FETCH_CHILD:
            dest = Path(args[5])
            dest.mkdir(parents=True, exist_ok=True)
            (dest / self.sdist.name).write_bytes(self.sdist.read_bytes())
            return Completed(args, 0, str(dest / self.sdist.name))
        if args[1] == "-c":
            dists = [{"name": p.name.split("-")[0], "version": p.name.split("-")[1][: -len(".dist-info")],
                      "location": str(self.site)} for p in sorted(self.site.glob("*.dist-info"))]  # fmt: skip
            doc = {"probe": 1, "python": {"version": "3.13.0"}, "platform": {}, "dists": dists, "packages": {}}
            return Completed(args, 0, json.dumps(doc))
        if args[3] == "wheel":
            source = Path(args[-1])
            self.built_from = (source / "setup.py").read_text()
            out = Path(args[args.index("-w") + 1])
            build_wheel(out, "xtcocotools", "1.14.3", {"xtcocotools/__init__.py": ""})
            return Completed(args, 0, "Successfully built xtcocotools")
        (self.site / "xtcocotools").mkdir(exist_ok=True)
        (self.site / "xtcocotools-1.14.3.dist-info").mkdir(exist_ok=True)
        return Completed(args, 0, "Successfully installed xtcocotools-1.14.3")


def run_install(tmp_path: Path, layout: Layout, runner: PatchingPip, plan: Plan | None = None) -> Installer:
    prepared = prepare(plan or patched_plan(), make_env(), layout, WheelCache(tmp_path / "cache"))
    progress = LineProgress(Console(file=io.StringIO()))
    return Installer(prepared, load_matrix(), runner, progress, StepLog(tmp_path / "log.txt"), reach=lambda h: None,
                     check_imports=False, inspect=lambda py: make_env())  # fmt: skip


def test_prepare_turns_a_patched_step_into_fetch_patch_build_install(tmp_path: Path) -> None:
    matrix = load_matrix()
    (action,) = prepare(patched_plan(), make_env(), LAYOUT, WheelCache(tmp_path), matrix=matrix).actions
    patch = matrix.builds.patches[PATCH]
    assert action.kind == "build" and action.patch == patch and action.title.startswith("build patched upstream")
    assert action.fetch[:3] == (LAYOUT.python, "-c", FETCH_CHILD) and action.fetch[3:5] == ("xtcocotools", "1.14.3")
    assert action.argv[3] == "wheel" and action.argv[-1] == str(action.work / "source")
    for flag in ("--no-deps", "--no-build-isolation", "--no-cache-dir"):
        assert flag in action.argv
    assert action.key is not None and action.key.patch == f"{PATCH}@{patch.sha256[:12]}"
    assert f"patch-{PATCH}-{patch.sha256[:12]}" in action.key.slug and action.key.torch == "none+any"
    assert action.install[-2:] == ("xtcocotools==1.14.3", "setuptools<82") and "--only-binary" in action.install


def test_the_patched_wheel_is_built_from_patched_source_cached_and_installed(tmp_path: Path) -> None:
    layout, site = fake_site(tmp_path)
    runner = PatchingPip(site, make_sdist(tmp_path, defective_setup()))
    outcome = run_install(tmp_path, layout, runner).carry_out()
    assert outcome.compiled and "namespace['short_version']" in runner.built_from
    assert "locals()" not in runner.built_from
    log = (tmp_path / "log.txt").read_text()
    assert f"# applied {PATCH} (sha256 " in log
    cached = WheelCache(tmp_path / "cache").entries()
    assert len(cached) == 1 and cached[0].key.patch.startswith(PATCH + "@")
    assert (site / "xtcocotools-1.14.3.dist-info").is_dir()
    again = prepare(patched_plan(), make_env(), layout, WheelCache(tmp_path / "cache")).actions[0]
    assert again.kind == "cached" and "patched" in again.title, "the second time, nothing is fetched or built"


def test_a_patch_that_no_longer_applies_fails_and_restores_never_building_unpatched(tmp_path: Path) -> None:
    layout, site = fake_site(tmp_path)
    changed = defective_setup().replace("with open(version_file, 'r') as f:", "with open(version_file) as f:")
    runner = PatchingPip(site, make_sdist(tmp_path, changed))
    before = tree_state(tmp_path / "v")
    with pytest.raises(InstallFailed) as info:
        run_install(tmp_path, layout, runner).carry_out()
    assert info.value.exit_code == 3 and info.value.restored and info.value.code == "patch-failed"
    assert f"patch {PATCH} does not apply to xtcocotools-1.14.3.tar.gz" in info.value.message
    assert "\n" not in info.value.message
    assert not any(len(c) > 3 and c[3] == "wheel" for c in runner.calls), "no build after a failed patch"
    assert tree_state(tmp_path / "v") == before and not WheelCache(tmp_path / "cache").entries()


def test_an_unknown_patch_is_bad_input_before_anything_runs(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown patch 'no-such-patch'"):
        prepare(patched_plan("no-such-patch"), make_env(), LAYOUT, WheelCache(tmp_path))


def test_a_patch_for_another_distribution_is_refused(tmp_path: Path) -> None:
    plan = patched_plan("mmcv-pep667-get-version")
    with pytest.raises(UsageError, match="written for mmcv, mmcv-full, not for"):
        prepare(plan, make_env(), LAYOUT, WheelCache(tmp_path))


def test_a_saved_plan_keeps_its_patch(tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(patched_plan().to_json()))
    assert load_plan(str(path)).steps[0].patch == PATCH


def test_index_urls_follow_the_step_then_the_environment() -> None:
    assert index_urls([], {}) == ["https://pypi.org/simple"]
    assert index_urls([], {"PIP_INDEX_URL": "https://mirror/simple"}) == ["https://mirror/simple"]
    argv = ["-i", "https://a/simple", "--extra-index-url=https://b/simple", "-f", "https://c"]
    assert index_urls(argv, {"PIP_INDEX_URL": "https://x"}) == ["https://a/simple", "https://b/simple"]
    assert index_urls(["--index-url", "http://plain/simple"], {}) == [], "never a plain-http index"


def test_unpack_refuses_members_outside_its_folder(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    (tmp_path / "x.py").write_text("")
    with tarfile.open(evil, "w:gz") as tf:
        tf.add(tmp_path / "x.py", arcname="../x.py")
    with pytest.raises(PatchError, match="outside"):
        unpack(evil, tmp_path / "out")


def test_a_saved_plan_that_builds_a_known_failure_unpatched_is_refused_before_anything_runs(tmp_path: Path) -> None:
    env313 = replace(make_env(), python=PythonInfo("3.13.0", executable=LAYOUT.python, tag="cp313"))
    unpatched = Plan(("mmpose",), "t", steps=(replace(patched_plan().steps[0], patch=""),))
    with pytest.raises(UsageError) as err:
        prepare(unpatched, env313, LAYOUT, WheelCache(tmp_path))
    assert err.value.message == (
        "refusing to build xtcocotools 1.14.3 from its sdist on Python 3.13: its setup.py fails on Python 3.13 with "
        "KeyError: '__version__' (PEP 667: locals() no longer sees the names exec() bound); plan again: this "
        "envcheck builds it patched (xtcocotools-pep667-get-version)"
    )
    assert prepare(unpatched, make_env(), LAYOUT, WheelCache(tmp_path)).actions, "on Python 3.11 it builds as it is"
