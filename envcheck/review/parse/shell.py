"""Shell commands (scripts, RUN lines, notebook `!` lines) -> install steps."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envcheck.review.steps import Package, Step, Unparsed

# pip install options that take a value (the next token, or after "=").
_PIP_VALUED = {
    "-r", "--requirement", "-c", "--constraint", "-f", "--find-links", "-i", "--index-url",
    "--extra-index-url", "--trusted-host", "-t", "--target", "--prefix", "--root", "--src",
    "--global-option", "--install-option", "-C", "--config-settings", "--platform", "--python-version",
    "--implementation", "--abi", "--only-binary", "--no-binary", "--progress-bar", "--cache-dir",
    "--log", "--timeout", "--retries", "--proxy", "--upgrade-strategy", "-e", "--editable",
    "--report", "--root-user-action", "--exists-action", "--python", "--use-feature", "--use-deprecated",
}  # fmt: skip
_CONDA_VALUED = {"-c", "--channel", "-n", "--name", "-p", "--prefix", "-f", "--file", "--override-channels-x"}
_PIP_RE = re.compile(r"^(?:.*/)?pip(?:\d+(?:\.\d+)?)?$")
_PY_RE = re.compile(r"^(?:.*/)?python(?:\d+(?:\.\d+)?)?$")
_CONDA = {"conda", "mamba", "micromamba"}
_SEPARATORS = {"&&", "||", ";", "|", "&", ";;"}
_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)


@dataclass
class ShellState:
    """What earlier lines set that later install commands inherit (export VAR=..., ENV in a Dockerfile)."""

    env: dict[str, str] = field(default_factory=dict)


def split_commands(text: str) -> list[list[str]] | str:
    """`a && b; c | d` -> [[a...], [b...], [c...], [d...]]; a string says why it could not be split."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        tokens = list(lexer)
    except ValueError as exc:  # unbalanced quotes
        return f"cannot split the shell line: {exc}"
    commands: list[list[str]] = [[]]
    for tok in tokens:
        if tok in _SEPARATORS or (tok and set(tok) <= set(";&|")):
            if commands[-1]:
                commands.append([])
            continue
        commands[-1].append(tok)
    return [c for c in commands if c]


def parse_package(token: str) -> Package | str:
    """A pip argument -> Package, or why it is not one."""
    if "$" in token:
        return f"{token!r} uses a shell variable envcheck cannot know"
    if token in (".", "./") or token.startswith(("./", "../", "/", "~")) or token.endswith("/"):
        return Package("", url=token, text=token)
    if "://" in token or token.startswith("git+"):
        return Package(_name_from_url(token), url=token, text=token)
    if token.endswith(".whl") or token.endswith(".tar.gz"):
        return Package(_name_from_url(token), url=token, text=token)
    try:
        req = Requirement(token)
    except InvalidRequirement as exc:
        return f"{token!r} is not a valid requirement: {str(exc).splitlines()[0]}"
    return Package(
        canonicalize_name(req.name),
        spec=str(req.specifier),
        extras=tuple(sorted(req.extras)),
        url=req.url or "",
        marker=str(req.marker) if req.marker else "",
        text=token,
    )


def _name_from_url(url: str) -> str:
    base = url.rstrip("/").split("/")[-1].split("#")[0]
    base = base.replace("%2B", "+")
    if base.endswith(".whl"):
        return canonicalize_name(base.split("-")[0])
    if "egg=" in url:
        return canonicalize_name(url.split("egg=")[-1].split("&")[0])
    if base.endswith(".git"):
        return canonicalize_name(base[:-4])
    return ""


def wheel_version(url: str) -> str | None:
    """mmcv_full-1.6.1-cp36-...whl -> 1.6.1 (with a local label: 1.2.1+torch1.7.0+cpu -> 1.2.1)."""
    base = url.rstrip("/").split("/")[-1].replace("%2B", "+")
    if not base.endswith(".whl"):
        return None
    parts = base.split("-")
    return parts[1].split("+")[0] if len(parts) > 2 else None


def _pip_args(
    args: Sequence[str], line: int, text: str, tool: str, env: dict[str, str]
) -> tuple[Step | None, list[Unparsed]]:
    problems: list[Unparsed] = []
    if not args:
        return None, [Unparsed(line, text, f"`{tool}` without a subcommand")]
    sub, rest = args[0], list(args[1:])
    if sub not in ("install", "uninstall", "download"):
        return None, []
    packages: list[Package] = []
    flags: list[str] = []
    index_url = ""
    extra: list[str] = []
    links: list[str] = []
    reqs: list[str] = []
    cons: list[str] = []
    i = 0
    while i < len(rest):
        tok = rest[i]
        if tok.startswith("-") and tok != "-":
            name, eq, value = tok.partition("=")
            if name in _PIP_VALUED or (
                name.startswith("-") and not name.startswith("--") and len(name) > 2 and name[:2] in _PIP_VALUED
            ):
                if not eq:
                    if name[:2] in _PIP_VALUED and len(name) > 2 and not name.startswith("--"):
                        name, value = name[:2], name[2:]
                    else:
                        i += 1
                        value = rest[i] if i < len(rest) else ""
                if name in ("-r", "--requirement"):
                    reqs.append(value)
                elif name in ("-c", "--constraint"):
                    cons.append(value)
                elif name in ("-f", "--find-links"):
                    links.append(value)
                elif name in ("-i", "--index-url"):
                    index_url = value
                elif name == "--extra-index-url":
                    extra.append(value)
                elif name in ("-e", "--editable"):
                    flags.append("-e")
                    pkg = parse_package(value)
                    if isinstance(pkg, str):
                        problems.append(Unparsed(line, text, pkg))
                    else:
                        packages.append(pkg)
                else:
                    flags.append(f"{name}={value}" if name in ("--only-binary", "--no-binary") else name)
            else:
                # combined short flags: -Uq, -qU
                if not tok.startswith("--") and len(tok) > 2:
                    flags.extend(f"-{c}" for c in tok[1:])
                else:
                    flags.append(tok)
        else:
            pkg = parse_package(tok)
            if isinstance(pkg, str):
                problems.append(Unparsed(line, text, pkg))
            else:
                packages.append(pkg)
        i += 1
    if problems and not packages and not reqs and not cons:
        return None, problems  # nothing of it could be read: the line is reported, not simulated
    action = {"install": "install", "uninstall": "uninstall", "download": "download"}[sub]
    step = Step(
        line,
        text,
        tool,
        action,
        tuple(packages),
        tuple(flags),
        index_url,
        tuple(extra),
        tuple(links),
        tuple(reqs),
        tuple(cons),
        dict(env),
    )
    return step, problems


def conda_spec(token: str) -> Package | str:
    """`pytorch=1.10` / `pytorch==1.10.0` / `cudatoolkit=11.3` / `conda-forge::numpy` -> Package."""
    if "::" in token:
        token = token.split("::", 1)[1]
    if "/" in token and "=" not in token:
        token = token.split("/")[-1]
    m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(?:(==|=|>=|<=|>|<|!=)\s*([^=\s]+))?(?:=\S+)?$", token)
    if not m:
        return f"{token!r} is not a conda package spec"
    name, op, ver = m.group(1), m.group(2), m.group(3)
    spec = ""
    if op == "=":
        spec = f"=={ver}" if ver.count(".") >= 2 or ver.endswith("*") else f"=={ver}.*"
    elif op:
        spec = f"{op}{ver}"
    return Package(canonicalize_name(name), spec=spec, text=token)


def _conda_args(args: Sequence[str], line: int, text: str, env: dict[str, str]) -> tuple[Step | None, list[Unparsed]]:
    if not args or args[0] not in ("install", "create", "update", "upgrade", "remove", "uninstall"):
        return None, []
    sub = args[0]
    packages: list[Package] = []
    channels: list[str] = []
    flags: list[str] = []
    problems: list[Unparsed] = []
    i = 1
    while i < len(args):
        tok = args[i]
        if tok.startswith("-"):
            name, eq, value = tok.partition("=")
            if name in _CONDA_VALUED:
                if not eq:
                    i += 1
                    value = args[i] if i < len(args) else ""
                if name in ("-c", "--channel"):
                    channels.append(value)
            else:
                flags.append(tok)
        else:
            pkg = conda_spec(tok)
            if isinstance(pkg, str):
                problems.append(Unparsed(line, text, pkg))
            else:
                packages.append(pkg)
        i += 1
    action = {"create": "create", "remove": "uninstall", "uninstall": "uninstall"}.get(sub, "install")
    if sub in ("update", "upgrade"):
        flags.append("-U")
    return Step(
        line, text, "conda", action, tuple(packages), tuple(flags), env=dict(env), channels=tuple(channels)
    ), problems


def command_steps(argv: list[str], line: int, text: str, state: ShellState) -> tuple[list[Step], list[Unparsed]]:
    """One simple command -> the steps it makes (0 or 1) and what could not be read."""
    local: dict[str, str] = {}
    while argv and _ASSIGN.match(argv[0]):
        m = _ASSIGN.match(argv[0])
        assert m
        local[m.group(1)] = m.group(2)
        argv = argv[1:]
    if not argv:
        state.env.update(local)  # VAR=x alone sets a shell variable
        return [], []
    while argv and argv[0] in ("sudo", "time", "nice", "exec", "command", "env"):
        argv = argv[1:]
        while argv and (argv[0].startswith("-") or _ASSIGN.match(argv[0])):
            m = _ASSIGN.match(argv[0])
            if m:
                local[m.group(1)] = m.group(2)
            argv = argv[1:]
    if not argv:
        return [], []
    env = {**state.env, **local}
    head = argv[0]
    if head == "export" or head == "ENV":
        for tok in argv[1:]:
            m = _ASSIGN.match(tok)
            if m:
                state.env[m.group(1)] = m.group(2)
        return [], []
    if head == "uv" and argv[1:2] == ["pip"]:
        step, bad = _pip_args(argv[2:], line, text, "pip", env)
        return ([step] if step else []), bad
    if _PIP_RE.match(head):
        step, bad = _pip_args(argv[1:], line, text, "pip", env)
        return ([step] if step else []), bad
    if _PY_RE.match(head) and len(argv) > 2 and argv[1] == "-m":
        mod = argv[2]
        if mod == "pip":
            step, bad = _pip_args(argv[3:], line, text, "pip", env)
            return ([step] if step else []), bad
        if mod == "mim":
            step, bad = _pip_args(argv[3:], line, text, "mim", env)
            return ([step] if step else []), bad
        return [], []
    if _PY_RE.match(head) and len(argv) > 2 and argv[1] == "setup.py" and argv[2] in ("install", "develop"):
        return [
            Step(
                line,
                text,
                "pip",
                "install",
                (Package("", url=".", text="setup.py"),),
                ("-e",) if argv[2] == "develop" else (),
                env=env,
            )
        ], []
    if head == "mim":
        step, bad = _pip_args(argv[1:], line, text, "mim", env)
        return ([step] if step else []), bad
    if head in _CONDA:
        step, bad = _conda_args(argv[1:], line, text, env)
        return ([step] if step else []), bad
    if head == "git" and len(argv) > 1:
        if argv[1] == "clone":
            return [_clone(argv[2:], line, text, env)], []
        if argv[1] in ("checkout", "switch") and len(argv) > 2:
            ref = next((a for a in argv[2:] if not a.startswith("-")), "")
            return [Step(line, text, "git", "checkout", env=env, ref=ref)], []
        return [], []
    if head in ("cd", "%cd", "WORKDIR", "pushd") and len(argv) > 1:
        return [Step(line, text, "cd", "cd", env=env, repo=argv[1])], []
    return [], []


def _clone(args: Sequence[str], line: int, text: str, env: dict[str, str]) -> Step:
    ref = ""
    positional: list[str] = []
    i = 0
    while i < len(args):
        tok = args[i]
        if tok in ("-b", "--branch"):
            i += 1
            ref = args[i] if i < len(args) else ""
        elif tok.startswith("--branch="):
            ref = tok.split("=", 1)[1]
        elif tok in ("--depth", "-o", "--origin", "-c", "--config", "--reference", "--jobs", "-j"):
            i += 1
        elif not tok.startswith("-"):
            positional.append(tok)
        i += 1
    url = positional[0] if positional else ""
    directory = positional[1] if len(positional) > 1 else url.rstrip("/").split("/")[-1].removesuffix(".git")
    return Step(line, text, "git", "clone", env=env, repo=url, ref=ref, packages=(Package("", url=directory),))


def parse_lines(lines: Iterable[tuple[int, str]], state: ShellState | None = None) -> Iterator[Step | Unparsed]:
    """(line number, logical line) pairs -> steps and unreadable lines, in order."""
    state = state if state is not None else ShellState()
    for line, text in lines:
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        commands = split_commands(stripped)
        if isinstance(commands, str):
            if _looks_like_install(stripped):
                yield Unparsed(line, stripped, commands)
            continue
        for argv in commands:
            steps, bad = command_steps(argv, line, stripped, state)
            yield from bad
            yield from steps


def _looks_like_install(text: str) -> bool:
    return bool(re.search(r"\b(pip3?|mim|conda|mamba)\b.*\binstall\b", text))


def join_continuations(text: str) -> list[tuple[int, str]]:
    """Physical lines -> (first line number, logical line) with backslash continuations joined."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for n, raw in enumerate(text.splitlines(), 1):
        if not buf:
            start = n
        if raw.rstrip().endswith("\\"):
            buf.append(raw.rstrip()[:-1])
            continue
        buf.append(raw)
        out.append((start, " ".join(s.strip() for s in buf)))
        buf = []
    if buf:
        out.append((start, " ".join(s.strip() for s in buf)))
    return out


def with_env(step: Step, env: dict[str, str]) -> Step:
    return replace(step, env={**env, **step.env})
