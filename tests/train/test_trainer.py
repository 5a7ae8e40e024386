"""Whole runs on a tiny benchmark: the run folder, predict/evaluate consistency, exact kill-and-resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from tests.train.conftest import TINY_MODEL
from unimd_lib.cli import main
from unimd_lib.config.load import load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.data.dataset import VideoDataset
from unimd_lib.errors import DataError
from unimd_lib.eval.protocols import evaluate, read_protocol_predictions
from unimd_lib.train.checkpoint import load_checkpoint
from unimd_lib.train.trainer import train

REPO = Path(__file__).resolve().parents[2]


def tiny(config: Path, *extra: str):
    return load_config(config, overrides=parse_overrides([*TINY_MODEL, *extra]))


@pytest.fixture(scope="module")
def tad_run(tiny_bench, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tad"
    result = train(tiny(tiny_bench), out, task="tad")
    return out, result


def test_run_folder_layout(tad_run):
    out, result = tad_run
    assert result.epochs_run == 3  # epochs + warm-up, no early stop
    for name in ("config.yaml", "run.json", "log.csv", "metrics.csv", "metrics.json"):
        assert (out / name).is_file(), name
    assert (out / "checkpoints" / "last.pt").is_file() and (out / "checkpoints" / "best.pt").is_file()
    assert any((out / "tb").iterdir())
    log = pd.read_csv(out / "log.csv")
    assert list(log["iteration"]) == list(range(1, len(log) + 1))  # log_every=1: one row per iteration
    assert log["lr"].iloc[0] == 0.0  # linear warm-up starts at 0 (spec §5.2)
    val = pd.read_csv(out / "metrics.csv")
    assert list(val["epoch"]) == [1, 2, 3]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["best_epoch"] == result.best_epoch
    assert "tad/average_mAP" in metrics["best"] and "mr/R1@0.30" not in metrics["best"]


def test_saved_predictions_score_as_the_run_reported(tad_run, tiny_bench):
    out, result = tad_run
    cfg = load_config(out / "config.yaml")
    path = out / "predictions" / f"{cfg.data.val_split}_tad.csv"
    preds = read_protocol_predictions("ego4d_mq", path)
    metrics = evaluate("ego4d_mq", cfg.resolve(cfg.eval.tad_gt), preds, backend="numpy")
    assert metrics["average_mAP"] == pytest.approx(result.best_metrics["tad/average_mAP"], rel=1e-12)


def test_predict_cli_reproduces_the_best_predictions(tad_run, capsys):
    out, _ = tad_run
    cfg = load_config(out / "config.yaml")
    saved = pd.read_csv(out / "predictions" / f"{cfg.data.val_split}_tad.csv")
    assert main(["predict", "--run", str(out), "--no-progress"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rows"]
    again = pd.read_csv(out / "predictions" / f"{cfg.data.val_split}_tad.csv")
    assert rows["tad"] == len(saved) == len(again) > 0
    pd.testing.assert_frame_equal(saved, again)


def test_refuses_to_overwrite_a_run(tad_run, tiny_bench):
    out, _ = tad_run
    with pytest.raises(FileExistsError, match="already holds a run"):
        train(tiny(tiny_bench), out, task="tad")


def test_train_cli_mr_individual(tiny_bench, tmp_path, capsys):
    out = tmp_path / "mr"
    argv = ["train", "--config", str(tiny_bench), "--task", "mr", "--out", str(out), "--no-progress"]
    argv += [a for item in [*TINY_MODEL, "opt.epochs=1"] for a in ("--set", item)]
    assert main(argv) == 0
    printed = capsys.readouterr()
    best = json.loads(printed.out.strip().splitlines()[-1])["best"]
    assert set(best) >= {"mr/R1@0.30", "mr/R5@0.50", "mr/mIoU"} and not any(k.startswith("tad/") for k in best)
    # without progress bars, one line per epoch on stderr (stdout keeps the JSON result alone)
    lines = [ln for ln in printed.err.splitlines() if ln.startswith("epoch ")]
    assert len(lines) == int(lines[-1].split("/")[1].split(":")[0]) >= 1
    assert re.fullmatch(r"epoch (\d+)/\1: loss [\d.]+ over \d+ steps, [\d.]+ s; mr/R1@0.30 [\d.]+", lines[-1])
    preds = out / "predictions" / "validation_mr.csv"
    # the run's table → the official NLQ submission → the official metric: the numbers the run reported
    bench = tiny_bench.parent
    sub = tmp_path / "submission.json"
    assert (
        main(["export", "ego4d_nlq", "--pred", str(preds), "--clips", str(bench / "mr.json"), "--out", str(sub)]) == 0
    )
    capsys.readouterr()
    assert main(["evaluate", "ego4d_nlq", "--gt", str(bench / "mr_official_validation.json"), "--pred", str(sub)]) == 0
    official = json.loads(capsys.readouterr().out)
    for key in ("R1@0.30", "R5@0.50", "mIoU"):
        assert official[key] == pytest.approx(best[f"mr/{key}"], rel=1e-12), key


def test_wrong_feature_dimension_is_reported(tiny_bench, tmp_path):
    cfg = tiny(tiny_bench, "data.input_dim=48")
    with pytest.raises(DataError, match=r"features/.*\.npy.*48"):
        VideoDataset(cfg.data, cfg.data.train_split, "tad")[0]


def _final_weights(out: Path) -> dict[str, torch.Tensor]:
    state = load_checkpoint(out / "checkpoints" / "last.pt")
    return {**{f"model.{k}": v for k, v in state["model"].items()}, **{f"ema.{k}": v for k, v in state["ema"].items()}}


def _train_cmd(config: Path, out: Path, *extra: str) -> list[str]:
    cmd = [sys.executable, "-m", "unimd_lib.cli", "train", "--config", str(config), "--task", "all"]
    cmd += ["--out", str(out), "--no-progress", *extra]
    for item in [*TINY_MODEL, "opt.epochs=3", "run.deterministic=true", "run.val_every=100"]:
        cmd += ["--set", item]
    return cmd


@pytest.mark.slow
def test_sigkill_and_resume_reaches_the_same_weights(tiny_bench, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    straight = tmp_path / "straight"
    subprocess.run(_train_cmd(tiny_bench, straight), check=True, env=env, capture_output=True)

    killed = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(tiny_bench, killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ckpt = killed / "checkpoints" / "last.pt"
    deadline = time.time() + 300
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    interrupted_at = load_checkpoint(ckpt)["epoch"]
    assert interrupted_at < 4, "the run finished before it could be killed: the test proves nothing"
    assert not (killed / "metrics.json").exists()

    subprocess.run(_train_cmd(tiny_bench, killed, "--resume"), check=True, env=env, capture_output=True)
    a, b = _final_weights(straight), _final_weights(killed)
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"{len(different)} tensors differ after resume, e.g. {different[:3]}"
    # the resumed log has no duplicated iterations
    log = pd.read_csv(killed / "log.csv")
    assert log["iteration"].is_unique and list(log["iteration"]) == list(pd.read_csv(straight / "log.csv")["iteration"])


def test_train_fraction_keeps_a_nested_subset_of_one_task(tiny_bench):
    full = tiny(tiny_bench)
    ids = {}
    for frac in (1.0, 0.5, 0.25):
        cfg = tiny(tiny_bench, f"data.mr.train_fraction={frac}")
        ds = VideoDataset(cfg.data, cfg.data.train_split, "all")
        ids[frac] = set(ds.ids.mr)
        assert ds.ids.tad == VideoDataset(full.data, full.data.train_split, "all").ids.tad  # TAD untouched
    n = len(ids[1.0])
    assert len(ids[0.5]) == -(-n // 2) and len(ids[0.25]) == -(-n // 4)
    assert ids[0.25] < ids[0.5] < ids[1.0]
    val = VideoDataset(cfg.data, cfg.data.val_split, "all", training=False)  # validation never subsampled
    assert set(val.ids.mr) == set(VideoDataset(full.data, full.data.val_split, "all", training=False).ids.mr)
