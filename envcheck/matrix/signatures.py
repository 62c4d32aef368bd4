"""Signatures: matrices/signatures.toml loaded, validated as a whole, regexes compiled once."""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from envcheck.errors import MatrixError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

FILE = "signatures.toml"
SCHEMA = 1
ROLES = ("error", "context", "warning")
# Checks of the captured groups of one matched line (implemented in envcheck/explain/fixfacts.py).
WHEN_CHECKS = frozenset({"same_generation", "generation_differs", "guards_contradict", "mixed_generations"})
# Checks of the machine's facts (implemented in envcheck/explain/fixfacts.py as FACT_CHECKS).
FACT_CHECK_NAMES = frozenset(
    {
        "windows", "not_macos", "no_gpu", "torch_cpu_only", "torch_has_cuda", "gpu_with_cpu_torch",
        "numpy1", "numpy2", "pkg_resources_gone", "python_ge_312", "python_lt_312", "mmcv_no_ops",
        "mmcv_ops_cpu", "mmcv_built_for_other_cuda", "mmcv_generation_mismatch", "mixed_mmcv",
        "gpu_arch_missing_in_torch", "driver_older_than_torch_cuda", "cuda_home_broken",
    }
)  # fmt: skip
_SIGNATURE_KEYS = frozenset(
    {"id", "code", "title", "cause", "fix", "patterns", "requires", "excludes", "supports",
     "confirmed_by", "ruled_out_by", "source"}
)  # fmt: skip
_PATTERN_KEYS = frozenset({"re", "key", "weight", "role", "when"})
_TOP_KEYS = frozenset({"schema", "updated", "prefilter", "codes", "placeholders", "import_to_pip", "signature"})
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FLAGS = re.IGNORECASE
_CONTEXT_FLAGS = re.IGNORECASE | re.MULTILINE


@dataclass(frozen=True)
class Pattern:
    """One regex of a signature; `keys` are the literals that let a line through the prefilter."""

    regex: re.Pattern[str]
    keys: tuple[str, ...]
    weight: float
    role: str = "error"
    when: str | None = None


@dataclass(frozen=True)
class Signature:
    id: str
    code: str
    title: str
    cause: str
    fix: tuple[tuple[str, ...], ...]  # steps; each step: alternatives, the first fully known wins
    patterns: tuple[Pattern, ...]
    source: str
    requires: tuple[re.Pattern[str], ...] = ()
    excludes: tuple[re.Pattern[str], ...] = ()
    supports: tuple[re.Pattern[str], ...] = ()
    confirmed_by: tuple[str, ...] = ()
    ruled_out_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignatureSet:
    """Every signature, plus the prefilter index: key -> (signature, pattern) positions."""

    signatures: tuple[Signature, ...]
    codes: Mapping[str, str]
    placeholders: Mapping[str, str]
    import_to_pip: Mapping[str, str]
    by_key: Mapping[str, tuple[tuple[int, int], ...]]
    scan: Mapping[str, tuple[str, ...]]  # key searched for -> the keys containing it (itself first)
    path: Path | None = None

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.by_key)

    def by_id(self, sig_id: str) -> Signature:
        return next(s for s in self.signatures if s.id == sig_id)


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{FILE}: {where}: {message}")


def _text(raw: Any, field: str, where: str, problems: _Problems) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        problems.add(where, f"`{field}` must be a non-empty string")
        return ""
    return value


def _strings(raw: Any, field: str, where: str, problems: _Problems) -> tuple[str, ...]:
    value = raw.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.add(where, f"`{field}` must be a list of non-empty strings")
        return ()
    return tuple(value)


def _compile(text: str, flags: int, where: str, problems: _Problems) -> re.Pattern[str] | None:
    try:
        return re.compile(text, flags)
    except re.error as exc:
        problems.add(where, f"bad regex {text!r}: {exc}")
        return None


def _pattern(raw: Any, where: str, problems: _Problems) -> Pattern | None:
    before = len(problems.items)
    if not isinstance(raw, dict):
        problems.add(where, "a pattern must be a table { re, key, weight }")
        return None
    for extra in sorted(set(raw) - _PATTERN_KEYS):
        problems.add(where, f"unknown pattern field `{extra}`")
    regex = _compile(_text(raw, "re", where, problems), _FLAGS, where, problems)
    key = raw.get("key")
    keys = (key,) if isinstance(key, str) else tuple(key) if isinstance(key, list) else ()
    if not keys or not all(isinstance(k, str) and k and k == k.lower() for k in keys):
        problems.add(where, "`key` must be a non-empty lower-case string (or a list of them)")
    weight = raw.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 1:
        problems.add(where, "`weight` must be a number in (0, 1]")
        weight = 0.0
    role = raw.get("role", "error")
    if role not in ROLES:
        problems.add(where, f"`role` must be one of {', '.join(ROLES)}")
    when = raw.get("when")
    if when is not None and when not in WHEN_CHECKS:
        problems.add(where, f"unknown `when` check {when!r}")
    if regex is None or len(problems.items) > before:
        return None
    return Pattern(regex, keys, float(weight), role, when)


def _fix(raw: Any, where: str, problems: _Problems) -> tuple[tuple[str, ...], ...]:
    steps: list[tuple[str, ...]] = []
    if not isinstance(raw, list) or not raw:
        problems.add(where, "`fix` must be a non-empty list of steps")
        return ()
    for step in raw:
        alternatives = [step] if isinstance(step, str) else step
        if (
            not isinstance(alternatives, list)
            or not alternatives
            or not all(isinstance(a, str) and a.strip() for a in alternatives)
        ):
            problems.add(where, "a fix step is a command string or a list of alternative commands")
            continue
        steps.append(tuple(alternatives))
    return tuple(steps)


def _signature(raw: Any, index: int, codes: Mapping[str, str], placeholders: Mapping[str, str],
               problems: _Problems) -> Signature | None:  # fmt: skip
    where = f"signature #{index + 1}"
    if not isinstance(raw, dict):
        problems.add(where, "must be a table")
        return None
    where = f"signature {raw.get('id', '#' + str(index + 1))}"
    before = len(problems.items)
    for extra in sorted(set(raw) - _SIGNATURE_KEYS):
        problems.add(where, f"unknown field `{extra}`")
    sig_id, code = _text(raw, "id", where, problems), _text(raw, "code", where, problems)
    if code and code not in codes:
        problems.add(where, f"code {code!r} is not in [codes]")
    raw_patterns = raw.get("patterns")
    if not isinstance(raw_patterns, list) or not raw_patterns:
        problems.add(where, "`patterns` must be a non-empty list")
        raw_patterns = []
    patterns = [_pattern(p, f"{where} pattern {i + 1}", problems) for i, p in enumerate(raw_patterns)]
    context = {
        field: tuple(
            c for t in _strings(raw, field, where, problems)
            if (c := _compile(t, _CONTEXT_FLAGS, f"{where} {field}", problems)) is not None
        )
        for field in ("requires", "excludes", "supports")
    }  # fmt: skip
    checks = {field: _strings(raw, field, where, problems) for field in ("confirmed_by", "ruled_out_by")}
    for name in (*checks["confirmed_by"], *checks["ruled_out_by"]):
        if name not in FACT_CHECK_NAMES:
            problems.add(where, f"unknown fact check {name!r}")
    title, cause = _text(raw, "title", where, problems), _text(raw, "cause", where, problems)
    fix = _fix(raw.get("fix"), where, problems)
    groups = {g for p in patterns if p is not None for g in p.regex.groupindex}
    for text in (title, cause, *(a for step in fix for a in step)):
        for name in _PLACEHOLDER.findall(text):
            if name not in placeholders and name not in groups:
                problems.add(where, f"placeholder {{{name}}} is neither in [placeholders] nor a named group")
    source = _text(raw, "source", where, problems)
    if len(problems.items) > before:
        return None
    return Signature(
        sig_id, code, title, cause, fix, tuple(p for p in patterns if p is not None), source,
        context["requires"], context["excludes"], context["supports"],
        checks["confirmed_by"], checks["ruled_out_by"],
    )  # fmt: skip


def _table(raw: Any, name: str, problems: _Problems) -> Mapping[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        problems.add(f"[{name}]", "must be a table of strings")
        return MappingProxyType({})
    return MappingProxyType(dict(raw))


def parse_signatures(data: Mapping[str, Any], path: Path | None = None) -> SignatureSet:
    """Validate parsed TOML; MatrixError lists every problem found, not just the first."""
    problems = _Problems()
    if data.get("schema") != SCHEMA:
        problems.add("schema", f"expected schema = {SCHEMA}")
    for extra in sorted(set(data) - _TOP_KEYS):
        problems.add(extra, "unknown top-level key")
    codes = _table(data.get("codes"), "codes", problems)
    placeholders = _table(data.get("placeholders"), "placeholders", problems)
    import_to_pip = _table(data.get("import_to_pip", {}), "import_to_pip", problems)
    raw = data.get("signature")
    if not isinstance(raw, list) or not raw:
        problems.add("[[signature]]", "no signatures")
        raw = []
    signatures = [_signature(s, i, codes, placeholders, problems) for i, s in enumerate(raw)]
    seen: set[str] = set()
    for sig in signatures:
        if sig is not None and sig.id in seen:
            problems.add(f"signature {sig.id}", "duplicate id")
        if sig is not None:
            seen.add(sig.id)
    used = {s.code for s in signatures if s is not None}
    for code in codes:
        if code not in used:
            problems.add(f"[codes] {code}", "no signature uses this code")
    if problems.items:
        raise MatrixError(problems.items)
    valid = tuple(s for s in signatures if s is not None)
    index: dict[str, list[tuple[int, int]]] = {}
    for si, sig in enumerate(valid):
        for pi, pattern in enumerate(sig.patterns):
            for key in pattern.keys:
                index.setdefault(key, []).append((si, pi))
    by_key = MappingProxyType({k: tuple(v) for k, v in index.items()})
    anchors = _anchors(data.get("prefilter", {}), list(index), problems)
    if problems.items:
        raise MatrixError(problems.items)
    return SignatureSet(valid, codes, placeholders, import_to_pip, by_key, _scan(list(index), anchors), path)


def _anchors(raw: Any, keys: list[str], problems: _Problems) -> list[str]:
    anchors = raw.get("anchors", []) if isinstance(raw, dict) else None
    if not isinstance(anchors, list) or not all(isinstance(a, str) and a and a == a.lower() for a in anchors):
        problems.add("[prefilter]", "`anchors` must be a list of lower-case strings")
        return []
    for anchor in anchors:
        if not any(anchor in k for k in keys):
            problems.add("[prefilter]", f"anchor {anchor!r} is in no key: it would only cost time")
    return anchors


def _scan(keys: list[str], anchors: Sequence[str] = ()) -> Mapping[str, tuple[str, ...]]:
    """Search only the words no other one contains; a line holding one is checked for the longer keys."""
    words = keys + [a for a in anchors if a not in keys]
    shortest = [w for w in words if not any(o != w and o in w for o in words)]
    return MappingProxyType({w: tuple(k for k in keys if w in k) for w in shortest})


@functools.lru_cache(maxsize=4)
def _load(path: Path) -> SignatureSet:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MatrixError([f"{FILE}: cannot read {path}: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise MatrixError([f"{FILE}: not valid TOML: {exc}"]) from None
    return parse_signatures(data, path)


def load_signatures(path: Path | None = None) -> SignatureSet:
    """matrices/signatures.toml parsed and validated (cached per file)."""
    if path is None:
        from envcheck.matrix import matrix_root

        path = matrix_root() / FILE
    return _load(Path(path).resolve())


def clear_cache() -> None:
    _load.cache_clear()
