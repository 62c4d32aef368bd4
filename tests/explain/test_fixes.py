"""explain's fix texts on real logs: exact commands, or an envcheck command that prints them.

Each real log is read three ways: alone (a log pasted into an issue), on a machine whose torch has a
prebuilt mmcv wheel (torch 2.1 + cu121, Python 3.10), and on one whose torch has none (Colab today:
torch 2.11 + cu128, Python 3.12, setuptools 82, pip 25, where mim does not work either).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from packaging.requirements import Requirement

from envcheck.explain.diagnose import Diagnosis, diagnose
from envcheck.explain.logfacts import extract
from envcheck.explain.logtext import LogText
from envcheck.facts.model import Dist, Environment, Gpu, Mmcv, PlatformInfo, PythonInfo, Torch
from envcheck.matrix import Matrix, load_matrix
from tests import DATA

DATA = DATA / "failures"
WHEEL_URL = re.compile(
    r"-f (https://download\.openmmlab\.com/mmcv/dist/(cu\d+|cpu)/torch(\d+\.\d+)/index\.html)(?:\s|$)"
)
TEMPLATE = re.compile(r"<[A-Za-z][^<>]*>|\{[a-z_]+\}")  # <your torch version>, {mmcv_index}


def _logs() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in ("cases.jsonl", "collected.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                out[case["id"]] = case["log_excerpt"]
    for i, line in enumerate((DATA / "messages.jsonl").read_text(encoding="utf-8").splitlines()):
        if line.strip():
            message = json.loads(line)
            out[f"message-{i}-{message['code']}"] = message["text"]
    return out


LOGS = _logs()
PY = "/usr/bin/python3"


def _env(torch: Torch, python: str, *, mmcv: str | None = None, toolkits: dict[str, str] | None = None,
         tools: dict[str, str] | None = None) -> Environment:  # fmt: skip
    dists = [Dist(n, v) for n, v in {**(toolkits or {}), **(tools or {})}.items()]
    if mmcv:
        dists.append(Dist("mmcv", mmcv))
    return Environment(
        python=PythonInfo(python, executable=PY, tag="cp" + python.replace(".", "")[:3]),
        platform=PlatformInfo("Linux", "x86_64", glibc="2.35"),
        torch=torch,
        gpus=(Gpu(0, "Tesla T4", "7.5", 15360),),
        mmcv=Mmcv(mmcv, "mmcv", ops=True) if mmcv else None,
        dists=tuple(dists),
    )


def with_wheel(**kw: Any) -> Environment:
    """torch 2.1.2+cu121 on Python 3.10: download.openmmlab.com has mmcv 2.1.0 for it."""
    return _env(Torch("2.1.2+cu121", cuda="12.1"), "3.10.14", **kw)


def without_wheel(**kw: Any) -> Environment:
    """Colab in 2026: torch 2.11.0+cu128 on Python 3.12; no mmcv wheel exists for it."""
    kw.setdefault("tools", {"setuptools": "82.0.1", "pip": "25.2"})
    return _env(Torch("2.11.0+cu128", cuda="12.8"), "3.12.12", **kw)


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return load_matrix()


def _top(log_id: str, env: Environment | None, matrix: Matrix) -> Diagnosis:
    return diagnose(LOGS[log_id], env, matrix=matrix)[0]


def _commands(d: Diagnosis) -> list[str]:
    return [step for step in d.fix if not step.startswith("#")]


# ---- the rule, on every real log -------------------------------------------------------------------

ENVS = {
    "log only": None,
    "wheel": with_wheel(mmcv="2.1.0", toolkits={"mmdet": "3.3.0"}),
    "no wheel": without_wheel(mmcv="2.1.0", toolkits={"mmdet": "3.3.0"}),
    "no wheel, nothing installed": without_wheel(),
}


@pytest.mark.parametrize("env_name", list(ENVS))
def test_no_fix_is_a_template_or_a_mim_command(env_name: str, matrix: Matrix) -> None:
    env = ENVS[env_name]
    for log_id, text in LOGS.items():
        for d in diagnose(text, env, matrix=matrix):
            assert d.fix, (log_id, d.code)
            for step in d.fix:
                assert not TEMPLATE.search(step), (log_id, d.code, step)
                assert "mim install" not in step, (log_id, d.code, step)
                for command in step.split("&&"):  # every quoted requirement is one pip accepts
                    if "pip install" in command and not step.startswith("#"):
                        for quoted in re.findall(r'"([A-Za-z][\w.\-]*[<>=!~][^"]*)"', command):
                            Requirement(quoted)
                for url, tag, minor in WHEEL_URL.findall(step):  # an index only where the matrix has a wheel
                    py = env.python.minor if env is not None and isinstance(env.python, PythonInfo) else None
                    assert any(
                        r.has_wheel("linux", minor, tag, py)
                        for r in [*matrix.mmcv.values(), *matrix.mmcv_full.values()]
                    ), (log_id, d.code, url)
            if env_name == "no wheel":  # this torch has no wheel: no fix may send pip to an index for it
                assert not any("cu128/torch2.11" in step for step in d.fix), (log_id, d.code)


# ---- mmcv built for another torch: undefined symbol ----------------------------------------------------


def test_undefined_symbol_with_a_wheel_for_this_torch_shows_the_real_index(matrix: Matrix) -> None:
    d = _top("mmcv-802-undefined-symbol-dispatchkeyguard", with_wheel(mmcv="2.1.0"), matrix)
    assert d.code == "abi-undefined-symbol"
    assert d.fix == (
        f"{PY} -m pip uninstall -y mmcv",
        f'{PY} -m pip install --no-cache-dir "mmcv==2.1.0" '
        "-f https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html",
    )


def test_undefined_symbol_without_a_wheel_leads_with_the_planner_for_the_installed_toolkits(matrix: Matrix) -> None:
    env = without_wheel(mmcv="2.1.0", toolkits={"mmdet": "3.3.0", "mmsegmentation": "1.2.2"})
    d = _top("mmcv-802-undefined-symbol-dispatchkeyguard", env, matrix)
    assert d.fix == (
        f"{PY} -m pip uninstall -y mmcv",
        f"envcheck plan mmdet mmsegmentation --python {PY} --torch keep --format shell"
        "  # prints the exact steps for the installed torch: run them",
    )


@pytest.mark.parametrize("log_id", ["mmdet-5547-undefined-symbol-device", "mmcv-802-undefined-symbol-dispatchkeyguard"])
def test_undefined_symbol_in_a_pasted_log_plans_for_the_toolkit_in_its_traceback(log_id: str, matrix: Matrix) -> None:
    d = _top(log_id, None, matrix)  # mmcv-802's traceback is cut: it starts at `mmdet/apis/inference.py", line 6`
    assert d.fix[0] == "python -m pip uninstall -y mmcv"
    assert d.fix[1].startswith("envcheck plan mmdet --torch keep --format shell")
    assert len(d.fix) == 2


def test_undefined_symbol_without_a_wheel_or_a_toolkit_builds_a_pinned_mmcv_against_this_torch(matrix: Matrix) -> None:
    d = _top("mmdet-3991-undefined-symbol-recompile", without_wheel(mmcv="2.0.1"), matrix)  # names no toolkit
    # mmcv 2.0.1 compiles with C++14, which torch 2.11's headers reject: 2.1.0 is the one to build
    assert d.fix == (
        f"{PY} -m pip uninstall -y mmcv",
        f'{PY} -m pip install "setuptools<82" wheel ninja psutil && MMCV_WITH_OPS=1 {PY} -m pip install '
        '--no-build-isolation --no-cache-dir "mmcv==2.1.0"',
    )


def test_undefined_symbol_torch_build_read_from_the_log_itself(matrix: Matrix) -> None:
    # `pip install torch==1.12.0+cu113 ... --extra-index-url .../whl/cu113` and python3.8 site-packages
    d = _top("mmcv-2106-undefined-symbol-torch112", None, matrix)
    assert any(
        '"mmcv==2.1.0" -f https://download.openmmlab.com/mmcv/dist/cu113/torch1.12/index.html' in s for s in d.fix
    )


def test_mmcv_full_stacks_are_not_sent_to_the_planner(matrix: Matrix) -> None:
    """The planner resolves OpenMMLab 2.0 stacks: its plan would move an mmcv-full user to mmcv 2."""
    log = LOGS["mmcv-1734-undefined-symbol-colab-wrong-wheel-url"]
    d = diagnose(log, None, matrix=matrix)[0]  # torch 1.10 + cudatoolkit 11.1, mmcv-full, Python 3.7
    assert d.fix[1].endswith(
        '"mmcv-full==1.7.1" -f https://download.openmmlab.com/mmcv/dist/cu111/torch1.10/index.html'
    )
    assert not any("envcheck plan" in step for step in d.fix)


# ---- version guards --------------------------------------------------------------------------------


def test_mmdet_mmocr_guard_plans_both_toolkits(matrix: Matrix) -> None:
    log_id = "mmocr-2000-mmdet-3.2-incompatible"
    plan = "envcheck plan mmdet mmocr --format shell  # resolves every guard at once: prints the exact steps"
    assert _top(log_id, None, matrix).fix == (plan,)
    # mmcv 2.0.1 installed: mmdet 3.1.0 is inside mmocr's range and accepts it, so the pin is exact
    d = _top(log_id, with_wheel(mmcv="2.0.1", toolkits={"mmocr": "1.0.1", "mmdet": "3.2.0"}), matrix)
    assert d.fix == (plan.replace("--format", f"--python {PY} --format"), f'{PY} -m pip install "mmdet==3.1.0"')
    # mmcv 2.1.0: no mmdet < 3.2.0 accepts it; only the planner can say what to change
    d = _top(log_id, with_wheel(mmcv="2.1.0", toolkits={"mmocr": "1.0.1", "mmdet": "3.2.0"}), matrix)
    assert _commands(d) == [plan.replace("--format", f"--python {PY} --format")]


def test_mmcv_guard_pins_the_wheel_only_where_there_is_one(matrix: Matrix) -> None:
    log_id = "mmdet-12312-dockerfile-mmcv-2.2-guard"  # "MMCV==2.2.0 ... Please install mmcv>=2.0.0rc4, <2.2.0"
    d = _top(log_id, with_wheel(mmcv="2.2.0", toolkits={"mmdet": "3.3.0"}), matrix)
    assert d.fix == (
        f"envcheck plan mmdet --python {PY} --format shell  # resolves every guard at once: prints the exact steps",
        f'{PY} -m pip install "mmcv==2.1.0" -f https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html',
    )
    d = _top(log_id, without_wheel(mmcv="2.2.0", toolkits={"mmdet": "3.3.0"}), matrix)
    assert d.fix == (
        f"envcheck plan mmdet --python {PY} --format shell  # resolves every guard at once: prints the exact steps",
    )
    assert _top(log_id, None, matrix).fix == (
        "envcheck plan mmdet --format shell  # resolves every guard at once: prints the exact steps",
    )


def test_a_guard_with_no_toolkit_and_no_wheel_compiles_a_release_inside_the_range(matrix: Matrix) -> None:
    d = _top("musepose-77-mmcv22-guard", without_wheel(mmcv="2.2.0"), matrix)
    assert d.fix == (
        f'{PY} -m pip install "setuptools<82" wheel ninja psutil && MMCV_WITH_OPS=1 {PY} -m pip install '
        '--no-build-isolation --no-cache-dir "mmcv==2.1.0"',
    )


def test_mim_dropping_mmcv_under_new_pip_is_fixed_with_pip_not_mim(matrix: Matrix) -> None:
    d = _top("mim-244-pip241-extras-ignored", None, matrix)
    assert d.code == "mim-pip-extras"
    assert d.fix == (
        "envcheck plan mmpretrain --format shell"
        "  # the toolkit with its mmcv and mmengine, as pip commands: prints the exact steps",
    )
    d = _top("mim-244-pip241-extras-ignored", with_wheel(), matrix)
    assert d.fix[0].startswith(f"envcheck plan mmpretrain --python {PY} --format shell")


# ---- what the log itself says ------------------------------------------------------------------------


def test_the_log_names_its_toolkits_and_torch_build() -> None:
    facts = extract(
        LogText.from_text(
            "\n".join(
                [
                    "!pip install -U openmim && mim install mmengine 'mmcv>=2.0.0' mmsegmentation==1.2.2",
                    "pip install torch==2.1.0 --index-url https://download.pytorch.org/whl/cu118",
                    ">>> from mmdet.apis import init_detector",
                    'File "/home/u/mmlab/mmpose/mmpose/apis/inference.py", line 3, in <module>',
                    "Looking in links: https://download.openmmlab.com/mmcv/dist/cu118/torch2.1/index.html",
                ]
            )
        )
    )
    assert set(facts.named) == {"mmengine", "mmcv", "mmsegmentation", "mmlab", "mmpose", "mmdet"}
    assert facts.version("torch") == "2.1.0" and facts.torch_index_tag == "cu118"
    local = extract(LogText.from_text("pip install torch==1.12.0+cu113 torchvision==0.13.0+cu113"))
    assert local.version("torch") == "1.12.0+cu113"
