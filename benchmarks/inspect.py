"""Wall time of `envcheck inspect` against `python -m torch.utils.collect_env` on one interpreter.

    python benchmarks/inspect.py --python /path/to/venv/bin/python [--runs 15]

Both run as fresh processes, as a user would run them; the figure is the median wall time.
envcheck is started with the interpreter running this script (where envcheck is installed)
and pointed at the target with --python; collect_env runs inside the target (it imports torch).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _time(argv: list[str], runs: int) -> tuple[float, int]:
    samples = []
    code = 0
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
        code = done.returncode
    return statistics.median(samples), code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable, help="the interpreter to inspect (has torch)")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    cases = {
        "envcheck inspect --json": [sys.executable, "-m", "envcheck", "inspect", "--json", "--python", args.python],
        "envcheck inspect (rich)": [sys.executable, "-m", "envcheck", "inspect", "--python", args.python],
        "torch.utils.collect_env": [args.python, "-m", "torch.utils.collect_env"],
    }
    results = {}
    for name, argv in cases.items():
        _time(argv, 1)  # warm the page cache: both sides read the same files
        results[name], code = _time(argv, args.runs)
        print(f"{name:28s} median {results[name] * 1000:7.0f} ms over {args.runs} runs (exit {code})")
    base = results["torch.utils.collect_env"]
    for name in ("envcheck inspect --json", "envcheck inspect (rich)"):
        print(f"collect_env / {name}: {base / results[name]:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
