"""Node sets as clush -b and Slurm write them."""

from __future__ import annotations

import pytest

from envcheck.errors import UsageError
from envcheck.fleet.hostlist import compress, expand, sort_nodes


@pytest.mark.parametrize(
    ("names", "text"),
    [
        ([f"node{i:02d}" for i in (*range(1, 7), *range(8, 14))], "node[01-06,08-13]"),
        (["node07"], "node07"),
        (["node2", "node10", "node1"], "node[1-2,10]"),
        (["gpu1", "cpu3", "login"], "cpu3,gpu1,login"),
        (["n1", "n01"], "n01,n1"),
        (["node01", "node09", "node10", "node100"], "node[01,09-10,100]"),
        ([], ""),
    ],
)
def test_compress(names: list[str], text: str) -> None:
    assert compress(names) == text


@pytest.mark.parametrize("names", [["node01", "node02", "node05"], ["a1", "a2", "b10", "b11", "c"], ["x9", "x10"]])
def test_expand_inverts_compress(names: list[str]) -> None:
    assert sort_nodes(expand(compress(names))) == sort_nodes(names)


@pytest.mark.parametrize("bad", ["node[01-", "node[a-b]", "node[5-1]"])
def test_bad_node_lists_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        expand(bad)
