"""report, diff, doctor --baseline and the node name in inspect --json, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fleet.helpers import DATA, load, variant

ROOT = Path(__file__).parents[2]  # the repository
MACHINE = DATA / "machines" / "broken-mmcv-lite-venv.json"


def envcheck(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200", **(env or {}))
    return subprocess.run([sys.executable, "-m", "envcheck", *args], capture_output=True, text=True, env=full,
                          timeout=120, check=False)  # fmt: skip


def one_line(done: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("envcheck: error: ") and text in done.stderr
    assert "Traceback" not in done.stderr


def test_inspect_json_names_the_node_and_fingerprints_the_stack() -> None:
    doc = json.loads(envcheck("inspect", "--json", env={"SLURMD_NODENAME": "gpu17"}).stdout)
    assert doc["node"] == "gpu17"
    assert set(doc["fingerprint"]) == {"stack", "stack_digest", "others_digest"}
    assert doc["fingerprint"]["stack"]["python"] == ".".join(map(str, sys.version_info[:3]))
    redacted = json.loads(envcheck("inspect", "--json", "--redact", env={"SLURMD_NODENAME": "gpu17"}).stdout)
    assert redacted["node"] == "<redacted>" and redacted["fingerprint"] == doc["fingerprint"]
    doctor = json.loads(envcheck("doctor", "--json", env={"SLURMD_NODENAME": "gpu17"}).stdout)
    assert doctor["node"] == "gpu17" and doctor["fingerprint"]["stack"] == doc["fingerprint"]["stack"]


def test_report_folds_files_and_exits_by_drift(tmp_path: Path) -> None:
    good = variant(load("broken-mmcv-lite-venv.json"), findings=[])
    for i in (1, 2, 3):
        (tmp_path / f"node0{i}.json").write_text(
            json.dumps(good if i != 2 else variant(good, **{"packages.mmdet": "3.2.0"}))
        )
    done = envcheck("report", str(tmp_path))
    assert done.returncode == 1
    assert done.stdout.splitlines()[:3] == [
        "2 nodes node[01,03]: py 3.11.7 · torch 2.13.0+cpu · no driver · no GPU · mmcv-lite 2.2.0 (no ops) · mmengine 0.10.7 · mmdet 3.3.0 · mmsegmentation 1.2.2 · numpy 2.4.6  others #afd14bf43dc3",
        "1 node  node02: py 3.11.7 · torch 2.13.0+cpu · no driver · no GPU · mmcv-lite 2.2.0 (no ops) · mmengine 0.10.7 · mmdet 3.2.0 · mmsegmentation 1.2.2 · numpy 2.4.6  others #afd14bf43dc3",
        "    mmdet: 3.3.0 -> 3.2.0",
    ]
    (tmp_path / "node02.json").write_text(json.dumps(good))
    ok = envcheck("report", str(tmp_path), "--json")
    assert ok.returncode == 0 and [g["nodeset"] for g in json.loads(ok.stdout)["groups"]] == ["node[01-03]"]


@pytest.mark.parametrize(
    ("content", "text"),
    [(b"\x00\xff", "not a text file"), (b'{"a": 1}', "not an envcheck document"),
     (b'{"schema": 3, "python": {}}', "schema 3 is not supported")],
)  # fmt: skip
def test_report_bad_input_is_one_line(tmp_path: Path, content: bytes, text: str) -> None:
    (tmp_path / "x.json").write_bytes(content)
    one_line(envcheck("report", str(tmp_path / "x.json")), 2, text)


def test_report_empty_directory_and_no_arguments(tmp_path: Path) -> None:
    one_line(envcheck("report", str(tmp_path)), 2, "no *.json documents")
    one_line(envcheck("report"), 2, "no documents given")


def test_diff_files_and_a_python_target() -> None:
    same = envcheck("diff", str(MACHINE), str(MACHINE))
    assert same.returncode == 0 and same.stdout.startswith("✓ ")
    other = envcheck("diff", str(MACHINE), "--python", sys.executable, "--json")
    doc = json.loads(other.stdout)
    assert other.returncode == 1 and doc["differences"][0]["stack"] is True
    one_line(envcheck("diff", str(MACHINE)), 2, "give two of FILE / --python PATH (1 given)")
    one_line(envcheck("diff", str(MACHINE), str(DATA / "scenarios")), 2, "scenarios")


def test_doctor_baseline_same_stack_exits_0_fast(tmp_path: Path) -> None:
    golden = tmp_path / "golden.json"
    golden.write_text(envcheck("inspect", "--json").stdout)
    start = time.monotonic()
    done = envcheck("doctor", "--baseline", str(golden), "--json")
    took = time.monotonic() - start
    findings = json.loads(done.stdout)["findings"]
    assert not [f for f in findings if f["code"].startswith("baseline")], findings
    assert done.returncode == 0 and took < 10  # about 0.5-0.9 s here (benchmarks/fleet.py); loose on a busy CI


def test_doctor_baseline_drift_is_an_error_with_the_planners_line() -> None:
    done = envcheck("doctor", "--baseline", str(MACHINE), "--json")
    assert done.returncode == 1
    drift = {f["title"]: f for f in json.loads(done.stdout)["findings"] if f["code"] == "baseline-drift"}
    mmdet = drift["mmdet is - here, 3.3.0 in the baseline"]
    assert mmdet["severity"] == "error"
    assert mmdet["fix"][0].startswith("envcheck install mmdet==3.3.0 mmsegmentation==1.2.2 --torch 2.13.0 --cuda cpu")


def test_doctor_baseline_bad_golden_is_one_line(tmp_path: Path) -> None:
    smoke = tmp_path / "smoke.json"
    smoke.write_text('{"schema": 1, "results": []}')
    one_line(envcheck("doctor", "--baseline", str(smoke)), 2, "expected an `envcheck inspect --json` document")
    one_line(envcheck("doctor", "--baseline", str(tmp_path / "none.json")), 2, "none.json")


def test_fleet_usage_errors() -> None:
    one_line(envcheck("fleet", "inspect"), 2, "--slurm")
    one_line(envcheck("fleet", "inspect", "--slurm", "--yes"), 2, "--yes goes with --drain")
    one_line(envcheck("fleet", "inspect", "--slurm", env={"PATH": "/nonexistent"}), 2, "srun not found on PATH")
