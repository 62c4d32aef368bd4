"""The stack fingerprint: stable, stack keys only, other packages as one digest."""

from __future__ import annotations

from envcheck.fleet.fingerprint import digest, fingerprint, one_line, other_packages, stack_of
from tests.fleet.helpers import load, scenario_machines, variant


def test_stack_of_a_broken_machine_names_every_stack_key() -> None:
    stack = stack_of(load("broken-mmcv-lite-venv.json"))
    assert stack["python"] == "3.11.7"
    assert stack["torch"] == "2.13.0+cpu" and stack["torch.cuda"] == "cpu"
    assert stack["mmcv"] == "mmcv-lite 2.2.0" and stack["mmcv.ops"] == "none"
    assert stack["mmdet"] == "3.3.0" and stack["mmengine"] == "0.10.7" and stack["numpy"] == "2.4.6"
    assert stack["gpus"] == "none" and stack["driver"] == "-"


def test_gpus_are_counted_by_model_and_cuda_builds_spelled_as_tags() -> None:
    doc = load("env-colab-2025-11-t4.json")
    doc = variant(doc, gpus=[{"name": "Tesla T4"}, {"name": "Tesla T4"}],
                  mmcv={"version": "2.1.0", "dist": "mmcv", "ops": True, "ops_cuda": "12.1"})  # fmt: skip
    stack = stack_of(doc)
    assert stack["gpus"] == "2× Tesla T4"
    assert stack["mmcv.ops"] == "cu121"
    assert "2× Tesla T4" in one_line(stack) and "mmcv 2.1.0 (ops cu121)" in one_line(stack)


def test_fingerprint_is_stable_and_ignores_volatile_facts() -> None:
    doc = load("broken-mmcv-lite-venv.json")
    moved = variant(doc, **{"python.executable": "/elsewhere/bin/python", "node": "node07", "findings": []})
    assert fingerprint(doc) == fingerprint(moved)
    reordered = dict(reversed(list(doc.items())))
    assert fingerprint(reordered) == fingerprint(doc)


def test_other_packages_change_only_the_others_digest() -> None:
    doc = load("broken-mmcv-lite-venv.json")
    extra = variant(doc, **{"packages.rich": "99.0"})
    assert fingerprint(extra)["stack"] == fingerprint(doc)["stack"]
    assert fingerprint(extra)["others_digest"] != fingerprint(doc)["others_digest"]
    assert "torch" not in other_packages(doc) and "mmdet" not in other_packages(doc)
    assert digest({"a": "1", "b": "2"}) == digest({"b": "2", "a": "1"})


def test_every_scenario_machine_fingerprints() -> None:
    for env in scenario_machines():
        fp = fingerprint(env)
        assert len(fp["stack_digest"]) == 12 and fp["stack"]["python"] != ""
        assert one_line(fp["stack"]).startswith("py ")


def test_partial_and_odd_documents_do_not_raise() -> None:
    for doc in ({}, {"packages": {"mmcv": "2.1.0"}}, {"gpus": "x", "torch": 3, "mmcv": []}):
        stack = stack_of(doc)
        assert stack["python"] == "?"
    assert stack_of({"packages": {"mmcv": "2.1.0"}})["mmcv.ops"] == "?"
