"""Fixtures of the model tests: the parity reference cases (refcases/model/<case>), each built once per session.

``charades`` is read from the trimmed copy in tests/refcases (every clone runs it); ``ego4d`` and ``anet`` from
../shared when it is there."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
import torch

from tests.conftest import carried_path, shared_path

CASES = ("charades", "ego4d", "anet")
CARRIED_CASES = ("charades",)


def case_dir(name: str) -> Path:
    return carried_path("model", name) if name in CARRIED_CASES else shared_path("refcases", "model", name)


def dropped_keys(case_root: Path, npz_name: str) -> list[str]:
    """Key fragments a trimmed case leaves out of ``recipe/<npz_name>`` (``carried.json``; none for a full case)."""
    marker = case_root / "carried.json"
    return json.loads(marker.read_text())["dropped"].get(f"recipe/{npz_name}", []) if marker.exists() else []


@pytest.fixture(scope="session", autouse=True)
def _threads():
    # The references were produced with 2 threads on 2 cores. Under pytest-xdist (CI: -n 2) every worker takes
    # one thread: 2 workers × 2 OpenMP threads on 2 cores stall on barrier spin-waits (several times slower).
    # The tolerances hold for both thread counts.
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    torch.set_num_threads(1 if workers > 1 else 2)


@pytest.fixture(scope="session")
def parity_cases():
    """``get(name)`` → (Case, fresh copy of the recipe-weight model). Models are built once per session."""
    from unimd_lib.parity.case import build_model, load_case

    cache: dict = {}

    def get(name: str):
        if name not in cache:
            case = load_case(case_dir(name))
            cache[name] = (case, build_model(case))
        case, model = cache[name]
        return case, copy.deepcopy(model)

    return get
