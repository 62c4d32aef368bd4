"""The unified-diff applier: strict context, offsets only where unambiguous, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcheck.udiff import PatchError, apply_text, apply_tree, parse

# The shape of mmcv's setup.py around get_version() (a paraphrase, not upstream code).
SETUP = """import os


def get_version():
    version_file = 'pkg/version.py'
    with open(version_file, encoding='utf-8') as f:
        exec(compile(f.read(), version_file, 'exec'))
    return locals()['__version__']


def other():
    pass
"""

PATCH = """Patch: demo
Changes: read the version from a namespace.

--- a/setup.py
+++ b/setup.py
@@ -4,8 +4,9 @@
 def get_version():
     version_file = 'pkg/version.py'
     with open(version_file, encoding='utf-8') as f:
-        exec(compile(f.read(), version_file, 'exec'))
-    return locals()['__version__']
+        namespace = {}
+        exec(compile(f.read(), version_file, 'exec'), namespace)
+    return namespace['__version__']


 def other():
"""


def test_parse_skips_the_description_and_reads_the_hunk() -> None:
    (fp,) = parse(PATCH)
    assert fp.path == "setup.py"
    assert len(fp.hunks) == 1 and fp.hunks[0].old_start == 4
    assert fp.hunks[0].old[3].strip().startswith("exec(")


def test_apply_at_the_recorded_line() -> None:
    out = apply_text(SETUP, parse(PATCH)[0])
    assert "return namespace['__version__']" in out and "locals()" not in out
    assert out.endswith("    pass\n")


def test_an_offset_applies_where_the_text_occurs_once() -> None:
    shifted = "# one more line\n" + SETUP
    out = apply_text(shifted, parse(PATCH)[0])
    assert out.startswith("# one more line\n") and "namespace = {}" in out


def test_crlf_files_keep_their_line_endings() -> None:
    out = apply_text(SETUP.replace("\n", "\r\n"), parse(PATCH)[0])
    assert "namespace = {}\r\n" in out and "\n" not in out.replace("\r\n", "")


def test_changed_context_is_refused_not_fuzzed() -> None:
    changed = SETUP.replace("version_file = 'pkg/version.py'", "version_file = 'pkg/_version.py'")
    with pytest.raises(PatchError, match=r"hunk 1 .* does not apply"):
        apply_text(changed, parse(PATCH)[0])


def test_an_already_patched_file_is_refused() -> None:
    once = apply_text(SETUP, parse(PATCH)[0])
    with pytest.raises(PatchError, match="does not apply"):
        apply_text(once, parse(PATCH)[0])


def test_ambiguous_text_is_refused() -> None:
    twice = "# x\n" + SETUP + SETUP
    with pytest.raises(PatchError, match="more than once"):
        apply_text(twice, parse(PATCH)[0])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("just words\n", "no file patches"),
        ("--- a/x\n+++ b/x\n", "no hunks"),
        ("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n", "cut short"),
        ("--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+x\n", "creates or deletes"),
        ("--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "inside the source tree"),
        ("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n?b\n", "ends early"),
    ],
)
def test_bad_patches_are_one_line_errors(text: str, match: str) -> None:
    with pytest.raises(PatchError, match=match):
        parse(text)


def test_apply_tree_writes_nothing_unless_every_file_applies(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text(SETUP)
    (tmp_path / "b.py").write_text("x = 1\n")
    two = PATCH + "--- a/b.py\n+++ b/b.py\n@@ -1 +1 @@\n-x = 2\n+x = 3\n"
    with pytest.raises(PatchError, match=r"b\.py"):
        apply_tree(tmp_path, parse(two))
    assert (tmp_path / "setup.py").read_text() == SETUP
    assert apply_tree(tmp_path, parse(PATCH)) == ["setup.py"]
    assert "namespace" in (tmp_path / "setup.py").read_text()


def test_a_missing_file_is_a_patch_error(tmp_path: Path) -> None:
    with pytest.raises(PatchError, match="cannot read"):
        apply_tree(tmp_path, parse(PATCH))
