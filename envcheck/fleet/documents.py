"""Reading the documents a report folds: inspect/doctor/smoke documents, per-node envelopes, fleet reports.

Every problem is one UsageError line (exit 2): not JSON, not an envcheck document, another schema,
kinds mixed in one report, one node twice, an empty directory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from envcheck.errors import UsageError
from envcheck.fleet.report import Node

SCHEMA = 1
MAX_BYTES = 50_000_000


def kind_of(doc: Mapping[str, Any]) -> str:
    """inspect | doctor | smoke | envelope | report, or "" for a document envcheck did not write."""
    if "nodes" in doc and "groups" in doc:
        return "report"
    if "document" in doc and "exit" in doc:
        return "envelope"
    if "results" in doc:
        return "smoke"
    if "python" in doc or "packages" in doc:
        return "inspect"
    if "findings" in doc:
        return "doctor"
    return ""


def _check(doc: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(doc, Mapping):
        raise UsageError(f"{where}: not an envcheck document (expected a JSON object)")
    if "schema" not in doc and "python" not in doc and "packages" not in doc:
        raise UsageError(f'{where}: not an envcheck document (no "schema")')
    schema = doc.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise UsageError(f"{where}: schema {schema!r} is not supported (envcheck reads {SCHEMA})")
    if not kind_of(doc):
        raise UsageError(f"{where}: not an envcheck inspect, doctor, smoke or fleet document")
    return doc


def nodes_of(doc: Mapping[str, Any], where: str, default_name: str) -> tuple[list[Node], dict[str, str]]:
    """The nodes one document holds (a report holds many) and the unreachable nodes it names."""
    kind = kind_of(doc)
    if kind == "report":
        nodes_raw, unreachable_raw = doc.get("nodes"), doc.get("unreachable") or {}
        if not isinstance(nodes_raw, Mapping) or not isinstance(unreachable_raw, Mapping):
            raise UsageError(f'{where}: "nodes" and "unreachable" must be objects')
        nodes: list[Node] = []
        for name, entry in nodes_raw.items():
            if not isinstance(entry, Mapping):
                raise UsageError(f"{where}: nodes.{name} must be an object")
            nodes += nodes_of({**entry, "node": name}, f"{where}: nodes.{name}", str(name))[0]
        return nodes, {str(k): str(v) for k, v in unreachable_raw.items()}
    if kind == "envelope":
        name = str(doc.get("node") or default_name)
        code = doc.get("exit")
        inner = doc.get("document")
        if inner is None:
            return [
                Node(name, code if isinstance(code, int) else None, None, str(doc.get("reason") or "no document"))
            ], {}
        inner = _check(inner, f"{where}: document")
        if kind_of(inner) in ("envelope", "report"):
            raise UsageError(f"{where}: an envelope must hold an inspect, doctor or smoke document")
        return [Node(name, code if isinstance(code, int) else None, inner)], {}
    name = str(doc.get("node") or default_name)
    return [Node(name, 0, doc)], {}


def read_json(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise UsageError(f"{path}: {len(raw)} bytes is too large for an envcheck document")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a text file (expected JSON written by envcheck)") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def _files(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for text in paths:
        p = Path(text)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix == ".json" and q.is_file())
            if not found:
                raise UsageError(f"{p}: no *.json documents in this directory")
            files += found
        elif p.exists():
            files.append(p)
        else:
            raise UsageError(f"{p}: no such file or directory")
    return files


def load_nodes(paths: Sequence[str]) -> tuple[list[Node], dict[str, str]]:
    """Every node in these files and directories (*.json), and the unreachable nodes they name."""
    if not paths:
        raise UsageError("no documents given: envcheck report FILE|DIR...")
    nodes: dict[str, Node] = {}
    unreachable: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for path in _files(paths):
        doc = _check(read_json(path), str(path))
        found, gone = nodes_of(doc, str(path), path.stem)
        for node in found:
            if node.name in nodes:
                raise UsageError(f'{path}: node {node.name!r} appears twice (rename one file or set its "node")')
            if node.document is not None:
                kind = "smoke" if kind_of(node.document) == "smoke" else "inspect/doctor"
                kinds.setdefault(kind, str(path))
                if len(kinds) > 1:
                    other = next(k for k in kinds if k != kind)
                    raise UsageError(
                        f"mixed documents: {path} is a {kind} document, {kinds[other]} a {other} document "
                        "(report one kind at a time)"
                    )
            nodes[node.name] = node
        unreachable.update(gone)
    return list(nodes.values()), {k: v for k, v in unreachable.items() if k not in nodes}
