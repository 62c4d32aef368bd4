"""Snapshot: an exact, restorable copy of a target's site-packages and scripts, made of hard links.

Why hard links: a copy of a 5 GB torch environment takes minutes, a hard-link copy of its ~21,000
files takes about a second and no space. It is exact only because pip never writes into an
existing file: it unlinks a file before writing a new one (pip `ZipBackedFile.save`, distlib
`write_binary_file` for console scripts) and moves what it uninstalls aside with `rename`. So the
snapshot keeps the old inodes while pip fills the live tree with new ones. tests/test_snapshot.py
checks that assumption against the pip in use; `restore` also re-checks each kept file's size and
mtime, so a tool that broke the assumption shows up as a damaged snapshot instead of a silent,
wrong "restored".

Restoring syncs the live tree back to the snapshot in place (the directories themselves are never
swapped, so a running notebook's sys.path stays valid): new entries are removed, replaced files
are linked back, and then every path is compared with the manifest taken before: same kind, same
inode. Where hard links are impossible (another filesystem), files are copied and compared by
size and mtime instead.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from envcheck.errors import InstallError, UsageError
from envcheck.runner import Runner

LAYOUT_SOURCE = (
    "import json, sys, sysconfig\n"
    "p = sysconfig.get_paths()\n"
    "print(json.dumps({'prefix': sys.prefix, 'executable': sys.executable, 'purelib': p['purelib'],"
    " 'platlib': p['platlib'], 'scripts': p['scripts'], 'data': p['data'],"
    " 'platform': sysconfig.get_platform()}))\n"
)

PREFIX = ".envcheck-snapshot-"  # + time + pid: what take() names a snapshot, leftovers() looks for
Entry = tuple[str, int, int, int, int, str]  # kind f|d|l, inode, size, mtime_ns, mode, link target


@dataclass(frozen=True)
class Layout:
    """Where pip installs for one interpreter (its default scheme, as pip itself asks sysconfig)."""

    python: str
    prefix: str
    purelib: str
    platlib: str
    scripts: str
    platform: str = ""  # as in wheel tags: linux_x86_64

    @property
    def roots(self) -> tuple[str, ...]:
        """The distinct directories to snapshot: platlib is purelib in most venvs (or a link to it)."""
        out: list[str] = []
        for path in (self.purelib, self.platlib, self.scripts):
            real = os.path.realpath(path)
            if real not in out and not any(real.startswith(o + os.sep) for o in out):
                out.append(real)
        return tuple(out)


def read_layout(runner: Runner, python: str, timeout: float = 30.0) -> Layout:
    done = runner.run([python, "-c", LAYOUT_SOURCE], timeout=timeout)
    try:
        doc = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise UsageError(f"cannot ask {python} where it installs packages ({done.describe_failure()})") from None
    plat = str(doc.get("platform", "")).replace("-", "_").replace(".", "_")
    return Layout(python, doc["prefix"], doc["purelib"], doc["platlib"], doc["scripts"], plat)


def check_writable(layout: Layout) -> None:
    """One-line exit-2 error when pip could not write where it installs (it would fall back to --user)."""
    for path in layout.roots:
        if not os.path.isdir(path):
            if path == os.path.realpath(layout.scripts):
                continue  # pip creates a missing scripts dir
            raise UsageError(f"{path} (where {layout.python} installs packages) does not exist")
        if not os.access(path, os.W_OK):
            raise UsageError(f"{path} is read-only: envcheck cannot install into {layout.python} (nothing was changed)")


def _scan(root: str) -> dict[str, Entry]:
    """Every path under root (relative), without following links."""
    out: dict[str, Entry] = {}
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel) if rel else root) as it:
            for e in it:
                r = os.path.join(rel, e.name) if rel else e.name
                st = e.stat(follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    out[r] = ("l", 0, 0, 0, 0, os.readlink(e.path))
                elif stat.S_ISDIR(st.st_mode):
                    out[r] = ("d", 0, 0, 0, stat.S_IMODE(st.st_mode), "")
                    stack.append(r)
                else:
                    out[r] = ("f", st.st_ino, st.st_size, st.st_mtime_ns, stat.S_IMODE(st.st_mode), "")
    return out


@dataclass
class Snapshot:
    """The saved trees (one per layout root) and what each held when it was taken."""

    layout: Layout
    where: Path
    manifests: dict[str, dict[str, Entry]] = field(default_factory=dict)
    linked: bool = True  # False: some files had to be copied (another filesystem)
    seconds: float = 0.0

    def saved(self, index: int) -> Path:
        return self.where / str(index)

    def files(self) -> int:
        return sum(1 for m in self.manifests.values() for e in m.values() if e[0] == "f")

    def discard(self, background: bool = False) -> None:
        """Delete the saved trees. Unlinking is the slow half here (36,000 links: 1.1 s to make, 12 s
        to remove on this machine's disk), so the CLI hands it to a detached `rmtree` that nobody
        waits for: the only process envcheck starts outside the Runner, on purpose, since its
        output matters to no one. The directory is renamed first, so nothing can mistake it for a
        snapshot in use."""
        if not background:
            shutil.rmtree(self.where, ignore_errors=True)
            return
        doomed = self.where.with_name(self.where.name + ".discarding")
        try:
            os.rename(self.where, doomed)
            subprocess.Popen(
                [sys.executable, "-c", "import shutil, sys; shutil.rmtree(sys.argv[1], ignore_errors=True)", str(doomed)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, close_fds=True,
            )  # fmt: skip
        except OSError:
            shutil.rmtree(doomed if doomed.exists() else self.where, ignore_errors=True)


def snapshot_home(layout: Layout, fallback: Path) -> Path:
    """A writable directory on site-packages' filesystem (hard links need one), else `fallback`."""
    dev = os.stat(layout.roots[0]).st_dev
    for cand in (layout.prefix, os.path.dirname(os.path.realpath(layout.purelib))):
        try:
            if os.stat(cand).st_dev == dev and os.access(cand, os.W_OK):
                return Path(cand)
        except OSError:
            continue
    return fallback


def take(layout: Layout, home: Path) -> Snapshot:
    """Hard-link copy of every root; falls back to copying per file when linking is refused."""
    start = time.monotonic()
    where = home / f"{PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"  # the pid last: _pid_of
    where.mkdir(parents=True)
    snap = Snapshot(layout, where)
    try:
        for i, root in enumerate(layout.roots):
            dest = snap.saved(i)
            dest.mkdir()
            if not os.path.isdir(root):
                snap.manifests[root] = {}
                continue
            manifest = _scan(root)
            snap.manifests[root] = manifest
            for rel, entry in sorted(manifest.items()):
                snap.linked &= _place(os.path.join(root, rel), str(dest / rel), entry)
        _write_manifest(snap)
    except BaseException:
        snap.discard()
        raise
    snap.seconds = time.monotonic() - start
    return snap


# -- a snapshot left behind (envcheck killed with SIGKILL, the machine lost power ...) -----------
#
# The manifest on disk is what makes a snapshot restorable by a later process: `take` writes it
# last (atomically), so a snapshot without one was never complete and no step ran after it.

MANIFEST = "manifest.json"


def _write_manifest(snap: Snapshot) -> None:
    doc = {
        "schema": 1,
        "taken": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "layout": {
            "python": snap.layout.python, "prefix": snap.layout.prefix, "purelib": snap.layout.purelib,
            "platlib": snap.layout.platlib, "scripts": snap.layout.scripts, "platform": snap.layout.platform,
        },
        "linked": snap.linked,
        "roots": [[root, {rel: list(e) for rel, e in manifest.items()}] for root, manifest in snap.manifests.items()],
    }  # fmt: skip
    tmp = snap.where / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    os.replace(tmp, snap.where / MANIFEST)


@dataclass(frozen=True)
class Leftover:
    """A snapshot directory some earlier install left: restorable (`snapshot`), or never completed."""

    where: Path
    pid: int | None  # the envcheck that took it
    running: bool  # that process is still alive: an install in progress, not a leftover
    snapshot: Snapshot | None  # None: no manifest (killed while taking it, before any step ran)
    taken: str = ""


def _pid_of(name: str) -> int | None:
    tail = name[len(PREFIX) :].split("-")
    return int(tail[-1]) if tail and tail[-1].isdigit() else None


def _alive(pid: int | None) -> bool:
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pip_processes(python: str) -> list[int]:
    """Processes still running pip in this interpreter (Linux /proc; elsewhere an empty list).

    An install killed with SIGKILL leaves its pip running (it has its own process group): restoring
    under it would race with its writes.
    """
    out: list[int] = []
    try:
        pids = [d for d in os.listdir("/proc") if d.isdigit()]
    except OSError:
        return out
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            continue
        words = [a.decode("utf-8", "replace") for a in argv if a]
        if words and words[0] == python and ("pip" in words[1:3] or any(w.endswith("/pip") for w in words[1:2])):
            out.append(int(pid))
    return out


def load(where: Path) -> tuple[Snapshot, str] | None:
    """The snapshot a manifest describes (and when it was taken), or None without a readable one."""
    try:
        doc = json.loads((where / MANIFEST).read_text(encoding="utf-8"))
        lay = doc["layout"]
        layout = Layout(lay["python"], lay["prefix"], lay["purelib"], lay["platlib"], lay["scripts"], lay["platform"])
        manifests = {root: {rel: tuple(e) for rel, e in entries.items()} for root, entries in doc["roots"]}
        snap = Snapshot(layout, where, cast("dict[str, dict[str, Entry]]", manifests), bool(doc["linked"]))
        return snap, str(doc.get("taken", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def leftovers(layout: Layout, fallback: Path) -> list[Leftover]:
    """Snapshots of this interpreter's trees still on disk, oldest first (their names sort by time)."""
    homes = [snapshot_home(layout, fallback), fallback]
    out: list[Leftover] = []
    seen: set[str] = set()
    for home in homes:
        try:
            found = sorted(home.glob(PREFIX + "*"))
        except OSError:
            continue
        for where in found:
            if where.name.endswith(".discarding") or not where.is_dir() or str(where) in seen:
                continue
            seen.add(str(where))
            pid = _pid_of(where.name)
            loaded = load(where)
            if loaded is not None and set(loaded[0].manifests) != set(layout.roots):
                continue  # another interpreter's snapshot that shares this home
            if loaded is None and home != homes[0]:
                continue  # an incomplete one in the shared fallback: whose, nobody can tell
            snap, taken = loaded if loaded else (None, "")
            out.append(Leftover(where, pid, _alive(pid), snap, taken))
    return out


def _place(src: str, dst: str, entry: Entry) -> bool:
    """Recreate one manifest entry at dst from src; False when a file had to be copied."""
    kind = entry[0]
    if kind == "d":
        os.mkdir(dst)
        os.chmod(dst, entry[4] | stat.S_IRWXU)
        return True
    if kind == "l":
        os.symlink(entry[5], dst)
        return True
    try:
        os.link(src, dst, follow_symlinks=False)
        return True
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            raise
    shutil.copy2(src, dst, follow_symlinks=False)
    return False


# -- restore ---------------------------------------------------------------------------------


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def _same(live: os.stat_result, entry: Entry) -> bool:
    if entry[0] == "l":
        return stat.S_ISLNK(live.st_mode)
    if entry[0] == "d":
        return stat.S_ISDIR(live.st_mode)
    return stat.S_ISREG(live.st_mode) and live.st_ino == entry[1]


def _walk_live(root: str) -> Iterator[tuple[str, os.stat_result]]:
    """Live paths, deepest first, so removing one never orphans a later one."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        rel_dir = os.path.relpath(dirpath, root)
        for name in filenames + dirnames:
            rel = name if rel_dir == "." else os.path.join(rel_dir, name)
            try:
                yield rel, os.lstat(os.path.join(root, rel))
            except FileNotFoundError:
                continue


def _sync(root: str, saved: Path, manifest: dict[str, Entry]) -> None:
    os.makedirs(root, exist_ok=True)
    for rel, st in _walk_live(root):
        entry = manifest.get(rel)
        if (
            entry is None
            or not _same(st, entry)
            or (entry[0] == "l" and os.readlink(os.path.join(root, rel)) != entry[5])
        ):
            _remove(os.path.join(root, rel))
    for rel, entry in sorted(manifest.items()):
        live = os.path.join(root, rel)
        if not os.path.lexists(live):
            _place(str(saved / rel), live, entry)
        elif entry[0] == "d":
            os.chmod(live, entry[4])


def damaged(snap: Snapshot) -> list[str]:
    """Saved files whose size or mtime changed since they were taken (someone wrote into an inode)."""
    bad = []
    for i, (root, manifest) in enumerate(snap.manifests.items()):
        for rel, entry in manifest.items():
            if entry[0] != "f":
                continue
            try:
                st = os.lstat(snap.saved(i) / rel)
            except OSError:
                bad.append(os.path.join(root, rel))
                continue
            if (st.st_size, st.st_mtime_ns) != (entry[2], entry[3]):
                bad.append(os.path.join(root, rel))
    return bad


def differences(snap: Snapshot, limit: int = 5) -> list[str]:
    """Paths where the live trees differ from the manifests (empty: restored exactly)."""
    out: list[str] = []
    for root, manifest in snap.manifests.items():
        live = _scan(root) if os.path.isdir(root) else {}
        for rel in sorted(set(live) | set(manifest)):
            a, b = live.get(rel), manifest.get(rel)
            if a is None or b is None:
                out.append(f"{'added' if b is None else 'missing'}: {os.path.join(root, rel)}")
            elif (
                a[0] != b[0]
                or a[5] != b[5]
                or (a[0] == "f" and (a[1] != b[1] if snap.linked else (a[2], a[3]) != (b[2], b[3])))
            ):
                out.append(f"changed: {os.path.join(root, rel)}")
            if len(out) >= limit:
                return out
    return out


def restore(snap: Snapshot) -> None:
    """Put every root back as it was; InstallError (restored=False) when that cannot be done or proved."""
    bad = damaged(snap)
    if bad:
        raise InstallError(
            f"the snapshot was modified in place ({len(bad)} files, e.g. {bad[0]}); not restoring from it",
            hint=f"the snapshot is kept at {snap.where}",
        )
    for i, (root, manifest) in enumerate(snap.manifests.items()):
        _sync(root, snap.saved(i), manifest)
    diff = differences(snap)
    if diff:
        raise InstallError(f"restored trees still differ from the snapshot: {'; '.join(diff)}",
                           hint=f"the snapshot is kept at {snap.where}")  # fmt: skip


def refuse_leftovers(layout: Layout, fallback: Path) -> list[Path]:
    """Before an install: a running install or an interrupted one's snapshot is a one-line refusal.

    Installing on top of an interrupted install would make its snapshot (the state before it)
    unreachable by the next rollback. Incomplete snapshots of dead processes (killed while taking
    them, so before any step ran) are removed; their paths are returned for the log.
    """
    removed: list[Path] = []
    for left in leftovers(layout, fallback):
        if left.running:
            raise UsageError(
                f"another envcheck install into {layout.python} is running (pid {left.pid}): wait for it to finish",
            )
        if left.snapshot is None:
            shutil.rmtree(left.where, ignore_errors=True)
            removed.append(left.where)
            continue
        raise UsageError(
            f"an interrupted envcheck install (pid {left.pid}, {left.taken or 'earlier'}) left {layout.python} "
            f"half-changed; its snapshot is at {left.where}",
            hint=f"`envcheck rollback --python {layout.python}` restores it; add --discard to keep it as it is now",
        )
    return removed
