"""Access to the evaluator reference cases: ../shared/refcases (built on the benchmarks' annotation files, which
stay outside the repository) with the annotation-pointer → file rule of its README, and the hand-made edge cases
carried in tests/refcases."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from tests.conftest import carried_path, shared_path


def resolve(pointer: str) -> Path:
    """``UniMD repo: data/<p>`` → annotations/<p>; ``refcases/annotations/<f>`` → annotations/derived/<f>."""
    p = pointer.split(" (")[0].split(",")[0].strip()
    if p.startswith("UniMD repo: data/"):
        return shared_path("annotations", *p.removeprefix("UniMD repo: data/").split("/"))
    if p.startswith("refcases/annotations/"):
        return shared_path("annotations", "derived", p.removeprefix("refcases/annotations/"))
    raise ValueError(pointer)


def case_file(case: str, name: str) -> Path:
    return shared_path("refcases", case, name)


@cache
def expected(case: str) -> dict:
    return json.loads(case_file(case, "expected.json").read_text())


@cache
def edge_cases() -> dict:
    return json.loads(carried_path("edge_cases.json").read_text())["cases"]


def rel_close(a: float, b: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b))
