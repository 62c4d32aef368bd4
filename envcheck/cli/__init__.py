"""The command line: parse arguments, run a pipeline of steps, print, and map outcomes to exit codes.

Exit codes: 0 all good · 1 problems found (error findings, a conflict, a failed check) ·
2 bad usage or bad input · 3 install failed and the environment was restored (or nothing was changed) ·
70 an internal error (a bug in envcheck: please report it) · 130 interrupted.
`explain`: 0 a cause was found · 1 nothing matched (the suspicious lines are shown) · 2 bad input.
install/setup also exit 1 when restoring after a failure could not be proved (the snapshot is kept
and named) and when the confirmation prompt is declined; so does rollback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from envcheck import __version__
from envcheck.errors import EnvcheckError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from envcheck.doctor import Finding
    from envcheck.facts.model import Environment
    from envcheck.install.installer import Outcome
    from envcheck.install.steps import Prepared
    from envcheck.matrix import Matrix
    from envcheck.plan.model import Plan
    from envcheck.plan.search import Request
    from envcheck.runner import Runner

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_RESTORED, EXIT_INTERNAL = 0, 1, 2, 3, 70
COMMANDS = (
    "inspect",
    "doctor",
    "plan",
    "explain",
    "install",
    "setup",
    "rollback",
    "cache",
    "smoke",
    "review",
    "report",
    "diff",
    "fleet",
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit 2 (never the full usage dump)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="envcheck",
        description="Get OpenMMLab working on this machine, and prove it works.",
        epilog="With no command, envcheck runs `inspect`: the facts and what is wrong with them.",
    )
    parser.add_argument("--version", action="version", version=f"envcheck {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for name, help_text in (
        ("inspect", "facts about this machine and interpreter, and the problems found in them"),
        ("doctor", "only the problems found, each with why and the exact fix"),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text)
        source = p.add_mutually_exclusive_group()
        source.add_argument("--python", metavar="PATH", help="inspect this interpreter (default: the running one)")
        source.add_argument("--env", metavar="FILE", help="judge the environment in this `inspect --json` file instead")
        p.add_argument("--deep", action="store_true", help="also import torch (in a child, with a timeout) and ask it")
        out = p.add_mutually_exclusive_group()
        out.add_argument("--json", action="store_true", help="print the JSON document (schema 1)")
        out.add_argument("--markdown", action="store_true", help="print Markdown to paste into an issue")
        p.add_argument(
            "--redact", action="store_true", help="--markdown: hide user name, home and host; --json: the node name"
        )
        p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds for each probed program (5)")
        if name == "doctor":
            p.add_argument("--baseline", metavar="GOLDEN.json",
                           help="also judge the stack against this `inspect --json` document: each difference an error")  # fmt: skip
    p = sub.add_parser(
        "plan",
        help="a compatible torch/mmcv/mmengine/toolkit stack for this machine, and the exact steps",
        description="Resolve a stack that passes every toolkit's import-time guards on the target machine, "
        "preferring what installs without compiling, and print the exact steps.",
    )
    p.add_argument("toolkits", nargs="+", metavar="TOOLKIT[SPEC]", help="e.g. mmdet, mmseg, 'mmdet==3.1.0'")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--python", metavar="PATH", help="plan for this interpreter (default: the running one)")
    target.add_argument("--env", metavar="FILE", help="plan for the machine in this `inspect --json` file")
    target.add_argument(
        "--target", metavar="PROFILE", help="plan for a named profile: colab, colab-2024.08, kaggle ..."
    )
    p.add_argument(
        "--torch",
        default="auto",
        metavar="keep|any|VERSION",
        help="keep the installed torch, pick any, or use this version (default: keep it when no compiling is needed)",
    )
    p.add_argument("--cuda", metavar="TAG|cpu", help="the torch build to use: cpu, cu121, cu126 ...")
    p.add_argument("--no-build", action="store_true", help="never compile mmcv: no wheel means a conflict")
    _channel_args(p)
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the plan as JSON (schema 1)")
    fmt.add_argument(
        "--format",
        choices=("requirements", "constraints", "shell", "colab"),
        help="print the plan as a requirements/constraints file, a shell script or a Colab cell",
    )
    p.add_argument("--timeout", type=float, default=5.0, help=argparse.SUPPRESS)
    p = sub.add_parser(
        "explain",
        help="read an install/import error log and say what is wrong and what to run",
        description="Match a pasted log (pip/mim output, a traceback, a build log) against known failure "
        "signatures; print the ranked causes, the exact fix and the lines that show it.",
    )
    p.add_argument("log", nargs="?", metavar="FILE|-", help="the log file; - or nothing reads stdin")
    p.add_argument("--env", metavar="FILE", help="facts of the machine from `envcheck inspect --json` "
                   "(default: this machine's, when run interactively on a file)")  # fmt: skip
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the JSON document (schema 1)")
    fmt.add_argument("--markdown", action="store_true", help="print Markdown to paste into an issue")
    _install_parsers(sub)
    _smoke_parser(sub)
    from envcheck.cli import diff, fleet, report, review

    for module in (review, report, diff, fleet):
        module.add_parser(sub)
    return parser


def _channel_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--channel",
        default="auto",
        metavar="auto|upstream|onedl",
        help="upstream OpenMMLab, the OneDL fork family, or let the planner choose (default; it says why)",
    )
    p.add_argument(
        "--torch-from",
        default="auto",
        metavar="auto|pypi",
        help="where a changed torch comes from: the PyTorch index (auto) or PyPI (its default build)",
    )


def _request(args: argparse.Namespace, matrix: Matrix, live: bool) -> Request:
    """The request as typed, plus what the machine envcheck runs on says (FORCE_CUDA, like mmcv's setup.py)."""
    from dataclasses import replace

    from envcheck.plan.channel import check_channel
    from envcheck.plan.search import parse_request

    check_channel(args.channel)
    if args.torch_from not in ("auto", "pypi"):
        raise UsageError(f"--torch-from {args.torch_from!r}: expected auto or pypi")
    request = parse_request(args.toolkits, matrix, args.torch, args.cuda, args.no_build)
    return replace(
        request,
        torch_from=args.torch_from,
        cuda_ops_without_gpu=not live or os.environ.get("FORCE_CUDA", "").strip() == "1",
    )


def _install_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """install, setup and cache: carrying out a plan (envcheck.install.installer) and the wheel cache."""
    for name, help_text in (
        ("install", "plan, show the steps, ask, carry them out with a snapshot, check, roll back on failure"),
        ("setup", "install, check, and end with one verdict line: the one-command path for notebooks and CI"),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text + ". Exit 3: failed, environment restored.")
        p.add_argument("toolkits", nargs="*", metavar="TOOLKIT[SPEC]", help="e.g. mmdet, mmseg, 'mmdet==3.1.0'")
        p.add_argument("--python", metavar="PATH", help="install into this interpreter (default: the running one)")
        p.add_argument("--plan", metavar="FILE", help="carry out this `envcheck plan --json` file instead of planning")
        p.add_argument("--torch", default="auto", metavar="keep|any|VERSION", help="as for `envcheck plan`")
        p.add_argument("--cuda", metavar="TAG|cpu", help="as for `envcheck plan`")
        p.add_argument("--no-build", action="store_true", help="never compile mmcv")
        _channel_args(p)
        p.add_argument("-y", "--yes", action="store_true", help="do not ask (required where there is no terminal)")
        p.add_argument("--dry-run", action="store_true", help="print the exact commands and change nothing")
        p.add_argument("--log", metavar="FILE", help="the full log (default: under envcheck's cache dir)")
        if name == "setup":
            p.add_argument("--no-smoke", action="store_true", help="skip the smoke checks setup ends with "
                           "(the verdict then says so)")  # fmt: skip
        p.add_argument("--no-import-check", action="store_true", help=argparse.SUPPRESS)
        p.add_argument("--timeout", type=float, default=5.0, help=argparse.SUPPRESS)
    help_text = "put an environment back as it was before an interrupted install (envcheck killed, power lost)"
    p = sub.add_parser("rollback", help=help_text, description=help_text + ". Exit 1: the restore could not be proved.")
    p.add_argument("--python", metavar="PATH", help="the interpreter whose install was interrupted (default: this one)")
    p.add_argument("--discard", action="store_true", help="delete the leftover snapshot, keep the environment as it is")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask (required where there is no terminal)")
    p = sub.add_parser("cache", help="the mmcv wheels envcheck compiled: list or clear them")
    p.add_argument("action", choices=("list", "clear"), help="list the cached wheels, or remove them all")
    p.add_argument("--json", action="store_true", help="list as JSON (schema 1)")


def _smoke_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """smoke: one real, small inference per installed toolkit (envcheck.smoke)."""
    from envcheck.smoke import CHECKS

    p = sub.add_parser(
        "smoke",
        help="prove each installed toolkit really runs: one small inference each, in its own process",
        description="Run one check per toolkit in a child process of the target interpreter, with a timeout: "
        "models built from the configs the packages ship, random weights, one synthetic input, no network. "
        "A crash, abort or hang is a failed check. Exit 0: all passed or skipped; 1: a check failed.",
        epilog="checks: " + "; ".join(f"{c.toolkit}: {c.what}" for c in CHECKS.values()),
    )
    p.add_argument("toolkits", nargs="*", metavar="TOOLKIT", help=f"which checks (default: all): {', '.join(CHECKS)}")
    p.add_argument("--python", metavar="PATH", help="check this interpreter's packages (default: the running one)")
    p.add_argument("--device", default="auto", metavar="auto|cpu|cuda[:N]",
                   help="where to run (auto: the first GPU when torch sees one, else the CPU)")  # fmt: skip
    p.add_argument("--timeout", type=float, default=300.0, metavar="S", help="seconds for each check (300)")
    p.add_argument("--json", action="store_true", help="print the JSON document (schema 1) instead of the table")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML, one testcase per check")


def _gather(args: argparse.Namespace) -> tuple[Environment, list[Finding]]:
    """inspect → complete from matrices/ → doctor. The matrix loads while the probes wait on children."""
    from concurrent.futures import ThreadPoolExecutor

    from envcheck.doctor import diagnose_environment
    from envcheck.facts.complete import complete
    from envcheck.matrix import load_matrix

    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    with ThreadPoolExecutor(max_workers=1) as pool:
        loading = pool.submit(load_matrix)
        if args.env:
            from envcheck.facts.document import load_document

            env = load_document(args.env)
        else:
            from envcheck.probes.collect import inspect_environment

            env = inspect_environment(args.python, deep=args.deep, timeout=args.timeout)
        matrix = loading.result()
    env = complete(env, matrix)
    return env, diagnose_environment(env, matrix)


def _secrets() -> list[tuple[str, str]]:
    import getpass
    import socket

    pairs = [(os.path.expanduser("~"), "~")]
    for value, stand_in in ((getpass.getuser(), "<user>"), (socket.gethostname(), "<host>")):
        if value:
            pairs.append((value, stand_in))
    return pairs


def cmd_inspect(args: argparse.Namespace, findings_only: bool = False) -> int:
    from envcheck.doctor import worst

    if args.redact and not (args.markdown or args.json):
        raise UsageError("--redact goes with --markdown or --json")
    env, findings = _gather(args)
    if getattr(args, "baseline", None):
        from envcheck.cli.baseline import baseline

        findings = baseline(args, env, findings)
    if args.json:
        from envcheck.cli.baseline import node_fields
        from envcheck.facts.document import to_document

        doc = to_document(env, findings)
        node_fields(doc, args, stored=args.env)
        if findings_only:
            doc = {k: doc[k] for k in ("schema", "envcheck", "node", "fingerprint", "findings")}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif args.markdown:
        from envcheck.render.markdown import to_markdown

        sys.stdout.write(to_markdown(env, findings, _secrets() if args.redact else ()))
    else:
        from envcheck.render.console import make_console, print_facts, print_findings

        console = make_console()
        if not findings_only:
            print_facts(console, env)
        print_findings(console, findings)
    return EXIT_PROBLEMS if worst(findings) == "error" else EXIT_OK


def _target_env(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """(Environment, description) for plan: a profile, an env file, or the live interpreter."""
    from envcheck.facts.complete import complete
    from envcheck.matrix import load_matrix

    matrix = load_matrix()
    if args.target:
        from envcheck.facts.document import from_document

        profile = matrix.profiles.get(args.target)
        if profile is None:
            import difflib

            close = difflib.get_close_matches(args.target, list(matrix.profiles), n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(matrix.profiles)}"
            raise UsageError(f"unknown profile {args.target!r}{hint}")
        return (
            matrix,
            complete(from_document(profile.as_json(), f"profile {args.target}"), matrix),
            f"profile {args.target}",
        )
    if args.env:
        from envcheck.facts.document import load_document

        return matrix, complete(load_document(args.env), matrix), args.env
    from envcheck.probes.collect import inspect_environment

    env = inspect_environment(args.python, timeout=args.timeout)
    return matrix, complete(env, matrix), "this machine" if not args.python else args.python


def cmd_plan(args: argparse.Namespace) -> int:
    from envcheck.plan.channel import plan_with_channels

    matrix, env, where = _target_env(args)
    request = _request(args, matrix, live=not (args.target or args.env))
    torch = env.torch
    if args.torch == "keep" and args.cuda and torch and torch.cuda_tag != args.cuda:
        raise UsageError(f"--torch keep keeps torch {torch.version}, which contradicts --cuda {args.cuda}")
    plan = plan_with_channels(request, env, matrix, where, args.channel)
    if args.json:
        sys.stdout.write(json.dumps(plan.to_json(), indent=2) + "\n")
    elif args.format:
        if plan.conflict is not None:
            sys.stderr.write(f"envcheck: no stack: {plan.conflict.summary}\n")
        else:
            sys.stdout.write(plan.render(args.format))
    else:
        from envcheck.render.console import make_console
        from envcheck.render.plan_console import print_plan

        print_plan(make_console(), plan)
    return EXIT_OK if plan.ok else EXIT_PROBLEMS


def _explain_facts(args: argparse.Namespace, from_file: bool) -> tuple[Environment | None, Matrix | None]:
    """(Environment or None, Matrix or None): explain must work without either."""
    from envcheck.errors import MatrixError
    from envcheck.facts.complete import complete
    from envcheck.matrix import load_matrix

    matrix: Matrix | None
    try:
        matrix = load_matrix()
    except MatrixError:
        matrix = None
    env: Environment | None = None
    if args.env:
        from envcheck.facts.document import load_document

        env = load_document(args.env)
    elif from_file and sys.stdout.isatty():
        try:
            from envcheck.probes.collect import inspect_environment

            env = inspect_environment()
        except Exception:  # facts only sharpen the answer; a log alone still works
            env = None
    if env is not None and matrix is not None:
        env = complete(env, matrix)
    return env, matrix


def cmd_explain(args: argparse.Namespace) -> int:
    from envcheck.explain.diagnose import diagnose, suspicious_lines
    from envcheck.explain.logtext import LogText

    from_file = bool(args.log) and args.log != "-"
    if from_file:
        try:
            with open(args.log, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise UsageError(f"{args.log}: {exc.strerror or exc}") from None
    elif args.log == "-" or not sys.stdin.isatty():
        data = sys.stdin.buffer.read()
    else:
        raise UsageError("no log given: `envcheck explain FILE`, or pipe it: `cmd 2>&1 | envcheck explain`")
    log = LogText.from_text(data)
    env, matrix = _explain_facts(args, from_file)
    diagnoses = diagnose(log, env, matrix=matrix)
    suspicious = [] if diagnoses else suspicious_lines(log)
    source = args.log if from_file else "stdin"
    if args.json:
        from envcheck.render.diagnoses import to_json

        sys.stdout.write(json.dumps(to_json(diagnoses, suspicious), indent=2, ensure_ascii=False) + "\n")
    elif args.markdown:
        from envcheck.render.diagnoses import to_markdown

        sys.stdout.write(to_markdown(diagnoses, suspicious, source))
    else:
        from envcheck.render.console import make_console
        from envcheck.render.diagnoses import print_diagnoses, print_no_match

        if diagnoses:
            print_diagnoses(make_console(), diagnoses, source)
        else:
            print_no_match(make_console(), suspicious, source)
    return EXIT_OK if diagnoses else EXIT_PROBLEMS


def _unreachable_indexes(plan: Plan) -> list[str]:
    """The https hosts a plan's steps name that this machine cannot connect to (checked in parallel)."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    from envcheck.install.steps import reach_https

    hosts = sorted({urlsplit(a).netloc for st in plan.steps for a in st.argv if a.startswith("https://")})
    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        verdicts = list(pool.map(reach_https, hosts))
    return [h for h, why in zip(hosts, verdicts) if why]


def _confirmed(console: Console, yes: bool, python: str, question: str) -> bool:
    """--yes, or the person at the terminal said yes; no terminal and no --yes is a usage error."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"no terminal to ask before changing {python}: pass --yes (nothing was changed)")
    if console.input(f"\n{question}? \\[y/N] ").strip().lower() in ("y", "yes"):
        return True
    console.print("Cancelled: nothing was changed.")
    return False


def cmd_install(args: argparse.Namespace, setup: bool = False) -> int:
    """Plan → show → ask → snapshot, steps, check (roll back on failure) → report; see envcheck.install.installer."""
    import shlex
    import time
    from dataclasses import replace
    from pathlib import Path

    from envcheck.facts.complete import complete
    from envcheck.facts.model import Torch
    from envcheck.install.installer import Installer, InstallFailed
    from envcheck.install.snapshot import check_writable, read_layout, refuse_leftovers
    from envcheck.install.steps import cached_builds, load_plan, prepare
    from envcheck.install.wheelcache import WheelCache, cache_root
    from envcheck.matrix import load_matrix
    from envcheck.plan.channel import plan_with_channels
    from envcheck.probes.collect import inspect_environment
    from envcheck.render.console import make_console
    from envcheck.render.install_console import print_actions, print_failure, print_outcome, verdict
    from envcheck.render.plan_console import print_plan
    from envcheck.render.progress import StepLog, make_progress
    from envcheck.runner import SubprocessRunner

    if bool(args.toolkits) == bool(args.plan):
        raise UsageError("name the toolkits to install, or give --plan FILE (not both)")
    matrix = load_matrix()
    runner = SubprocessRunner()
    env = complete(inspect_environment(args.python, runner=runner, timeout=args.timeout), matrix)
    console = make_console()
    python = env.python.executable if env.python else (args.python or sys.executable)
    layout = read_layout(runner, python)
    check_writable(layout)
    cache = WheelCache(cache_root())
    refuse_leftovers(layout, cache.root / "snapshots")
    if args.plan:
        plan = load_plan(args.plan)
    else:
        request = _request(args, matrix, live=True)
        request = replace(request, cached_builds=cached_builds(cache, env, layout))
        plan = plan_with_channels(request, env, matrix, args.python or "this machine", args.channel)
        offline: list[str] = []
        for _ in range(3):  # each re-plan may name another index (a changed torch's): at most both, plus one
            newly = [h for h in _unreachable_indexes(plan) if h not in offline]
            if not newly or not plan.ok:
                break
            offline += newly
            # An index this plan needs cannot be reached: plan again without it (mmcv compiled here, torch
            # kept) rather than fail at that step; say so. A plan that still needs it fails before any change.
            torch_offline = any(h in matrix.torch_index for h in offline)
            wheel_indexes = [matrix.wheel_index, *(c.wheel_index for c in matrix.channels.values())]
            request = replace(
                request,
                no_wheels=request.no_wheels or any(h in w for h in offline for w in wheel_indexes),
                # No torch here and its index unreachable: PyPI carries a build of every release (torch.toml).
                torch="keep" if isinstance(env.torch, Torch) and torch_offline else request.torch,
                torch_from="pypi" if torch_offline and not isinstance(env.torch, Torch) else request.torch_from,
            )  # fmt: skip
            console.print(f"[yellow]! {', '.join(newly)} cannot be reached from here: planning without it[/]")
            plan = plan_with_channels(request, env, matrix, args.python or "this machine", args.channel)
    if not plan.ok:
        print_plan(console, plan)
        return EXIT_PROBLEMS
    try:
        pip_args = tuple(shlex.split(os.environ.get("ENVCHECK_PIP_ARGS", "")))
    except ValueError as exc:
        raise UsageError(f"ENVCHECK_PIP_ARGS: {exc}") from None
    prepared = prepare(plan, env, layout, cache, pip_args, matrix)
    print_actions(console, prepared, "setup" if setup else "install")
    if args.dry_run:
        console.print("\n[dim]--dry-run: nothing was changed.[/]")
        return EXIT_OK
    if not _confirmed(console, args.yes, python, "Proceed"):
        return EXIT_PROBLEMS
    log_path = Path(args.log) if args.log else cache.root / "logs" / f"install-{time.strftime('%Y%m%d-%H%M%S')}.log"
    log = StepLog(log_path)
    log.write(json.dumps(plan.to_json()))
    progress = make_progress(console)
    smoke = setup and not args.no_smoke
    installer = Installer(prepared, matrix, runner, progress, log, check_imports=not args.no_import_check,
                          background_discard=True, keep_snapshot=smoke)  # fmt: skip
    try:
        outcome = installer.carry_out()
    except InstallFailed as exc:
        progress.close()
        print_failure(console, exc)
        if setup:
            console.print(verdict(prepared, None, exc), soft_wrap=True, markup=False)
        return exc.exit_code
    finally:
        log.close()
    print_outcome(console, prepared, outcome)
    if not setup:
        return EXIT_OK
    code, tail = EXIT_OK, "smoke skipped (--no-smoke)"
    if outcome.snapshot is not None:
        code, tail = _setup_smoke(console, prepared, outcome, runner, layout.python)
    console.print(verdict(prepared, outcome, smoke=tail, smoke_ok=code == EXIT_OK), soft_wrap=True, markup=False)
    return code


def _setup_smoke(
    console: Console, prepared: Prepared, outcome: Outcome, runner: Runner, python: str
) -> tuple[int, str]:
    """setup's last stage: the smoke checks of the installed stack; the snapshot goes only when they pass."""
    from envcheck.errors import SmokeError
    from envcheck.install.setup_smoke import judge_smoke, rollback_command, setup_checks
    from envcheck.render.smoke_console import SmokeProgress, print_results
    from envcheck.smoke.run import SmokeOptions, run_checks

    checks = setup_checks(prepared.plan)
    options = SmokeOptions(python=python)
    console.print(f"\nProving it: {len(checks)} smoke checks ({', '.join(c.toolkit for c in checks)}) ...",
                  soft_wrap=True, markup=False)  # fmt: skip
    try:
        with SmokeProgress(console, checks, python, options.device) as progress:
            results = run_checks(checks, options, runner=runner, on_start=progress.on_start, on_done=progress.on_done)
    except (SmokeError, KeyboardInterrupt) as exc:
        why = exc.message if isinstance(exc, SmokeError) else "interrupted"
        return (
            EXIT_PROBLEMS,
            f"installed, but the smoke checks did not run ({why}); `{rollback_command(python)}` undoes it",
        )
    print_results(console, results, live_shown=console.is_terminal)
    judged = judge_smoke(results, python)
    if judged.ok and outcome.snapshot is not None:
        outcome.snapshot.discard(True)
        return EXIT_OK, judged.line
    return EXIT_PROBLEMS, judged.line


def cmd_rollback(args: argparse.Namespace) -> int:
    """Restore (or --discard) the snapshot an interrupted install left; the freeze diff says what changed."""
    import shutil
    from pathlib import Path

    from envcheck.errors import InstallError
    from envcheck.install.installer import freeze_of
    from envcheck.install.snapshot import check_writable, leftovers, pip_processes, read_layout, restore
    from envcheck.install.wheelcache import cache_root
    from envcheck.render.console import make_console
    from envcheck.runner import SubprocessRunner

    runner = SubprocessRunner()
    python = args.python or sys.executable
    if os.sep in python and not Path(python).exists():
        raise UsageError(f"--python {python}: no such file")
    layout = read_layout(runner, python)
    found = leftovers(layout, cache_root() / "snapshots")
    busy = [x for x in found if x.running]
    if busy:
        raise UsageError(
            f"an envcheck install into {python} is still running (pid {busy[0].pid}): nothing to roll back"
        )
    console = make_console()
    complete = [x for x in found if x.snapshot is not None]
    if not complete:
        for x in found:  # killed while taking its snapshot: no step ran, nothing to restore
            shutil.rmtree(x.where, ignore_errors=True)
        console.print(f"No interrupted install to roll back for {python}: nothing was changed.", soft_wrap=True)
        return EXIT_OK
    first = complete[0]  # the oldest: the state before the first interrupted install
    assert first.snapshot is not None
    if not args.discard:
        check_writable(layout)
        pips = pip_processes(python) + pip_processes(layout.python)
        if pips:
            raise UsageError(
                f"pip is still running in {python} (pid {pips[0]}), left by the interrupted install",
                hint="wait for it to end (or kill it), then run rollback again; nothing was changed",
            )
    console.print(
        f"An envcheck install into {python} was interrupted (pid {first.pid}, snapshot taken {first.taken or '?'}):\n"
        f"  {first.where} ({first.snapshot.files()} files)\n"
        + ("  --discard: the snapshot is deleted, the environment stays as it is now."
           if args.discard else "  Everything installed since is removed; what was there before comes back."),
        soft_wrap=True, markup=False,
    )  # fmt: skip
    if not _confirmed(console, args.yes, python, "Delete" if args.discard else "Restore"):
        return EXIT_PROBLEMS
    if not args.discard:
        before = set(freeze_of(runner, python))
        try:
            restore(first.snapshot)
        except (InstallError, OSError) as exc:  # the snapshot stays, named, for another try
            message = exc.message if isinstance(exc, InstallError) else f"{type(exc).__name__}: {exc}"
            console.print(f"✗ restoring failed: {message}", soft_wrap=True, markup=False)
            console.print(f"  the snapshot is kept at {first.where}", soft_wrap=True, markup=False)
            return EXIT_PROBLEMS
        after = set(freeze_of(runner, python))
        for line in sorted(before - after):
            console.print(f"  - {line}", soft_wrap=True, markup=False)
        for line in sorted(after - before):
            console.print(f"  + {line}", soft_wrap=True, markup=False)
    for x in found:
        shutil.rmtree(x.where, ignore_errors=True)
    console.print(
        f"✓ {python} is back as it was before the interrupted install."
        if not args.discard else f"✓ snapshot deleted; {python} is left as it is now.",
        soft_wrap=True, markup=False,
    )  # fmt: skip
    return EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    from envcheck.install.wheelcache import WheelCache, cache_root
    from envcheck.render.progress import elapsed

    cache = WheelCache(cache_root())
    if args.action == "clear":
        count, freed = cache.clear()
        sys.stdout.write(
            f"removed {count} wheel{'s' if count != 1 else ''} ({freed / 2**20:.1f} MiB) from {cache.wheels}\n"
        )
        return EXIT_OK
    entries = cache.entries()
    if args.json:
        doc = {"schema": 1, "dir": str(cache.wheels), "wheels": [
            {"key": c.key.slug, "package": c.key.package, "version": c.key.version, "torch": c.key.torch,
             "python_tag": c.key.python_tag, "platform": c.key.platform, "arch_list": c.key.arch_list,
             "patch": c.key.patch or None, "path": str(c.path), "size": c.size, "built": c.built, "build_seconds": c.seconds}
            for c in entries]}  # fmt: skip
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return EXIT_OK
    sys.stdout.write(f"{cache.wheels}: {len(entries)} wheel{'s' if len(entries) != 1 else ''}\n")
    for c in entries:
        sys.stdout.write(
            f"  {c.key.describe()}  {c.size / 2**20:.1f} MiB, built {c.built[:16]} in {elapsed(c.seconds)}\n"
        )
    return EXIT_OK


def cmd_smoke(args: argparse.Namespace) -> int:
    from envcheck.smoke.result import exit_code, to_document
    from envcheck.smoke.run import SmokeOptions, run_checks, select

    checks = select(args.toolkits)
    python = args.python or sys.executable
    if os.sep in python:  # the checks run in a scratch directory: a relative path must not change meaning
        python = os.path.abspath(python)
    options = SmokeOptions(python=python, device=args.device, timeout=args.timeout)
    if args.junit:
        try:  # fail before minutes of checks, not after
            with open(args.junit, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise UsageError(f"--junit {args.junit}: {exc.strerror or exc}") from None
    if args.json:
        results = run_checks(checks, options)
    else:
        from envcheck.render.console import make_console
        from envcheck.render.smoke_console import SmokeProgress, print_results

        console = make_console()
        with SmokeProgress(console, checks, options.python, options.device) as progress:
            results = run_checks(checks, options, on_start=progress.on_start, on_done=progress.on_done)
        print_results(console, results, live_shown=console.is_terminal)
    meta = {"python": options.python, "device": options.device, "envcheck": __version__}
    if args.json:
        sys.stdout.write(json.dumps(to_document(results, **meta), indent=2, ensure_ascii=False) + "\n")
    if args.junit:
        from envcheck.render.junit import to_junit

        with open(args.junit, "w", encoding="utf-8") as handle:
            handle.write(to_junit(results, **meta))
    return exit_code(results)


def run(argv: Sequence[str]) -> int:
    argv = list(argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "inspect")
    args = build_parser().parse_args(argv)
    if args.command == "inspect":
        return cmd_inspect(args)
    if args.command == "doctor":
        return cmd_inspect(args, findings_only=True)
    if args.command == "plan":
        return cmd_plan(args)
    if args.command == "explain":
        return cmd_explain(args)
    if args.command in ("install", "setup"):
        return cmd_install(args, setup=args.command == "setup")
    if args.command == "rollback":
        return cmd_rollback(args)
    if args.command == "cache":
        return cmd_cache(args)
    if args.command == "smoke":
        return cmd_smoke(args)
    if args.command == "review":
        from envcheck.cli.review import cmd_review

        return cmd_review(args, _target_env)
    if args.command in ("report", "diff", "fleet"):
        from envcheck.cli import diff, fleet, report

        command = {"report": report.cmd_report, "diff": diff.cmd_diff, "fleet": fleet.cmd_fleet}[args.command]
        return int(command(args))
    raise UsageError(f"unknown command {args.command!r}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except EnvcheckError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        sys.stderr.write(f"envcheck: error: {exc.message}{hint}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("envcheck: interrupted\n")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: say so in one line, keep the traceback for who asks
        if os.environ.get("ENVCHECK_DEBUG"):
            raise
        sys.stderr.write(
            f"envcheck: internal error: {type(exc).__name__}: {exc} (ENVCHECK_DEBUG=1 shows the traceback)\n"
        )
        return EXIT_INTERNAL
