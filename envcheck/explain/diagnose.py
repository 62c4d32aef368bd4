"""Diagnoses: a log's lines x signatures (+ facts) -> ranked causes, with the lines that gave them away.

Pure: no machine access. Scoring, in order:
- a matched line scores its pattern's weight (how specific the message is), times 1.0 inside the
  zone where the log ended (the last traceback, the last lines) and a little less earlier on;
- a signature combines its distinct patterns (the best one, plus a share of the others);
- `supports` found in the log add a little; facts that confirm the cause add, facts that rule it
  out divide; a signature seen only through context lines (an sdist being built) stays below 0.6;
- one diagnosis per code, best first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from envcheck.errors import EnvcheckError
from envcheck.explain.fixfacts import FixFacts, derived, gather
from envcheck.explain.guards import WHEN
from envcheck.explain.logfacts import extract
from envcheck.explain.logtext import Evidence, LogText, suspicious_lines
from envcheck.facts.model import Environment
from envcheck.matrix import Matrix
from envcheck.matrix.signatures import Signature, SignatureSet, load_signatures

__all__ = ["CONFIDENT", "Diagnosis", "Evidence", "diagnose", "suspicious_lines"]

CONFIDENT = 0.8  # at or above: the cause is stated, not suggested
MIN_SCORE = 0.2  # below: not worth showing
MAX_DIAGNOSES = 5
MAX_EVIDENCE = 4
EARLY = 0.9  # a line before the zone where the log ended counts this much (up to EARLY + 0.05)
ALSO = 0.3  # share of each further distinct pattern in a signature's score
SUPPORT = 0.15  # share of the remaining doubt removed per supporting context (at most two)
CONFIRM = 0.5  # share of the remaining doubt removed when the facts confirm the cause
RULED_OUT = 0.35  # factor when the facts rule the cause out
CAPS = {"context": 0.6, "warning": 0.7}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Diagnosis:
    """One probable cause: what, why, the exact fix, how sure, and the lines that show it."""

    code: str
    title: str
    cause: str
    fix: tuple[str, ...]
    confidence: float
    evidence: tuple[Evidence, ...]
    source: str
    signature: str = ""

    @property
    def confident(self) -> bool:
        return self.confidence >= CONFIDENT

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "cause": self.cause,
            "fix": list(self.fix),
            "confidence": round(self.confidence, 2),
            "evidence": [{"line": e.line_no, "text": e.text} for e in self.evidence],
            "source": self.source,
            "signature": self.signature,
        }


@dataclass(frozen=True)
class _Hit:
    line: int
    pattern: int
    score: float
    captures: Mapping[str, str]


def _match(log: LogText, sigs: SignatureSet) -> dict[int, list[_Hit]]:
    """Run each pattern only on the lines that hold its key; raw hits (score = weight) by signature."""
    found: dict[int, list[_Hit]] = {}
    for line, keys in log.candidates(sigs.scan).items():
        text = log.line(line)
        tried: set[tuple[int, int]] = set()
        for key in keys:
            for si, pi in sigs.by_key[key]:
                if (si, pi) in tried:
                    continue
                tried.add((si, pi))
                pattern = sigs.signatures[si].patterns[pi]
                m = pattern.regex.search(text)
                if m:
                    caps = {k: v.strip() for k, v in m.groupdict().items() if v}
                    found.setdefault(si, []).append(_Hit(line, pi, pattern.weight, caps))
    return found


class _Scorer:
    def __init__(self, log: LogText, facts: FixFacts) -> None:
        self.log, self.facts = log, facts
        self.zone = log.tail_zone()
        self.n = max(len(log), 1)
        self._text: str | None = None

    @property
    def text(self) -> str:
        """Where `requires`, `excludes` and `supports` look: the head and tail of a huge log."""
        if self._text is None:
            self._text = self.log.window().text
        return self._text

    def position(self, line: int) -> float:
        start, end = self.zone
        return 1.0 if start <= line < end else EARLY + 0.05 * line / self.n

    def score(self, sig: Signature, raw: list[_Hit]) -> tuple[float, list[_Hit]]:
        if any(not r.search(self.text) for r in sig.requires) or any(r.search(self.text) for r in sig.excludes):
            return 0.0, []
        by_pattern: dict[int, list[_Hit]] = {}
        for hit in raw:
            by_pattern.setdefault(hit.pattern, []).append(hit)
        hits: list[_Hit] = []
        for pi, group in by_pattern.items():
            pattern = sig.patterns[pi]
            every = [h.captures for h in group]
            for hit in group:
                if pattern.when and not WHEN[pattern.when](hit.captures, every, self.facts):
                    continue
                factor = 1.0 if pattern.role == "context" else self.position(hit.line)
                hits.append(_Hit(hit.line, pi, hit.score * factor, hit.captures))
        if not hits:
            return 0.0, []
        best: dict[int, float] = {}
        for hit in hits:
            best[hit.pattern] = max(best.get(hit.pattern, 0.0), hit.score)
        ordered = sorted(best.values(), reverse=True)
        doubt = 1 - ordered[0]
        for extra in ordered[1:]:
            doubt *= 1 - ALSO * extra
        score = 1 - doubt
        supported = sum(1 for r in sig.supports if r.search(self.text))
        for _ in range(min(supported, 2)):
            score += (1 - score) * SUPPORT
        roles = {sig.patterns[pi].role for pi in best}
        if roles <= {"context", "warning"}:  # circumstances alone never conclude; facts still may
            score = min(score, CAPS["warning" if "warning" in roles else "context"])
        checks = self.facts.checks
        if any(checks.get(name) for name in sig.ruled_out_by):
            score *= RULED_OUT
        elif any(checks.get(name) for name in sig.confirmed_by):
            score += (1 - score) * CONFIRM
        return min(score, 0.99), sorted(hits, key=lambda h: -h.score)


def _render(template: str, values: Mapping[str, str], labels: Mapping[str, str], command: bool) -> tuple[str, bool]:
    missing = False

    def fill(m: re.Match[str]) -> str:
        nonlocal missing
        name = m.group(1)
        if values.get(name):
            return values[name]
        missing = True
        label = labels.get(name, name.replace("_", " "))
        return f"<{label}>" if command else label

    return _PLACEHOLDER.sub(fill, template), missing


def _fix(sig: Signature, values: Mapping[str, str], labels: Mapping[str, str]) -> tuple[str, ...]:
    """Each step: its first alternative whose placeholders are all known; a step with none is left out.

    A fix is exact commands (or an envcheck command that prints them), never a template with
    <what is missing> for the user to fill in.
    """
    steps: list[str] = []
    for alternatives in sig.fix:
        for alt in alternatives:
            text, missing = _render(alt, values, labels, command=True)
            if not missing:
                steps.append(text)
                break
    return tuple(steps)


def diagnose(
    text: str | bytes | LogText,
    facts: Environment | None = None,
    signatures: SignatureSet | None = None,
    *,
    matrix: Matrix | None = None,
) -> list[Diagnosis]:
    """Ranked diagnoses of a log; [] when no signature matches (then see suspicious_lines).

    `facts` (this machine, or an `inspect --json` document) and `matrix` only sharpen the answer:
    they confirm or rule out causes and fill the fix commands (which mmcv wheel for which torch).
    Raises UsageError for empty or binary input.
    """
    sigs = signatures if signatures is not None else load_signatures()
    log = text if isinstance(text, LogText) else LogText.from_text(text)
    raw = _match(log, sigs)
    if not raw:
        return []
    fix_facts = gather(facts, extract(log), matrix)
    scorer = _Scorer(log, fix_facts)
    best_per_code: dict[str, tuple[float, Signature, list[_Hit]]] = {}
    for si, hits in raw.items():
        sig = sigs.signatures[si]
        score, kept = scorer.score(sig, hits)
        if score >= MIN_SCORE and score > best_per_code.get(sig.code, (0.0,))[0]:
            best_per_code[sig.code] = (score, sig, kept)
    ranked = sorted(best_per_code.values(), key=lambda t: (-t[0], t[2][0].line))[:MAX_DIAGNOSES]
    return [_diagnosis(score, sig, hits, log, fix_facts, sigs) for score, sig, hits in ranked]


def top_cause(text: str, facts: Environment | None = None, *, matrix: Matrix | None = None) -> Diagnosis | None:
    """The most likely cause of a failed command's output, or None when nothing matched or there
    was nothing to read (empty or binary output): for the callers that report one cause, not a list."""
    try:
        found = diagnose(text, facts, matrix=matrix)
    except EnvcheckError:
        return None
    return found[0] if found else None


def _diagnosis(score: float, sig: Signature, hits: list[_Hit], log: LogText, facts: FixFacts,
               sigs: SignatureSet) -> Diagnosis:  # fmt: skip
    captures: dict[str, str] = {}
    for hit in hits:  # best hit first: its groups win
        for k, v in hit.captures.items():
            captures.setdefault(k, v)
    values = {**facts.values, **captures}
    values.update(derived(captures, facts, sigs.import_to_pip))
    labels = sigs.placeholders
    lines: list[int] = []
    for hit in hits:
        if hit.line not in lines:
            lines.append(hit.line)
    evidence = tuple(log.evidence(i) for i in sorted(lines[:MAX_EVIDENCE]))
    return Diagnosis(
        code=sig.code,
        title=_render(sig.title, values, labels, command=False)[0],
        cause=_render(sig.cause, values, labels, command=False)[0],
        fix=_fix(sig, values, labels),
        confidence=round(score, 3),
        evidence=evidence,
        source=sig.source,
        signature=sig.id,
    )
