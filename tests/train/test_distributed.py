"""DistributedDataParallel on CPU (gloo, 2 processes) follows the single-process run with the same global
batch; checkpoints, logs and metrics are written once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.train.conftest import TINY_MODEL

REPO = Path(__file__).resolve().parents[2]
DETERMINISTIC = ["model.drop_path_rate=0", "model.query_dropout=0", "run.deterministic=true", "run.val_every=100"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cmd(config: Path, out: Path) -> list[str]:
    cmd = ["-m", "unimd_lib.cli", "train", "--config", str(config), "--task", "all", "--out", str(out), "--no-progress"]
    for item in [*TINY_MODEL, *DETERMINISTIC]:
        cmd += ["--set", item]
    return cmd


def _run_or_dump_stacks(cmd: list[str], env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own session; on a hang, SIGABRT the whole session so that every process prints its
    Python stacks (faulthandler) into the failure message."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGABRT)
        out, err = proc.communicate(timeout=60)
        pytest.fail(f"hung for {timeout} s; stacks:\n{err[-8000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.mark.slow
def test_two_gloo_processes_follow_one_process(tiny_bench, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    one, two = tmp_path / "one", tmp_path / "two"
    subprocess.run([sys.executable, *_cmd(tiny_bench, one)], check=True, env=env, capture_output=True, timeout=600)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_port())]
    done = _run_or_dump_stacks([*torchrun, *_cmd(tiny_bench, two)], env={**env, "PYTHONFAULTHANDLER": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    # one JSON line for the run (rank 0 only)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1 and json.loads(lines[0])["run_dir"] == str(two)

    a, b = pd.read_csv(one / "log.csv"), pd.read_csv(two / "log.csv")
    assert list(a["iteration"]) == list(b["iteration"]) and len(a) >= 10  # written once, every iteration
    for col in ("loss", "tad_loss", "mr_loss", "loss_normalizer", "lr"):
        pd.testing.assert_series_equal(a[col], b[col], rtol=1e-5, atol=0, check_names=False)
    # the same weights after training (float tolerance), BatchNorm running statistics included
    wa = torch.load(one / "checkpoints" / "last.pt", weights_only=True)["model"]
    wb = torch.load(two / "checkpoints" / "last.pt", weights_only=True)["model"]
    for name in wa:
        torch.testing.assert_close(wb[name], wa[name], rtol=1e-4, atol=1e-5, msg=name)
    ma, mb = (json.loads((run / "metrics.json").read_text()) for run in (one, two))
    assert mb["best_epoch"] == ma["best_epoch"] and mb["last"].keys() == ma["last"].keys()
    for key, value in ma["last"].items():
        assert mb["last"][key] == pytest.approx(value, rel=1e-3, abs=1e-6), key
    assert sorted(p.name for p in (two / "checkpoints").iterdir()) == ["best.pt", "last.pt"]


def test_distributed_switch_without_torchrun_is_explained(tiny_bench, tmp_path):
    from unimd_lib.config.load import load_config
    from unimd_lib.config.overrides import parse_overrides
    from unimd_lib.errors import ConfigError
    from unimd_lib.train.trainer import Trainer

    cfg = load_config(tiny_bench, overrides=parse_overrides([*TINY_MODEL, "run.distributed=true"]))
    with pytest.raises(ConfigError, match="torchrun --nproc_per_node"):
        Trainer(cfg, tmp_path / "x", task="tad")


def test_release_wrapper_frees_the_wrapper_now_or_says_it_cannot():
    from torch import nn

    from unimd_lib.train.distributed import release_wrapper

    class Wrapper(nn.Module):  # a reference cycle, as DDP has
        def __init__(self, module):
            super().__init__()
            self.module, self.me = module, self

    class Holder:
        pass

    model, holder = nn.Linear(2, 2), Holder()
    holder.forward_model = Wrapper(model)
    assert release_wrapper(holder, "forward_model", model) and holder.forward_model is model
    holder.forward_model = kept = Wrapper(model)
    assert not release_wrapper(holder, "forward_model", model) and kept.module is model
