"""--fix: the recipe rewritten in its own format, its OpenMMLab part replaced by the planner's steps."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence

from envcheck.errors import EnvcheckError
from envcheck.facts.model import Environment
from envcheck.matrix import Matrix
from envcheck.plan.model import Plan
from envcheck.review.parse.notebook import cells_of
from envcheck.review.parse.shell import join_continuations
from envcheck.review.simulate import Review
from envcheck.review.steps import Step

# What the planner decides; every other package the recipe installs is the user's own business.
_CORE = {
    "torch", "pytorch", "torchvision", "torchaudio", "pytorch-cuda", "cudatoolkit", "cpuonly",
    "mmcv", "mmcv-full", "mmcv-lite", "mmengine", "openmim",
}  # fmt: skip


def make_fix_plan(review: Review, env: Environment, matrix: Matrix) -> Plan | str:
    """The planner's plan for the toolkits the recipe wanted, or why there is none."""
    from envcheck.plan.build import make_plan
    from envcheck.plan.search import parse_request

    toolkits = list(review.toolkits)
    if not toolkits:
        return "the recipe names no OpenMMLab toolkit to plan for"
    try:
        request = parse_request(toolkits, matrix, torch="auto")
    except EnvcheckError as exc:
        return str(exc)
    plan = make_plan(request, env, matrix, review.target)
    if not plan.ok:
        return plan.conflict.summary if plan.conflict else "no stack works"
    return plan


def _managed(step: Step, matrix: Matrix, plan: Plan) -> tuple[bool, list[str]]:
    """(does the planner own this step, the packages of it to keep)."""
    owned = (
        _CORE
        | set(matrix.toolkits)
        | set(plan.stack)
        | {p.split("<")[0].split(">")[0].split("=")[0] for p in plan.pins}
    )
    if step.action in ("clone", "checkout"):
        repo = step.repo.rstrip("/").removesuffix(".git").split("/")[-1]
        return (matrix.toolkit_name(repo) is not None or repo in ("mmcv", "mmengine")), []
    if step.action == "cd":
        return False, []
    if step.tool == "mim":
        return True, []
    if not step.packages:
        return step.action == "install" and bool(step.find_links) and not step.requirement_files, []
    keep = [p.text or p.url for p in step.packages if p.name not in owned and not (p.url and not p.name)]
    local = [p for p in step.packages if p.url and not p.name]
    if local and "-e" in step.flags:
        return True, keep
    return len(keep) < len(step.packages), keep


def _commands(plan: Plan) -> list[str]:
    out = []
    for s in plan.steps:
        argv = list(s.argv)
        if len(argv) > 2 and argv[1:3] == ["-m", "pip"]:
            argv = ["pip", *argv[3:]]
        prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in s.env.items())
        out.append((prefix + " " if prefix else "") + " ".join(shlex.quote(a) for a in argv))
    return out


def _rewrite_lines(lines: Sequence[str], steps: Sequence[Step], matrix: Matrix, plan: Plan, render: str) -> list[str]:
    """Drop the planner-owned commands (keeping the user's own packages), put the plan where the first was."""
    spans = {start: start + text.count("\n") for start, text in join_continuations("\n".join(lines))}
    ends: dict[int, int] = {}
    start_of = sorted(spans)
    for i, start in enumerate(start_of):
        ends[start] = (start_of[i + 1] - 1) if i + 1 < len(start_of) else len(lines)
    by_line: dict[int, list[Step]] = {}
    for st in steps:
        by_line.setdefault(st.line, []).append(st)
    out: list[str] = []
    placed = False
    skip_until = 0
    cd_into: set[str] = set()
    inside = False
    for n, text in enumerate(lines, 1):
        if n <= skip_until:
            continue
        here = by_line.get(n)
        if not here:
            out.append(text)
            continue
        decisions = [_managed(st, matrix, plan) for st in here]
        if any(st.action == "clone" and d[0] for st, d in zip(here, decisions)):
            cd_into |= {st.packages[0].url.rstrip("/").split("/")[-1] for st in here if st.packages}
        for st in here:
            if st.action == "cd":
                inside = st.repo.rstrip("/").split("/")[-1] in cd_into
        # inside a dropped clone, what reads its files (-r requirements/x.txt, -e .) goes with it
        local = inside and any(st.requirement_files or any(p.url and not p.name for p in st.packages) for st in here)
        if (
            not local
            and not any(d[0] for d in decisions)
            and not any(st.action == "cd" and st.repo.rstrip("/").split("/")[-1] in cd_into for st in here)
        ):
            out.append(text)
            continue
        end = ends.get(n, n)
        # drop the whole logical line, keeping what the user installs besides
        if not placed:
            out += [render.format(cmd=c) for c in _commands(plan)]
            placed = True
        keep = [k for _, ks in decisions for k in ks]
        if keep:
            out.append(render.format(cmd="pip install " + " ".join(shlex.quote(k) for k in keep)))
        skip_until = end
    if not placed:
        out = [render.format(cmd=c) for c in _commands(plan)] + out
    return out


def fixed_text(review: Review, plan: Plan, matrix: Matrix, original: str) -> str:
    """The corrected recipe, in the recipe's own format."""
    recipe = review.recipe
    head = f"envcheck: {' '.join(review.toolkits)} for {review.target} (review --fix; the planner's steps replace the OpenMMLab lines)"
    fmt = recipe.format
    if fmt == "notebook":
        return _fix_notebook(review, plan, matrix, original, head)
    if fmt == "cell":
        body = _rewrite_lines(recipe.lines, recipe.steps, matrix, plan, "!{cmd}")
        tail = ["# torch changed: Runtime > Restart session before importing it"] if plan.torch_changed else []
        return "\n".join([f"# {head}", *body, *tail]) + "\n"
    if fmt == "dockerfile":
        return "\n".join([f"# {head}", *_rewrite_lines(recipe.lines, recipe.steps, matrix, plan, "RUN {cmd}")]) + "\n"
    if fmt == "requirements":
        kept = [
            ln for ln in _rewrite_lines(recipe.lines, recipe.steps, matrix, plan, "\0{cmd}") if not ln.startswith("\0")
        ]
        body = plan.render("requirements").splitlines()
        return "\n".join([*body, *(ln for ln in kept if ln.strip())]) + "\n"
    if fmt == "conda":
        return _fix_conda(recipe.lines, plan, head)
    return "\n".join([f"# {head}", *_rewrite_lines(recipe.lines, recipe.steps, matrix, plan, "{cmd}")]) + "\n"


def _fix_notebook(review: Review, plan: Plan, matrix: Matrix, original: str, head: str) -> str:
    doc = json.loads(original)
    cells = doc.get("cells", [])
    code = [c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
    sources = cells_of(original)
    placed = False
    for index, cell in enumerate(code):
        steps = [s for s in review.recipe.steps if s.cell == index]
        if not steps:
            continue
        lines = sources[index].split("\n")
        first = sum(len(src.rstrip("\n").split("\n")) for src in sources[:index]) + 1
        local = [_shift(s, first - 1) for s in steps]
        body = _rewrite_lines(lines, local, matrix, plan, "!{cmd}")
        if placed:  # the plan goes in once, into the first install cell
            body = [ln for ln in body if not any(ln == f"!{c}" for c in _commands(plan))]
        else:
            body = [f"# {head}", *body]
            placed = True
        cell["source"] = [ln + "\n" for ln in body[:-1]] + body[-1:] if body else []
        cell["outputs"] = []
        cell["execution_count"] = None
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def _shift(step: Step, by: int) -> Step:
    from dataclasses import replace

    return replace(step, line=step.line - by)


def _fix_conda(lines: Sequence[str], plan: Plan, head: str) -> str:
    owned = _CORE | set(plan.stack)
    out = [f"# {head}"]
    in_pip = False
    pip_written = False
    pins = [f"{n}=={v}" for n, v in plan.stack.items()] + list(plan.pins)
    indent = "  "
    for text in lines:
        item = text.strip()
        if item.startswith("- pip:"):
            in_pip = True
            out.append(text)
            out += [f"{indent}  - {p}" for p in ([f"--find-links {u}" for u in plan.find_links] + pins)]
            pip_written = True
            continue
        if item.startswith("- "):
            name = item[2:].split("=")[0].split("<")[0].split(">")[0].strip().lower()
            if name in owned or name.startswith("mm"):
                continue
        elif in_pip and item and not item.startswith("#"):
            in_pip = False
        out.append(text)
    if not pip_written:
        out += ["  - pip", "  - pip:", *[f"    - {p}" for p in pins]]
    if plan.compiles:
        out.append(
            "# mmcv is compiled from source: run the `envcheck plan --format shell` steps after creating the env"
        )
    return "\n".join(out) + "\n"
