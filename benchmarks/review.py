"""Median time for `envcheck review` on a 200-line recipe: parse, simulate every step, doctor after each.

python -m benchmarks.review [runs] [lines]     (from the repository root, or with envcheck installed)

The recipe is the shell recipes of tests/data/recipes/ (real lines) repeated until it has `lines` lines,
reviewed on the `colab` profile; with `--fix` the planner's corrected recipe is timed too.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from envcheck.facts.complete import complete
from envcheck.facts.document import from_document
from envcheck.matrix import load_matrix
from envcheck.review import review_text

RECIPES = Path(__file__).resolve().parent.parent / "tests" / "data" / "recipes"


def make_recipe(lines: int, distinct: bool = False) -> str:
    """The corpus' shell lines repeated; `distinct`: every other line installs a package not seen before,
    so the environment differs after every step and the doctor's memo never helps (the worst case)."""
    source = [ln for f in sorted(RECIPES.glob("*.sh")) for ln in f.read_text(encoding="utf-8").splitlines()]
    out: list[str] = []
    n = 0
    while len(out) < lines:
        for ln in source:
            out.append(ln)
            if distinct:
                n += 1
                out.append(f"pip install extra-package-{n}==1.{n}")
    return "\n".join(out[:lines]) + "\n"


def main(runs: int = 7, lines: int = 200, fix: bool = False, distinct: bool = False) -> None:
    matrix = load_matrix()
    env = complete(from_document(matrix.profiles["colab"].as_json(), "colab"), matrix)
    text = make_recipe(lines, distinct)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        r = review_text(text, "bench.sh", env, matrix, "profile colab", fix=fix)
        times.append(time.perf_counter() - start)
    steps = len(r.review.results)
    print(
        f"review of a {lines}-line recipe ({steps} steps{', --fix' if fix else ''}{', distinct' if distinct else ''}) "
        "on profile colab: "
        f"median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms over {runs} runs"
    )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(*(int(a) for a in args[:2]), fix="--fix" in sys.argv, distinct="--distinct" in sys.argv)  # type: ignore[arg-type]
