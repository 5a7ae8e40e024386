"""A tiny synthetic benchmark and a tiny model, so that whole runs take seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from unimd_lib.data.synthetic import SyntheticSpec, generate

TINY_MODEL = [
    "model.embd_dim=32",
    "model.fpn_dim=32",
    "model.head_dim=32",
    "model.query_dim=32",
    "model.query_fc_channels=32",
    "opt.epochs=2",
    "opt.warmup_epochs=1",
    "loader.batch_size=4",
    "run.num_threads=1",
    "run.progress=false",
    "run.log_every=1",
]


@pytest.fixture(scope="session")
def tiny_bench(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny_bench")
    spec = SyntheticSpec(num_videos=40, text_dim=32, min_len=48, max_len=96, max_seq_len=96, seed=3)
    generate(out, spec)
    return out / "config.yaml"
