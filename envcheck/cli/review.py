"""`envcheck review FILE|-`: parse, call review, print, exit 0 works / 1 breaks / 2 unreadable."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Callable

from envcheck.errors import UsageError

if TYPE_CHECKING:
    from envcheck.facts.model import Environment
    from envcheck.matrix import Matrix

TargetEnv = Callable[[argparse.Namespace], "tuple[Matrix, Environment, str]"]

HELP = "read an install recipe (notebook, cell, script, Dockerfile, requirements, environment.yml) and say what breaks"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "review",
        help=HELP,
        description=HELP + ", line by line, on the target machine, before anyone runs it.",
    )
    p.add_argument("recipe", metavar="FILE", help="the recipe; `-` reads standard input")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--python", metavar="PATH", help="review for this interpreter (default: the running one)")
    target.add_argument("--env", metavar="FILE", help="review for the machine in this `inspect --json` file")
    target.add_argument(
        "--target", metavar="PROFILE", help="review for a named profile: colab, colab-2024.08, kaggle ..."
    )
    p.add_argument("--json", action="store_true", help="print the JSON document (schema 1)")
    p.add_argument("--fix", action="store_true", help="also print the recipe corrected, in the same format")
    p.add_argument(
        "--format",
        dest="recipe_format",
        metavar="FORMAT",
        help="the recipe's form when its name does not say: notebook, cell, shell, dockerfile, requirements, conda",
    )
    p.add_argument("--timeout", type=float, default=5.0, metavar="S", help="seconds for each probed program (5)")


def _read(path: str) -> tuple[str, str]:
    if path == "-":
        data = sys.stdin.buffer.read()
        name = ""
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise UsageError(f"{path}: {exc.strerror or exc}") from None
        name = path
    if b"\x00" in data[:8192]:
        raise UsageError(f"{path}: binary data, not a recipe")
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text (binary?), not a recipe") from None


def cmd_review(args: argparse.Namespace, target_env: TargetEnv) -> int:
    """`target_env` is the CLI's one way to a target (profile, env file, interpreter), shared with plan."""
    from envcheck.review import review_text
    from envcheck.review.parse import FORMATS

    if args.recipe_format and args.recipe_format not in FORMATS:
        raise UsageError(f"unknown recipe format {args.recipe_format!r}; known: {', '.join(FORMATS)}")
    text, name = _read(args.recipe)
    if args.recipe_format:
        from envcheck.review.parse import parse as parse_recipe

        parse_recipe(text, name, args.recipe_format)  # validate early: one line on bad input
    matrix, env, where = target_env(args)
    reviewed = review_text(text, name or "-", env, matrix, where, fix=args.fix, fmt=args.recipe_format)
    rv = reviewed.review
    if not rv.recipe.steps:
        if rv.recipe.unparsed:
            first = rv.recipe.unparsed[0]
            raise UsageError(f"{args.recipe}: no install command could be read (line {first.line}: {first.why})")
        if args.json:
            from envcheck.review import to_json

            sys.stdout.write(json.dumps(to_json(reviewed), indent=2) + "\n")
        else:
            sys.stderr.write(f"envcheck: nothing to review: {args.recipe} has no install command\n")
        return 0
    if args.json:
        from envcheck.review import to_json

        sys.stdout.write(json.dumps(to_json(reviewed), indent=2, ensure_ascii=False) + "\n")
    else:
        from envcheck.render.console import make_console
        from envcheck.render.review_console import print_review

        print_review(make_console(), reviewed, args.recipe)
    return 0 if rv.ok else 1
