"""The corpus of real recipes: every one parses, and review's findings hit what each must produce."""

from __future__ import annotations

import pytest

from envcheck.matrix import load_matrix
from tests.review import corpus

MIN_HIT_RATE = 0.9


@pytest.fixture(scope="module")
def outcomes() -> list[corpus.Outcome]:
    return corpus.run(load_matrix())


def test_corpus_is_real_and_large_enough() -> None:
    recipes = corpus.load()
    assert len(recipes) >= 20
    for rec in recipes:
        assert rec["source"].startswith("https://github.com/"), rec["file"]
        assert (corpus.RECIPES / rec["file"]).is_file(), rec["file"]
        assert rec["expect"], rec["file"]
    formats = {corpus.RECIPES.joinpath(r["file"]).suffix for r in recipes}
    assert {".ipynb", ".cell", ".sh", ".Dockerfile", ".txt"} <= formats


def test_corpus_hit_rate(outcomes: list[corpus.Outcome], capsys: pytest.CaptureFixture[str]) -> None:
    hits = sum(o.hit for o in outcomes)
    with capsys.disabled():
        print(f"\nreview corpus: {hits}/{len(outcomes)} expectations hit ({hits / len(outcomes):.0%}) "
              f"over {len(corpus.load())} real recipes")  # fmt: skip
        for o in outcomes:
            if not o.hit:
                print(f"  miss {o.file} on {o.profile}: {', '.join(o.missing)}")
    assert hits / len(outcomes) >= MIN_HIT_RATE
