"""Planner scenarios as data: tests/data/scenarios/*.json, one machine and request each.

A scenario is {"description", "env", "request", "options", "expect"}:
- env: an `inspect --json` document (partial is fine), or the path of one under tests/data/;
- request: what the user types after `envcheck plan`; options: torch (auto|keep|any|VERSION),
  cuda (null|cpu|cuXYZ), no_build;
- expect: "ok", and for a plan any of "stack" (only the keys asserted), "absent" (names not in
  the stack), "compiles", "torch_changed", "build_env" / "build_env_absent" (the compiling
  step's variables), "torch_index" (where a changed torch comes from; null = PyPI),
  "wheel_index" (the mmcv find-links page), "pins", "pins_absent", "steps_mention", "warnings_mention"; for a
  conflict, "conflict_mentions" (text the summary or a clash, or its source, must contain); for either,
  "rejected_mentions" (text the alternatives must contain: other runtimes where it works).
Every ok plan must also pass the hard rules of tests/plan_rules.py, and for every conflict the
brute force there must find no stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from envcheck.facts.complete import complete
from envcheck.facts.document import from_document
from envcheck.facts.model import Environment
from envcheck.matrix import Matrix, load_matrix
from envcheck.plan.build import make_plan
from envcheck.plan.model import Plan
from envcheck.plan.search import parse_request
from tests import DATA
from tests.plan.rules import Ask, requirements, violations, witness

DATA = DATA
SCENARIOS = sorted((DATA / "scenarios").glob("*.json"))
TOP_KEYS = {"description", "env", "request", "options", "expect"}
OPTION_KEYS = {"torch", "cuda", "no_build"}
EXPECT_KEYS = {
    "ok", "stack", "absent", "compiles", "torch_changed", "build_env", "build_env_absent",
    "torch_index", "wheel_index", "pins", "pins_absent", "steps_mention", "warnings_mention", "conflict_mentions",
    "rejected_mentions",
}  # fmt: skip


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return case


def _env(case: dict[str, Any], matrix: Matrix) -> Environment:
    doc = case["env"]
    if isinstance(doc, str):
        doc = json.loads((DATA / doc).read_text(encoding="utf-8"))
    return complete(from_document(doc), matrix)


def _plan(case: dict[str, Any], matrix: Matrix) -> tuple[Plan, Environment, Ask]:
    opts = {"torch": "auto", "cuda": None, "no_build": False, **case.get("options", {})}
    env = _env(case, matrix)
    request = parse_request(case["request"], matrix, **opts)
    specs = {matrix.toolkit_name(Requirement(t).name) or t: Requirement(t).specifier for t in case["request"]}
    return make_plan(request, env, matrix), env, Ask(specs, opts["torch"], opts["cuda"], opts["no_build"])


def _build_step_env(plan: Plan) -> dict[str, str]:
    builds = [s for s in plan.steps if s.compiles]
    assert builds, "expected a step that compiles mmcv"
    return dict(builds[0].env)


def _only_torch(reqs: list[str]) -> bool:
    return {r.split("==")[0] for r in reqs} <= {"torch", "torchvision"}


def test_there_are_scenarios() -> None:
    assert len(SCENARIOS) >= 20


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario_file_is_well_formed(path: Path) -> None:
    case = _load(path)
    assert set(case) <= TOP_KEYS and {"description", "env", "request", "expect"} <= set(case), set(case)
    assert set(case.get("options", {})) <= OPTION_KEYS
    expect = case["expect"]
    assert set(expect) <= EXPECT_KEYS, set(expect) - EXPECT_KEYS
    assert isinstance(expect["ok"], bool)
    if expect["ok"]:
        assert "conflict_mentions" not in expect and ("stack" in expect or "compiles" in expect)
    else:
        assert expect.get("conflict_mentions"), "a conflict scenario says what the conflict must name"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_scenario(path: Path) -> None:
    matrix = load_matrix()
    case = _load(path)
    expect = case["expect"]
    plan, env, ask = _plan(case, matrix)
    summary = plan.conflict.summary if plan.conflict else ""
    assert plan.ok is expect["ok"], summary or dict(plan.stack)
    rejected = "\n".join(f"{a.what}: {a.why}" for a in plan.rejected)
    for needle in expect.get("rejected_mentions", []):
        assert needle in rejected, f"{needle!r} not among the alternatives:\n{rejected}"
    if not plan.ok:
        assert plan.conflict is not None
        text = "\n".join([summary, *(f"{c.constraint} ({c.source})" for c in plan.conflict.clashes)])
        for needle in expect["conflict_mentions"]:
            assert needle in text, f"{needle!r} not in the conflict:\n{text}"
        assert all(c.source for c in plan.conflict.clashes)
        assert witness(env, ask, matrix) is None
        return
    assert violations(plan, env, ask, matrix) == []
    for name, version in expect.get("stack", {}).items():
        assert plan.stack.get(name) == version, (name, dict(plan.stack))
    for name in expect.get("absent", []):
        assert name not in plan.stack, dict(plan.stack)
    if "compiles" in expect:
        assert plan.compiles is expect["compiles"]
    if "torch_changed" in expect:
        assert plan.torch_changed is expect["torch_changed"]
    if "build_env" in expect or "build_env_absent" in expect:
        build_env = _build_step_env(plan)
        for key, value in expect.get("build_env", {}).items():
            assert build_env.get(key) == value, (key, build_env)
        for key in expect.get("build_env_absent", []):
            assert key not in build_env, (key, build_env)
    if "torch_index" in expect:
        torch_steps = [s for s in plan.steps if requirements(s) and _only_torch(requirements(s))]
        assert torch_steps and plan.torch_changed, [s.argv for s in plan.steps]
        argv = torch_steps[0].argv
        index = argv[argv.index("--index-url") + 1] if "--index-url" in argv else None
        assert index == expect["torch_index"], argv
    if "wheel_index" in expect:
        mmcv_steps = [s for s in plan.steps if f"mmcv=={plan.stack['mmcv']}" in s.argv]
        assert mmcv_steps and expect["wheel_index"] in mmcv_steps[0].argv, [s.argv for s in mmcv_steps]
    for pin in expect.get("pins", []):
        assert pin in plan.pins, plan.pins
    for pin in expect.get("pins_absent", []):
        assert pin not in plan.pins, plan.pins
    shell = "\n".join(s.shell() for s in plan.steps)
    for needle in expect.get("steps_mention", []):
        assert needle in shell, shell
    for needle in expect.get("warnings_mention", []):
        assert any(needle in w for w in plan.warnings), plan.warnings
