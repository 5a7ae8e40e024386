"""Shared fixtures: the reference cases carried in ``tests/refcases``, the read-only ``../shared`` folder (the
full reference cases and the benchmarks' annotation files, beside a development checkout) and the GPU skip rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from unimd_lib.backend import cupy_module, gpu_available

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CARRIED = REPO / "tests" / "refcases"  # licence-clean subset of the reference cases (tests/refcases/README.md)


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


def carried_path(*parts: str) -> Path:
    """Path under tests/refcases: part of every clone, so a missing file is an error, never a skip."""
    p = CARRIED.joinpath(*parts)
    if not p.exists():
        raise FileNotFoundError(f"{p}: carried reference file missing (rebuild with tests/refcases/make_carried.py)")
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


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """In CI (``UNIMD_CI=1``) only GPU tests may skip: any other skip means a check CI must run did not run
    (missing ../shared, chromium, NVRTC, g++ ...), and the session fails."""
    if os.environ.get("UNIMD_CI") != "1":
        return
    bad = []
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if "GPU test" not in reason:
            bad.append(f"{report.nodeid}: {reason}")
    if bad:
        terminalreporter.section("UNIMD_CI: checks that must run in CI were skipped")
        for line in bad:
            terminalreporter.write_line(line)
        terminalreporter._session.exitstatus = 1
