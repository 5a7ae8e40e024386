"""Benchmark: inference time and peak memory against video length, sliding windows vs single pass.

    python benchmarks/bench_long_video.py                    # 0.5, 1, 2, 4 h; synthetic preset's small model
    python benchmarks/bench_long_video.py --hours 1 2 4 8    # other lengths

Each measurement runs in a fresh process (peak resident memory is per process): features of the synthetic
benchmark's grid (30 fps, stride 16: 6,750 steps per hour, 64-d), the `synthetic` preset's model (small, 128
channels, window = max_seq_len 256, stride 128) with random weights, TAD with 12 class queries. Sliding windows:
`unimd_lib.model.windows.predict_windows`; single pass: the whole video in one forward (the point buffer is
enlarged to let it). Prints wall-clock seconds, seconds per video hour and peak RSS; numbers depend on the
machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

STEPS_PER_HOUR = 3600 * 30 // 16


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one(hours: float, mode: str) -> dict:
    import numpy as np
    import torch

    from unimd_lib.config.model import ModelConfig
    from unimd_lib.data.collate import collate
    from unimd_lib.data.record import TaskQueries, VideoQueries
    from unimd_lib.model.unimd import UniMD
    from unimd_lib.model.windows import predict_windows

    torch.manual_seed(0)
    length = int(hours * STEPS_PER_HOUR)
    factor = 6.0 if mode == "windows" else 1.1 * length / 256
    model = UniMD(ModelConfig.small(64, 12, 256, max_buffer_len_factor=factor)).eval()
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((64, length)).astype(np.float32)
    feats /= np.linalg.norm(feats, axis=0, keepdims=True)
    queries = rng.standard_normal((12, 128)).astype(np.float32)
    tad = TaskQueries(queries, [str(k) for k in range(12)], np.zeros((0, 2), np.float32), np.zeros(0, np.int64))
    video = VideoQueries("v", feats, 30.0, length * 16 / 30, 16.0, 16.0, tad=tad)
    before = _rss_mb()
    t0 = time.perf_counter()
    with torch.no_grad():
        if mode == "windows":
            dets = predict_windows(model, video)["tad"]
        else:
            dets = model.predict(collate([video], max_seq_len=256, training=False))[0]["tad"]
    seconds = time.perf_counter() - t0
    return {"hours": hours, "mode": mode, "steps": length, "seconds": seconds, "rss_before_mb": before,
            "peak_rss_mb": _rss_mb(), "detections": int(dets.scores.size)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0])
    ap.add_argument("--single-pass-up-to", type=float, default=1.0, help="longest single-pass run (hours)")
    ap.add_argument("--one", nargs=2, metavar=("HOURS", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(float(args.one[0]), args.one[1])))
        return
    import torch

    print(f"torch threads {torch.get_num_threads()}, {os.cpu_count()} CPUs; one process per row")
    print(f"{'mode':10s} {'hours':>6s} {'steps':>7s} {'wall s':>8s} {'s / hour':>9s} {'peak RSS MB':>12s} "
          f"{'(+ inference)':>13s} {'detections':>10s}")  # fmt: skip
    rows = [(h, "windows") for h in args.hours] + [(h, "single") for h in args.hours if h <= args.single_pass_up_to]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for hours, mode in rows:
        out = subprocess.run([sys.executable, __file__, "--one", str(hours), mode], env=env, capture_output=True,
                             text=True, check=True)  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{mode:10s} {hours:6.2f} {r['steps']:7d} {r['seconds']:8.2f} {r['seconds'] / hours:9.2f} "
            f"{r['peak_rss_mb']:12.0f} {r['peak_rss_mb'] - r['rss_before_mb']:13.0f} {r['detections']:10d}"
        )


if __name__ == "__main__":
    main()
