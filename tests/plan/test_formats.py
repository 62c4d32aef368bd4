"""plan --format shell / colab carry the plan's compile estimate and warnings as comments (#14 item 8)."""

from __future__ import annotations

import pytest

from envcheck.plan.model import Plan, Step

PLAN = Plan(
    request=("mmdet",),
    target="profile colab",
    stack={"torch": "2.11.0+cu128", "mmcv": "2.1.0"},
    steps=(
        Step("pip", ("python", "-m", "pip", "install", "wheel"), "build tooling", minutes=0.5),
        Step(
            "pip", ("python", "-m", "pip", "install", "mmcv==2.1.0"), "compile mmcv 2.1.0", compiles=True, minutes=36.5
        ),
    ),
    warnings=("torch changes in a running notebook: restart the runtime before importing it",),
    minutes=37.0,
)


@pytest.mark.parametrize("fmt", ["shell", "colab"])
def test_the_estimate_and_every_warning_are_comments(fmt: str) -> None:
    text = PLAN.render(fmt)
    lines = text.splitlines()
    assert "# compiles from source (~36.5 min of 37 min in all): compile mmcv 2.1.0" in lines
    assert "# warning: torch changes in a running notebook: restart the runtime before importing it" in lines
    # comments come before the first command, so a reader sees them before running anything
    first_command = next(i for i, line in enumerate(lines) if " -m pip" in line or line.startswith(("!pip", "pip")))
    assert (
        lines.index("# warning: torch changes in a running notebook: restart the runtime before importing it")
        < first_command
    )


def test_a_plan_without_compiling_says_so() -> None:
    plan = Plan(
        request=("mmdet",), target="t", steps=(Step("pip", ("pip", "install", "x"), "x", minutes=1.0),), minutes=1.0
    )
    assert "# about 1 min, nothing compiled" in plan.render("shell").splitlines()
