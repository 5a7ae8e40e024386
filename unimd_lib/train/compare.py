"""The paper's claim in miniature: individual training vs random co-training vs synchronized co-training vs
pre-training → fine-tuning, for both tasks, over several seeds (spec §7; paper Tables on co-training).

Per seed six trainings: TAD alone, MR alone, random, sync, TAD→MR (fine-tuned from the TAD-alone run) and
MR→TAD (from the MR-alone run). The "individual" row reads TAD from the TAD run and MR from the MR run; the
"pre-train → fine-tune" row reads TAD from MR→TAD and MR from TAD→MR. Every scheme is scored at its last
epoch (no checkpoint selection on the validation split, which would favour whichever metric selects).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from unimd_lib.config.load import Config
from unimd_lib.formats.files import write_text_atomic
from unimd_lib.train.pipeline import run_scheme
from unimd_lib.train.sweep import markdown_table, summarize, with_seed

SCHEMES = ("individual", "co-train random", "co-train sync", "pre-train → fine-tune")


def _task_metrics(metrics: dict[str, float], task: str) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if k.startswith(f"{task}/")}


def compare_schemes(
    cfg: Config, out: str | os.PathLike, seeds: Sequence[int], *, progress: bool | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train every scheme for every seed under ``out`` (resumable) and write ``runs.csv``, ``summary.csv`` and
    ``summary.md``; returns (one row per scheme and seed, mean ± std per scheme and metric)."""
    out = Path(out)
    rows = []
    for seed in seeds:
        c, base = with_seed(cfg, seed), out / f"seed_{seed}"
        c.run.val_every = c.opt.run_epochs  # only the last epoch is compared: validate once, at the end
        tad = run_scheme(c, base / "tad_alone", task="tad", progress=progress)
        mr = run_scheme(c, base / "mr_alone", task="mr", progress=progress)
        rnd = run_scheme(c, base / "random", task="all", sampling="random", progress=progress)
        syn = run_scheme(c, base / "sync", task="all", sampling="sync", progress=progress)
        tad2mr = run_scheme(c, base / "tad_to_mr", task="mr", init_from=tad.run_dir, progress=progress)
        mr2tad = run_scheme(c, base / "mr_to_tad", task="tad", init_from=mr.run_dir, progress=progress)
        pairs = {
            SCHEMES[0]: (tad, mr),
            SCHEMES[1]: (rnd, rnd),
            SCHEMES[2]: (syn, syn),
            SCHEMES[3]: (mr2tad, tad2mr),
        }
        for scheme, (for_tad, for_mr) in pairs.items():
            metrics = {**_task_metrics(for_tad.last_metrics, "tad"), **_task_metrics(for_mr.last_metrics, "mr")}
            rows.append({"scheme": scheme, "seed": seed, **metrics})
    runs = pd.DataFrame(rows)
    summary = summarize(runs, by=["scheme"])
    write_text_atomic(out / "runs.csv", runs.to_csv(index=False))
    write_text_atomic(out / "summary.csv", summary.to_csv(index=False))
    return runs, summary


def comparison_markdown(summary: pd.DataFrame, metrics: Sequence[str]) -> str:
    return markdown_table(summary, by=["scheme"], metrics=metrics)
