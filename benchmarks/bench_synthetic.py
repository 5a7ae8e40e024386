"""The embedded synthetic benchmark's reference numbers: the default individual trainings (TAD alone, MR alone,
small CPU preset) against the untrained network and the content-blind prior baseline, with wall-clock times.

    python benchmarks/bench_synthetic.py [--out runs/bench_synthetic] [--seed 0]
    python benchmarks/bench_synthetic.py --amp none bf16 --seeds 0 1 2     # bf16 training against float32

Prints a markdown table (validation split, best epoch as the run selects it). With ``--seeds`` or ``--amp`` it
trains TAD alone and MR alone once per precision and run seed and prints mean ± std over the seeds instead
(``--set opt.epochs=4`` shortens every training). Not a test: it measures.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from unimd_lib.config.load import load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.data.synthetic import SyntheticSpec, ensure_generated
from unimd_lib.train.baseline import reference_metrics
from unimd_lib.train.pipeline import run_scheme
from unimd_lib.train.sweep import with_seed

METRICS = ("tad/average_mAP", "tad/mAP@0.50", "mr/R1@0.30", "mr/R1@0.50", "mr/R5@0.50", "mr/mIoU")


def row(name: str, metrics: dict[str, float], seconds: float | None = None) -> str:
    cells = [f"{100 * metrics[m]:.2f}" if m in metrics else "–" for m in METRICS]
    return f"| {name} | " + " | ".join(cells) + f" | {'–' if seconds is None else f'{seconds:.0f} s'} |"


def mean_std_row(name: str, runs: list[dict[str, float]], seconds: list[float]) -> str:
    cells = []
    for m in METRICS:
        values = [100 * r[m] for r in runs if m in r]
        cells.append(
            f"{np.mean(values):.2f} ± {np.std(values, ddof=1) if len(values) > 1 else 0:.2f}" if values else "–"
        )
    return f"| {name} | " + " | ".join(cells) + f" | {np.mean(seconds):.0f} s |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/bench_synthetic")
    p.add_argument("--seed", type=int, default=0, help="seed of the benchmark data (the run seed is the preset's)")
    p.add_argument("--seeds", type=int, nargs="+", help="run seeds: mean ± std over them (default: the preset's)")
    p.add_argument("--amp", nargs="+", default=["none"], choices=("none", "bf16", "fp16"),
                   help="training precisions to run, e.g. 'none bf16' to compare bf16 with float32")  # fmt: skip
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="config override, e.g. opt.epochs=4")
    args = p.parse_args()
    out = Path(args.out)
    config = ensure_generated(out / "data", SyntheticSpec(seed=args.seed))
    cfg = load_config(config, overrides=parse_overrides(args.set))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, threads "
          f"{cfg.run.num_threads or torch.get_num_threads()}")  # fmt: skip
    if args.seeds is None and args.amp == ["none"]:
        return reference_table(cfg, out)
    seeds = args.seeds or [cfg.run.seed]
    print("\n| training | " + " | ".join(METRICS) + " | time |")
    print("|" + "---|" * (len(METRICS) + 2))
    for amp in args.amp:
        c = load_config(config, overrides=parse_overrides([*args.set, f"run.amp={amp}"]))
        for task in ("tad", "mr"):
            runs, seconds = [], []
            for seed in seeds:
                t0 = time.perf_counter()
                result = run_scheme(with_seed(c, seed), out / f"amp_{amp}" / f"seed_{seed}" / f"{task}_alone",
                                    task=task, progress=False)  # fmt: skip
                runs.append(result.best_metrics)
                seconds.append(time.perf_counter() - t0)
            name = f"{task.upper()} alone, {'float32' if amp == 'none' else amp}, seeds {' '.join(map(str, seeds))}"
            print(mean_std_row(name, runs, seconds), flush=True)


def reference_table(cfg, out: Path) -> None:
    """The README's table: prior baseline, untrained network, TAD alone and MR alone (one run each)."""
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
