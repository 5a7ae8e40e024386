"""Mixed-precision steps through the real training loop, and the loss-trend check of a run's log."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchmarks.amp_check import AmpSteps, amp_steps, loss_trend, main
from unimd_lib.config.load import load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.tools.notebook_support import QUICK_OVERRIDES


@pytest.fixture(scope="module")
def quick_cfg(quick_root):
    return load_config(quick_root / "synthetic" / "quick" / "config.yaml", overrides=parse_overrides(QUICK_OVERRIDES))


def test_loss_trend(tmp_path):
    path = tmp_path / "log.csv"
    pd.DataFrame({"iteration": range(1, 9), "loss": [9, 8, 9, 7, 3, 2, 2, 1]}).to_csv(path, index=False)
    assert loss_trend(path) == dict(iterations=8, first=8.5, last=1.5, finite=True, ok=True)
    pd.DataFrame({"iteration": range(1, 5), "loss": [1, 2, float("nan"), 0.5]}).to_csv(path, index=False)
    assert loss_trend(path)["finite"] is False and loss_trend(path)["ok"] is False
    pd.DataFrame({"iteration": range(1, 5), "loss": [1, 1, 2, 3]}).to_csv(path, index=False)
    assert loss_trend(path)["ok"] is False


def test_loss_trend_of_a_real_run(quick_run, capsys):
    trend = loss_trend(quick_run / "log.csv")
    assert trend["finite"] and trend["iterations"] == len(pd.read_csv(quick_run / "log.csv"))
    assert main(["--log", str(quick_run / "log.csv")]) == (0 if trend["ok"] else 1)
    assert '"iterations"' in capsys.readouterr().out


def test_ok_rules():
    base = dict(amp="fp16", device="cuda:0", scaler_enabled=True, losses=[1.0, 2.0], grad_norms=[1.0, 1.0])
    assert AmpSteps(**base, scale=65536.0, params_changed=True).ok
    assert AmpSteps(**base, scale=32768.0, params_changed=False).ok  # skipped step after an overflow
    assert not AmpSteps(**base, scale=65536.0, params_changed=False).ok
    assert not AmpSteps(**{**base, "losses": [1.0, math.inf]}, scale=65536.0, params_changed=True).ok


def test_bf16_steps_on_the_cpu(quick_cfg):
    res = amp_steps(quick_cfg, amp="bf16", steps=2, device="cpu")
    assert res.ok and len(res.losses) == 2 and res.device == "cpu"
    assert not res.scaler_enabled and res.scale is None  # the scaler is for fp16 on CUDA only


@pytest.mark.gpu
@pytest.mark.parametrize("amp", ["fp16", "bf16"])
def test_amp_steps_on_the_gpu(quick_cfg, amp):
    res = amp_steps(quick_cfg, amp=amp, steps=3, device="cuda")
    assert res.ok, res
    assert res.scaler_enabled == (amp == "fp16")
