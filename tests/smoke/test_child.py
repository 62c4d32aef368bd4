"""The child programs as data: they compile for old Pythons; the marker protocol; check selection."""

from __future__ import annotations

import ast
import json
import sys

import pytest

from envcheck.errors import SmokeError
from envcheck.runner import SubprocessRunner
from envcheck.smoke import CHECKS
from envcheck.smoke.child import MARKER, arguments, parse_marker, program, strip_marker
from envcheck.smoke.run import SmokeOptions, select, validate


@pytest.mark.parametrize("name", list(CHECKS))
def test_each_program_parses_as_python_3_7(name: str) -> None:
    source = program(CHECKS[name])
    tree = ast.parse(source, feature_version=(3, 7))
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"check", "_run", "load_config", "offline_model"} <= defined
    compile(source, f"<smoke {name}>", "exec")


@pytest.mark.parametrize(
    ("name", "must"),
    [
        ("mmdet", "checkpoint=None"),
        ("mmseg", "checkpoint=None"),
        ("mmpose", "checkpoint=None"),
        ("mmocr", "weights=None"),
        ("mmpretrain", "pretrained=False"),
        ("mmdeploy", "model_checkpoint=None"),
    ],
)
def test_programs_never_name_a_download(name: str, must: str) -> None:
    """A config path with no weights: never a URL, never a model name that resolves metafile weights."""
    source = CHECKS[name].source
    assert must in source
    assert "http" not in source and "load_from" not in source


def test_arguments_are_one_json_argument() -> None:
    doc = json.loads(arguments(CHECKS["mmdet"], "cuda:1", 30.0))
    assert doc == {"module": "mmdet", "dist": "mmdet", "device": "cuda:1", "timeout": 30.0}


def test_parse_marker_takes_the_last_result_line() -> None:
    out = f'noise\n{MARKER}{{"status": "fail"}}\nmore\n{MARKER}{{"status": "pass", "detail": "ok"}}\n'
    assert parse_marker(out) == {"status": "pass", "detail": "ok"}
    assert parse_marker("no marker here") is None
    assert parse_marker(f"{MARKER}{{broken") is None
    assert parse_marker(f'{MARKER}{{"status": "maybe"}}') is None
    assert strip_marker(out) == "noise\nmore"


def test_select_orders_dedups_and_aliases() -> None:
    assert [c.toolkit for c in select([])] == list(CHECKS)
    assert [c.toolkit for c in select(["mmdet", "torch", "mmsegmentation", "mmdet"])] == ["torch", "mmdet", "mmseg"]
    with pytest.raises(SmokeError, match="unknown toolkit 'mmdett'; did you mean mmdet"):
        select(["mmdett"])


@pytest.mark.parametrize(
    ("options", "text"),
    [
        (SmokeOptions(sys.executable, device="gpu"), "--device 'gpu'"),
        (SmokeOptions(sys.executable, device="cuda:x"), "--device 'cuda:x'"),
        (SmokeOptions(sys.executable, timeout=0), "--timeout must be a positive"),
        (SmokeOptions("/nonexistent/bin/python"), "no such file"),
        (SmokeOptions("/"), "is a directory"),
        (SmokeOptions("/bin/ls"), "does not look like a Python"),
        (SmokeOptions("no-such-python-xyz"), "not found on PATH"),
    ],
)
def test_validate_refuses_what_can_never_run(options: SmokeOptions, text: str) -> None:
    with pytest.raises(SmokeError, match=None) as info:
        validate(options, SubprocessRunner())
    assert text in info.value.message


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:12"])
def test_validate_accepts_devices(device: str) -> None:
    validate(SmokeOptions(sys.executable, device=device), SubprocessRunner())
