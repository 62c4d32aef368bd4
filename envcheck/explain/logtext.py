"""LogText: a pasted log cleaned up (colours, progress bars, bad bytes) and searchable fast."""

from __future__ import annotations

import bisect
import itertools
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from envcheck.errors import UsageError

# CSI (colours, cursor moves) and OSC (window titles, hyperlinks) escape sequences.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# Everything up to the last carriage return of a line: a progress bar redraws itself that way.
_REDRAWN = re.compile(r"[^\n]*\r(?=[^\r\n])")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_SAMPLE = 65536
MAX_LINE = 400  # evidence is shown in full up to this many characters
TRACEBACK = "traceback (most recent call last)"
TAIL_LINES = 40  # the last lines of a log count as "where it ended"


@dataclass(frozen=True)
class Evidence:
    """A log line that supports a diagnosis; line_no counts from 1."""

    line_no: int
    text: str


def decode(data: bytes | str) -> str:
    """Text from bytes (UTF-8, or UTF-16 with a BOM; bad bytes replaced); refuse binary data.

    Raises UsageError for empty input or data that is not text (NUL bytes, mostly control bytes).
    """
    if isinstance(data, bytes):
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            text = data.decode("utf-16", errors="replace")
        else:
            text = data.decode("utf-8-sig", errors="replace")
    else:
        text = data
    if not text or text.isspace():
        raise UsageError("the log is empty: paste the output of the failing command")
    sample = text[:_SAMPLE]
    if "\x00" in sample or len(_CONTROL.findall(sample)) > len(sample) // 20 + 8:
        raise UsageError("this is binary data, not a log: pass the text output of the failing command")
    if sample.count("\ufffd") > len(sample) // 4 + 8:
        raise UsageError("this is not text (mostly undecodable bytes): pass the log as plain text")
    return text


def clean(text: str) -> str:
    """Drop ANSI escape codes; keep only the last redraw of a `\\r` progress bar; \\r\\n -> \\n."""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            text = _REDRAWN.sub("", text).replace("\r", "")
    return text


class LogText:
    """A cleaned log: its lines, and a lower-cased copy that the keyword prefilter searches.

    Line i of the log is `text[starts[i]:starts[i + 1] - 1]` when lower-casing kept every length
    (nearly always); otherwise the lines are split out once.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.lowered = text.lower()
        lengths = itertools.accumulate(map(len, self.lowered.split("\n")), initial=0)
        # offset of line i = the lengths of the lines before it + one newline each
        self.starts = list(map(operator.add, lengths, range(self.lowered.count("\n") + 1)))
        self._same_offsets = len(self.lowered) == len(text)
        self._lines: list[str] | None = None
        self._line_of_key: dict[str, list[int]] = {}
        self._window: LogText | None = None

    @classmethod
    def from_text(cls, data: bytes | str) -> LogText:
        return cls(clean(decode(data)))

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    def line(self, index: int) -> str:
        if not self._same_offsets:
            return self.lines[index]
        end = self.starts[index + 1] - 1 if index + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[index] : end]

    def lower_line(self, index: int) -> str:
        end = self.starts[index + 1] - 1 if index + 1 < len(self.starts) else len(self.lowered)
        return self.lowered[self.starts[index] : end]

    def lines_with(self, key: str) -> list[int]:
        """Indexes of the lines whose lower-cased text contains `key` (each line once)."""
        found = self._line_of_key.get(key)
        if found is not None:
            return found
        result: list[int] = []
        text, starts = self.lowered, self.starts
        pos = text.find(key)
        while pos != -1:
            line = bisect.bisect_right(starts, pos) - 1
            result.append(line)
            nxt = starts[line + 1] if line + 1 < len(starts) else len(text)
            pos = text.find(key, nxt)  # the rest of this line no longer matters
        self._line_of_key[key] = result
        return result

    def candidates(self, scan: Mapping[str, Sequence[str]]) -> Mapping[int, list[str]]:
        """line index -> the keys it contains, for every line holding at least one key.

        `scan` maps each key actually searched for to the keys that contain it (itself first):
        a line holding "no module named" is then checked for the longer keys only.
        """
        out: dict[int, list[str]] = {}
        for key, longer in scan.items():
            for line in self.lines_with(key):
                keys = out.setdefault(line, [])
                if len(longer) == 1:
                    keys.append(key)
                else:
                    low = self.lower_line(line)
                    keys.extend(k for k in longer if k in low)
        return out

    def window(self, head: int = 3000, tail: int = 7000) -> LogText:
        """The first `head` and last `tail` lines: where commands, versions and the error are."""
        if len(self) <= head + tail:
            return self
        if self._window is None:
            last = self.starts[-tail] if tail else len(self.text)
            self._window = LogText(self.text[: self.starts[head] - 1] + "\n" + self.text[last:])
        return self._window

    def last_traceback(self) -> int | None:
        pos = self.lowered.rfind(TRACEBACK)
        return None if pos == -1 else bisect.bisect_right(self.starts, pos) - 1

    def tail_zone(self) -> tuple[int, int]:
        """The lines where the log ended up: from the last traceback (or the last TAIL_LINES) on."""
        end = len(self)
        start = max(0, end - TAIL_LINES)
        tb = self.last_traceback()
        if tb is not None:
            start = min(start, tb)
        return start, end

    def evidence(self, index: int) -> Evidence:
        text = self.line(index).strip()
        if len(text) > MAX_LINE:
            text = text[: MAX_LINE - 3] + "..."
        return Evidence(index + 1, text)


# Lines that look like the error when no signature matched: exception lines first.
_EXCEPTION = re.compile(r"^\s*(?:[\w.]+\.)?\w*(?:Error|Exception|Exit|Interrupt|Warning)\b.*?:", re.IGNORECASE)
_SUSPICIOUS = (
    ("error:", 3), ("error", 2), ("failed", 2), ("fatal", 3), ("exception", 2), ("not found", 2),
    ("cannot", 1), ("traceback (most recent call last)", 1), ("killed", 2), ("warning:", 1),
)  # fmt: skip
_PIP_NOISE = re.compile(
    r"note: this error originates from a subprocess|^\s*(?:hint|note):|^\s*[│╰×]|see above for output|"
    r"check the logs for full command output|^\s*error: subprocess-exited-with-error|"
    r"^\s*error: metadata-generation-failed|^\s*error: failed-wheel-build-for-install|"
    r"^\s*\[(?:end of output|\d+ lines of output)\]",
    re.IGNORECASE,
)


def suspicious_lines(log: LogText | str | bytes, limit: int = 8) -> list[Evidence]:
    """The lines that look most like the error: the exception that ended the last traceback,
    then lines with `Error:`, `error:`, `FAILED`, `fatal` ..., later lines first."""
    text = log if isinstance(log, LogText) else LogText.from_text(log)
    scores: dict[int, float] = {}
    n = max(len(text), 1)
    for key, weight in _SUSPICIOUS:
        for i in text.lines_with(key):
            scores[i] = max(scores.get(i, 0.0), weight)
    for i in list(scores):
        line = text.line(i)
        if _PIP_NOISE.search(line):
            scores[i] -= 2.5
        if _EXCEPTION.match(line):
            scores[i] += 3
        scores[i] += 2 * i / n  # a later line is closer to where it stopped
    tb = text.last_traceback()
    if tb is not None:
        end = next((j for j in range(tb + 1, len(text)) if text.line(j)[:1] not in (" ", "\t", "")), None)
        if end is not None:
            scores[end] = scores.get(end, 0.0) + 4  # the exception line that closes the traceback
    best = sorted((s, i) for i, s in scores.items() if s > 0)[-limit:]
    return [text.evidence(i) for _, i in sorted(best, key=lambda si: si[1])]
