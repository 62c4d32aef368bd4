"""Median time to parse and validate all of matrices/ from cold (caches cleared), over N runs.

python -m benchmarks.matrix_load [runs]     (from the repository root, or with envcheck installed)
"""

from __future__ import annotations

import statistics
import sys
import time

from envcheck.matrix import clear_cache, load_matrix, matrix_root


def main(runs: int = 20) -> None:
    load_matrix()  # import-time work (regex compilation, module loading) out of the way
    times = []
    for _ in range(runs):
        clear_cache()
        start = time.perf_counter()
        load_matrix()
        times.append(time.perf_counter() - start)
    size = sum(p.stat().st_size for p in matrix_root().glob("*.toml"))
    print(
        f"load_matrix(): median {statistics.median(times) * 1000:.1f} ms, "
        f"min {min(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms "
        f"over {runs} cold runs ({size / 1024:.0f} KiB of TOML, Python {sys.version.split()[0]})"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
