"""matrices/signatures.toml: validated as a whole, every code covered, every pattern reachable."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from envcheck.errors import MatrixError
from envcheck.explain.diagnose import diagnose
from envcheck.explain.guards import WHEN
from envcheck.explain.logtext import LogText
from envcheck.matrix import load_matrix, matrix_root
from envcheck.matrix.signatures import FACT_CHECK_NAMES, FILE, WHEN_CHECKS, load_signatures, parse_signatures
from tests import DATA

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

DATA = DATA / "failures"

# Real messages, one per pattern that no log in cases.jsonl / collected.jsonl exercises (with the
# thread a message was seen in, where it came from one).
MESSAGES = [json.loads(x) for x in (DATA / "messages.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
EXAMPLES = [(m["code"], m["text"]) for m in MESSAGES]

# torch says this both for a CPU-only build and when no GPU is visible: the facts decide.
DESERIALIZE = (
    "RuntimeError: Attempting to deserialize object on a CUDA device but torch.cuda.is_available() is False. "
    "If you are running on a CPU-only machine, please use torch.load with map_location=torch.device('cpu')"
)


def _raw() -> dict[str, Any]:
    return dict(tomllib.loads((matrix_root() / FILE).read_text(encoding="utf-8")))


def test_loads_and_is_cached() -> None:
    sigs = load_signatures()
    assert load_signatures() is sigs
    assert len(sigs.signatures) >= 50 and all(s.patterns for s in sigs.signatures)


def test_every_code_of_the_vocabulary_has_a_signature() -> None:
    sigs = load_signatures()
    table = (DATA / "CODES.md").read_text()
    vocabulary = set(re.findall(r"^\| ([a-z0-9_-]+) \|", table, re.MULTILINE)) - {"code", "---"}
    assert len(vocabulary) >= 37
    assert vocabulary <= set(sigs.codes)
    assert {s.code for s in sigs.signatures} == set(sigs.codes)


def test_every_signature_cites_where_its_cause_was_confirmed() -> None:
    for sig in load_signatures().signatures:
        for source in sig.source.split("; "):
            assert source.startswith(("https://github.com/", "envcheck:reference/")) or re.match(
                r"measured here \d{4}-\d{2}-\d{2}: \S", source
            ), sig.id


def test_check_names_match_their_implementations() -> None:
    from envcheck.explain.fixfacts import gather
    from envcheck.explain.logfacts import LogFacts

    assert set(gather(None, LogFacts()).checks) == FACT_CHECK_NAMES
    assert set(WHEN) == WHEN_CHECKS


@pytest.mark.parametrize(("code", "text"), EXAMPLES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(EXAMPLES)])
def test_example_message_gives_its_code(code: str, text: str) -> None:
    found = diagnose(text, None, matrix=load_matrix())
    assert found and found[0].code == code, [(d.code, d.confidence) for d in found]


def test_every_pattern_is_reached_by_some_log() -> None:
    """Each regex matches at least one real line (the cases, the hold-out set or EXAMPLES)."""
    sigs = load_signatures()
    texts = [t for _, t in EXAMPLES] + [DESERIALIZE]
    for name in ("cases.jsonl", "collected.jsonl"):
        texts += [json.loads(x)["log_excerpt"] for x in (DATA / name).read_text().splitlines() if x.strip()]
    lines = [line for text in texts for line in LogText.from_text(text).lines]
    for sig in sigs.signatures:
        for i, pattern in enumerate(sig.patterns):
            matching = [line for line in lines if pattern.regex.search(line)]
            assert matching, f"{sig.id} pattern {i + 1} matches no known line"
            for line in matching:  # the prefilter key must be in every line the regex matches
                assert any(k in line.lower() for k in pattern.keys), f"{sig.id} pattern {i + 1}: {line!r}"


def test_an_ambiguous_message_names_both_causes_and_commits_to_neither() -> None:
    found = diagnose(DESERIALIZE, None)
    assert {d.code for d in found[:2]} == {"torch-cpu-only", "gpu-not-visible"}
    assert all(d.confidence < 0.8 for d in found)


def _broken(**changes: Any) -> dict[str, Any]:
    data = _raw()
    sig = data["signature"][0]
    sig.update(changes)
    return data


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": "no-such-code"}, "is not in [codes]"),
        ({"patterns": [{"re": "(unclosed", "key": "x", "weight": 0.5}]}, "bad regex"),
        ({"patterns": [{"re": "x", "key": "UPPER", "weight": 0.5}]}, "lower-case"),
        ({"patterns": [{"re": "x", "key": "x", "weight": 1.5}]}, "weight"),
        ({"patterns": [{"re": "x", "key": "x", "weight": 0.5, "when": "never"}]}, "unknown `when`"),
        ({"fix": ["run {no_such_placeholder}"]}, "placeholder {no_such_placeholder}"),
        ({"confirmed_by": ["made_up_check"]}, "unknown fact check"),
        ({"colour": "red"}, "unknown field"),
        ({"id": "glibc-too-old"}, "duplicate id"),
    ],
)
def test_bad_data_is_reported(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(MatrixError) as err:
        parse_signatures(_broken(**changes))
    assert any(message in p for p in err.value.problems), err.value.problems


def test_every_problem_is_reported_at_once() -> None:
    data = _broken(code="nope", fix=["{nope}"], patterns=[{"re": "(", "key": "k", "weight": 2}])
    data["signature"][1]["title"] = ""
    with pytest.raises(MatrixError) as err:
        parse_signatures(data)
    assert len(err.value.problems) >= 5
    assert "matrices/ is invalid" in err.value.message


def test_unreadable_or_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / FILE
    bad.write_text("schema = [", encoding="utf-8")
    with pytest.raises(MatrixError, match="not valid TOML"):
        load_signatures(bad)
    with pytest.raises(MatrixError, match="cannot read"):
        load_signatures(tmp_path / "missing.toml")
