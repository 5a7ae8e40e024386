"""Mixed precision is a switch: bf16 autocast trains on CPU; fp16 (unsupported by CPU autocast) is a no-op."""

from __future__ import annotations

import math

import pandas as pd
import torch

from tests.train.conftest import TINY_MODEL
from unimd_lib.config.load import load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.train.runtime import autocast, grad_scaler
from unimd_lib.train.trainer import train

QUICK = [*TINY_MODEL, "opt.epochs=1", "run.val_every=100", "model.drop_path_rate=0", "model.query_dropout=0"]


def _run(config, out, amp):
    cfg = load_config(config, overrides=parse_overrides([*QUICK, f"run.amp={amp}"]))
    train(cfg, out, task="tad")
    return pd.read_csv(out / "log.csv")


def test_bf16_autocast_trains_and_fp16_is_a_cpu_no_op(tiny_bench, tmp_path):
    plain = _run(tiny_bench, tmp_path / "fp32", "none")
    fp16 = _run(tiny_bench, tmp_path / "fp16", "fp16")
    bf16 = _run(tiny_bench, tmp_path / "bf16", "bf16")
    pd.testing.assert_series_equal(plain["loss"], fp16["loss"])  # nothing changed on CPU
    assert all(math.isfinite(v) for v in bf16["loss"])
    assert not plain["loss"].equals(bf16["loss"])  # bf16 really ran: rounding differs
    assert bf16["loss"].iloc[-1] < bf16["loss"].iloc[0]


def test_autocast_context_dtypes():
    cpu = torch.device("cpu")
    with autocast(cpu, "bf16"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with autocast(cpu, "fp16"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32
    assert not grad_scaler(cpu, "fp16").is_enabled()
