"""The command-line error contract, as the text commands' tests check it."""

from __future__ import annotations

import re

from unimd_lib.cli import main


def assert_input_error(capsys, argv: list[str], pattern: str) -> None:
    """``unimd ARGV`` exits 2 with one stderr line ``unimd <command>: error: ...`` matching ``pattern``."""
    capsys.readouterr()
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"unimd {argv[0]}: error: "), lines
    assert re.search(pattern, lines[0]), lines[0]
