"""Pins name what pip sees: a kept torch from PyPI is the distribution 2.0.1 although it says 2.0.1+cu117."""

from __future__ import annotations

from envcheck.derive import complete
from envcheck.envdoc import from_document
from envcheck.matrix import load_matrix
from envcheck.planner import make_plan
from envcheck.resolve import parse_request


def test_kept_pypi_torch_is_pinned_by_its_distribution_version() -> None:
    matrix = load_matrix()
    doc = {
        "python": {"version": "3.11.7", "tag": "cp311", "executable": "/v/bin/python"},
        "platform": {"system": "Linux", "machine": "x86_64", "cpus": 2},
        "torch": {"version": "2.0.1+cu117", "cuda": "11.7"},
        "packages": {"torch": "2.0.1", "torchvision": "0.15.2", "pip": "23.2.1", "setuptools": "65.5.0"},
    }
    env = complete(from_document(doc), matrix)
    plan = make_plan(parse_request(["mmpretrain"], matrix, torch="keep"), env, matrix)
    assert plan.ok and plan.stack["torch"] == "2.0.1+cu117"
    pins = {a for step in plan.steps for a in step.argv if a.startswith(("torch==", "torchvision=="))}
    assert pins == {"torch==2.0.1", "torchvision==0.15.2"}, pins
