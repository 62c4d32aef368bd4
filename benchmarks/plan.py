"""Median planning times: all toolkits on the Colab profile, mmdet over every profile, matrix load.

python -m benchmarks.plan [runs]     (from the repository root, or with envcheck installed)

"cold" clears the planner's per-matrix memo (guard verdicts, wheel sets, toolkit selections,
profile environments) before each run, as a fresh `envcheck plan` process has it; "warm"
repeats the plan in the same process. The matrix itself is loaded once outside the timings,
except in (c), which times that load from cold.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Callable

from envcheck.facts.complete import complete
from envcheck.facts.document import from_document
from envcheck.facts.model import Environment
from envcheck.matrix import Matrix, clear_cache, load_matrix
from envcheck.plan.build import make_plan
from envcheck.plan.memo import clear_caches
from envcheck.plan.search import Request, parse_request

ALL = ("mmdet", "mmsegmentation", "mmpose", "mmocr", "mmpretrain", "mmdeploy")


def _profile(matrix: Matrix, name: str) -> Environment:
    return complete(from_document(matrix.profiles[name].as_json(), f"profile {name}"), matrix)


def _median_ms(fn: Callable[[], object], runs: int, cold: bool) -> float:
    fn()  # imports and first-call work out of the way
    times = []
    for _ in range(runs):
        if cold:
            clear_caches()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(runs: int = 30) -> None:
    matrix = load_matrix()
    colab = _profile(matrix, "colab")
    every = [_profile(matrix, name) for name in matrix.profiles]
    request_all = parse_request(list(ALL), matrix)
    request_no_ocr = parse_request([t for t in ALL if t != "mmocr"], matrix)
    request_det = parse_request(["mmdet"], matrix)

    def outcome(request: Request) -> str:
        plan = make_plan(request, colab, matrix)
        return "a conflict" if not plan.ok else ("compiles mmcv" if plan.compiles else "wheels only")

    def full() -> None:
        make_plan(request_all, colab, matrix)

    def no_ocr() -> None:
        make_plan(request_no_ocr, colab, matrix)

    def sweep() -> None:
        for env in every:
            make_plan(request_det, env, matrix)

    def load() -> None:
        clear_cache()
        load_matrix()

    print(f"Python {sys.version.split()[0]}, {runs} runs each, medians")
    for cold in (True, False):
        label = "cold" if cold else "warm"
        print(f"(a) plan all six toolkits on --target colab ({outcome(request_all)}), {label}: "
              f"{_median_ms(full, runs, cold):.1f} ms")  # fmt: skip
        print(f"    the same without mmocr ({outcome(request_no_ocr)}), {label}: "
              f"{_median_ms(no_ocr, runs, cold):.1f} ms")  # fmt: skip
        print(f"(b) plan mmdet over all {len(every)} profiles, {label}: "
              f"{_median_ms(sweep, runs, cold):.1f} ms per sweep")  # fmt: skip
    print(f"(c) load_matrix() from cold: {_median_ms(load, runs, cold=False):.1f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
