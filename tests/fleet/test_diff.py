"""Two machines side by side: stack rows first, volatile keys ignored."""

from __future__ import annotations

from envcheck.fleet.diff import diff_documents
from envcheck.render.fleet import diff_lines
from tests.fleet.helpers import load, variant

BASE = load("broken-mmcv-lite-venv.json")


def test_same_machine_elsewhere_is_the_same() -> None:
    moved = variant(
        BASE,
        **{"python.executable": "/other/bin/python", "python.prefix": "/other", "node": "x", "envcheck": "9",
           "findings": [], "mmcv.location": "/other/site-packages", "missing": {}},
    )  # fmt: skip
    assert diff_documents(BASE, moved) == []
    assert diff_lines([], "a", "b") == ["✓ a and b: the same (volatile keys ignored)"]


def test_stack_rows_come_first_then_details() -> None:
    other = variant(BASE, **{"python.version": "3.12.1", "packages.rich": None, "platform.glibc": "2.40"})
    rows = diff_documents(BASE, other)
    assert rows[0].stack and (rows[0].path, rows[0].a, rows[0].b) == ("python", "3.11.7", "3.12.1")
    details = {r.path: (r.a, r.b) for r in rows if not r.stack}
    assert details["packages.rich"][1] == "<absent>" and details["platform.glibc"] == (
        BASE["platform"]["glibc"],
        "2.40",
    )
    assert "python.version" not in details  # shown once, as the stack row


def test_examples_differ() -> None:
    rows = diff_documents(load("env-cpu-laptop.json"), load("env-colab-2025-11-t4.json"))
    keys = [r.path for r in rows if r.stack]
    assert keys[:5] == ["python", "torch", "torch.cuda", "driver", "gpus"]
