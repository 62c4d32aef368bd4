"""Documents for fleet tests: the stored examples and machines, and synthetic variants of them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).parents[1] / "data"


def load(name: str) -> dict[str, Any]:
    for folder in ("examples", "machines"):
        p = DATA / folder / name
        if p.exists():
            return json.loads(p.read_text())
    raise FileNotFoundError(name)


def scenario_machines() -> list[dict[str, Any]]:
    """The planner scenarios' machines (partial inspect documents)."""
    envs = [json.loads(p.read_text())["env"] for p in sorted((DATA / "scenarios").glob("*.json"))]
    return [e for e in envs if isinstance(e, dict)]  # some name a stored example by path instead


def variant(doc: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy with dotted keys changed: variant(d, **{"python.version": "3.12.1", "packages.rich": "1.0"})."""
    out = copy.deepcopy(doc)
    for dotted, value in changes.items():
        *head, last = dotted.split(".")
        target = out
        for part in head:
            target = target.setdefault(part, {})
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return out
