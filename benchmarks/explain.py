"""Median time for `diagnose` on a generated 10 MB log: pip and compiler noise, one real error at the end.

python -m benchmarks.explain [runs] [megabytes]     (from the repository root, or with envcheck installed)

The whole explain path is timed: decoding the bytes, cleaning, the keyword prefilter, the regexes,
facts from the log and the fix templates (matrices/ and signatures.toml are loaded once, before).
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from envcheck.explain.diagnose import diagnose
from envcheck.matrix import load_matrix
from envcheck.matrix.signatures import load_signatures

NOISE = (
    "Requirement already satisfied: {p} in /opt/conda/lib/python3.10/site-packages (from mmdet) ({v})",
    "Collecting {p}=={v}",
    "  Downloading {p}-{v}-py3-none-any.whl (1.{n} MB)",
    "     " + "\u2501" * 12 + " 1.{n}/1.{n} MB 8.{n} MB/s eta 0:00:00",  # pip's progress bar
    "  Using cached {p}-{v}-cp310-cp310-manylinux_2_17_x86_64.whl ({n} kB)",
    "[{n}/77] c++ -MMD -MF /tmp/pip-build/mmcv/ops/csrc/pytorch/op{n}.o.d -I/opt/conda/lib/python3.10/"
    "site-packages/torch/include -c op{n}.cpp -o op{n}.o -std=c++17 -DTORCH_EXTENSION_NAME=_ext",
    "Installing collected packages: {p}",
)
PACKAGES = ("addict", "yapf", "numpy", "pillow", "rich", "termcolor", "matplotlib", "scipy", "shapely")
ERROR = (
    "Traceback (most recent call last):\n"
    '  File "/opt/conda/lib/python3.10/site-packages/mmcv/ops/bbox.py", line 3, in <module>\n'
    "ImportError: /opt/conda/lib/python3.10/site-packages/mmcv/_ext.cpython-310-x86_64-linux-gnu.so: "
    "undefined symbol: _ZN3c1017RegisterOperatorsD1Ev\n"
)


def make_log(size: int, seed: int = 7) -> bytes:
    """`size` bytes of pip/compiler noise, then an import error; as the bytes a file would hold."""
    rng = random.Random(seed)
    lines: list[str] = []
    total = 0
    while total < size:
        line = rng.choice(NOISE).format(p=rng.choice(PACKAGES), v=f"1.{rng.randint(0, 30)}.0", n=rng.randint(1, 99))
        lines.append(line)
        total += len(line.encode()) + 1
    return ("\n".join(lines) + "\n" + ERROR).encode()


def main(runs: int = 7, megabytes: float = 10.0) -> None:
    data = make_log(int(megabytes * 1_000_000))
    matrix, signatures = load_matrix(), load_signatures()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        found = diagnose(data, None, signatures, matrix=matrix)
        times.append(time.perf_counter() - start)
    assert found and found[0].code == "abi-undefined-symbol", found
    lines = data.count(b"\n") + 1
    print(
        f"diagnose(): median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms over {runs} runs on a {len(data) / 1e6:.1f} MB log "
        f"({lines} lines, {len(signatures.signatures)} signatures, "
        f"{len(signatures.scan)} keywords scanned; Python {sys.version.split()[0]})"
    )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 7,
        float(sys.argv[2]) if len(sys.argv) > 2 else 10.0,
    )
