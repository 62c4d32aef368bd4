"""The fleet report: nodes folded into groups with identical stacks, majority first, drift in stack terms.

Pure: nodes (name, exit, document) and unreachable nodes in, a Report value out. Reading files lives in
fleet/documents.py, asking Slurm in fleet/slurm.py, printing in render/fleet.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from envcheck.fleet.fingerprint import ORDER, digest, one_line, other_packages, stack_of
from envcheck.fleet.hostlist import compress, node_key, sort_nodes

SCHEMA = 1


@dataclass(frozen=True)
class Node:
    """One node's answer: its document, or None with the reason it gave none."""

    name: str
    exit: int | None = 0
    document: Mapping[str, Any] | None = None
    reason: str = ""  # why there is no document (the node was asked and failed)


@dataclass(frozen=True)
class Difference:
    key: str  # a stack key: python, torch, torch.cuda, driver, gpus, mmcv, mmcv.ops, mmdet ...
    majority: str
    here: str


@dataclass(frozen=True)
class Group:
    nodes: tuple[str, ...]
    stack: Mapping[str, str]
    others_digest: str
    differs: tuple[Difference, ...] = ()
    other_packages_differ: int | None = 0  # None: the documents do not list their packages
    errors: tuple[str, ...] = ()  # "node02: mmcv-ops-missing: mmcv has no compiled ops", one per finding

    @property
    def nodeset(self) -> str:
        return compress(self.nodes)


@dataclass(frozen=True)
class Report:
    engine: str
    nodes: tuple[Node, ...]
    groups: tuple[Group, ...]
    unreachable: Mapping[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> tuple[Node, ...]:
        """Nodes that were asked and answered no document."""
        return tuple(n for n in self.nodes if n.document is None)

    @property
    def drift(self) -> bool:
        return len(self.groups) > 1

    @property
    def error_count(self) -> int:
        return sum(len(g.errors) for g in self.groups)

    @property
    def exit_code(self) -> int:
        """0: one group, no error finding, every asked node answered; 1 otherwise (drained nodes do not count)."""
        return 1 if self.drift or self.error_count or self.failed else 0

    def drain_reasons(self) -> dict[str, str]:
        """{node: reason} for each node outside the majority or with an error finding."""
        out: dict[str, str] = {}
        for group in self.groups[1:]:
            what = "; ".join(f"{d.key} {d.here} != {d.majority}" for d in group.differs[:3])
            if not what:
                what = "other packages differ from the majority"
            for n in group.nodes:
                out[n] = f"envcheck: {what}"
        for group in self.groups:
            for line in group.errors:
                name, _, rest = line.partition(": ")
                out.setdefault(name, f"envcheck: {rest}")
        for failed in self.failed:
            out.setdefault(failed.name, f"envcheck: {failed.reason or 'no document'}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "engine": self.engine,
            "exit": self.exit_code,
            "nodes": {n.name: {"exit": n.exit, "document": n.document, "reason": n.reason or None}
                      for n in self.nodes},
            "groups": [
                {
                    "nodes": list(g.nodes),
                    "nodeset": g.nodeset,
                    "stack": dict(g.stack),
                    "summary": one_line(g.stack) if g.stack else "",
                    "others_digest": g.others_digest,
                    "differs": [{"key": d.key, "majority": d.majority, "here": d.here} for d in g.differs],
                    "other_packages_differ": g.other_packages_differ,
                    "errors": list(g.errors),
                }
                for g in self.groups
            ],
            "unreachable": dict(self.unreachable),
        }  # fmt: skip


def _stack_and_others(doc: Mapping[str, Any]) -> tuple[dict[str, str], str, dict[str, str] | None]:
    """(stack, digest of the other packages, the other packages or None when the document has no list)."""
    if "packages" in doc or "python" in doc:  # an inspect document: computed here, whatever it says
        others = other_packages(doc)
        return stack_of(doc), digest(others), others
    fp = doc.get("fingerprint")
    if isinstance(fp, Mapping) and isinstance(fp.get("stack"), Mapping):  # doctor --json carries its own
        return {str(k): str(v) for k, v in fp["stack"].items()}, str(fp.get("others_digest", "")), None
    return {}, "", None  # smoke documents: no stack, only results


def errors_of(name: str, doc: Mapping[str, Any]) -> list[str]:
    """Error findings (inspect/doctor) and failed checks (smoke), one line each, prefixed by the node."""
    out: list[str] = []
    for f in doc.get("findings") or ():
        if isinstance(f, Mapping) and f.get("severity") == "error":
            out.append(f"{name}: {f.get('code', '?')}: {f.get('title', '')}".rstrip())
    for r in doc.get("results") or ():
        if isinstance(r, Mapping) and r.get("status") == "fail":
            head = str(r.get("detail") or "").strip().splitlines()
            out.append(f"{name}: smoke {r.get('toolkit', '?')} failed" + (f": {head[0]}" if head else ""))
    return out


def _differences(majority: Mapping[str, str], here: Mapping[str, str]) -> tuple[Difference, ...]:
    keys = [k for k in ORDER if k in majority or k in here]
    keys += sorted(k for k in {*majority, *here} if k not in ORDER)
    return tuple(
        Difference(k, majority.get(k, "-"), here.get(k, "-")) for k in keys if majority.get(k, "-") != here.get(k, "-")
    )


def _others_differ(a: Mapping[str, str] | None, b: Mapping[str, str] | None) -> int | None:
    if a is None or b is None:
        return None
    return sum(1 for k in {*a, *b} if a.get(k) != b.get(k))


def build_report(nodes: Sequence[Node], unreachable: Mapping[str, str] | None = None, engine: str = "files") -> Report:
    """Fold nodes with identical stacks (and identical other packages) into groups, the largest first."""
    by_key: dict[tuple[Any, ...], list[str]] = {}
    info: dict[tuple[Any, ...], tuple[dict[str, str], str, dict[str, str] | None]] = {}
    errors: dict[tuple[Any, ...], list[str]] = {}
    for node in sorted(nodes, key=lambda n: node_key(n.name)):
        if node.document is None:
            continue
        stack, others_digest, others = _stack_and_others(node.document)
        key = (tuple(stack.items()), others_digest)
        by_key.setdefault(key, []).append(node.name)
        info.setdefault(key, (stack, others_digest, others))
        errors.setdefault(key, []).extend(errors_of(node.name, node.document))
    ordered = sorted(by_key, key=lambda k: (-len(by_key[k]), node_key(by_key[k][0])))
    groups: list[Group] = []
    for i, key in enumerate(ordered):
        stack, others_digest, others = info[key]
        if i == 0:
            differs: tuple[Difference, ...] = ()
            count: int | None = 0
        else:
            base_stack, _, base_others = info[ordered[0]]
            differs = _differences(base_stack, stack)
            count = _others_differ(base_others, others)
        groups.append(Group(tuple(sort_nodes(by_key[key])), stack, others_digest, differs, count, tuple(errors[key])))
    gone = {**(unreachable or {}), **{n.name: n.reason or "no document" for n in nodes if n.document is None}}
    return Report(engine, tuple(sorted(nodes, key=lambda n: node_key(n.name))), tuple(groups),
                  {k: gone[k] for k in sort_nodes(gone)})  # fmt: skip
