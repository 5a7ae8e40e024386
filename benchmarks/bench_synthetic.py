"""The embedded synthetic benchmark's reference numbers: the default individual trainings (TAD alone, MR alone,
small CPU preset) against the untrained network and the content-blind prior baseline, with wall-clock times.

    python benchmarks/bench_synthetic.py [--out runs/bench_synthetic] [--seed 0]

Prints a markdown table (validation split, best epoch as the run selects it). Not a test: it measures.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from unimd_lib.config.load import load_config
from unimd_lib.data.synthetic import SyntheticSpec, ensure_generated
from unimd_lib.train.baseline import reference_metrics
from unimd_lib.train.pipeline import run_scheme

METRICS = ("tad/average_mAP", "tad/mAP@0.50", "mr/R1@0.30", "mr/R1@0.50", "mr/R5@0.50", "mr/mIoU")


def row(name: str, metrics: dict[str, float], seconds: float | None = None) -> str:
    cells = [f"{100 * metrics[m]:.2f}" if m in metrics else "–" for m in METRICS]
    return f"| {name} | " + " | ".join(cells) + f" | {'–' if seconds is None else f'{seconds:.0f} s'} |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/bench_synthetic")
    p.add_argument("--seed", type=int, default=0, help="seed of the benchmark data (the run seed is the preset's)")
    args = p.parse_args()
    out = Path(args.out)
    config = ensure_generated(out / "data", SyntheticSpec(seed=args.seed))
    cfg = load_config(config)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, threads "
          f"{cfg.run.num_threads or torch.get_num_threads()}")  # fmt: skip
    t0 = time.perf_counter()
    ref = reference_metrics(cfg)
    ref_s = time.perf_counter() - t0
    timed = {}
    for task in ("tad", "mr"):
        t0 = time.perf_counter()
        result = run_scheme(cfg, out / f"{task}_alone", task=task, progress=False)
        timed[task] = (result.best_metrics, time.perf_counter() - t0)
    print("\n| model | " + " | ".join(METRICS) + " | time |")
    print("|" + "---|" * (len(METRICS) + 2))
    print(row("prior baseline (no video)", ref["prior_baseline"]))
    print(row("untrained network", ref["untrained"], ref_s))
    print(row("TAD alone, trained", timed["tad"][0], timed["tad"][1]))
    print(row("MR alone, trained", timed["mr"][0], timed["mr"][1]))


if __name__ == "__main__":
    main()
