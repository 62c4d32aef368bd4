"""`envcheck explain`: files and stdin, console and JSON, exit codes, --env, bad input in one line."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from envcheck.cli import main
from tests import DATA

EXAMPLES = DATA / "examples"
LIBGL = "Traceback (most recent call last):\nImportError: libGL.so.1: cannot open shared object file: No such file\n"
NO_KERNEL = "RuntimeError: CUDA error: no kernel image is available for execution on the device\n"


class _Stdin:
    def __init__(self, data: bytes, tty: bool = False) -> None:
        self.buffer = io.BytesIO(data)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "install.log"
    path.write_text(LIBGL, encoding="utf-8")
    return path


def test_a_file_is_explained_on_the_console(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(log)]) == 0
    out = capsys.readouterr().out
    assert "[lib-gl]" in out and "apt-get install -y libgl1" in out and "2 │ ImportError: libGL.so.1" in out


def test_json_document(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(log), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == 1 and doc["suspicious"] == []
    first = doc["diagnoses"][0]
    assert set(first) >= {"code", "title", "cause", "fix", "confidence", "evidence"}
    assert first["code"] == "lib-gl" and first["evidence"] == [
        {"line": 2, "text": "ImportError: libGL.so.1: cannot open shared object file: No such file"}
    ]


def test_markdown_for_an_issue_thread(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(log), "--markdown"]) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith("### envcheck explain")
        and "(`lib-gl`, " in out
        and "```sh\napt-get update && apt-get install" in out
    )
    assert "     2 | ImportError: libGL.so.1" in out
    assert main(["explain", str(log), "--markdown", "--json"]) == 2


def test_nothing_matched_exits_1_with_the_suspicious_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "odd.log"
    path.write_text("step 1\nERROR: the frobnicator failed\nbye\n", encoding="utf-8")
    assert main(["explain", str(path), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["diagnoses"] == [] and doc["suspicious"][0] == {
        "line": 2,
        "text": "ERROR: the frobnicator failed",
    }
    assert main(["explain", str(path)]) == 1
    assert "no known cause matched" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["explain", "-"], ["explain"]])
def test_stdin(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", _Stdin(LIBGL.encode()))
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["diagnoses"][0]["code"] == "lib-gl"


def test_no_log_on_a_terminal_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", _Stdin(b"", tty=True))
    assert main(["explain"]) == 2
    assert capsys.readouterr().err.startswith("envcheck: error: no log given")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "the log is empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(300), "binary data")],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, content: bytes, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    assert main(["explain", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_missing_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(tmp_path / "nope.log")]) == 2
    assert "No such file" in capsys.readouterr().err


def test_env_file_fills_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "run.log"
    path.write_text(NO_KERNEL, encoding="utf-8")
    assert main(["explain", str(path), "--env", str(EXAMPLES / "env-colab-2025-11-t4.json"), "--json"]) == 0
    fix = json.loads(capsys.readouterr().out)["diagnoses"][0]["fix"]
    assert any('TORCH_CUDA_ARCH_LIST="7.5"' in step for step in fix)


def test_interactive_use_reads_this_machine_and_survives_a_failing_probe(
    log: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import envcheck.probes.collect as collect

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("no interpreter here")

    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    monkeypatch.setattr(collect, "inspect_environment", broken)
    assert main(["explain", str(log), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["diagnoses"][0]["code"] == "lib-gl"
