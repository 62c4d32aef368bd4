"""Grouping: identical stacks folded, majority first, drift in stack terms, errors per group, nobody dropped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envcheck.errors import UsageError
from envcheck.fleet.documents import load_nodes
from envcheck.fleet.report import Node, build_report
from envcheck.render.fleet import report_lines
from tests.fleet.helpers import load, scenario_machines, variant

BASE = load("broken-mmcv-lite-venv.json")
GOOD = variant(BASE, findings=[])


def fleet(n: int, odd: dict[int, dict[str, Any]]) -> list[Node]:
    return [Node(f"node{i:02d}", 0, odd.get(i, GOOD)) for i in range(1, n + 1)]


def test_identical_nodes_are_one_group_and_exit_0() -> None:
    report = build_report(fleet(12, {}))
    assert len(report.groups) == 1 and report.exit_code == 0
    assert report.groups[0].nodeset == "node[01-12]"
    assert report_lines(report)[0].startswith("12 nodes node[01-12]: py 3.11.7 · torch 2.13.0+cpu")


def test_the_odd_node_differs_in_stack_terms_and_other_packages() -> None:
    odd = variant(GOOD, **{"mmcv.version": "2.1.0", "packages.rich": "1.0", "packages.addict": None})
    report = build_report(fleet(13, {7: odd}))
    assert [g.nodeset for g in report.groups] == ["node[01-06,08-13]", "node07"]
    minority = report.groups[1]
    assert [(d.key, d.majority, d.here) for d in minority.differs] == [("mmcv", "mmcv-lite 2.2.0", "mmcv-lite 2.1.0")]
    assert minority.other_packages_differ == 2
    lines = report_lines(report)
    assert "    mmcv: mmcv-lite 2.2.0 -> mmcv-lite 2.1.0" in lines and "    +2 other packages differ" in lines
    assert report.exit_code == 1
    assert report.drain_reasons() == {"node07": "envcheck: mmcv mmcv-lite 2.1.0 != mmcv-lite 2.2.0"}


def test_only_other_packages_differ_is_still_drift() -> None:
    report = build_report(fleet(3, {2: variant(GOOD, **{"packages.rich": "2.0"})}))
    assert len(report.groups) == 2 and not report.groups[1].differs and report.exit_code == 1


def test_error_findings_are_counted_per_group_and_fail_the_report() -> None:
    report = build_report([Node("a1", 1, BASE), Node("a2", 1, BASE)])
    assert len(report.groups) == 1 and len(report.groups[0].errors) == 8 and report.exit_code == 1
    assert "[8 error findings]" in report_lines(report)[0]


def test_unreachable_and_failed_nodes_are_listed_never_dropped() -> None:
    nodes = [*fleet(2, {}), Node("node03", None, None, "exit 2: --python /x: no such file")]
    report = build_report(nodes, {"node04": "drained: maintenance"})
    assert report.unreachable == {"node03": "exit 2: --python /x: no such file", "node04": "drained: maintenance"}
    assert report.exit_code == 1  # node03 was asked and answered nothing
    assert "unreachable: node04 (drained: maintenance)" in report_lines(report)
    assert build_report(fleet(2, {}), {"node04": "drained: x"}).exit_code == 0  # drained alone: not a failure
    doc = report.to_json()
    assert set(doc) >= {"schema", "nodes", "groups", "unreachable"}
    assert doc["nodes"]["node03"] == {"exit": None, "document": None, "reason": "exit 2: --python /x: no such file"}
    json.dumps(doc)


def test_smoke_documents_group_and_failed_checks_are_errors() -> None:
    ok = {"schema": 1, "results": [{"toolkit": "mmdet", "status": "pass"}]}
    bad = {"schema": 1, "results": [{"toolkit": "mmdet", "status": "fail", "detail": "segfault\nmore"}]}
    report = build_report([Node("n1", 0, ok), Node("n2", 1, bad)])
    assert report.groups[0].errors == ("n2: smoke mmdet failed: segfault",)


def test_all_stored_machines_in_one_report() -> None:
    nodes = [Node(f"m{i}", 0, env) for i, env in enumerate(scenario_machines())]
    report = build_report(nodes)
    assert sum(len(g.nodes) for g in report.groups) == len(nodes)
    assert report.exit_code == 1


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc) if not isinstance(doc, (bytes, str)) else doc if isinstance(doc, str) else "")
    return path


def test_load_nodes_from_a_directory_envelopes_and_a_saved_report(tmp_path: Path) -> None:
    write(tmp_path / "node01.json", GOOD)
    write(tmp_path / "e.json", {"schema": 1, "node": "node02", "exit": 0, "document": GOOD})
    saved = build_report([Node("node03", 0, GOOD)], {"node09": "down"}).to_json()
    write(tmp_path / "r.json", saved)
    nodes, gone = load_nodes([str(tmp_path)])
    assert sorted(n.name for n in nodes) == ["node01", "node02", "node03"] and gone == {"node09": "down"}


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("[1, 2]", "not an envcheck document"),
        ('{"hello": 1}', "not an envcheck document"),
        ('{"schema": 2, "python": {}}', "schema 2 is not supported"),
        ('{"schema": 1, "unknown": 1}', "not an envcheck inspect"),
        ("{nope", "malformed JSON"),
    ],
)
def test_bad_documents_are_one_usage_error(tmp_path: Path, content: str, text: str) -> None:
    with pytest.raises(UsageError, match=text):
        load_nodes([str(write(tmp_path / "x.json", content))])


def test_mixed_kinds_empty_dirs_and_duplicates_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"no \*\.json"):
        load_nodes([str(tmp_path)])
    a = write(tmp_path / "a.json", GOOD)
    b = write(tmp_path / "b.json", {"schema": 1, "results": []})
    with pytest.raises(UsageError, match="mixed documents"):
        load_nodes([str(a), str(b)])
    with pytest.raises(UsageError, match="appears twice"):
        load_nodes([str(a), str(a)])
    with pytest.raises(UsageError, match="no documents"):
        load_nodes([])
