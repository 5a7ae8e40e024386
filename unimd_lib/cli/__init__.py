"""The ``unimd`` command. Each subcommand lives in its own module ``unimd_lib.cli.<name>`` exposing
``add_parser(subparsers)``; parsing only, the work is done by library calls.

The error contract lives here, for every subcommand: the workbench's own errors (``unimd_lib.errors``) and
a missing / unwritable file print ONE line ``unimd <command>: error: <file>: <item>: <what is wrong>`` on
stderr and exit 2; anything else is a bug and keeps its traceback (exit 1). ``--debug`` or ``UNIMD_DEBUG=1``
shows the traceback of the expected errors too.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence

from unimd_lib import __version__
from unimd_lib.errors import WorkbenchError, debug_enabled, is_input_error

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
    "extract_features",
)

EXIT_INPUT_ERROR = 2  # bad input (also argparse's exit code for bad arguments)
EXIT_INTERRUPTED = 130


def _add_debug_everywhere(parser: argparse.ArgumentParser, top: bool = True) -> None:
    """``--debug`` accepted before or after the (sub)command name, at every level."""
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False if top else argparse.SUPPRESS,  # a sub-level default must not reset the top-level flag
        help="show the traceback of input errors too (also: UNIMD_DEBUG=1)",
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _add_debug_everywhere(sub, top=False)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unimd", description="UniMD workbench: TAD + moment retrieval.")
    parser.add_argument("--version", action="version", version=f"unimd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"unimd_lib.cli.{name}").add_parser(sub)
    _add_debug_everywhere(parser)
    return parser


def error_line(command: str, err: BaseException) -> str:
    """``unimd <command>: error: <file>: <item>: <what is wrong>``, always one line."""
    if isinstance(err, WorkbenchError):
        text = str(err)
    else:  # OSError with a file name: "path: No such file or directory"
        names = [str(n) for n in (err.filename, getattr(err, "filename2", None)) if n is not None]
        text = ": ".join([*names, err.strerror or str(err)])
    text = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return f"unimd {command}: error: {text}"


def _is_main_process() -> bool:
    """Under torchrun every rank checks the same inputs: only rank 0 reports them."""
    return int(os.environ.get("RANK", "0") or 0) == 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT_ERROR
    debug = args.debug or debug_enabled()
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(f"unimd {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        if not is_input_error(err):
            raise  # a bug: the traceback stays visible, exit 1
        if debug:
            traceback.print_exc()
        if debug or _is_main_process():
            print(error_line(args.command, err), file=sys.stderr)
        return EXIT_INPUT_ERROR


if __name__ == "__main__":
    sys.exit(main())
