"""Review: read an install recipe and say, before anyone runs it, which line breaks what on a machine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from envcheck.doctor import Finding
from envcheck.facts.model import Environment
from envcheck.matrix import Matrix
from envcheck.review.parse import RecipeError, parse
from envcheck.review.simulate import Review, StepResult, simulate
from envcheck.review.steps import Recipe, Step, Unparsed

__all__ = ["RecipeError", "Review", "Reviewed", "review_text", "to_json"]


@dataclass(frozen=True)
class Reviewed:
    review: Review
    fixed: str | None = None  # the corrected recipe (--fix), in the recipe's format
    fix_problem: str | None = None  # why there is none


def review_text(
    text: str,
    name: str,
    env: Environment,
    matrix: Matrix,
    target: str = "this machine",
    fix: bool = False,
    fmt: str | None = None,
) -> Reviewed:
    """Parse, simulate and (with fix) rewrite one recipe. Raises RecipeError when nothing can be read."""
    recipe = parse(text, name, fmt)
    rv = simulate(recipe, env, matrix, target)
    if not fix or not recipe.steps:
        return Reviewed(rv)
    if rv.ok:
        return Reviewed(rv, None, "nothing to fix: the recipe works as written here")
    from envcheck.review.fix import fixed_text, make_fix_plan

    plan = make_fix_plan(rv, env, matrix)
    if isinstance(plan, str):
        return Reviewed(rv, None, plan)
    return Reviewed(rv, fixed_text(rv, plan, matrix, text))


def _finding(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity,
        "title": f.title,
        "why": f.why,
        "fix": list(f.fix),
        "source": f.source,
    }


def to_json(r: Reviewed) -> dict[str, Any]:
    rv = r.review
    return {
        "schema": 1,
        "format": rv.recipe.format,
        "target": rv.target,
        "steps": [
            {
                "line": s.step.line,
                "text": s.step.text,
                "tool": s.step.tool,
                "action": s.step.action,
                "packages": [p.text or p.url for p in s.step.packages],
                "flags": list(s.step.flags),
                "effect": s.effect,
                "minutes": round(s.minutes, 1),
                "failed": s.failed,
                "findings": [_finding(f) for f in s.findings],
            }
            for s in rv.results
        ],
        "unparsed": [{"line": u.line, "text": u.text, "why": u.why} for u in rv.recipe.unparsed],
        "before": [_finding(f) for f in rv.before],
        "toolkits": list(rv.toolkits),
        "final_stack": rv.final_stack,
        "ok": rv.ok,
        "imports": rv.imports,
        "smoke": rv.smoke,
        "estimate_minutes": rv.minutes,
        "notes": list(rv.recipe.notes),
        "fixed": r.fixed,
        "fix_problem": r.fix_problem,
    }


__all__ += ["Recipe", "Step", "StepResult", "Unparsed", "parse", "simulate"]
