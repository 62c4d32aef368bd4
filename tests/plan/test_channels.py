"""Channel choice (#14 items 3-5): scenario files, the channel oracle on generated machines, bad input.

A channel scenario (tests/data/channel_scenarios/*.json) is {"description", "env", "request", "options",
"expect"}: env an `inspect --json` document or "profile:NAME"; options channel (auto|upstream|onedl),
torch, cuda, no_build, torch_from, cuda_ops_without_gpu (false: a live machine without FORCE_CUDA=1);
expect: ok, channel (the choice), stack (keys asserted), absent, compiles, build_env, pins, torch_index,
steps_mention, steps_absent, warnings_mention, choice_mentions (the channel choice's reason),
conflict_mentions. Every plan must also keep the hard rules of tests/plan/channel_rules.py.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement

from envcheck.errors import PlanError
from envcheck.facts.complete import complete
from envcheck.facts.document import from_document
from envcheck.facts.model import Environment
from envcheck.matrix import load_matrix
from envcheck.plan.channel import plan_with_channels
from envcheck.plan.model import Plan
from envcheck.plan.search import parse_request
from tests import DATA as TESTS_DATA
from tests.plan.channel_rules import channel_violations, fork_witness, python_of
from tests.plan.test_properties import machines, requests

MATRIX = load_matrix()
DATA = TESTS_DATA / "channel_scenarios"
SCENARIOS = sorted(DATA.glob("*.json"))
EXPECT_KEYS = {
    "ok", "channel", "stack", "absent", "compiles", "build_env", "pins", "torch_index", "steps_mention",
    "steps_absent", "warnings_mention", "choice_mentions", "conflict_mentions",
}  # fmt: skip


def _env(doc: Any) -> Environment:
    if isinstance(doc, str) and doc.startswith("profile:"):
        name = doc.split(":", 1)[1]
        return complete(from_document(MATRIX.profiles[name].as_json(), f"profile {name}"), MATRIX)
    return complete(from_document(doc), MATRIX)


def _plan(case: dict[str, Any]) -> tuple[Plan, Environment, str]:
    opts = {"torch": "auto", "cuda": None, "no_build": False, **case.get("options", {})}
    channel = opts.pop("channel", "auto")
    extra = {k: opts.pop(k) for k in ("torch_from", "cuda_ops_without_gpu") if k in opts}
    env = _env(case["env"])
    request = replace(parse_request(case["request"], MATRIX, **opts), **extra)
    return plan_with_channels(request, env, MATRIX, "test", channel), env, channel


def test_there_are_channel_scenarios() -> None:
    assert len(SCENARIOS) >= 8


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_channel_scenario(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    expect = case["expect"]
    assert set(expect) <= EXPECT_KEYS, set(expect) - EXPECT_KEYS
    plan, env, channel = _plan(case)
    assert plan.ok == expect["ok"], plan.conflict
    assert channel_violations(plan, env, MATRIX, channel) == []
    steps = "\n".join(s.shell() for s in plan.steps)
    choice = next((c for c in plan.choices if c.component == "channel"), None)
    if "channel" in expect:
        assert choice is not None and choice.picked == expect["channel"], plan.choices
    for name, version in expect.get("stack", {}).items():
        assert plan.stack.get(name) == version, (name, dict(plan.stack))
    for name in expect.get("absent", []):
        assert name not in plan.stack
    if "compiles" in expect:
        assert plan.compiles == expect["compiles"]
    if "build_env" in expect:
        built = next(s for s in plan.steps if s.compiles)
        assert {k: built.env.get(k) for k in expect["build_env"]} == expect["build_env"]
    for pin in expect.get("pins", []):
        assert pin in plan.pins
    if "torch_index" in expect:
        assert plan.index_url == expect["torch_index"]
    for text in expect.get("steps_mention", []):
        assert text in steps, steps
    for text in expect.get("steps_absent", []):
        assert text not in steps, steps
    for text in expect.get("warnings_mention", []):
        assert any(text in w for w in plan.warnings), plan.warnings
    for text in expect.get("choice_mentions", []):
        assert choice is not None and text in choice.why, choice
    for text in expect.get("conflict_mentions", []):
        assert plan.conflict is not None
        assert text in plan.conflict.summary + " ".join(c.constraint for c in plan.conflict.clashes)


# -- the oracle on generated machines ---------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(doc=machines(), ask=requests(), channel=st.sampled_from(["auto", "upstream", "onedl"]))
def test_every_channel_plan_keeps_the_rules(doc: dict[str, Any], ask: tuple[list[str], Any], channel: str) -> None:
    texts, specs = ask
    env = complete(from_document(doc), MATRIX)
    request = parse_request(texts, MATRIX)
    try:
        plan = plan_with_channels(request, env, MATRIX, "generated", channel)
    except PlanError as exc:  # only for a version pinned outside the fork channel
        assert channel == "onedl" and "is not" in str(exc)
        assert fork_witness({n: s for n, s in specs.items()}, python_of(env), MATRIX) is None
        return
    assert channel_violations(plan, env, MATRIX, channel) == []
    names = {MATRIX.toolkit_name(Requirement(t).name) or t: s for t, s in zip(texts, specs.values())}
    if channel == "onedl" and plan.ok:
        # the oracle agrees that the fork can serve this request
        assert fork_witness(names, python_of(env), MATRIX) is not None
    if channel == "auto" and not plan.ok:
        # auto is a conflict only where neither channel has a stack
        fork = plan_with_channels(request, env, MATRIX, "generated", "upstream")
        assert not fork.ok
        if fork_witness(names, python_of(env), MATRIX) is not None:
            with contextlib.suppress(PlanError):
                assert not plan_with_channels(request, env, MATRIX, "generated", "onedl").ok


# -- bad input ------------------------------------------------------------------------------


def test_a_version_the_fork_does_not_have_is_bad_input() -> None:
    env = _env({"schema": 1, "python": {"version": "3.12.3"}, "platform": {"system": "Linux", "machine": "x86_64"}})
    request = parse_request(["mmdet==3.3.0"], MATRIX)
    with pytest.raises(PlanError, match=r"--channel onedl: mmdet==3.3.0 is not in the onedl channel"):
        plan_with_channels(request, env, MATRIX, "t", "onedl")


def test_an_unknown_channel_is_bad_input() -> None:
    env = _env({"schema": 1, "python": {"version": "3.12.3"}})
    with pytest.raises(PlanError, match=r"--channel 'conda': expected one of auto, upstream, onedl"):
        plan_with_channels(parse_request(["mmdet"], MATRIX), env, MATRIX, "t", "conda")
