"""Train-step benchmark at the full Charades config on CPU, as in refcases/model/TIMINGS.md.

One step = zero_grad(set_to_none) → forward in train mode (dropout/drop-path ON) → loss 3·TAD + 1·MR →
backward → clip_grad_norm(1.0) → AdamW.step(); batch 2 videos × T=288, both tasks, torch.manual_seed(0) init.
2 warm-ups, 5 measured, median (min). Run: ``python benchmarks/bench_train_step.py [--threads 2] [--bf16]``;
``--bf16`` also times the same step under bf16 autocast (``run.amp=bf16``) and prints the ratio.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np
import torch

from unimd_lib.config.model import ModelConfig, TestConfig, TrainLossConfig
from unimd_lib.data.collate import collate
from unimd_lib.data.record import TaskQueries, VideoQueries
from unimd_lib.model.unimd import UniMD
from unimd_lib.train.optim import clip_grad_l2norm, make_adamw
from unimd_lib.train.runtime import autocast

ORIGINAL_MEDIAN_S = 1.537  # TIMINGS.md, charades, pass 3 (quiet machine)
ORIGINAL_SPLIT_S = (0.437, 0.965, 0.139)  # forward / backward / clip+step


def charades_config() -> ModelConfig:
    return ModelConfig(
        input_dim=2048,
        num_classes=157,
        max_seq_len=288,
        train_cfg=TrainLossConfig(init_loss_norm=100, clip_grad_l2norm=1.0),
        test_cfg=TestConfig(pre_nms_topk=2000, max_seg_num=200, min_score=0.001),
    )


def records(cfg: ModelConfig, batch: int, seed: int = 0) -> list[VideoQueries]:
    rng = np.random.default_rng(seed)
    tad_q = rng.standard_normal((cfg.num_classes, 512)).astype(np.float32)
    tad_q /= np.linalg.norm(tad_q, axis=1, keepdims=True)
    out = []
    for i in range(batch):
        t = cfg.max_seq_len
        feats = rng.standard_normal((cfg.input_dim, t)).astype(np.float32)
        feats /= np.linalg.norm(feats, axis=0, keepdims=True)
        segs = np.sort(rng.uniform(0, t, (5, 2)), axis=1).astype(np.float32)
        tad = TaskQueries(tad_q, [str(k) for k in range(cfg.num_classes)], segs, rng.integers(0, cfg.num_classes, 5))
        n_q = 3
        mr = TaskQueries(
            rng.standard_normal((n_q, 512)).astype(np.float32) / np.sqrt(512),
            [f"q{j}" for j in range(n_q)],
            np.sort(rng.uniform(0, t, (n_q, 2)), axis=1).astype(np.float32),
            np.arange(n_q),
        )
        out.append(VideoQueries(f"v{i}", feats, 24.0, t * 4 / 24, 4.0, 16.0, tad=tad, mr=mr))
    return out


def measure(model, optimizer, batch, cfg: ModelConfig, amp: str, warmup: int, iters: int):
    """Per measured step: total seconds and (forward, backward, clip+step) seconds."""
    totals, splits = [], []
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with autocast(torch.device("cpu"), amp):
            loss = model.loss(batch)["loss"]
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        clip_grad_l2norm(model.parameters(), cfg.train_cfg.clip_grad_l2norm)
        optimizer.step()
        t3 = time.perf_counter()
        if i >= warmup:
            totals.append(t3 - t0)
            splits.append((t1 - t0, t2 - t1, t3 - t2))
    return totals, splits


def report(label: str, totals: list[float], splits: list[tuple[float, float, float]]) -> float:
    med = statistics.median(totals)
    fwd, bwd, step = (statistics.median(s[j] for s in splits) for j in range(3))
    every = ", ".join(f"{t:.3f}" for t in totals)
    print(f"{label}: train step median {med:.3f} s (min {min(totals):.3f}); all: {every}")
    print(f"  forward {fwd:.3f} / backward {bwd:.3f} / clip+step {step:.3f} s")
    return med


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--bf16", action="store_true", help="also time the step under bf16 autocast (run.amp=bf16)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = charades_config()
    model = UniMD(cfg).train()
    optimizer = make_adamw(model, 1e-4, 0.05)
    batch = collate(records(cfg, args.batch), max_seq_len=cfg.max_seq_len, training=True)
    rss_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n_params = sum(p.numel() for p in model.parameters())
    print(f"threads {args.threads}, batch {args.batch} x T={cfg.max_seq_len}, params {n_params:,}")
    med = report("float32", *measure(model, optimizer, batch, cfg, "none", args.warmup, args.iters))
    o = ORIGINAL_SPLIT_S
    print(f"original (TIMINGS.md): {ORIGINAL_MEDIAN_S:.3f} s ({o[0]:.3f} / {o[1]:.3f} / {o[2]:.3f})")
    print(f"speed-up vs the original's median: {ORIGINAL_MEDIAN_S / med:.2f}x")
    if args.bf16:
        med_bf16 = report("bf16 autocast", *measure(model, optimizer, batch, cfg, "bf16", args.warmup, args.iters))
        print(f"bf16 / float32: {med / med_bf16:.2f}x; vs the original's median: {ORIGINAL_MEDIAN_S / med_bf16:.2f}x")
    rss_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS MB: build {rss_build:.0f} / end {rss_end:.0f}")
    print("(wall-clock on a shared machine: other processes inflate single iterations; compare on a quiet one)")


if __name__ == "__main__":
    main()
