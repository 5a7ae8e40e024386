"""Open-vocabulary figures on the synthetic benchmark embedded with the real text encoder (MiniLM): the default
MR training scored on the original validation sentences vs their paraphrases (R1@0.5, top-1 tIoU ≥ 0.5), and the
default TAD training scored on the classes held out of training (zero-shot) vs the seen ones vs the prior
baseline (average mAP, tIoU 0.1:0.5), per benchmark seed.

    python benchmarks/bench_open_vocabulary.py [--seeds 0 1] [--out runs/bench_open_vocabulary] [--set opt.epochs=5]

Prints one markdown row per seed and the mean. Not a test: it measures.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from unimd_lib.config.load import load_config
from unimd_lib.config.overrides import parse_overrides
from unimd_lib.data.synthetic import SyntheticSpec, ensure_generated
from unimd_lib.text import load_text_encoder
from unimd_lib.train.open_vocab import open_vocabulary_report
from unimd_lib.train.pipeline import run_scheme

COLUMNS = ("R1@0.5 original", "R1@0.5 paraphrases", "ratio", "TAD mAP seen", "TAD mAP held-out",
           "prior mAP held-out")  # fmt: skip


def one_seed(seed: int, out: Path, overrides: list[str], encoder, tasks=("mr", "tad")) -> dict[str, float]:
    spec = SyntheticSpec(seed=seed, text_encoder="minilm", held_out=3)
    data = out / f"data_seed{seed}"
    if not (data / "config.yaml").exists():
        from unimd_lib.data.synthetic import generate

        generate(data, spec, encoder=encoder)
    cfg = load_config(ensure_generated(data), overrides=parse_overrides(overrides))
    row: dict[str, float] = {}
    for task in tasks:
        t0 = time.perf_counter()
        result = run_scheme(cfg, out / f"seed{seed}_{task}", task=task, progress=False)
        report = open_vocabulary_report(result.run_dir)
        row[f"{task} seconds"] = time.perf_counter() - t0
        if task == "mr":
            r1 = report["R1@0.5"]
            row |= {"R1@0.5 original": r1["original"], "R1@0.5 paraphrases": r1["paraphrases"],
                    "ratio": r1["paraphrases"] / max(r1["original"], 1e-9)}  # fmt: skip
        else:
            z = report["zero_shot"]
            row |= {"TAD mAP seen": z["model/seen_mAP"], "TAD mAP held-out": z["model/held_out_mAP"],
                    "prior mAP held-out": z["prior_baseline/held_out_mAP"]}  # fmt: skip
    print(json.dumps({"seed": seed, **row}), flush=True)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/bench_open_vocabulary")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--tasks", nargs="+", choices=("mr", "tad"), default=["mr", "tad"])
    p.add_argument("--set", dest="overrides", action="append", default=[], help="config override (key=value)")
    args = p.parse_args()
    out = Path(args.out)
    encoder = load_text_encoder("minilm", output_dim=SyntheticSpec().text_dim)
    rows = {s: one_seed(s, out, args.overrides, encoder, args.tasks) for s in args.seeds}
    columns = [c for c in COLUMNS if c in next(iter(rows.values()))]
    print("\n| seed | " + " | ".join(columns) + " |")
    print("|" + "---|" * (len(columns) + 1))
    for s, r in rows.items():
        print(f"| {s} | " + " | ".join(f"{r[c]:.3f}" for c in columns) + " |")
    mean = {c: float(np.mean([r[c] for r in rows.values()])) for c in columns}
    print("| mean | " + " | ".join(f"{mean[c]:.3f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
