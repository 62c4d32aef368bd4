"""The node's name: the scheduler's (SLURMD_NODENAME) first, else the short host name."""

from __future__ import annotations

from envcheck.probes.identity import node_name


def boom() -> str:
    raise OSError("no name")


def test_the_scheduler_names_the_node() -> None:
    assert node_name({"SLURMD_NODENAME": "gpu07"}, lambda: "login1.example") == ("gpu07", "SLURMD_NODENAME")


def test_else_the_short_host_name() -> None:
    assert node_name({}, lambda: "node12.cluster.example") == ("node12", "hostname")
    assert node_name({"SLURMD_NODENAME": "  "}, lambda: "node12") == ("node12", "hostname")


def test_no_name_at_all_is_a_value() -> None:
    assert node_name({}, boom) == ("unknown", "hostname")
    assert node_name({}, lambda: "") == ("unknown", "hostname")
