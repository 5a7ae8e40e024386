"""The ``unimd`` command. Each subcommand lives in its own module ``unimd_lib.cli.<name>`` exposing
``add_parser(subparsers)``; parsing only, the work is done by library calls."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from unimd_lib import __version__

# module names under unimd_lib.cli, in the order `unimd --help` lists them
SUBCOMMANDS: tuple[str, ...] = (
    "make_synthetic",
    "train",
    "predict",
    "evaluate",
    "export",
    "sweep",
    "notebooks",
    "parity",
    "embed_text",
    "query",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unimd", description="UniMD workbench: TAD + moment retrieval.")
    parser.add_argument("--version", action="version", version=f"unimd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"unimd_lib.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
