"""Co-training schemes, pre-train → fine-tune, multi-seed sweeps and the comparison table."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from tests.train.conftest import TINY_MODEL
from unimd_lib.cli import main
from unimd_lib.config.load import load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.train.pipeline import run_scheme
from unimd_lib.train.sweep import markdown_table, summarize
from unimd_lib.train.trainer import Trainer, weights_from


def tiny(config, *extra):
    return load_config(config, overrides=parse_overrides([*TINY_MODEL, "opt.epochs=1", *extra]))


def test_summarize_mean_and_sample_std():
    rows = pd.DataFrame({"seed": [0, 1, 2, 0, 1, 2], "scheme": list("aaabbb"), "m": [0.1, 0.2, 0.3, 0.5, 0.5, 0.5]})
    s = summarize(rows, by=["scheme"]).set_index("scheme")
    assert s.loc["a", "mean"] == pytest.approx(0.2) and s.loc["a", "std"] == pytest.approx(0.1)
    assert s.loc["b", "std"] == 0 and (s["n"] == 3).all()
    md = markdown_table(summarize(rows, by=["scheme"]), by=["scheme"])
    assert "| a | 20.00 ± 10.00 |" in md and "| b | 50.00 ± 0.00 |" in md


@pytest.mark.parametrize("sampling", ["random", "sync"])
def test_cotraining_runs_both_tasks(tiny_bench, tmp_path, sampling):
    result = run_scheme(tiny(tiny_bench), tmp_path / sampling, task="all", sampling=sampling)
    assert {"tad/average_mAP", "mr/R1@0.30"} <= set(result.last_metrics)
    log = pd.read_csv(tmp_path / sampling / "log.csv")
    if sampling == "sync":  # every synchronized step carries both tasks (spec §7.3)
        assert log["tad_loss"].notna().all() and log["mr_loss"].notna().all()


def test_pretrain_then_finetune_is_one_run_definition(tiny_bench, tmp_path):
    out = tmp_path / "pt"
    result = run_scheme(tiny(tiny_bench), out, task="mr", pretrain_task="tad")
    assert result.run_dir == out / "finetune_mr"
    info = json.loads((out / "finetune_mr" / "run.json").read_text())
    assert info["init_from"] == str(out / "pretrain_tad") and info["task"] == "mr"
    assert any(k.startswith("mr/") for k in result.last_metrics)
    # re-issuing the definition reuses both finished runs
    again = run_scheme(tiny(tiny_bench), out, task="mr", pretrain_task="tad")
    assert again.last_metrics == result.last_metrics


def test_finetune_starts_from_the_pretrained_ema_weights(tiny_bench, tmp_path):
    src = tmp_path / "src"
    run_scheme(tiny(tiny_bench), src, task="tad")
    trainer = Trainer(tiny(tiny_bench), tmp_path / "dst", task="mr", init_from=src)
    expected = weights_from(src)
    for name, value in trainer.model.state_dict().items():
        assert torch.equal(value, expected[name]), name


def test_sweep_cli_writes_mean_and_std(tiny_bench, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", "--config", str(tiny_bench), "--task", "tad", "--seeds", "0", "1", "--out", str(out)]
    argv += ["--no-progress", *[a for item in [*TINY_MODEL, "opt.epochs=1"] for a in ("--set", item)]]
    assert main(argv) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert list(runs["seed"]) == [0, 1]
    summary = pd.read_csv(out / "summary.csv").set_index("metric")
    m = runs["tad/average_mAP"]
    assert summary.loc["tad/average_mAP", "mean"] == pytest.approx(m.mean())
    assert summary.loc["tad/average_mAP", "std"] == pytest.approx(m.std(ddof=1))
    assert "tad/average_mAP" in (out / "summary.md").read_text()
    # different seeds are different runs
    a = torch.load(out / "seed_0" / "checkpoints" / "last.pt", weights_only=True)["model"]
    b = torch.load(out / "seed_1" / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert any(not torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_compare_cli_table(tiny_bench, tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", "--config", str(tiny_bench), "--seeds", "0", "--out", str(out), "--no-progress"]
    argv += [a for item in [*TINY_MODEL, "opt.epochs=1", "data.mr.train_fraction=0.5"] for a in ("--set", item)]
    assert main(argv) == 0
    table = capsys.readouterr().out
    for scheme in ("individual", "co-train random", "co-train sync", "pre-train → fine-tune"):
        assert f"| {scheme} |" in table
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 4 and runs[["tad/average_mAP", "mr/R1@0.30"]].notna().all().all()
    for sub in ("tad_alone", "mr_alone", "random", "sync", "tad_to_mr", "mr_to_tad"):
        assert (out / "seed_0" / sub / "metrics.json").is_file(), sub
