"""explain on real logs: the reference cases (cases.jsonl) and a hold-out set collected separately.

cases.jsonl: 51 logs from public issue threads, each with the cause confirmed there (`category`).
collected.jsonl: logs gathered from other threads after the signatures were written, to check
that the matcher generalises; it includes codes cases.jsonl has no log for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from envcheck.explain.diagnose import CONFIDENT, diagnose
from envcheck.matrix import Matrix, load_matrix
from tests import DATA

DATA = DATA / "failures"


def _cases(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


CASES = _cases("cases.jsonl")
COLLECTED = _cases("collected.jsonl")


@dataclass
class Score:
    total: int = 0
    top1: int = 0
    top3: int = 0
    confident_wrong: tuple[str, ...] = ()
    misses: tuple[str, ...] = ()

    def line(self, name: str) -> str:
        return (
            f"{name}: top-1 {self.top1}/{self.total} = {self.top1 / self.total:.2f}, "
            f"top-3 {self.top3 / self.total:.2f}; misses: {', '.join(self.misses) or 'none'}"
        )


def _score(cases: list[dict[str, Any]], matrix: Matrix) -> Score:
    s = Score(total=len(cases))
    for case in cases:
        found = diagnose(case["log_excerpt"], None, matrix=matrix)
        codes = [d.code for d in found]
        if codes[:1] == [case["category"]]:
            s.top1 += 1
        else:
            s.misses += (f"{case['id']} ({codes[0] if codes else 'nothing'})",)
            if found and found[0].confidence >= CONFIDENT:
                s.confident_wrong += (case["id"],)
        s.top3 += case["category"] in codes[:3]
    return s


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return load_matrix()


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Iterator[list[str]]:
    lines: list[str] = []
    yield lines
    with capsys.disabled():
        for line in lines:
            print(f"\n{line}")


def test_reference_cases(matrix: Matrix, report: list[str]) -> None:
    s = _score(CASES, matrix)
    report.append(s.line("cases.jsonl"))
    assert s.total == 51
    assert s.top1 / s.total >= 0.90
    # "confident" = confidence >= CONFIDENT (0.8): such an answer must never be wrong.
    assert s.confident_wrong == ()


def test_collected_hold_out(matrix: Matrix, report: list[str]) -> None:
    s = _score(COLLECTED, matrix)
    report.append(s.line("collected.jsonl (hold-out)"))
    assert s.total >= 15
    assert s.top3 / s.total >= 0.8
    assert s.top1 / s.total >= 0.7
    assert s.confident_wrong == ()


def test_collected_cases_cite_their_threads_and_cover_codes_without_a_reference_case() -> None:
    for case in COLLECTED:
        assert case["source_url"].startswith("https://github.com/"), case["id"]
        assert case["log_excerpt"].strip() and case["root_cause"].strip()
    uncovered = {c["category"] for c in COLLECTED} - {c["category"] for c in CASES}
    assert len(uncovered) >= 6, uncovered


@pytest.mark.parametrize("case", CASES + COLLECTED, ids=lambda c: c["id"])
def test_every_diagnosis_shows_its_evidence_and_a_fix(case: dict[str, Any], matrix: Matrix) -> None:
    found = diagnose(case["log_excerpt"], None, matrix=matrix)
    assert found
    lines = case["log_excerpt"].splitlines()
    for d in found:
        assert d.fix and d.evidence and d.source and d.title
        assert 0 < d.confidence < 1
        for e in d.evidence:  # line numbers point at the line shown
            assert e.text[:60] in lines[e.line_no - 1].strip()
    assert [d.confidence for d in found] == sorted((d.confidence for d in found), reverse=True)
    assert len({d.code for d in found}) == len(found)
