"""`envcheck review`: exit 0 works / 1 breaks / 2 unreadable; --json per the contract; one line on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import ROOT
from tests.review.corpus import RECIPES


def envcheck(*args: str, stdin: str | bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    data = stdin.encode() if isinstance(stdin, str) else stdin
    return subprocess.run(
        [sys.executable, "-m", "envcheck", *args], capture_output=True, env=env, input=data, timeout=120
    )


def one_line(done: subprocess.CompletedProcess[bytes], code: int, text: str) -> None:
    err = done.stderr.decode()
    assert done.returncode == code, (done.returncode, done.stdout, err)
    assert len(err.strip().splitlines()) == 1 and text in err, err
    assert "Traceback" not in err


def test_json_contract_and_exit_1() -> None:
    done = envcheck(
        "review", str(RECIPES / "mmdet-inference_demo.ipynb"), "--target", "colab-2024.08", "--json", "--fix"
    )
    assert done.returncode == 1, done.stderr
    doc = json.loads(done.stdout)
    assert doc["schema"] == 1 and doc["format"] == "notebook" and doc["ok"] is False
    assert {"line", "text", "tool", "effect", "findings"} <= set(doc["steps"][0])
    assert any(f["code"] == "version-guard" for s in doc["steps"] for f in s["findings"])
    assert doc["final_stack"]["mmcv"] == "2.2.0" and isinstance(doc["estimate_minutes"], float)
    assert json.loads(doc["fixed"])["cells"]


def test_working_recipe_exits_0() -> None:
    done = envcheck("review", str(RECIPES / "mmdet-10104-comment.cell"), "--target", "colab-2024.08")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert "works as written" in out and "Final stack" in out


def test_stdin_and_format_option() -> None:
    done = envcheck("review", "-", "--target", "colab", "--format", "requirements", "--json", stdin="mmcv==2.1.0\n")
    doc = json.loads(done.stdout)
    assert doc["format"] == "requirements" and doc["steps"][0]["line"] == 1


@pytest.mark.parametrize(
    ("content", "name", "code", "text"),
    [
        (b"", "empty.sh", 2, "empty"),
        (b"\x7fELF\x00\x01\x02", "bin.sh", 2, "binary data"),
        (b"\xff\xfe\xfa not utf8", "latin.sh", 2, "not UTF-8"),
        (b'{"cells": [', "broken.ipynb", 2, "not valid JSON"),
        (b"pip install mmcv==latest+torch1.5.0\n", "bad.sh", 2, "no install command could be read"),
        (b"echo hello\n", "nothing.sh", 0, "nothing to review"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, content: bytes, name: str, code: int, text: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    one_line(envcheck("review", str(path), "--target", "colab"), code, text)


def test_usage_errors() -> None:
    one_line(envcheck("review", "/nonexistent/recipe.sh", "--target", "colab"), 2, "No such file")
    one_line(envcheck("review", "-", "--target", "colabb", stdin="pip install mmdet\n"), 2, "unknown profile")
    one_line(envcheck("review", "-", "--format", "yaml", stdin="x"), 2, "unknown recipe format")
