"""`envcheck smoke` as a user meets it: exit codes, one-line usage errors, --json, --junit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.smoke.fakes import FAKE_TORCH, mmcv_files, mmdet_files, write

ROOT = Path(__file__).parents[2]


def envcheck(*args: str, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([str(site)] if site else []))
    return subprocess.run(
        [sys.executable, "-m", "envcheck", "smoke", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("mmdett",), "unknown toolkit 'mmdett'; did you mean mmdet?"),
        (("--device", "gpu"), "--device 'gpu': use auto, cpu, cuda or cuda:N"),
        (("--timeout", "0"), "--timeout must be a positive number"),
        (("--python", "/nonexistent/bin/python"), "no such file"),
        (("--python", "/bin/ls"), "does not look like a Python interpreter"),
        (("--junit", "/nonexistent-dir/x.xml"), "--junit /nonexistent-dir/x.xml"),
        (("--frobnicate",), "unrecognized arguments"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(args: tuple[str, ...], text: str) -> None:
    done = envcheck(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("envcheck: error: ") and text in lines[0], done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.integration
def test_json_and_junit_on_a_broken_stack_exit_1(tmp_path: Path) -> None:
    site = write(tmp_path / "site", {"torch/__init__.py": FAKE_TORCH, **mmcv_files(), **mmdet_files()})
    junit = tmp_path / "smoke.xml"
    done = envcheck("mmcv", "mmdet", "mmocr", "--python", sys.executable, "--json", "--junit", str(junit), site=site)
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == 1
    got = {r["toolkit"]: (r["status"], r["diagnosis"]) for r in doc["results"]}
    assert got["mmcv"] == ("fail", "mmcv-ops-missing")
    assert got["mmdet"] == ("fail", "mmcv-ops-missing")
    assert got["mmocr"][0] == "skip"
    cases = ET.parse(junit).getroot().findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["mmcv", "mmdet", "mmocr"]


@pytest.mark.integration
def test_nothing_installed_is_all_skips_and_exit_0(tmp_path: Path) -> None:
    done = envcheck("mmocr", "mmpose", "--python", sys.executable)
    assert done.returncode == 0, done.stderr
    assert "0 passed, 0 failed, 2 skipped" in done.stdout
    assert "not installed" in done.stdout
