"""explain on messy input: colours, progress bars, Windows paths, bad bytes, empty, binary, 10 MB."""

from __future__ import annotations

import random

import pytest

from envcheck.errors import UsageError
from envcheck.explain.diagnose import diagnose, suspicious_lines
from envcheck.explain.logtext import LogText, clean, decode
from envcheck.matrix import load_matrix

LIBGL = "ImportError: libGL.so.1: cannot open shared object file: No such file or directory"


def test_ansi_colours_and_progress_bars_are_cleaned() -> None:
    log = (
        "\x1b[1mCollecting\x1b[0m opencv-python\r\n"
        "  Downloading opencv_python-4.8.0.76.whl (61.7 MB)\r\n"
        "     \x1b[38;5;197m━━━━━\x1b[0m 10.0/61.7 MB 9.1 MB/s eta 0:00:06\r"
        "     \x1b[38;5;197m━━━━━━━━━━━━━━━━━\x1b[0m 61.7/61.7 MB 9.8 MB/s eta 0:00:00\r\n"
        "Successfully installed opencv-python-4.8.0.76\n"
        "\x1b]0;terminal title\x07Traceback (most recent call last):\n"
        '  File "tools/train.py", line 8, in <module>\n'
        f"\x1b[31m{LIBGL}\x1b[0m\n"
    )
    found = diagnose(log, None)
    assert found[0].code == "lib-gl" and found[0].confident
    (evidence,) = found[0].evidence
    assert evidence.text == LIBGL and evidence.line_no == 7  # the \r redraws did not add lines
    lines = LogText.from_text(log).lines
    assert lines[2].strip().startswith("━━━━━━━━━━━━━━━━━ 61.7/61.7 MB")  # the last redraw wins
    assert not any("\x1b" in line or "\r" in line for line in lines)


def test_windows_paths_and_crlf() -> None:
    log = (
        'File "C:\\Users\\me\\anaconda3\\envs\\mm\\lib\\site-packages\\mmcv\\utils\\ext_loader.py",'
        " line 13\r\n"
        "    ext = importlib.import_module('mmcv.' + name)\r\n"
        "ImportError: DLL load failed while importing _ext: The specified module could not be found.\r\n"
    )
    found = diagnose(log, None)
    assert found[0].code == "abi-dll-load-failed" and found[0].evidence[0].line_no == 3


def test_non_utf8_bytes_are_replaced_not_fatal() -> None:
    gbk = "ImportError: DLL load failed while importing _ext: 找不到指定的模块。".encode("gbk")
    data = b"caf\xe9 \xff\xfe\n" + b"Collecting mmcv-full\n" + gbk + b"\n"
    found = diagnose(data, None)
    assert found[0].code == "abi-dll-load-failed"
    assert "\ufffd" in found[0].evidence[0].text  # shown with replacement characters, as received


def test_utf16_with_bom_is_read() -> None:  # PowerShell's `>` writes UTF-16
    data = ("Traceback (most recent call last):\r\n" + LIBGL + "\r\n").encode("utf-16")
    assert diagnose(data, None)[0].code == "lib-gl"


@pytest.mark.parametrize("data", [b"", b"   \n\t\n", ""])
def test_empty_input_is_a_usage_error(data: bytes | str) -> None:
    with pytest.raises(UsageError, match="empty"):
        diagnose(data, None)


def test_binary_input_is_a_usage_error() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + bytes(range(256)) * 4
    with pytest.raises(UsageError, match="binary"):
        diagnose(png, None)
    rng = random.Random(1)
    noise = bytes(rng.getrandbits(8) for _ in range(4096)).replace(b"\x00", b"\x01")
    with pytest.raises(UsageError):
        decode(noise)


def test_clean_keeps_plain_text_as_is() -> None:
    assert clean("a\nb\n") == "a\nb\n"
    assert clean("50%\r100%\r\nnext") == "100%\nnext"


def test_the_final_error_beats_an_early_warning() -> None:
    log = "\n".join(
        [
            "No CUDA runtime is found, using CUDA_HOME='/usr/local/cuda'",
            *[f"Requirement already satisfied: pkg{i} in /usr/lib/python3.10/site-packages (1.0)" for i in range(50)],
            "Traceback (most recent call last):",
            '  File "demo.py", line 3, in <module>',
            "    from mmcv.ops import nms",
            "ModuleNotFoundError: No module named 'mmcv._ext'",
        ]
    )
    found = diagnose(log, None)
    assert [d.code for d in found] == ["mmcv-ops-missing", "cuda-home"]
    assert found[0].confident and found[1].confidence < 0.5


def test_nothing_known_gives_no_diagnosis_and_the_suspicious_lines() -> None:
    log = "\n".join(
        [
            "Collecting foo",
            "  error: subprocess-exited-with-error",
            "note: This error originates from a subprocess, and is likely not a problem with pip.",
            "Traceback (most recent call last):",
            '  File "x.py", line 1, in <module>',
            "    frobnicate()",
            "ValueError: the frobnicator is out of frobs",
            "done.",
        ]
    )
    assert diagnose(log, None) == []
    shown = suspicious_lines(log)
    assert shown[-1].text == "ValueError: the frobnicator is out of frobs" and shown[-1].line_no == 7
    assert all("note: This error originates" not in e.text for e in shown[:1])


def _noise(rng: random.Random, size: int) -> str:
    templates = (
        "Requirement already satisfied: {p} in /opt/conda/lib/python3.10/site-packages (from mmdet) ({v})",
        "Collecting {p}=={v}",
        "  Downloading {p}-{v}-py3-none-any.whl (1.{n} MB)",
        "     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 1.{n}/1.{n} MB 8.{n} MB/s eta 0:00:00",
        "  Using cached {p}-{v}-cp310-cp310-manylinux_2_17_x86_64.whl ({n} kB)",
        "[{n}/77] c++ -MMD -MF /tmp/pip-build/mmcv/ops/csrc/pytorch/op{n}.o.d -I/opt/conda/lib/python3.10/"
        "site-packages/torch/include -c op{n}.cpp -o op{n}.o -std=c++17 -DTORCH_EXTENSION_NAME=_ext",
        "Installing collected packages: {p}",
    )
    names = ("addict", "yapf", "numpy", "pillow", "rich", "termcolor", "matplotlib", "scipy", "shapely")
    out: list[str] = []
    total = 0
    while total < size:
        line = rng.choice(templates).format(p=rng.choice(names), v=f"1.{rng.randint(0, 30)}.0", n=rng.randint(1, 99))
        out.append(line)
        total += len(line) + 1
    return "\n".join(out)


def test_ten_megabytes_of_pip_noise_and_one_real_error_at_the_end() -> None:
    rng = random.Random(7)
    log = (
        "Looking in links: https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html\n"
        + _noise(rng, 10_000_000)
        + "\nTraceback (most recent call last):\n"
        + '  File "/opt/conda/lib/python3.10/site-packages/mmcv/ops/bbox.py", line 3, in <module>\n'
        + "ImportError: /opt/conda/lib/python3.10/site-packages/mmcv/_ext.cpython-310-x86_64-linux-gnu.so: "
        + "undefined symbol: _ZN3c1017RegisterOperatorsD1Ev\n"
    )
    assert len(log) >= 10_000_000
    found = diagnose(log, None, matrix=load_matrix())
    assert found[0].code == "abi-undefined-symbol" and found[0].confident
    assert found[0].evidence[-1].line_no == log.count("\n")
    assert any("cu121/torch2.1" in step for step in found[0].fix)  # read from the log's index URL
