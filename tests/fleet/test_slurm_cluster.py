"""On a real Slurm cluster (3 slurmd on this host): fan-out, drift, a drained node, draining, the health check."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.fleet.cluster import Cluster, slurm_cluster
from tests.fleet.conftest import ODD_NODE, _can_run_slurm, envcheck, other_interpreter, write_switch

pytestmark = [pytest.mark.slurm, pytest.mark.integration]
ROOT = Path(__file__).parents[2]


def resume(cluster: Cluster, node: str) -> None:
    cluster.run("scontrol", "update", f"NodeName={node}", "State=RESUME")
    assert cluster.wait_for(lambda s: s.get(node) == "idle", 15), cluster.states()


def test_the_node_running_another_interpreter_is_the_minority(
    cluster: Cluster, switch_python: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = envcheck(cluster, "fleet", "inspect", "--slurm", "--python", str(switch_python), "--json", "--out", str(out))
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [g["nodes"] for g in report["groups"]] == [["node01", "node03"], [ODD_NODE]]
    assert report["groups"][1]["differs"] or report["groups"][1]["other_packages_differ"]
    for name in ("node01", "node02", "node03"):
        doc = report["nodes"][name]["document"]
        assert doc["node"] == name and doc["fingerprint"]["stack"]["python"]  # named by slurmd, fingerprinted
    assert report["unreachable"] == {}
    # the envelopes written with --out give the same report offline
    again = envcheck(cluster, "report", str(out), "--json")
    assert again.returncode == 1 and json.loads(again.stdout)["groups"] == report["groups"]


def test_identical_nodes_exit_0_and_the_text_report_is_folded(cluster: Cluster) -> None:
    done = envcheck(cluster, "fleet", "doctor", "--slurm", "--nodes", "node[01,03]")
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert done.stdout.startswith("2 nodes node[01,03]: py ")
    assert "✓ 2 nodes, one stack, no error finding" in done.stdout


def test_a_drained_node_is_not_asked_and_is_listed_with_its_reason(cluster: Cluster) -> None:
    cluster.run("scontrol", "update", "NodeName=node03", "State=DRAIN", "Reason=disk replaced")
    try:
        start = time.monotonic()
        done = envcheck(cluster, "fleet", "inspect", "--slurm")
        assert time.monotonic() - start < 30  # not blocked by the drained node
        assert "unreachable: node03 (drained: disk replaced)" in done.stdout, done.stdout
        assert "2 nodes node[01-02]" in done.stdout and done.returncode == 0
    finally:
        resume(cluster, "node03")


def test_drain_yes_drains_the_odd_node(cluster: Cluster, switch_python: Path) -> None:
    try:
        done = envcheck(cluster, "fleet", "inspect", "--slurm", "--python", str(switch_python), "--drain", "--yes")
        assert done.returncode == 1 and f"✓ scontrol update NodeName={ODD_NODE} State=DRAIN" in done.stdout
        states = cluster.run("sinfo", "-h", "-N", "-o", "%N|%T|%E").stdout
        assert f"{ODD_NODE}|drained|envcheck: " in states, states
    finally:
        resume(cluster, ODD_NODE)


def test_node_list_matching_nothing_and_missing_srun_are_one_line(cluster: Cluster) -> None:
    done = envcheck(cluster, "fleet", "inspect", "--slurm", "--nodes", "gpu[1-4]")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "matches no node" in done.stderr
    done = envcheck(cluster, "fleet", "inspect", "--slurm", "--partition", "nope")
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "nope" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    bare = subprocess.run([sys.executable, "-m", "envcheck", "fleet", "inspect", "--slurm"], capture_output=True,
                          text=True, env={**cluster.env, "PATH": "/nonexistent"}, check=False)  # fmt: skip
    assert bare.returncode == 2 and bare.stderr.strip() == (
        "envcheck: error: srun not found on PATH: --slurm needs the Slurm client commands (sinfo, srun)"
    )


def test_health_check_drains_the_drifted_node() -> None:
    """HealthCheckProgram = scripts/slurm-healthcheck.sh with `doctor --baseline`: slurmd drains the odd node."""
    why = _can_run_slurm()
    if why:
        pytest.skip(why)
    with tempfile.TemporaryDirectory(prefix="envcheck-hc-") as d:
        root = Path(d)
        switch = write_switch(root / "switch", other_interpreter(root))
        golden = root / "golden.json"
        golden.write_text(subprocess.run([sys.executable, "-m", "envcheck", "inspect", "--json"], capture_output=True,
                                         text=True, check=False).stdout)  # fmt: skip
        hook = root / "healthcheck.sh"
        hook.write_text(  # slurmd runs health checks with almost no environment: say where everything is
            "#!/bin/sh\n"
            f"export SLURM_CONF={root}/slurm.conf ENVCHECK='{sys.executable} -m envcheck' "
            f"ENVCHECK_GOLDEN={golden} ENVCHECK_TARGET={switch}\n"
            f"exec {ROOT}/scripts/slurm-healthcheck.sh\n"
        )
        hook.chmod(0o755)
        extra = f"HealthCheckProgram={hook}\nHealthCheckInterval=2\nHealthCheckNodeState=ANY"
        start = time.monotonic()

        def settled(states: dict[str, str]) -> bool:
            return (
                states.get(ODD_NODE) == "drained" and states.get("node01") == "idle" and states.get("node03") == "idle"
            )

        with slurm_cluster(root, extra=extra, ready=settled) as c:
            took = time.monotonic() - start
            reasons = c.run("sinfo", "-h", "-N", "-o", "%N|%T|%E").stdout
            assert f"{ODD_NODE}|drained|envcheck: python" in reasons or f"{ODD_NODE}|drained|envcheck: " in reasons
            assert "node01|idle" in reasons and "node03|idle" in reasons
            assert took < 30


def test_fleet_smoke_gathers_one_smoke_document_per_node(cluster: Cluster) -> None:
    done = envcheck(cluster, "fleet", "smoke", "--slurm", "--nodes", "node[01-02]", "--json", "--timeout", "300")
    report = json.loads(done.stdout)
    assert sorted(report["nodes"]) == ["node01", "node02"], done.stderr
    for entry in report["nodes"].values():
        assert isinstance(entry["document"]["results"], list)
    assert done.returncode == (1 if any(g["errors"] for g in report["groups"]) else 0)
