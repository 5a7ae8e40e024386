"""Prediction throughput at the full Charades config on CPU: ``predict_dataset`` (what ``unimd predict`` runs),
against the original's inference + NMS time per video (``refcases/model/TIMINGS.md``: 0.240 s, batch 1,
T = 288, TAD + MR, torch-init weights, 2 threads).

    python benchmarks/bench_predict.py [--videos 64] [--batch-size 8] [--threads 2] [--bf16]

Random-init weights (``torch.manual_seed(0)``) and random features of the released shape ([2048, T], T ≤ 288),
157 TAD classes and 1–6 MR queries per video. Three paths over the same videos:

* ``one video at a time``: one forward + post-processing per video under ``torch.no_grad`` (``model.predict`` on
  a batch of one: the original's evaluation loop);
* ``predict_dataset``: batches of ``--batch-size`` videos under ``torch.inference_mode``, decoding and NMS of the
  whole batch at once; its tables must equal the first path's (checked: same rows, labels and order, times and
  scores within 1e-5, as float32 matrix products round differently for another batch size; with
  ``--batch-size 1`` they are bit-identical; the number of bit-identical values is printed);
* with ``--bf16``: ``predict_dataset(amp="bf16")``: speed ratio against float32 and how far its detections move.

It also prints the compute floor: the forward's arithmetic per video (matrix products and convolutions, counted
by ``torch.utils.flop_counter``) over the rate of a large float32 matrix product on the same threads, i.e. the
time per video if every FLOP ran at that rate, and so the best ratio against the original float32 can reach here.

Prints measured wall-clock numbers; on a shared machine other jobs inflate them.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from unimd_lib.config.model import ModelConfig  # noqa: E402
from unimd_lib.data.collate import collate  # noqa: E402
from unimd_lib.data.record import TaskQueries, VideoQueries  # noqa: E402
from unimd_lib.model.unimd import UniMD  # noqa: E402
from unimd_lib.train.predict import MR_COLUMNS, TAD_COLUMNS, detection_columns, predict_dataset, table  # noqa: E402

ORIGINAL_S_PER_VIDEO = 0.240  # TIMINGS.md, charades, inference + NMS, torch-init weights, pass 3 (quiet machine)
KEYS = {"tad": ["video_id", "label"], "mr": ["video_id", "query_index"]}


def charades_config() -> ModelConfig:
    """The full Charades I3D model (92.3 M parameters) with its test settings (preset ``charades_i3d``)."""
    from unimd_lib.config.load import load_config

    return load_config("charades_i3d").model


class Videos(list):
    """Records in memory, shaped like the ``VideoDataset`` that ``predict_dataset`` reads."""

    def __init__(self, records: list[VideoQueries], max_seq_len: int):
        super().__init__(records)
        self.cfg = SimpleNamespace(max_seq_len=max_seq_len)
        self.tad = self.mr = True
        self.split = "random"


def random_videos(cfg: ModelConfig, n: int, seed: int = 0) -> Videos:
    rng = np.random.default_rng(seed)
    classes = rng.standard_normal((cfg.num_classes, 512)).astype(np.float32)
    classes /= np.linalg.norm(classes, axis=1, keepdims=True)
    names = [str(k) for k in range(cfg.num_classes)]
    out = []
    for i in range(n):
        t = int(rng.integers(cfg.max_seq_len // 3, cfg.max_seq_len + 1))
        feats = rng.standard_normal((cfg.input_dim, t)).astype(np.float32)
        q = int(rng.integers(1, 7))
        mr = TaskQueries(
            rng.standard_normal((q, 512)).astype(np.float32) / np.sqrt(512), [f"q{j}" for j in range(q)],
            np.zeros((q, 2), np.float32), np.arange(q),
        )  # fmt: skip
        tad = TaskQueries(classes, names, np.zeros((1, 2), np.float32), np.zeros(1, np.int64))
        out.append(VideoQueries(f"v{i:04d}", feats, 24.0, t * 4 / 24, 4.0, 16.0, tad=tad, mr=mr))
    return Videos(out, cfg.max_seq_len)


def one_at_a_time(model: UniMD, videos: Videos) -> dict[str, pd.DataFrame]:
    """The unbatched path: a forward and post-processing per video."""
    parts: dict[str, list] = {"tad": [], "mr": []}
    with torch.no_grad():
        for v in videos:
            batch = collate([v], max_seq_len=videos.cfg.max_seq_len, training=False)
            for task, kept in model.detect(batch).items():
                parts[task].append(detection_columns([v], task, kept))
    return {"tad": table(parts["tad"], TAD_COLUMNS), "mr": table(parts["mr"], MR_COLUMNS)}


def forward_flops(model: UniMD, videos: Videos, batch_size: int) -> int:
    """FLOPs of the forward passes ``predict_dataset`` makes over ``videos`` (matrix products and convolutions)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        for i in range(0, len(videos), batch_size):
            model(collate(videos[i : i + batch_size], max_seq_len=videos.cfg.max_seq_len, training=False))
    return counter.get_total_flops()


def matmul_rate(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of an n × n × n matrix product in ``dtype`` on the current threads (best of ``repeats``)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best


def _seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def timed(fn, repeats: int):
    """(last result, median wall seconds, median process CPU seconds) of ``repeats`` runs after a warm-up run."""
    out, times = fn(), []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    wall, cpu = np.median(np.array(times), axis=0)
    return out, float(wall), float(cpu)


def compare(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame], tol: float) -> tuple[bool, str]:
    """Same rows, ids and order; times and scores within ``tol`` (relative + absolute); how many bit-identical."""
    notes, ok = [], True
    for task, w in want.items():
        g = got[task]
        same_rows = len(g) == len(w) and all((g[k].to_numpy() == w[k].to_numpy()).all() for k in KEYS[task])
        if not same_rows:
            ok = False
            notes.append(f"{task}: {len(g)} rows vs {len(w)}, ids or order differ")
            continue
        vals = ["t_start", "t_end", "score"]
        a, b = g[vals].to_numpy(np.float64), w[vals].to_numpy(np.float64)
        diff = np.abs(a - b)
        ok &= bool((diff <= tol + tol * np.abs(b)).all())
        notes.append(f"{task}: {len(w)} rows, max |diff| {diff.max(initial=0):.2g}, bit-identical {int((a == b).sum())}"
                     f"/{a.size} values")  # fmt: skip
    return ok, "; ".join(notes)


def drift(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> str:
    """How far bf16 detections are from float32 ones: rows, and agreement of each video's top detection."""
    notes = []
    for task, w in want.items():
        g = got[task]
        key = KEYS[task]
        top_w = w.groupby(key, sort=False).head(1).set_index(key)
        top_g = g.groupby(key, sort=False).head(1).set_index(key)
        both = top_w.merge(top_g, left_index=True, right_index=True, suffixes=("_f32", "_bf16"))
        close = (np.abs(both["t_start_f32"] - both["t_start_bf16"]) < 0.5) & (
            np.abs(both["t_end_f32"] - both["t_end_bf16"]) < 0.5
        )
        notes.append(f"{task}: {len(g)} rows vs {len(w)}; top detection per {'/'.join(key)} within 0.5 s in "
                     f"{int(close.sum())}/{len(top_w)}, score |diff| median "
                     f"{float(np.median(np.abs(both['score_f32'] - both['score_bf16']))):.2g}")  # fmt: skip
    return "; ".join(notes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs after one warm-up run (median)")
    ap.add_argument("--bf16", action="store_true", help="also time predict_dataset(amp='bf16')")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = charades_config()
    model = UniMD(cfg).eval()
    videos = random_videos(cfg, args.videos)
    n = len(videos)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {args.threads} threads; "
          f"{n} videos, T <= {cfg.max_seq_len}, {cfg.num_classes} classes, "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")  # fmt: skip
    single, t_single, c_single = timed(lambda: one_at_a_time(model, videos), args.repeats)

    def batched(amp="none"):
        return predict_dataset(model, videos, torch.device("cpu"), batch_size=args.batch_size, amp=amp, progress=False)

    preds, t_batch, c_batch = timed(batched, args.repeats)
    ok, note = compare(preds, single, 1e-5)
    print(f"\n{'path':<40} {'s/video':>8} {'videos/s':>9} {'vs original':>12} {'CPU s/video':>12}")
    rows = [("original (TIMINGS.md, batch 1)", ORIGINAL_S_PER_VIDEO, None),
            ("one video at a time", t_single / n, c_single / n),
            (f"predict_dataset, batch {args.batch_size}", t_batch / n, c_batch / n)]  # fmt: skip
    if args.bf16:
        bf16, t_bf16, c_bf16 = timed(lambda: batched("bf16"), args.repeats)
        rows.append((f"predict_dataset, batch {args.batch_size}, bf16", t_bf16 / n, c_bf16 / n))
    for name, s, c in rows:
        cpu = "" if c is None else f"{c:12.3f}"
        print(f"{name:<40} {s:8.3f} {1 / s:9.2f} {ORIGINAL_S_PER_VIDEO / s:11.2f}x {cpu}")
    print(f"\nbatched == one at a time: {ok} ({note})")
    if args.bf16:
        print(f"bf16 / float32 (batched): speed {t_batch / t_bf16:.2f}x wall, {c_batch / c_bf16:.2f}x CPU time; "
              f"{drift(bf16, preds)}")  # fmt: skip
    print("(medians; CPU s/video is process CPU time over all threads, less disturbed than wall-clock by other jobs;"
          " the original's figure is wall-clock on a quiet machine)")  # fmt: skip
    flops = forward_flops(model, videos, args.batch_size) / n
    rate = matmul_rate(torch.float32)
    print(f"compute floor: {flops / 1e9:.2f} GFLOP per video (forward, batch {args.batch_size}); float32 matrix "
          f"product {rate / 1e9:.0f} GFLOP/s here (2048³, best of 5) → {flops / rate:.3f} s/video if every FLOP ran "
          f"at that rate, i.e. at most {ORIGINAL_S_PER_VIDEO * rate / flops:.2f}x the original in float32; bf16 "
          f"matrix product {matmul_rate(torch.bfloat16) / 1e9:.0f} GFLOP/s")  # fmt: skip
    if not ok:
        raise SystemExit("batched predictions differ from one-at-a-time predictions")


if __name__ == "__main__":
    main()
