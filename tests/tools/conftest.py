"""A quick synthetic run (tiny model, one epoch) shared by the tools tests, trained through the notebooks' own
entry point, and its validation candidates collected on the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import postprocess_bench as pb
from unimd_lib.tools.notebook_support import notebook_run


@pytest.fixture(scope="session")
def quick_root(tmp_path_factory) -> Path:
    """A folder holding ``synthetic/`` (the quick benchmark) and ``runs/synthetic-all-quick`` (a finished run)."""
    root = tmp_path_factory.mktemp("tools_quick")
    notebook_run(synthetic_dir=root / "synthetic", run_root=root / "runs", quick=True)
    return root


@pytest.fixture(scope="session")
def quick_run(quick_root) -> Path:
    return quick_root / "runs" / "synthetic-all-quick"


@pytest.fixture(scope="session")
def split(quick_run) -> pb.SplitCandidates:
    return pb.candidates_from_run(quick_run, device="cpu")


@pytest.fixture(scope="session")
def bench(split) -> pb.BenchResult:
    return pb.run_bench(split, repeats=1, backends=("numpy",))
