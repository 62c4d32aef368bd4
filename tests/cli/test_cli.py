"""The command line as a user meets it: real processes, one-line errors, documented exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import DATA, ROOT

EXAMPLES = DATA / "examples"
ROOT = ROOT


def envcheck(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, env=env, input=stdin, timeout=120
    )


def one_line_error(done: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("envcheck: error: ") and text in lines[0], lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("inspect", "--python", "/nonexistent/bin/python"), "no such file"),
        (("--python", "/"), "is a directory"),
        (("inspect", "--python", "/bin/ls"), "does not look like a Python interpreter"),
        (("doctor", "--python", "definitely-not-a-python-xyz"), "not found on PATH"),
        (("inspect", "--redact"), "--redact goes with --markdown"),
        (("inspect", "--timeout", "0"), "--timeout must be a positive number"),
        (("frobnicate",), "invalid choice"),
        (("plan",), "the following arguments are required"),
        (("plan", "mmdett", "--target", "colab"), "unknown toolkit 'mmdett'; did you mean mmdet?"),
        (("plan", "mmdet==>3", "--target", "colab"), "is not a toolkit with an optional version spec"),
        (("plan", "mmdet", "--target", "colabb"), "unknown profile 'colabb'; did you mean colab?"),
        (("plan", "mmdet", "--target", "colab", "--torch", "banana"), "--torch 'banana'"),
        (("plan", "mmdet", "--target", "colab", "--cuda", "cuda12"), "--cuda 'cuda12'"),
        (("plan", "mmdet", "--target", "colab", "--torch", "keep", "--cuda", "cpu"), "contradicts --cuda cpu"),
        (("plan", "mmdet", "--target", "colab", "--env", "x.json"), "not allowed with argument"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(args: tuple[str, ...], text: str) -> None:
    one_line_error(envcheck(*args), 2, text)


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (b"{oops", "malformed JSON at line 1 column 2"),
        (b"\x00\x01\x02\xff\xfe binary", "not a text file"),
        (b'{"schema": 2}', "schema 2 is not supported"),
        (b'{"gpus": 5}', '"gpus" must be a list'),
    ],
)
def test_bad_env_files(tmp_path: Path, content: bytes, text: str) -> None:
    path = tmp_path / "env.json"
    path.write_bytes(content)
    one_line_error(envcheck("plan", "mmdet", "--env", str(path)), 2, text)
    one_line_error(envcheck("doctor", "--env", str(path)), 2, text)


def test_python2_target_is_refused() -> None:
    py2 = Path.home() / ".pyenv" / "versions"
    found = sorted(py2.glob("2.7*/bin/python")) if py2.is_dir() else []
    if not found:
        pytest.skip("no Python 2 here")
    one_line_error(envcheck("inspect", "--python", str(found[0])), 2, "envcheck inspects Python 3.6 or newer")


def test_inspect_json_of_this_interpreter() -> None:
    done = envcheck("inspect", "--json")
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == 1
    assert doc["python"]["executable"] == sys.executable
    assert doc["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert doc["packages"]["pytest"]
    assert isinstance(doc["findings"], list)
    assert (done.returncode == 1) == any(f["severity"] == "error" for f in doc["findings"])


def test_doctor_on_an_env_file_exits_by_severity() -> None:
    done = envcheck("doctor", "--json", "--env", str(EXAMPLES / "env-colab-2025-11-t4.json"))
    doc = json.loads(done.stdout)
    codes = {f["code"] for f in doc["findings"]}
    assert "no-prebuilt-wheel" in codes  # torch 2.9 + cu126: no official mmcv wheel
    assert done.returncode == (1 if any(f["severity"] == "error" for f in doc["findings"]) else 0)


def test_markdown_redacts_home_and_user() -> None:
    done = envcheck("inspect", "--markdown", "--redact")
    assert done.returncode in (0, 1), done.stderr
    assert done.stdout.startswith("### envcheck")
    home = str(Path.home())
    assert home not in done.stdout
    assert "~" in done.stdout or home not in sys.executable


def test_plan_conflict_exits_1_and_names_the_clash() -> None:
    done = envcheck("plan", "mmocr", "--target", "colab", "--no-build", "--json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["ok"] is False and doc["conflict"]["clashes"]
    assert all(c["source"] for c in doc["conflict"]["clashes"])


def test_plan_json_contract() -> None:
    done = envcheck("plan", "mmdet", "--target", "colab-2024.08", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == 1 and doc["ok"] is True and doc["conflict"] is None
    assert doc["stack"]["mmdet"] == "3.3.0" and "+" in doc["stack"]["torch"]
    for step in doc["steps"]:
        assert {"tool", "argv", "why", "compiles"} <= set(step)
        assert isinstance(step["argv"], list)


@pytest.mark.parametrize("fmt", ["requirements", "constraints", "shell", "colab"])
def test_plan_formats(fmt: str) -> None:
    done = envcheck("plan", "mmdet", "--target", "colab-2024.08", "--format", fmt)
    assert done.returncode == 0, done.stderr
    assert "mmcv==2.1.0" in done.stdout and "mmdet==3.3.0" in done.stdout
    if fmt == "colab":
        assert done.stdout.count("\n!") >= 2 and "Restart" in done.stdout
    if fmt == "shell":
        assert done.stdout.startswith("#!/usr/bin/env bash")
