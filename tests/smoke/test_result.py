"""The result model, the JSON document and JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from envcheck.render.junit import to_junit
from envcheck.smoke.result import SmokeResult, counts, exit_code, to_document

PASS = SmokeResult("mmdet", "pass", "cpu", 7.123, "mmdet 3.3.0 · RetinaNet-R18 on cpu: 50 boxes", version="3.3.0")
FAIL = SmokeResult(
    "mmcv",
    "fail",
    "cpu",
    3.4,
    "ModuleNotFoundError: No module named 'mmcv._ext'\n  File \"x.py\", line 1\n\x1b[1mbold\x1b[0m \x00 nul",
    diagnosis="mmcv-ops-missing",
    fix=("pip uninstall -y mmcv-lite",),
    log="Traceback ...\nModuleNotFoundError: No module named 'mmcv._ext'\x07",
)
SKIP = SmokeResult("mmocr", "skip", "auto", 0.05, "mmocr is not installed in /venv/bin/python")


def test_exit_code_is_1_only_when_something_failed() -> None:
    assert exit_code([PASS, SKIP]) == 0
    assert exit_code([]) == 0
    assert exit_code([PASS, FAIL, SKIP]) == 1
    assert counts([PASS, FAIL, SKIP, SKIP]) == {"pass": 1, "fail": 1, "skip": 2}


def test_json_document_keeps_the_contract() -> None:
    doc = to_document([PASS, FAIL, SKIP], python="/venv/bin/python", device="auto", envcheck="0.1.0")
    text = json.dumps(doc)
    back = json.loads(text)
    assert back["schema"] == 1
    assert [r["toolkit"] for r in back["results"]] == ["mmdet", "mmcv", "mmocr"]
    for r in back["results"]:
        assert {"toolkit", "status", "device", "seconds", "detail"} <= set(r)
    assert back["results"][0]["seconds"] == 7.12
    assert back["results"][1]["diagnosis"] == "mmcv-ops-missing"
    assert back["results"][1]["fix"] == ["pip uninstall -y mmcv-lite"]
    assert "fix" not in back["results"][0]
    assert back["summary"] == {"pass": 1, "fail": 1, "skip": 1}


def test_headline_is_the_first_line() -> None:
    assert FAIL.headline == "ModuleNotFoundError: No module named 'mmcv._ext'"
    assert SmokeResult("x", "pass", "cpu", 0, "").headline == ""


def test_junit_one_testcase_per_check_and_valid_xml() -> None:
    xml = to_junit([PASS, FAIL, SKIP], python="/venv/bin/python", device="auto", envcheck="0.1.0")
    root = ET.fromstring(xml.encode("utf-8"))  # control characters and ANSI codes were removed
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["mmdet", "mmcv", "mmocr"]
    assert cases[0].find("failure") is None and cases[0].find("skipped") is None
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("type") == "mmcv-ops-missing"
    assert failure.get("message") == "ModuleNotFoundError: No module named 'mmcv._ext'"
    assert "pip uninstall -y mmcv-lite" in (failure.text or "")
    assert "\x1b" not in xml and "\x00" not in xml and "\x07" not in xml
    assert cases[1].find("system-err") is not None
    skipped = cases[2].find("skipped")
    assert skipped is not None and "not installed" in (skipped.get("message") or "")
    assert cases[0].get("time") == "7.123"
