"""Fixtures for probe tests: a fresh FakeRunner and fake /proc, /sys, /usr trees."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Callable

import pytest

from tests.probes.helpers import FakeRunner


@pytest.fixture
def fake_runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def tree(tmp_path: Path) -> Callable[..., Path]:
    """tree({"proc/driver/nvidia/version": "..."}, dirs=[...]) builds files under tmp_path."""

    def build(files: Mapping[str, str] = {}, dirs: Sequence[str] = ()) -> Path:
        for rel, text in files.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        for rel in dirs:
            (tmp_path / rel).mkdir(parents=True, exist_ok=True)
        return tmp_path

    return build
