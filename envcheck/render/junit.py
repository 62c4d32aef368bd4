"""JUnit XML for smoke results: one testcase per check, so CI systems show each toolkit."""

from __future__ import annotations

import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from envcheck.smoke.result import SmokeResult, counts

# XML 1.0 cannot carry most control characters (ANSI colour codes from a child's log included).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LOG_CHARS = 20_000  # of a failed check's log, kept in <system-err>


def _clean(text: str) -> str:
    return _NOT_XML.sub("", _ANSI.sub("", text))


def to_junit(results: Sequence[SmokeResult], *, python: str, device: str, envcheck: str) -> str:
    n = counts(results)
    total = round(sum(r.seconds for r in results), 3)
    suites = ET.Element("testsuites", name="envcheck smoke", tests=str(len(results)), failures=str(n["fail"]),
                        errors="0", skipped=str(n["skip"]), time=f"{total:.3f}")  # fmt: skip
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="envcheck.smoke",
        tests=str(len(results)),
        failures=str(n["fail"]),
        errors="0",
        skipped=str(n["skip"]),
        time=f"{total:.3f}",
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
        hostname=socket.gethostname(),
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (("python", python), ("device", device), ("envcheck", envcheck)):
        ET.SubElement(props, "property", name=name, value=_clean(value))
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="envcheck.smoke", name=r.toolkit, time=f"{r.seconds:.3f}")
        ET.SubElement(case, "properties")
        for name, value in (("device", r.device), ("version", r.version or ""), ("diagnosis", r.diagnosis or "")):
            if value:
                ET.SubElement(case[0], "property", name=name, value=_clean(value))
        if not len(case[0]):
            case.remove(case[0])
        if r.status == "fail":
            body = r.detail
            if r.diagnosis:
                body += f"\n\nenvcheck diagnosis: {r.diagnosis}" + "".join(f"\n  $ {c}" for c in r.fix)
            failure = ET.SubElement(case, "failure", message=_clean(r.headline), type=r.diagnosis or "smoke-failure")
            failure.text = _clean(body)
            if r.log:
                ET.SubElement(case, "system-err").text = _clean(r.log[-LOG_CHARS:])
        elif r.status == "skip":
            ET.SubElement(case, "skipped", message=_clean(r.headline))
        else:
            ET.SubElement(case, "system-out").text = _clean(r.detail)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
