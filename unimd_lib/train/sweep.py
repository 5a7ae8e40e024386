"""Several seeds of one run definition, and the mean ± std of every metric (CSV + markdown)."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from unimd_lib.config.load import Config
from unimd_lib.formats.files import write_text_atomic
from unimd_lib.train.pipeline import run_scheme


def with_seed(cfg: Config, seed: int) -> Config:
    new = copy.deepcopy(cfg)
    new.run.seed = int(seed)
    new.raw.setdefault("run", {})["seed"] = int(seed)
    return new


def summarize(rows: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Mean, std (sample, ddof=1) and count of every numeric metric column, grouped by ``by``."""
    metrics = [c for c in rows.columns if c not in (*by, "seed") and pd.api.types.is_numeric_dtype(rows[c])]
    groups = rows.groupby(list(by), sort=False) if by else [((), rows)]
    out = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        for m in metrics:
            vals = g[m].dropna()
            out.append(
                {**dict(zip(by, key)), "metric": m, "mean": vals.mean(), "std": vals.std(ddof=1), "n": len(vals)}
            )
    return pd.DataFrame(out)


def markdown_table(summary: pd.DataFrame, by: Sequence[str] = (), metrics: Sequence[str] | None = None) -> str:
    """``mean ± std`` in percent, one row per group and one column per metric."""
    s = summary if metrics is None else summary[summary["metric"].isin(metrics)]
    cell = s.assign(
        value=[f"{100 * m:.2f} ± {100 * (0 if pd.isna(d) else d):.2f}" for m, d in zip(s["mean"], s["std"])]
    )
    if by:
        table = cell.pivot_table(index=list(by), columns="metric", values="value", aggfunc="first", sort=False)
    else:
        table = cell.set_index("metric")[["value"]].T
    cols = list(metrics) if metrics is not None else list(table.columns)
    table = table[[c for c in cols if c in table.columns]]
    header = [*(by or ["run"]), *table.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for idx, row in table.iterrows():
        idx = idx if isinstance(idx, tuple) else (idx,)
        lines.append("| " + " | ".join([*map(str, idx), *row.fillna("–")]) + " |")
    return "\n".join(lines) + "\n"


def sweep(
    cfg: Config,
    out: str | os.PathLike,
    seeds: Sequence[int],
    *,
    task: str = "all",
    sampling: str = "random",
    pretrain_task: str | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Train ``cfg`` once per seed into ``out/seed_<s>`` (resuming finished or interrupted seeds), then write
    ``out/runs.csv`` (one row per seed) and ``out/summary.csv`` / ``out/summary.md`` (mean ± std)."""
    out = Path(out)
    rows = []
    for seed in seeds:
        result = run_scheme(
            with_seed(cfg, seed),
            out / f"seed_{seed}",
            task=task,
            sampling=sampling,
            pretrain_task=pretrain_task,
            progress=progress,
        )
        rows.append({"seed": seed, **result.best_metrics})
    runs = pd.DataFrame(rows)
    summary = summarize(runs)
    write_text_atomic(out / "runs.csv", runs.to_csv(index=False))
    write_text_atomic(out / "summary.csv", summary.to_csv(index=False))
    write_text_atomic(out / "summary.md", markdown_table(summary))
    return summary
