"""Fleet timings: `report` over 1,000 documents, `fleet inspect` over 8 local Slurm nodes, `doctor --baseline`.

    python benchmarks/fleet.py [--runs 5] [--documents 1000] [--nodes 8] [--no-slurm]

Every figure is the median wall time of fresh processes, as a user runs them. The Slurm part starts a real
single-host cluster (tests/fleet/cluster.py: munged, slurmctld, N slurmd; root and Debian's slurm packages
needed) and compares `envcheck fleet inspect --slurm` (sinfo, srun -l, N agents, the report) with one plain
`envcheck inspect --json` on the same host. Goals (issue #12): fleet < 2x one inspect; report < 1 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

# benchmarks/inspect.py would shadow the standard library's inspect: put the repository first instead.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MACHINE = ROOT / "tests" / "data" / "machines" / "broken-mmcv-lite-venv.json"


def _time(argv: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, int]:
    samples, code = [], 0
    subprocess.run(argv, capture_output=True, env=env, check=False)  # warm the page cache
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, env=env, check=False)
        samples.append(time.perf_counter() - start)
        code = done.returncode
    return statistics.median(samples), code


def documents(folder: Path, count: int) -> None:
    """`count` inspect documents: 99 % one stack, the rest drifted (mmcv, numpy, an extra package)."""
    base = json.loads(MACHINE.read_text())
    base["findings"] = []
    for i in range(count):
        doc = copy.deepcopy(base)
        doc["node"] = f"node{i:04d}"
        if i % 100 == 7:
            doc["packages"]["numpy"] = "1.26.4"
        if i % 250 == 3:
            doc["mmcv"]["version"] = "2.1.0"
            doc["packages"]["rich"] = "1.0"
        (folder / f"node{i:04d}.json").write_text(json.dumps(doc))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=8)
    parser.add_argument("--no-slurm", action="store_true", help="skip the cluster part")
    args = parser.parse_args()
    me = [sys.executable, "-m", "envcheck"]
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        documents(folder, args.documents)
        took, code = _time([*me, "report", str(folder)], args.runs)
        print(f"report over {args.documents} documents: median {took:.2f} s over {args.runs} runs (exit {code})")
        took, code = _time([*me, "report", str(folder), "--json"], args.runs)
        print(f"report --json over {args.documents} documents: median {took:.2f} s (exit {code})")
        golden = folder / "node0000.json"
        inspect_s, _ = _time([*me, "inspect", "--json"], args.runs)
        doctor_s, code = _time([*me, "doctor", "--baseline", str(golden)], args.runs)
        print(f"inspect --json: median {inspect_s:.2f} s; doctor --baseline: median {doctor_s:.2f} s (exit {code})")
    if args.no_slurm:
        return 0
    from tests.fleet.cluster import missing_programs, slurm_cluster

    if missing_programs() or os.geteuid() != 0:
        print("fleet inspect: skipped (needs root and slurmctld/slurmd/munge)")
        return 0
    nodes = [f"node{i:02d}" for i in range(1, args.nodes + 1)]
    with tempfile.TemporaryDirectory(prefix="envcheck-bench-") as d:
        start = time.perf_counter()
        with slurm_cluster(Path(d), nodes) as cluster:
            print(f"cluster of {len(nodes)} nodes up in {time.perf_counter() - start:.2f} s")
            fleet_s, code = _time([*me, "fleet", "inspect", "--slurm"], args.runs, cluster.env)
            one_s, _ = _time([*me, "inspect", "--json"], args.runs, cluster.env)
            # what the fan-out itself costs: listing the nodes, and srun running nothing on each
            sinfo_s, _ = _time(["sinfo", "-h", "-N", "-o", "%N|%T|%E"], args.runs, cluster.env)
            n = str(len(nodes))
            srun_s, _ = _time(["srun", "-N", n, "-n", n, "--ntasks-per-node=1", "-l", "true"], args.runs, cluster.env)
            agent_s, _ = _time([sys.executable, "-m", "envcheck.cli.agent", "inspect"], args.runs, cluster.env)
    print(f"sinfo: median {sinfo_s:.2f} s; srun of `true` on {n} nodes: median {srun_s:.2f} s; "
          f"one agent (inspect in an envelope): median {agent_s:.2f} s")  # fmt: skip
    print(f"fleet inspect --slurm over {len(nodes)} nodes: median {fleet_s:.2f} s (exit {code})")
    print(f"one inspect --json: median {one_s:.2f} s; ratio {fleet_s / one_s:.2f}x (goal < 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
