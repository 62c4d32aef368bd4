"""Install, unit level: from plan steps to commands, the wheel cache, failure causes, and rollback with a fake pip."""

from __future__ import annotations

import io
import json
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Callable

import pytest

from envcheck.errors import UsageError
from envcheck.facts.model import Environment, PlatformInfo, PythonInfo, Torch
from envcheck.install.installer import Installer, InstallFailed
from envcheck.install.snapshot import Layout
from envcheck.install.steps import classify, decorate, https_hosts, load_plan, prepare
from envcheck.install.wheelcache import WheelCache, WheelKey, cache_root, wheel_has_ops
from envcheck.matrix import load_matrix
from envcheck.plan.model import Plan, Step
from envcheck.render.install_console import print_failure, verdict
from envcheck.render.progress import LineProgress, StepLog, elapsed
from envcheck.runner import Completed
from tests import DATA
from tests.install.wheelhouse import build_wheel

PY = "/v/bin/python"
PIP = (PY, "-m", "pip", "install")


def make_env(torch: str = "2.13.0+cpu", context: str = "local") -> Environment:
    return Environment(
        python=PythonInfo("3.11.7", executable=PY, tag="cp311"),
        platform=PlatformInfo("Linux", "x86_64", cpus=2),
        context=context,
        torch=Torch(torch, cuda="12.1" if "cu121" in torch else None),
    )


def build_plan(torch: str = "2.13.0+cpu", **kw: object) -> Plan:
    steps = (
        Step("pip", (*PIP, "setuptools<82", "wheel", f"torch=={torch}"), "build tooling"),
        Step("pip", (*PIP, "--no-build-isolation", "--no-cache-dir", "mmcv==2.1.0", f"torch=={torch}"),
             "compile mmcv", compiles=True, env={"MMCV_WITH_OPS": "1", "MAX_JOBS": "2"}, minutes=18.0),
        Step("pip", (*PIP, "mmengine==0.10.7", "mmdet==3.3.0", f"torch=={torch}"), "the toolkits"),
    )  # fmt: skip
    stack = {"torch": torch, "mmcv": "2.1.0", "mmengine": "0.10.7", "mmdet": "3.3.0"}
    return Plan(("mmdet",), "this machine", stack=stack, steps=steps, **kw)  # type: ignore[arg-type]


LAYOUT = Layout(PY, "/v", "/v/lib/site-packages", "/v/lib/site-packages", "/v/bin", "linux_x86_64")


# -- prepare ---------------------------------------------------------------------------------


def test_a_compile_step_becomes_build_into_the_cache_then_install(tmp_path: Path) -> None:
    prepared = prepare(build_plan(), make_env(), LAYOUT, WheelCache(tmp_path))
    kinds = [a.kind for a in prepared.actions]
    assert kinds == ["run", "build", "run"]
    build = prepared.actions[1]
    assert build.argv[:4] == (PY, "-m", "pip", "wheel")
    for flag in ("--no-deps", "--no-build-isolation", "--no-cache-dir"):
        assert flag in build.argv
    assert build.argv[-1] == "mmcv==2.1.0" and "torch==2.13.0+cpu" not in build.argv
    assert str(tmp_path / "build") in build.argv[build.argv.index("-w") + 1]
    assert build.env["MMCV_WITH_OPS"] == "1" and build.env["MAX_JOBS"] == "2" and build.env["FORCE_CUDA"] == "0"
    assert build.key is not None and build.key.torch == "2.13.0+cpu" and build.key.platform == "linux_x86_64"
    assert build.install == (*PIP, "--only-binary", "mmcv", "--find-links", str(WheelCache(tmp_path).folder(build.key)),
                             "mmcv==2.1.0", "torch==2.13.0+cpu")  # fmt: skip


def test_a_cached_wheel_for_the_same_key_replaces_the_compile(tmp_path: Path) -> None:
    cache = WheelCache(tmp_path)
    first = prepare(build_plan(), make_env(), LAYOUT, cache).actions[1]
    assert first.key is not None
    wheel = build_wheel(tmp_path, "mmcv", "2.1.0", {"mmcv/__init__.py": "", "mmcv/_ext.so": b"x"})
    cache.store(first.key, wheel, 1101.0)
    again = prepare(build_plan(), make_env(), LAYOUT, cache).actions[1]
    assert again.kind == "cached" and not again.compiles
    assert again.argv[:4] == PIP and "torch==2.13.0+cpu" in again.argv and "mmcv==2.1.0" in again.argv
    assert again.argv[again.argv.index("--find-links") + 1] == str(cache.folder(first.key))
    assert "18 min" in again.why
    other = prepare(build_plan("2.14.1+cpu"), make_env("2.14.1+cpu"), LAYOUT, cache).actions[1]
    assert other.kind == "build", "a wheel built against torch 2.13 must never serve torch 2.14"


def test_the_key_of_a_torch_without_a_build_tag_takes_it_from_the_environment(tmp_path: Path) -> None:
    plan = build_plan("2.1.2")
    env = make_env("2.1.2+cu121")
    steps = tuple(Step(s.tool, s.argv, s.why, s.compiles, {**s.env, "TORCH_CUDA_ARCH_LIST": "7.5"}) for s in plan.steps)
    action = prepare(Plan(plan.request, plan.target, plan.stack, steps=steps), env, LAYOUT, WheelCache(tmp_path))
    key = action.actions[1].key
    assert key is not None and key.torch == "2.1.2+cu121" and key.arch_list == "7.5"
    assert "sm75" in key.slug and "FORCE_CUDA" not in action.actions[1].env


@pytest.mark.parametrize(
    "argv",
    [("rm", "-rf", "/"), (PY, "-c", "import os"), (PY, "-m", "pip", "uninstall", "-y", "torch")],
)
def test_only_pip_and_mim_installs_are_carried_out(tmp_path: Path, argv: tuple[str, ...]) -> None:
    plan = Plan(("x",), "t", stack={"x": "1"}, steps=(Step("pip", argv, "evil"),))
    with pytest.raises(UsageError, match="refusing a step"):
        prepare(plan, make_env(), LAYOUT, WheelCache(tmp_path))


def test_plain_http_indexes_are_refused(tmp_path: Path) -> None:
    plan = Plan(("x",), "t", stack={"x": "1"}, steps=(Step("pip", (*PIP, "-f", "http://evil/idx", "x"), ""),))
    with pytest.raises(UsageError, match="https"):
        prepare(plan, make_env(), LAYOUT, WheelCache(tmp_path))
    with pytest.raises(UsageError, match="https"):
        prepare(build_plan(), make_env(), LAYOUT, WheelCache(tmp_path), ["--index-url=http://evil/simple"])


def test_the_target_interpreter_replaces_whatever_the_plan_was_written_for(tmp_path: Path) -> None:
    plan = Plan(("x",), "t", stack={"x": "1"}, steps=(Step("pip", ("/other/python", "-m", "pip", "install", "x"), ""),))
    assert prepare(plan, make_env(), LAYOUT, WheelCache(tmp_path)).actions[0].argv[0] == PY


def test_a_conflict_is_not_installed(tmp_path: Path) -> None:
    from envcheck.plan.model import Conflict

    with pytest.raises(UsageError, match="no stack"):
        prepare(Plan(("x",), "t", conflict=Conflict("no", ())), make_env(), LAYOUT, WheelCache(tmp_path))


def test_decorate_adds_short_network_timeouts_and_the_callers_pip_args() -> None:
    out = decorate((*PIP, "ftfy"), ["--no-index", "--find-links", "/wh"])
    assert out == (*PIP, "--timeout", "20", "--retries", "2", "--progress-bar", "off", "ftfy", "--no-index",
                   "--find-links", "/wh")  # fmt: skip
    assert decorate((*PIP, "--timeout=60", "x"), []).count("--timeout") == 0
    assert decorate((PY, "-m", "mim", "install", "x"), ["-q"]) == (PY, "-m", "mim", "install", "x", "-q")


def test_a_saved_plan_round_trips(tmp_path: Path) -> None:
    plan = build_plan()
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan.to_json()), encoding="utf-8")
    again = load_plan(str(path))
    assert again.steps == plan.steps and dict(again.stack) == dict(plan.stack)
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(UsageError, match="not a plan"):
        load_plan(str(path))


# -- why a step failed -----------------------------------------------------------------------


def failed(text: str, error: str | None = None) -> Completed:
    return Completed(("pip",), None if error else 1, text, "", 1.0, error=error)


def test_classify_names_an_unreachable_index() -> None:
    argv = (*PIP, "mmcv==2.1.0", "-f", "https://download.openmmlab.com/mmcv/dist/cpu/torch2.1/index.html")
    down: Callable[[str], str | None] = lambda host: "Name or service not known"  # noqa: E731
    code, why = classify(failed("ERROR: No matching distribution found for mmcv==2.1.0"), argv, down)
    assert code == "index-unreachable" and "download.openmmlab.com" in why
    code, _ = classify(failed("Failed to establish a new connection: [Errno -2]"), (*PIP, "x"), lambda h: None)
    assert code == "index-unreachable"
    assert classify(failed("ERROR: No matching distribution found for x"), (*PIP, "x"), down)[0] == "step-failed"
    assert classify(failed("", "timed out after 5 s"), (*PIP, "x"), down)[0] == "step-timeout"
    assert classify(failed("ModuleNotFoundError: No module named 'pkg_resources'"), argv, lambda h: None)[0] == (
        "build-pkg-resources"
    )
    assert https_hosts([], ["--index-url=https://a.example/simple", "-f", "https://b.example/x"]) == [
        "a.example",
        "b.example",
    ]


# -- the wheel cache -------------------------------------------------------------------------


def test_cache_root_follows_envcheck_cache_dir_then_xdg() -> None:
    assert cache_root({"ENVCHECK_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x"}) == Path("/c")
    assert cache_root({"XDG_CACHE_HOME": "/x"}) == Path("/x/envcheck")


def test_cache_store_list_clear(tmp_path: Path) -> None:
    cache = WheelCache(tmp_path / "c")
    key = WheelKey("mmcv", "2.1.0", "2.13.0+cpu", "cp311", "linux_x86_64")
    wheel = build_wheel(tmp_path, "mmcv", "2.1.0", {"mmcv/__init__.py": "", "mmcv/_ext.cpython-311.so": b"x"})
    assert cache.find(key) is None
    stored = cache.store(key, wheel, 60.0)
    assert cache.find(key) == stored and stored.path.read_bytes() == wheel.read_bytes()
    (cache.wheels / "junk").mkdir()  # an unreadable entry is ignored, not an error
    assert [c.key for c in cache.entries()] == [key]
    assert cache.clear() == (1, stored.size) and cache.entries() == []


def test_wheel_has_ops(tmp_path: Path) -> None:
    full = build_wheel(tmp_path, "mmcv", "2.1.0", {"mmcv/_ext.cpython-311-x86_64-linux-gnu.so": b"\x7fELF"})
    lite = build_wheel(tmp_path, "mmcv-lite", "2.1.0", {"mmcv/__init__.py": "", "mmcv/_ext_stub.py": ""})
    assert wheel_has_ops(full) and not wheel_has_ops(lite) and not wheel_has_ops(tmp_path / "missing.whl")


# -- rendering -------------------------------------------------------------------------------


def test_line_progress_beats_while_a_step_runs_quiet() -> None:
    from rich.console import Console

    buf = io.StringIO()
    progress = LineProgress(Console(file=buf, width=200), heartbeat=0.05)
    progress.start(2, 4, "compile mmcv")
    progress.line("[23/77] c++ -c nms.cpp")
    import time

    time.sleep(0.2)
    progress.end(True, 1101.0, "kept")
    text = buf.getvalue()
    assert "[2/4] compile mmcv ..." in text and "still running" in text and "compiled 23/77" in text
    assert "[2/4] compile mmcv: done in 18 min 21 s · kept" in text
    assert elapsed(3.25) == "3.2 s" and elapsed(7300) == "2 h 01 min"


def test_failure_report_and_verdict(tmp_path: Path) -> None:
    from rich.console import Console

    exc = InstallFailed("boom", code="index-unreachable", step="step 2/4 (compile mmcv)", tail=["a", "b"],
                        log=tmp_path / "x.log")  # fmt: skip
    buf = io.StringIO()
    print_failure(Console(file=buf, width=200), exc)
    text = buf.getvalue()
    assert "step 2/4" in text and "│ b" in text and "restored" in text and "x.log" in text
    assert exc.exit_code == 3
    prepared = prepare(build_plan(torch_changed=True), make_env(context="colab"), LAYOUT, WheelCache(tmp_path))
    line = verdict(prepared, None, exc)
    assert line.startswith("envcheck setup: FAILED at step 2/4") and "environment restored" in line
    assert InstallFailed("x", code="c", restored=False).exit_code == 1


# -- rollback, with a fake pip on a real directory tree -------------------------------------


class ScriptedRunner:
    """The probe child answers from `dists`; a pip command runs `on_pip` (which may change files)."""

    def __init__(self, site: Path, on_pip: Callable[[tuple[str, ...]], Completed]) -> None:
        self.site, self.on_pip = site, on_pip
        self.calls: list[tuple[str, ...]] = []

    def which(self, program: str, path: str | None = None) -> str | None:
        return None

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
            cwd: str | None = None, on_line: Callable[[str], None] | None = None) -> Completed:  # fmt: skip
        args = tuple(argv)
        self.calls.append(args)
        if args[1] == "-c":
            dists = [{"name": p.name.split("-")[0], "version": p.name.split("-")[1][: -len(".dist-info")],
                      "location": str(self.site)} for p in sorted(self.site.glob("*.dist-info"))]  # fmt: skip
            doc = {"probe": 1, "python": {"version": "3.11.7"}, "platform": {}, "dists": dists, "packages": {}}
            return Completed(args, 0, json.dumps(doc))
        done = self.on_pip(args)
        for line in done.stdout.splitlines():
            if on_line:
                on_line(line)
        return done


def tree_state(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def fake_site(tmp_path: Path) -> tuple[Layout, Path]:
    site = tmp_path / "v" / "lib" / "site-packages"
    (site / "ftfy").mkdir(parents=True)
    (site / "ftfy" / "__init__.py").write_text("old\n")
    (site / "ftfy-6.0.dist-info").mkdir()
    (tmp_path / "v" / "bin").mkdir()
    (tmp_path / "v" / "bin" / "ftfy").write_text("#!python\n")
    python = tmp_path / "v" / "bin" / "python"
    python.write_text("")  # never run: the ScriptedRunner answers for it
    return Layout(
        str(python), str(tmp_path / "v"), str(site), str(site), str(tmp_path / "v" / "bin"), "linux_x86_64"
    ), site


def half_way(site: Path) -> Callable[[tuple[str, ...]], Completed]:
    def pip(args: tuple[str, ...]) -> Completed:
        init = site / "ftfy" / "__init__.py"
        init.unlink()  # what pip does before writing a file
        init.write_text("new\n")
        (site / "ftfy-6.0.dist-info").rename(site / "ftfy-6.3.dist-info")
        (site / "regex").mkdir()
        (site / "regex" / "__init__.py").write_text("")
        return Completed(args, 2, "Installing collected packages: ftfy, regex\nERROR: Exception: Bad CRC-32")

    return pip


def installer(tmp_path: Path, layout: Layout, runner: ScriptedRunner) -> Installer:
    from rich.console import Console

    plan = Plan(("ftfy",), "t", stack={"ftfy": "6.3"}, steps=(Step("pip", (*PIP, "ftfy==6.3", "regex"), "x"),))
    prepared = prepare(plan, make_env(), layout, WheelCache(tmp_path / "cache"))
    progress = LineProgress(Console(file=io.StringIO()))
    return Installer(prepared, load_matrix(), runner, progress, StepLog(tmp_path / "log.txt"), reach=lambda h: None)


def test_a_step_that_fails_half_way_is_rolled_back_exactly(tmp_path: Path) -> None:
    layout, site = fake_site(tmp_path)
    before = tree_state(tmp_path / "v")
    inst = installer(tmp_path, layout, ScriptedRunner(site, half_way(site)))
    with pytest.raises(InstallFailed) as info:
        inst.carry_out()
    assert info.value.restored and info.value.exit_code == 3 and info.value.code == "step-failed"
    assert "Bad CRC-32" in info.value.tail[-1] and info.value.step.startswith("step 1/2")
    assert tree_state(tmp_path / "v") == before
    assert not list((tmp_path / "v").glob(".envcheck-snapshot-*")), "the snapshot is discarded after a restore"
    assert "# restore: ok" in (tmp_path / "log.txt").read_text()


def test_ctrl_c_during_a_step_is_rolled_back(tmp_path: Path) -> None:
    layout, site = fake_site(tmp_path)
    before = tree_state(tmp_path / "v")

    def interrupted(args: tuple[str, ...]) -> Completed:
        half_way(site)(args)
        raise KeyboardInterrupt

    with pytest.raises(InstallFailed) as info:
        installer(tmp_path, layout, ScriptedRunner(site, interrupted)).carry_out()
    assert info.value.code == "interrupted" and info.value.restored
    assert tree_state(tmp_path / "v") == before
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(signal.getsignal(signal.SIGTERM))


def test_a_snapshot_written_into_in_place_is_not_trusted(tmp_path: Path) -> None:
    layout, site = fake_site(tmp_path)

    def in_place(args: tuple[str, ...]) -> Completed:
        with open(site / "ftfy" / "__init__.py", "a") as fh:  # writes into the shared inode
            fh.write("appended\n")
        return Completed(args, 1, "ERROR: boom")

    with pytest.raises(InstallFailed) as info:
        installer(tmp_path, layout, ScriptedRunner(site, in_place)).carry_out()
    assert not info.value.restored and info.value.exit_code == 1
    assert "modified in place" in info.value.restore_error and "snapshot is kept" in info.value.hint
    assert list((tmp_path / "v").glob(".envcheck-snapshot-*"))


def test_an_unreachable_index_stops_before_anything_changes(tmp_path: Path) -> None:
    layout, site = fake_site(tmp_path)
    runner = ScriptedRunner(site, half_way(site))
    plan = Plan(("mmcv",), "t", stack={"mmcv": "2.1.0"},
                steps=(Step("pip", (*PIP, "mmcv==2.1.0", "-f", "https://download.openmmlab.com/mmcv/x.html"), ""),))  # fmt: skip
    from rich.console import Console

    prepared = prepare(plan, make_env(), layout, WheelCache(tmp_path / "cache"))
    inst = Installer(prepared, load_matrix(), runner, LineProgress(Console(file=io.StringIO())),
                     StepLog(tmp_path / "log.txt"), reach=lambda h: "Name or service not known")  # fmt: skip
    before = tree_state(tmp_path / "v")
    with pytest.raises(InstallFailed) as info:
        inst.carry_out()
    assert info.value.code == "index-unreachable" and not info.value.changed and info.value.exit_code == 3
    assert "download.openmmlab.com" in info.value.message
    assert tree_state(tmp_path / "v") == before and not any(c[1:3] == ("-m", "pip") for c in runner.calls)


def test_restore_handles_links_new_dirs_and_kind_changes(tmp_path: Path) -> None:
    from envcheck.install.snapshot import differences, restore, take

    root = tmp_path / "site"
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "sub" / "a.py").write_text("a")
    (root / "gone.py").write_text("g")
    os.symlink("pkg/sub/a.py", root / "link")
    layout = Layout(PY, str(tmp_path), str(root), str(root), str(tmp_path / "bin"))
    snap = take(layout, tmp_path)
    before = tree_state(root)
    (root / "gone.py").unlink()
    (root / "gone.py").mkdir()  # a file became a directory
    (root / "link").unlink()
    os.symlink("elsewhere", root / "link")
    import shutil

    shutil.rmtree(root / "pkg")
    (root / "pkg").write_text("now a file")
    (root / "new").mkdir()
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "tool").write_text("x")
    restore(snap)
    assert differences(snap) == [] and tree_state(root) == before
    assert os.readlink(root / "link") == "pkg/sub/a.py" and not (tmp_path / "bin" / "tool").exists()
    snap.discard()


def test_rich_progress_draws_in_a_terminal() -> None:
    from rich.console import Console

    from envcheck.render.progress import RichProgress, make_progress

    buf = io.StringIO()
    console = Console(file=buf, width=120, force_terminal=True)
    progress = make_progress(console)
    assert isinstance(progress, RichProgress)
    progress.start(1, 3, "compile mmcv")
    progress.line("[5/77] c++ roi_align.cpp")
    progress.end(False, 12.0, "see the log")
    progress.close()
    from rich.text import Text

    shown = Text.from_ansi(buf.getvalue()).plain
    assert "compiled 5/77" in shown and "✗ [1/3] compile mmcv 12 s · see the log" in shown
    assert isinstance(make_progress(Console(file=io.StringIO())), LineProgress), "pipes and `!` cells get lines"


def test_a_changed_torch_in_a_notebook_asks_for_a_restart(tmp_path: Path) -> None:
    from envcheck.install.installer import Outcome
    from envcheck.render.install_console import restart_notice

    colab = prepare(build_plan(torch_changed=True), make_env(context="colab"), LAYOUT, WheelCache(tmp_path))
    local = prepare(build_plan(torch_changed=True), make_env(), LAYOUT, WheelCache(tmp_path))
    kept = prepare(build_plan(), make_env(context="kaggle"), LAYOUT, WheelCache(tmp_path))
    assert restart_notice(colab) and not restart_notice(local) and not restart_notice(kept)
    line = verdict(colab, Outcome(seconds=75.0, compiled=True))
    assert line == (
        "envcheck setup: OK — mmdet 3.3.0 on torch 2.13.0+cpu, mmcv 2.1.0, mmengine 0.10.7 (mmcv compiled, "
        "wheel cached) in 1 min 15 s; restart the runtime before importing torch"
    )


def test_a_cached_build_makes_keeping_torch_the_cheapest_plan(tmp_path: Path) -> None:
    from dataclasses import replace

    from envcheck.facts.complete import complete
    from envcheck.install.steps import cached_builds
    from envcheck.plan.build import make_plan
    from envcheck.plan.search import parse_request

    matrix = load_matrix()
    env = complete(make_env(), matrix)
    request = parse_request(["mmdet"], matrix)
    assert make_plan(request, env, matrix).stack["torch"] != "2.13.0+cpu", "without the cache: a torch with wheels"
    cache = WheelCache(tmp_path)
    key = WheelKey("mmcv", "2.1.0", "2.13.0+cpu", "cp311", "linux_x86_64")
    cache.store(key, build_wheel(tmp_path, "mmcv", "2.1.0", {"mmcv/_ext.so": b"x"}), 1101.0)
    other = WheelKey("mmcv", "2.1.0", "2.13.0+cpu", "cp310", "linux_x86_64")
    cache.store(other, build_wheel(tmp_path, "mmcv", "2.1.0", {"mmcv/_ext.so": b"x"}), 1101.0)
    hint = cached_builds(cache, env, LAYOUT)
    assert hint == {("2.1.0", "2.13.0+cpu")}
    plan = make_plan(replace(request, cached_builds=hint), env, matrix)
    assert plan.stack["torch"] == "2.13.0+cpu" and plan.compiles
    assert prepare(plan, env, LAYOUT, cache).actions[1].kind == "cached"


def test_a_snapshot_can_be_discarded_in_the_background(tmp_path: Path) -> None:
    import time

    from envcheck.install.snapshot import take

    root = tmp_path / "site"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("a")
    snap = take(Layout(PY, str(tmp_path), str(root), str(root), str(tmp_path / "bin")), tmp_path)
    snap.discard(background=True)
    assert not snap.where.exists(), "renamed away at once"
    deadline = time.monotonic() + 20
    while list(tmp_path.glob(".envcheck-snapshot-*")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (root / "pkg" / "a.py").read_text() == "a"


# -- a snapshot left behind by an install killed outright ----------------------------------


def test_a_left_snapshot_restores_from_its_manifest_in_another_process(tmp_path: Path) -> None:
    """What `envcheck rollback` relies on: the manifest alone (no memory of the install) restores exactly."""
    from envcheck.install.snapshot import leftovers, load, restore, take

    layout, site = fake_site(tmp_path)
    before = tree_state(site), tree_state(Path(layout.scripts))
    taken = take(layout, Path(layout.prefix))
    half_way(site)(())  # the install was killed here: nothing restored
    (left,) = leftovers(layout, tmp_path / "fallback")
    assert left.where == taken.where and left.pid == os.getpid() and not left.running  # our own pid: not "another"
    loaded = load(left.where)
    assert loaded is not None and loaded[0].manifests == taken.manifests and loaded[0].linked == taken.linked
    restore(loaded[0])
    assert (tree_state(site), tree_state(Path(layout.scripts))) == before


def test_leftovers_in_a_shared_home_belong_to_their_own_interpreter(tmp_path: Path) -> None:
    """System interpreters share the cache's snapshot dir: each sees only the snapshots of its trees."""
    from envcheck.install.snapshot import leftovers, take

    shared = tmp_path / "cache" / "snapshots"
    a, _ = fake_site(tmp_path / "a")
    b, _ = fake_site(tmp_path / "b")
    snap_a = take(a, shared)
    incomplete = shared / ".envcheck-snapshot-20260101-000000-999999999"  # no manifest: whose is unknown
    (incomplete / "0").mkdir(parents=True)
    ghost = leftovers(b, shared)
    assert [x.where for x in leftovers(a, shared)] == [snap_a.where] and ghost == []
    assert incomplete.exists(), "never removed on a guess"


def test_refuse_leftovers_names_the_way_back(tmp_path: Path) -> None:
    from envcheck.errors import UsageError
    from envcheck.install.snapshot import refuse_leftovers, take

    layout, _ = fake_site(tmp_path)
    snap = take(layout, Path(layout.prefix))
    dead = snap.where.rename(snap.where.with_name(snap.where.name.rsplit("-", 1)[0] + "-999999999"))
    with pytest.raises(UsageError) as info:
        refuse_leftovers(layout, tmp_path / "fallback")
    assert str(dead) in info.value.message and f"envcheck rollback --python {layout.python}" in info.value.hint


def test_a_failed_step_carries_explains_diagnosis_of_its_output(tmp_path: Path) -> None:
    """A real failure log from the corpus as the step's output: the failure names its cause and fix."""
    from rich.console import Console

    corpus = DATA / "failures" / "cases.jsonl"
    case = next(c for c in map(json.loads, corpus.read_text().splitlines()) if c["id"].startswith("mcgaze-9-"))
    layout, site = fake_site(tmp_path)
    before = tree_state(site)

    def pip(args: tuple[str, ...]) -> Completed:
        (site / "half-installed.py").write_text("")
        return Completed(args, 1, case["log_excerpt"])

    with pytest.raises(InstallFailed) as info:
        installer(tmp_path, layout, ScriptedRunner(site, pip)).carry_out()
    found = info.value.diagnosis
    assert found is not None and found.code == case["category"] and found.fix
    assert info.value.restored and tree_state(site) == before
    assert f"# diagnosis: {case['category']} (" in (tmp_path / "log.txt").read_text()
    out = io.StringIO()
    print_failure(Console(file=out, width=200), info.value)
    shown = out.getvalue()
    assert f"Likely cause: {found.title} [{found.code}]" in shown
    assert all(step in shown for step in found.fix)
    setup_line = verdict(installer(tmp_path, layout, ScriptedRunner(site, pip)).p, None, info.value)
    assert f"likely cause [{found.code}] — environment restored" in setup_line
