"""Patched source builds: fetch an upstream sdist, unpack it, apply a matrices/patches/ patch, strictly.

Why not `pip download --no-binary :all:`: pip prepares an sdist's metadata (runs its setup.py) before
it saves the file, and running setup.py is exactly what fails for the sdists that need a patch
(measured 2026-12-02 on Python 3.13: `pip download --no-deps --no-binary :all: xtcocotools==1.14.3`
ends in "metadata-generation-failed" and saves nothing). So a small stdlib child fetches the file
from the package index's simple API (PEP 691 JSON, PEP 503 HTML as fallback) and checks its sha256.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from envcheck.matrix import SourcePatch
from envcheck.udiff import PatchError, apply_tree

DEFAULT_INDEX = "https://pypi.org/simple"

# Runs in the target interpreter (stdlib only): argv = dist version dest index...; prints the saved path.
FETCH_CHILD = r"""
import hashlib, json, os, re, sys, urllib.parse, urllib.request
dist, version, dest, indexes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
norm = lambda s: re.sub(r"[-_.]+", "-", s).lower()
want = norm(dist + "-" + version)
tried = []
for index in indexes:
    url = index.rstrip("/") + "/" + norm(dist) + "/"
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            body, kind = r.read(), r.headers.get("Content-Type", "")
    except Exception as exc:
        tried.append(f"{url}: {exc}")
        continue
    if "json" in kind:
        files = [(f["filename"], f["url"], f.get("hashes", {}).get("sha256")) for f in json.loads(body)["files"]]
    else:
        files = []
        for href in re.findall(r'href="([^"]+)"', body.decode("utf-8", "replace")):
            link, _, frag = href.partition("#sha256=")
            files.append((urllib.parse.unquote(link.rsplit("/", 1)[-1]), link, frag or None))
    for name, link, sha in files:
        ext = next((e for e in (".tar.gz", ".zip") if name.endswith(e)), "")
        if not ext or norm(name[: -len(ext)]) != want:
            continue
        data = urllib.request.urlopen(urllib.parse.urljoin(url, link), timeout=300).read()
        if sha and hashlib.sha256(data).hexdigest() != sha:
            sys.exit(f"{name}: sha256 mismatch (the index says {sha})")
        os.makedirs(dest, exist_ok=True)
        path = os.path.join(dest, name)
        with open(path, "wb") as fh:
            fh.write(data)
        print(path)
        sys.exit(0)
    tried.append(f"{url}: no sdist {dist}-{version}")
sys.exit("no sdist found: " + "; ".join(tried))
"""


def index_urls(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """The indexes a step's pip would use: its -i/--index-url and --extra-index-url, else PIP_INDEX_URL
    and PIP_EXTRA_INDEX_URL, else PyPI. Only https:// and file: ones (as everywhere in envcheck)."""
    environ = os.environ if environ is None else environ
    main: list[str] = []
    extra: list[str] = []
    it = iter(argv)
    for a in it:
        opt, eq, value = a.partition("=")
        if opt in ("-i", "--index-url", "--extra-index-url"):
            value = value if eq else next(it, "")
            (main if opt != "--extra-index-url" else extra).append(value)
    if not main:
        main = [environ["PIP_INDEX_URL"]] if environ.get("PIP_INDEX_URL") else [DEFAULT_INDEX]
    if not extra and environ.get("PIP_EXTRA_INDEX_URL"):
        extra = environ["PIP_EXTRA_INDEX_URL"].split()
    return [u for u in (*main, *extra) if u.startswith(("https://", "file:"))]


def fetch_argv(python: str, dist: str, version: str, dest: Path, indexes: Sequence[str]) -> tuple[str, ...]:
    return (python, "-c", FETCH_CHILD, dist, version, str(dest), *indexes)


def unpack(sdist: Path, into: Path) -> Path:
    """Unpack an sdist (.tar.gz or .zip) safely; the one top-level folder that holds its setup.py."""
    into.mkdir(parents=True, exist_ok=True)
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                for name in zf.namelist():
                    _inside(into, name)
                zf.extractall(into)
        else:
            with tarfile.open(sdist) as tf:
                for member in tf.getmembers():
                    _inside(into, member.name)
                    if member.issym() or member.islnk() or member.isdev():
                        raise PatchError(f"{sdist.name}: refusing the link or device {member.name!r}")
                tf.extractall(into)
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise PatchError(f"{sdist.name}: cannot unpack it ({exc})") from None
    tops = [p for p in into.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise PatchError(f"{sdist.name}: expected one top-level folder, found {len(tops)}")
    return tops[0]


def _inside(root: Path, name: str) -> None:
    target = (root / name).resolve()
    if not target.is_relative_to(root.resolve()):
        raise PatchError(f"refusing the archive member {name!r}: it points outside the unpack folder")


def patch_source(sdist: Path, dest: Path, patch: SourcePatch) -> Path:
    """`sdist` unpacked into `dest` (replaced if there) with `patch` applied; PatchError when it does not apply."""
    scratch = dest.parent / (dest.name + ".unpack")
    for old in (dest, scratch):
        shutil.rmtree(old, ignore_errors=True)
    os.replace(unpack(sdist, scratch), dest)
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        apply_tree(dest, patch.files)
    except PatchError as exc:
        raise PatchError(f"patch {patch.name} does not apply to {sdist.name}: {exc.message}") from None
    return dest
