"""Shared fixtures: the read-only ``../shared`` folder and the GPU skip rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from unimd_lib.backend import cupy_module, gpu_available

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


if os.environ.get("PYTEST_XDIST_WORKER"):
    # One intra-op thread per xdist worker (and per subprocess / notebook kernel they start): two workers with
    # two OpenMP threads each on two cores spin-wait on each other and run up to 10x slower, not 2x.
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)


def shared_path(*parts: str) -> Path:
    """Path under ../shared; skips the calling test (with the reason) when it is absent (users' machines)."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"reference data not available: {p} (the ../shared folder ships only with the dev checkout)")
    return p


@pytest.fixture
def shared() -> Path:
    return shared_path()


def pytest_collection_modifyitems(config, items):
    if gpu_available():
        return
    reason = "cupy not installed" if cupy_module() is None else "cupy installed but no CUDA device/driver"
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=f"GPU test: {reason}"))
