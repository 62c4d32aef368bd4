"""The recipe corpus (tests/data/recipes/corpus.toml) run through `review`: which expectations hit."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from envcheck.facts.complete import complete
from envcheck.facts.document import from_document
from envcheck.matrix import Matrix
from envcheck.review import review_text
from tests import DATA

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RECIPES = DATA / "recipes"


@dataclass(frozen=True)
class Outcome:
    file: str
    profile: str
    hit: bool
    missing: tuple[str, ...]
    verdict: str  # "ok" / "breaks" as predicted


def load() -> list[dict[str, Any]]:
    with open(RECIPES / "corpus.toml", "rb") as f:
        return list(tomllib.load(f)["recipe"])


def run(matrix: Matrix) -> list[Outcome]:
    out: list[Outcome] = []
    for rec in load():
        text = (RECIPES / rec["file"]).read_text(encoding="utf-8")
        for exp in rec["expect"]:
            doc = matrix.profiles[exp["profile"]].as_json()
            doc["packages"] = {**doc.get("packages", {}), **exp.get("packages", {})}
            env = complete(from_document(doc, exp["profile"]), matrix)
            rv = review_text(text, rec["file"], env, matrix, f"profile {exp['profile']}").review
            have = {f"{r.step.line}:{f.code}" for r in rv.results for f in r.findings}
            missing = tuple(w for w in exp.get("findings", []) if w not in have)
            wrong_verdict = "ok" in exp and exp["ok"] != rv.ok
            if wrong_verdict:
                missing += (f"ok={exp['ok']} (predicted {rv.ok})",)
            out.append(Outcome(rec["file"], exp["profile"], not missing, missing, "ok" if rv.ok else "breaks"))
    return out
