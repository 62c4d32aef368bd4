"""Install, for real: real pip into real venvs from a local wheelhouse, real failures, real rollback.

One base venv (with a fake torch 2.13.0+cpu) is made per session and copied for each test. Every
`pip` here runs with the machine's pip configuration switched off and `--no-index --find-links
WHEELHOUSE` (through ENVCHECK_PIP_ARGS), so nothing is downloaded. "Restored exactly" is checked
independently of envcheck's own proof: `pip freeze --all` and a sha256 of every file under the
venv's lib/ and bin/ are compared before and after.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import ROOT
from tests.install.wheelhouse import build_wheelhouse

pytestmark = pytest.mark.integration
ROOT = ROOT


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))


def clean_env(wheelhouse: Path, cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "ENVCHECK_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,  # this machine's pip.conf adds indexes, find-links and a constraint
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        ENVCHECK_CACHE_DIR=str(cache),
        ENVCHECK_PIP_ARGS=f"--no-index --find-links {wheelhouse}",
        PYTHONPATH=str(ROOT),
        COLUMNS="200",
    )
    return env


@pytest.fixture(scope="session")
def base_venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Path:
    where = tmp_path_factory.mktemp("base") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    env = clean_env(wheelhouse, where.parent / "unused-cache")
    subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--find-links",
                    str(wheelhouse), "torch==2.13.0+cpu"], check=True, env=env)  # fmt: skip
    return where


class Venv:
    def __init__(self, path: Path, env: dict[str, str]) -> None:
        self.path, self.env = path, env
        self.python = str(path / "bin" / "python")

    def pip(self, *args: str) -> str:
        done = subprocess.run([self.python, "-m", "pip", *args], capture_output=True, text=True, env=self.env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def install(self, *reqs: str) -> None:
        self.pip("install", "-q", *self.env["ENVCHECK_PIP_ARGS"].split(), *reqs)

    def freeze(self) -> str:
        return self.pip("freeze", "--all")

    def digest(self) -> dict[str, str]:
        """Every file and link under lib/ and bin/, by content."""
        out = {}
        for top in ("lib", "bin"):
            for p in sorted((self.path / top).rglob("*")):
                rel = str(p.relative_to(self.path))
                if p.is_symlink():
                    out[rel] = "-> " + os.readlink(p)
                elif p.is_file():
                    out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        return out

    def state(self) -> tuple[str, dict[str, str]]:
        return self.freeze(), self.digest()


@pytest.fixture
def venv(base_venv: Path, tmp_path: Path, wheelhouse: Path) -> Venv:
    where = tmp_path / "venv"
    shutil.copytree(base_venv, where, symlinks=True)
    return Venv(where, clean_env(wheelhouse, tmp_path / "cache"))


def envcheck(venv: Venv, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, env=venv.env,
                          stdin=subprocess.DEVNULL, timeout=timeout)  # fmt: skip


def write_plan(path: Path, venv: Venv, stack: dict[str, str], *steps: tuple[list[str], bool]) -> str:
    doc = {
        "schema": 1, "ok": True, "request": ["test"], "target": "test", "stack": stack, "conflict": None,
        "steps": [{"tool": "pip", "argv": [venv.python, "-m", "pip", "install", *argv], "why": "test step",
                   "compiles": compiles, "env": {}, "minutes": 0.1} for argv, compiles in steps],
    }  # fmt: skip
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def existing_stack(venv: Venv) -> None:
    venv.install("mmcv==2.1.0", "mmengine==0.10.6", "mmdet==3.2.0")


# -- installs that work ----------------------------------------------------------------------


def test_a_build_plan_compiles_once_and_the_second_run_takes_the_cached_wheel(
    venv: Venv, base_venv: Path, tmp_path: Path
) -> None:
    done = envcheck(venv, "install", "mmdet", "--python", venv.python, "--torch", "keep", "--yes",
                    "--log", str(tmp_path / "first.log"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    frozen = venv.freeze()
    for pin in ("mmcv==2.1.0", "mmdet==3.3.0", "mmengine==0.10.7", "torch==2.13.0+cpu"):
        assert pin in frozen
    assert "compile mmcv 2.1.0" in done.stdout and "Installed" in done.stdout
    assert "pip wheel" in (tmp_path / "first.log").read_text()
    listed = json.loads(envcheck(venv, "cache", "list", "--json").stdout)
    assert [w["torch"] for w in listed["wheels"]] == ["2.13.0+cpu"]

    second = Venv(tmp_path / "second", venv.env)
    shutil.copytree(base_venv, second.path, symlinks=True)
    done = envcheck(second, "setup", "mmdet", "--python", second.python, "--torch", "keep", "--yes",
                    "--log", str(tmp_path / "second.log"))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "from envcheck's wheel cache" in done.stdout
    ran = [ln for ln in (tmp_path / "second.log").read_text().splitlines() if ln.startswith("$ ")]
    assert len(ran) == 3 and not any("pip wheel" in c or "--no-build-isolation" in c for c in ran), ran
    assert "mmcv==2.1.0" in second.freeze()
    assert done.stdout.strip().splitlines()[-1].startswith("envcheck setup: OK — mmdet 3.3.0 on torch 2.13.0+cpu")


def test_install_over_an_existing_stack(venv: Venv) -> None:
    existing_stack(venv)
    done = envcheck(venv, "install", "mmdet==3.3.0", "--python", venv.python, "--torch", "keep", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    frozen = venv.freeze()
    assert "mmdet==3.3.0" in frozen and "mmengine==0.10.7" in frozen and "mmcv==2.1.0" in frozen
    assert "compile" not in done.stdout, "the installed mmcv with ops is kept"


def test_dry_run_touches_nothing(venv: Venv) -> None:
    before = venv.state()
    done = envcheck(venv, "install", "mmdet", "--python", venv.python, "--torch", "keep", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "pip wheel --no-deps --no-build-isolation" in done.stdout and "nothing was changed" in done.stdout
    assert venv.state() == before and not Path(venv.env["ENVCHECK_CACHE_DIR"]).exists()


# -- failures, each rolled back exactly ------------------------------------------------------


def test_a_step_that_fails_half_way_is_restored_exactly(venv: Venv, tmp_path: Path) -> None:
    existing_stack(venv)
    before = venv.state()
    # pip upgrades setuptools (xtcocotools pulls it), installs mmdet 3.3.0, ftfy and regex, then dies
    # writing xtcocotools (bad CRC-32 half-way through its files).
    plan = write_plan(tmp_path / "plan.json", venv, {"mmdet": "3.3.0"},
                      (["mmdet==3.3.0", "mmengine==0.10.7", "ftfy", "regex", "xtcocotools"], False))  # fmt: skip
    done = envcheck(venv, "install", "--plan", plan, "--python", venv.python, "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Bad CRC-32" in done.stdout and "restored" in done.stdout and "step 1/2" in done.stdout
    after = venv.state()
    assert after[0] == before[0], "pip freeze differs"
    assert after[1] == before[1], sorted(set(after[1].items()) ^ set(before[1].items()))[:5]


@pytest.mark.parametrize(
    ("stack", "steps", "code"),
    [
        # pip succeeds, but mmdet 3.3.0's import-time guard rejects mmcv 2.2.0
        ({"mmcv": "2.2.0", "mmdet": "3.3.0"}, [(["mmcv==2.2.0", "mmdet==3.3.0", "mmengine==0.10.7"], False)],
         "version-guard"),
        # the "build" succeeds, but the wheel has no mmcv/_ext: a failure, and nothing is cached
        ({"mmcv": "2.0.1"}, [(["mmcv==2.0.1", "torch==2.13.0+cpu"], True)], "mmcv-ops-missing"),
    ],
)  # fmt: skip
def test_a_failed_check_is_restored(venv: Venv, tmp_path: Path, stack: dict[str, str],
                                    steps: list[tuple[list[str], bool]], code: str) -> None:  # fmt: skip
    existing_stack(venv)
    before = venv.state()
    plan = write_plan(tmp_path / "plan.json", venv, stack, *steps)
    done = envcheck(venv, "setup", "--plan", plan, "--python", venv.python, "--yes")
    assert done.returncode == 3, done.stdout + done.stderr
    assert code in done.stdout and "environment restored" in done.stdout.splitlines()[-1]
    assert venv.state() == before
    assert json.loads(envcheck(venv, "cache", "list", "--json").stdout)["wheels"] == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupt_during_a_step_is_restored(venv: Venv, tmp_path: Path, sig: signal.Signals) -> None:
    before = venv.state()
    log = tmp_path / "install.log"
    plan = write_plan(tmp_path / "plan.json", venv, {"ftfy": "6.3.1", "chumpy": "0.70"},
                      (["ftfy"], False), (["--no-build-isolation", "chumpy"], False))  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "install", "--plan", plan, "--python", venv.python,
                             "--yes", "--log", str(log)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=venv.env, stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not any(
            ln.startswith("$ ") and "chumpy" in ln for ln in (log.read_text() if log.exists() else "").splitlines()
        ):
            assert time.monotonic() < deadline and proc.poll() is None, "step 2 never started"
            time.sleep(0.2)
        time.sleep(1.5)  # inside chumpy's setup.py, which sleeps
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, out
    assert "[interrupted]" in out and "restored" in out
    assert venv.state() == before, "ftfy, installed by step 1, must be gone again"


def test_an_install_killed_outright_is_refused_then_rolled_back(venv: Venv, tmp_path: Path) -> None:
    """SIGKILL: no handler runs, the snapshot stays on disk, pip (its own process group) keeps going."""
    from envcheck.install.snapshot import pip_processes

    before = venv.state()
    log = tmp_path / "install.log"
    plan = write_plan(tmp_path / "plan.json", venv, {"ftfy": "6.3.1", "chumpy": "0.70"},
                      (["ftfy"], False), (["--no-build-isolation", "chumpy"], False))  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "install", "--plan", plan, "--python", venv.python,
                             "--yes", "--log", str(log)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=venv.env, stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not pip_processes(venv.python) or not any(
            ln.startswith("$ ") and "chumpy" in ln for ln in (log.read_text() if log.exists() else "").splitlines()
        ):
            assert time.monotonic() < deadline and proc.poll() is None, "step 2 never started"
            time.sleep(0.2)
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        # pip of step 2 outlives envcheck (its own process group) until it writes to the closed pipe;
        # what a user would do with one still hanging there: kill it
        for pid in pip_processes(venv.python):
            os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while pip_processes(venv.python):
        assert time.monotonic() < deadline, "the orphaned pip did not die"
        time.sleep(0.1)
    assert venv.state() != before, "ftfy, installed by step 1, is there"
    again = envcheck(venv, "install", "--plan", plan, "--python", venv.python, "--yes")
    one_line(again, "an interrupted envcheck install")
    assert "envcheck rollback --python" in again.stderr

    done = envcheck(venv, "rollback", "--python", venv.python, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "- ftfy==6.3.1" in done.stdout and "back as it was" in done.stdout
    assert venv.state() == before
    assert not list(venv.path.glob(".envcheck-snapshot-*"))
    nothing = envcheck(venv, "rollback", "--python", venv.python, "--yes")
    assert nothing.returncode == 0 and "No interrupted install" in nothing.stdout


DEAD_PID = 999_999_999  # above any pid_max: the process that took the snapshot is gone


def orphan_snapshot(venv: Venv) -> Path:
    """A complete snapshot as an install killed after taking it leaves (named by a dead pid)."""
    from envcheck.install.snapshot import read_layout, snapshot_home, take
    from envcheck.runner import SubprocessRunner

    layout = read_layout(SubprocessRunner(), venv.python)
    snap = take(layout, snapshot_home(layout, venv.path / "unused"))
    return snap.where.rename(snap.where.with_name(snap.where.name.rsplit("-", 1)[0] + f"-{DEAD_PID}"))


def test_rollback_waits_for_a_pip_still_running_in_the_interpreter(venv: Venv, tmp_path: Path) -> None:
    orphan_snapshot(venv)  # as an install killed during a pip step
    script = tmp_path / "bin" / "pip"  # `venv/bin/pip install ...` runs as [python, .../pip, ...]
    script.parent.mkdir()
    script.write_text("import time\ntime.sleep(60)\n")
    pip = subprocess.Popen([venv.python, str(script), "install", "chumpy"])
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/proc/{pip.pid}/cmdline").read_bytes().startswith(venv.python.encode()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        before = venv.state()
        one_line(envcheck(venv, "rollback", "--python", venv.python, "--yes"), f"pip is still running in {venv.python}")
        assert venv.state() == before and list(venv.path.glob(".envcheck-snapshot-*"))
    finally:
        pip.kill()
        pip.wait()


def test_rollback_discard_keeps_the_environment_as_it_is(venv: Venv) -> None:
    where = orphan_snapshot(venv)
    venv.install("ftfy")
    changed = venv.state()
    done = envcheck(venv, "rollback", "--python", venv.python, "--discard", "--yes")
    assert done.returncode == 0 and "left as it is now" in done.stdout, done.stdout + done.stderr
    assert venv.state() == changed and not where.exists()


def test_a_running_install_is_not_mistaken_for_an_interrupted_one(venv: Venv) -> None:
    from envcheck.install.snapshot import read_layout, snapshot_home, take
    from envcheck.runner import SubprocessRunner

    layout = read_layout(SubprocessRunner(), venv.python)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # a snapshot whose envcheck is alive: another install, in progress
        snap = take(layout, snapshot_home(layout, venv.path / "unused"))
        snap.where.rename(snap.where.with_name(snap.where.name.rsplit("-", 1)[0] + f"-{sleeper.pid}"))
        one_line(envcheck(venv, "install", "ftfy", "--python", venv.python, "--yes"), f"(pid {sleeper.pid})")
        one_line(envcheck(venv, "rollback", "--python", venv.python, "--yes"), "is still running")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_rollback_from_a_damaged_snapshot_refuses_and_keeps_it(venv: Venv) -> None:
    where = orphan_snapshot(venv)
    shared = next((venv.path / "lib").rglob("torch/version.py"))
    with open(shared, "a", encoding="utf-8") as fh:  # written in place: the snapshot's inode changes too
        fh.write("# edited\n")
    done = envcheck(venv, "rollback", "--python", venv.python, "--yes")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "restoring failed: the snapshot was modified in place" in done.stdout and str(where) in done.stdout
    assert where.exists()


def test_an_incomplete_snapshot_is_not_restored_and_does_not_block(venv: Venv, tmp_path: Path) -> None:
    """Killed while taking the snapshot (no manifest yet): no step ran; the next install clears it."""
    stale = venv.path / f".envcheck-snapshot-20260101-000000-{DEAD_PID}"
    (stale / "0").mkdir(parents=True)
    done = envcheck(venv, "rollback", "--python", venv.python, "--yes")
    assert done.returncode == 0 and "No interrupted install" in done.stdout, done.stdout + done.stderr
    assert not stale.exists()


# -- refusals: exit 2, nothing touched -------------------------------------------------------


def one_line(done: subprocess.CompletedProcess[str], text: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("envcheck: error: ") and text in lines[0], done.stderr


def test_missing_interpreter(venv: Venv) -> None:
    one_line(envcheck(venv, "install", "mmdet", "--python", "/nonexistent/bin/python", "--yes"), "no such file")


def test_no_terminal_and_no_yes_refuses(venv: Venv) -> None:
    before = venv.state()
    one_line(envcheck(venv, "install", "mmdet", "--python", venv.python, "--torch", "keep"), "pass --yes")
    assert venv.state() == before


def test_at_a_terminal_it_asks_first_and_no_means_nothing_changes(venv: Venv) -> None:
    import pty

    before = venv.state()
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "envcheck", "install", "mmdet", "--python", venv.python, "--torch",
                             "keep"], stdin=slave, stdout=slave, stderr=slave, env=venv.env)  # fmt: skip
    os.close(slave)
    seen = b""
    try:
        import select

        deadline = time.monotonic() + 60
        while b"Proceed? [y/N]" not in seen:
            assert time.monotonic() < deadline, seen.decode(errors="replace")
            if select.select([master], [], [], 1.0)[0]:
                seen += os.read(master, 4096)
        os.write(master, b"n\n")
        assert proc.wait(timeout=30) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    assert venv.state() == before


def _site(venv: Venv) -> Path:
    return next((venv.path / "lib").glob("python3*/site-packages"))


@pytest.fixture
def read_only_site(venv: Venv) -> Iterator[Path]:
    """site-packages made read-only for real: a read-only bind mount as root, chmod otherwise."""
    site = _site(venv)
    if os.geteuid() != 0:
        site.chmod(0o555)
        yield site
        site.chmod(0o755)
        return
    mount = shutil.which("mount") or "mount"
    ok = (
        shutil.which("mount") is not None
        and subprocess.run([mount, "--bind", str(site), str(site)], capture_output=True).returncode == 0
    )
    if not ok:
        pytest.skip("cannot make a read-only mount here (root, no mount privilege)")
    try:
        remount = subprocess.run([mount, "-o", "remount,bind,ro", str(site)], capture_output=True)
        if remount.returncode != 0:
            pytest.skip(f"cannot remount read-only: {remount.stderr.decode().strip()}")
        yield site
    finally:
        subprocess.run(["umount", str(site)], check=True)


def test_read_only_site_packages(venv: Venv, read_only_site: Path) -> None:
    before = venv.state()
    one_line(envcheck(venv, "install", "mmdet", "--python", venv.python, "--torch", "keep", "--yes"), "read-only")
    assert venv.state() == before


# -- the assumption the snapshot rests on ----------------------------------------------------


def test_pip_replaces_files_instead_of_writing_into_them(venv: Venv, tmp_path: Path) -> None:
    """A hard-link snapshot is exact only if pip never writes into an existing inode: check this pip."""
    from envcheck.install.snapshot import damaged, differences, read_layout, restore, take
    from envcheck.runner import SubprocessRunner

    venv.install("mmengine==0.10.6")
    site, script = _site(venv), venv.path / "bin" / "mmengine-version"
    before = venv.state()
    snap = take(read_layout(SubprocessRunner(), venv.python), tmp_path)
    saved_init = next(snap.where.rglob("mmengine/__init__.py"))
    venv.install("mmengine==0.10.7")  # same file names, new contents; the console script is rewritten
    assert "0.10.7" in (site / "mmengine" / "__init__.py").read_text()
    assert "0.10.6" in saved_init.read_text(), "pip wrote into a file the snapshot shares"
    assert os.stat(script).st_ino != os.stat(next(snap.where.rglob("mmengine-version"))).st_ino
    assert damaged(snap) == [] and differences(snap)
    restore(snap)
    assert differences(snap) == [] and venv.state() == before
    snap.discard()
