"""The Slurm adapter against a fake Runner: sinfo parsing, srun -l demultiplexing, every failure a value or one line."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from envcheck.cli import build_parser
from envcheck.cli.fleet import cmd_fleet
from envcheck.errors import UsageError
from envcheck.fleet import slurm
from envcheck.runner import Completed
from tests.fleet.helpers import load

GOOD = {**load("broken-mmcv-lite-venv.json"), "findings": []}


@dataclass
class FakeSlurm:
    """sinfo/srun/scontrol answered from canned text; every call recorded."""

    sinfo: str = "node01|idle|none\nnode02|idle|none\nnode03|drained|maintenance\n"
    sinfo_rc: int = 0
    srun: Callable[[Sequence[str]], Completed] | None = None
    programs: tuple[str, ...] = ("srun", "sinfo", "scontrol")
    calls: list[tuple[str, ...]] = field(default_factory=list)

    def which(self, program: str, path: str | None = None) -> str | None:
        return f"/usr/bin/{program}" if program in self.programs else None

    def run(self, argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None,
            cwd: str | None = None, on_line: Callable[[str], None] | None = None) -> Completed:  # fmt: skip
        args = tuple(argv)
        self.calls.append(args)
        if args[0] == "sinfo":
            return Completed(args, self.sinfo_rc, self.sinfo if not self.sinfo_rc else "", "sinfo: error: bad\n")
        if args[0] == "srun" and self.srun is not None:
            return self.srun(args)
        return Completed(args, 0)


def envelope(node: str, doc: Any, code: int = 0) -> str:
    return json.dumps({"schema": 1, "node": node, "exit": code, "document": doc, "reason": None}, indent=1)


def labelled(*tasks: str, interleave: bool = True) -> str:
    """srun -l output: every line prefixed by its task number, tasks' lines interleaved."""
    per = [[f"{t}: {line}" for line in text.splitlines()] for t, text in enumerate(tasks)]
    if not interleave:
        return "\n".join(line for lines in per for line in lines) + "\n"
    out: list[str] = []
    for i in range(max(len(x) for x in per)):
        out += [lines[i] for lines in per if i < len(lines)]
    return "\n".join(out) + "\n"


def test_parse_sinfo_keeps_usable_nodes_and_names_the_rest() -> None:
    text = "node01|idle|none\nnode02|drained|envcheck: x\nnode01|idle|none\nnode03|down*|Not responding\nnode04|mixed|none\n"
    listing = slurm.parse_sinfo(text)
    assert listing.usable == ("node01", "node04")
    assert listing.unusable == {"node02": "drained: envcheck: x", "node03": "down*: Not responding"}


def test_interleaved_labelled_envelopes_are_taken_apart() -> None:
    out = labelled(envelope("node01", GOOD), envelope("node02", GOOD))
    nodes = slurm.gather(Completed((), 0, out, ""), ["node01", "node02"])
    assert [(n.name, n.document == GOOD) for n in nodes] == [("node01", True), ("node02", True)]


def test_a_task_that_broke_is_reported_with_srun_reason() -> None:
    out = labelled(envelope("node01", GOOD), "Traceback (most recent call last):\nboom")
    err = "srun: error: node02: task 1: Exited with exit code 1\n"
    nodes = slurm.gather(Completed((), 1, out, err), ["node01", "node02"])
    assert nodes[1].document is None and nodes[1].reason.startswith("unreadable output: Traceback")


def test_srun_that_could_not_allocate_makes_every_node_unreachable() -> None:
    done = Completed((), 1, "", "srun: error: Unable to allocate resources: Requested nodes are busy\n")
    nodes = slurm.gather(done, ["node01", "node02"])
    assert all(n.document is None and "Requested nodes are busy" in n.reason for n in nodes)


def test_an_envelope_without_a_document_keeps_its_reason() -> None:
    out = labelled(json.dumps({"schema": 1, "node": "node01", "exit": 2, "document": None, "reason": "no python"}))
    [node] = slurm.gather(Completed((), 0, out, ""), ["node01"])
    assert (node.exit, node.reason) == (2, "no python")


def test_srun_argv_asks_each_usable_node_once_labelled_and_immediate() -> None:
    argv = slurm.srun_argv(["node01", "node02"], ["py", "-m", "x"], partition="gpu", timeout=90)
    assert argv[:1] == ["srun"] and "-l" in argv and "--immediate=30" in argv and "--time=2" in argv
    assert argv[argv.index("-w") + 1] == "node01,node02" and argv[argv.index("-p") + 1] == "gpu"
    assert argv[-3:] == ["py", "-m", "x"]


def args(*extra: str) -> Any:
    return build_parser().parse_args(["fleet", "inspect", "--slurm", *extra])


def test_fleet_end_to_end_on_fakes(capsys: pytest.CaptureFixture[str]) -> None:
    odd = json.loads(json.dumps(GOOD))
    odd["python"]["version"] = "3.12.1"
    fake = FakeSlurm(srun=lambda a: Completed(a, 0, labelled(envelope("node01", GOOD), envelope("node02", odd)), ""))
    assert cmd_fleet(args("--drain"), fake) == 1
    out = capsys.readouterr().out
    assert "1 node node02: py 3.12.1" in out and "    python: 3.11.7 -> 3.12.1" in out
    assert "unreachable: node03 (drained: maintenance)" in out
    assert "scontrol update NodeName=node02 State=DRAIN" in out
    srun = next(c for c in fake.calls if c[0] == "srun")
    assert srun[srun.index("-w") + 1] == "node01,node02"  # the drained node is not asked
    assert not any(c[0] == "scontrol" for c in fake.calls)  # --drain without --yes only prints


def test_drain_yes_runs_scontrol(capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeSlurm(srun=lambda a: Completed(a, 0, labelled(envelope("node01", GOOD), envelope("node02", {**GOOD, "packages": {}})), ""))  # fmt: skip
    cmd_fleet(args("--drain", "--yes", "--json"), fake)
    assert [c[:3] for c in fake.calls if c[0] == "scontrol"] == [("scontrol", "update", "NodeName=node02")]
    assert json.loads(capsys.readouterr().out)["unreachable"] == {"node03": "drained: maintenance"}


@pytest.mark.parametrize(
    ("fake", "argv", "text"),
    [
        (FakeSlurm(programs=("sinfo",)), (), "srun not found on PATH"),
        (FakeSlurm(sinfo_rc=1), (), "sinfo failed"),
        (FakeSlurm(sinfo=""), ("--nodes", "gpu[1-3]"), "node list 'gpu[1-3]' matches no node"),
    ],
)
def test_slurm_problems_are_one_usage_error(fake: FakeSlurm, argv: tuple[str, ...], text: str) -> None:
    with pytest.raises(UsageError, match=text.replace("[", "\\[").replace("]", "\\]")):
        cmd_fleet(args(*argv), fake)


def test_engine_must_be_named() -> None:
    with pytest.raises(UsageError, match="--slurm"):
        cmd_fleet(build_parser().parse_args(["fleet", "inspect"]), FakeSlurm())


CAPTURES = Path(__file__).parents[1] / "data" / "captures" / "slurm"


def capture(name: str) -> str:
    return (CAPTURES / name).read_text()


def test_captured_sinfo_with_a_drained_node() -> None:
    listing = slurm.parse_sinfo(capture("sinfo-node03-drained.txt"))
    assert listing.usable == ("node01", "node02") and listing.unusable == {"node03": "drained: disk replaced"}


def test_captured_srun_of_two_agents_gives_two_doctor_documents() -> None:
    nodes = slurm.gather(Completed((), 0, capture("srun-l-doctor-2-nodes.stdout"), ""), ["node01", "node02"])
    assert [n.name for n in nodes] == ["node01", "node02"]
    assert all(n.document is not None and n.document["node"] == n.name for n in nodes)


def test_captured_srun_on_a_drained_node_and_a_failed_task() -> None:
    busy = slurm.gather(Completed((), 1, "", capture("srun-drained-node.stderr")), ["node03"])
    assert busy[0].reason == "exit 1: srun: error: Unable to allocate resources: Requested nodes are busy"
    done = Completed((), 3, capture("srun-task-failed.stdout"), capture("srun-task-failed.stderr"))
    one, two = slurm.gather(done, ["node01", "node02"])
    assert one.reason == "unreadable output: { broken" and two.reason == "Exited with exit code 3"
