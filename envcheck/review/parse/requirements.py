"""requirements / constraints files: one step per requirement line, the file's options on each."""

from __future__ import annotations

import shlex

from envcheck.review.parse.shell import join_continuations, parse_package
from envcheck.review.steps import Package, Step, Unparsed


def parse(text: str) -> tuple[list[Step], list[Unparsed]]:
    index = ""
    extra: list[str] = []
    links: list[str] = []
    reqs: list[str] = []
    cons: list[str] = []
    pending: list[tuple[int, str, list[Package], list[str]]] = []
    bad: list[Unparsed] = []
    for line, logical in join_continuations(text):
        s = logical.split(" #")[0].strip()
        if not s or s.startswith("#"):
            continue
        if not s.startswith("-"):  # a requirement (markers and all), then per-line options after " --"
            req, _, opts = s.partition(" --")
            pkg = parse_package(req.strip())
            if isinstance(pkg, str):
                bad.append(Unparsed(line, s, pkg))
            else:
                pending.append((line, s, [pkg], ["--" + o.split()[0] for o in opts.split(" --") if o] if opts else []))
            continue
        try:
            toks = shlex.split(s, comments=True)
        except ValueError as exc:
            bad.append(Unparsed(line, s, f"cannot read the line: {exc}"))
            continue
        packages: list[Package] = []
        flags: list[str] = []
        i = 0
        while i < len(toks):
            tok = toks[i]
            name, eq, value = tok.partition("=")
            valued = name in ("-r", "--requirement", "-c", "--constraint", "-f", "--find-links", "-i",
                              "--index-url", "--extra-index-url", "-e", "--editable", "--trusted-host",
                              "--only-binary", "--no-binary", "--hash")  # fmt: skip
            if tok.startswith("-") and valued:
                if not eq:
                    i += 1
                    value = toks[i] if i < len(toks) else ""
                if name in ("-r", "--requirement"):
                    reqs.append(value)
                elif name in ("-c", "--constraint"):
                    cons.append(value)
                elif name in ("-f", "--find-links"):
                    links.append(value)
                elif name in ("-i", "--index-url"):
                    index = value
                elif name == "--extra-index-url":
                    extra.append(value)
                elif name in ("-e", "--editable"):
                    pkg = parse_package(value)
                    if isinstance(pkg, str):
                        bad.append(Unparsed(line, s, pkg))
                    else:
                        packages.append(pkg)
                        flags.append("-e")
            elif tok.startswith("-"):
                flags.append(tok)
            else:
                pkg = parse_package(tok)
                if isinstance(pkg, str):
                    bad.append(Unparsed(line, s, pkg))
                else:
                    packages.append(pkg)
            i += 1
        if packages or reqs or cons:
            pending.append((line, s, packages, flags))
    steps = [
        Step(line, s, "pip", "install", tuple(p), tuple(f), index, tuple(extra), tuple(links), tuple(reqs), tuple(cons))
        for line, s, p, f in pending
        if p
    ]
    if not steps and (reqs or cons):  # only -r/-c lines: name them
        steps = [
            Step(
                1,
                text.strip().splitlines()[0],
                "pip",
                "install",
                (),
                (),
                index,
                tuple(extra),
                tuple(links),
                tuple(reqs),
                tuple(cons),
            )
        ]
    return steps, bad
