"""Realistic predictions without a model (ground truth jittered, plus duplicates, wrong labels and background
false positives) and a ready-made demo: the synthetic benchmark with such predictions.

    python -m unimd_lib.views.demo /tmp/views_demo      # writes the benchmark, predictions and PNGs
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from unimd_lib.views.tables import ViewTables, tables_from_files


def _clip(s: np.ndarray, e: np.ndarray, duration: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = np.where(np.isfinite(duration), duration, np.maximum(e, 1.0))
    s = np.clip(s, 0.0, np.maximum(d - 0.2, 0.0))
    e = np.clip(np.maximum(e, s + 0.1), 0.0, d)
    return s.astype(np.float32), e.astype(np.float32)


def jittered_tad(gt: pd.DataFrame, class_ids: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Detections from a GT table (``video_id, label_id, t_start, t_end, duration``): per GT a jittered hit
    (p 0.85), a looser duplicate (p 0.3), a wrong-class neighbour (p 0.15) and ~2.5 low-scored segments of its
    class elsewhere; per video ~3 background segments of random classes."""
    rng = np.random.default_rng(seed)
    n = len(gt)
    s, e = gt["t_start"].to_numpy(), gt["t_end"].to_numpy()
    length, dur = e - s, gt["duration"].to_numpy(np.float64)
    parts = []

    def add(mask, jitter, lo, hi, labels):
        k = int(mask.sum())
        js = rng.normal(0, jitter, k) * length[mask]
        je = rng.normal(0, jitter, k) * length[mask]
        ps, pe = _clip(s[mask] + js, e[mask] + je, dur[mask])
        parts.append(
            pd.DataFrame(
                {
                    "video_id": gt["video_id"].to_numpy()[mask],
                    "t_start": ps,
                    "t_end": pe,
                    "label": labels,
                    "score": rng.uniform(lo, hi, k).astype(np.float32),
                }
            )
        )

    lab = gt["label_id"].to_numpy(np.int64)
    for p, jitter, lo, hi, wrong in (
        (0.85, 0.12, 0.45, 0.97, False),
        (0.3, 0.35, 0.2, 0.7, False),
        (0.15, 0.2, 0.15, 0.6, True),
    ):
        m = rng.random(n) < p
        labels = lab[m]
        if wrong:
            labels = rng.choice(class_ids, int(m.sum()))
        add(m, jitter, lo, hi, labels)
    # background: per GT, a few low-scored segments of its class anywhere in the video; per video, random classes
    per_gt = rng.poisson(2.5, n)
    rows = np.repeat(np.arange(n), per_gt)
    videos = gt.drop_duplicates("video_id")
    per_video = rng.poisson(3, len(videos))
    vid = np.r_[gt["video_id"].to_numpy()[rows], np.repeat(videos["video_id"].to_numpy(), per_video)]
    d = np.r_[dur[rows], np.repeat(videos["duration"].to_numpy(np.float64), per_video)]
    labels = np.r_[lab[rows], rng.choice(class_ids, int(per_video.sum()))]
    start = rng.uniform(0, 1, len(vid)) * d
    ps, pe = _clip(start, start + rng.uniform(1, 15, len(vid)), d)
    parts.append(
        pd.DataFrame(
            {
                "video_id": vid,
                "t_start": ps,
                "t_end": pe,
                "label": labels,
                "score": rng.uniform(0.01, 0.5, len(vid)).astype(np.float32),
            }
        )
    )
    out = pd.concat(parts, ignore_index=True)
    out["label"] = out["label"].astype(np.int64)
    out["score"] = out["score"].astype(np.float64)
    return out.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def jittered_mr(queries: pd.DataFrame, seed: int = 0, windows: int = 8) -> pd.DataFrame:
    """Per query ``windows`` ranked windows: one near the GT (p 0.75, often but not always the best scored),
    the others random."""
    rng = np.random.default_rng(seed + 1)
    n = len(queries)
    rep = np.repeat(np.arange(n), windows)
    s, e = queries["t_start"].to_numpy()[rep], queries["t_end"].to_numpy()[rep]
    dur = queries["duration"].to_numpy(np.float64)[rep]
    length = np.maximum(e - s, 0.5)
    near = (np.arange(len(rep)) % windows == 0) & (rng.random(len(rep)) < 0.75)
    jitter = np.where(near, 0.15, 0.0)
    span = np.where(np.isfinite(dur), dur, e + 10)
    rlen = rng.uniform(0.05, 0.3, len(rep)) * span
    rs = rng.uniform(0, 1, len(rep)) * (span - rlen)
    ps = np.where(near, s + rng.normal(0, 1, len(rep)) * jitter * length, rs)
    pe = np.where(near, e + rng.normal(0, 1, len(rep)) * jitter * length, rs + rlen)
    ps, pe = _clip(ps, pe, dur)
    score = np.where(near, rng.uniform(0.4, 0.95, len(rep)), rng.uniform(0.05, 0.8, len(rep)))
    out = pd.DataFrame(
        {
            "video_id": queries["video_id"].to_numpy()[rep],
            "query_index": queries["query_index"].to_numpy()[rep],
            "t_start": ps,
            "t_end": pe,
            "score": score.astype(np.float32).astype(np.float64),
        }
    )
    return out.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def demo_tables(root: str | os.PathLike, *, num_videos: int = 40, seed: int = 0) -> ViewTables:
    """The synthetic benchmark (written to ``root/data`` if absent) with jittered predictions written to
    ``root/predictions/validation_{tad,mr}.csv``, loaded with the synthetic config's protocols (Ego4D MQ + NLQ)."""
    from unimd_lib.data.synthetic import SyntheticSpec, generate
    from unimd_lib.formats.predictions import write_predictions

    root = Path(root)
    data = root / "data"
    if not (data / "tad.json").exists():
        generate(data, SyntheticSpec(seed=seed, num_videos=num_videos, min_len=64, max_len=160))
    files = dict(tad_gt=data / "tad.json", mr_gt=data / "mr_official_validation.json", mr_queries_path=data / "mr.json")
    base = tables_from_files(**files, tad_protocol="ego4d_mq", mr_protocol="ego4d_nlq", split="validation")
    tad = jittered_tad(base.tad.gt_table, np.unique(base.tad.gt.label_id), seed)
    mr = jittered_mr(base.mr.queries, seed)
    pred_dir = root / "predictions"
    write_predictions(tad, pred_dir / "validation_tad.csv", "detection")
    write_predictions(mr, pred_dir / "validation_mr.csv", "sta")
    return tables_from_files(
        **files,
        tad_predictions=pred_dir / "validation_tad.csv",
        mr_predictions=pred_dir / "validation_mr.csv",
        tad_protocol="ego4d_mq",
        mr_protocol="ego4d_nlq",
        split="validation",
    )


def main(argv: list[str] | None = None) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from unimd_lib.views import error_analysis, plot_timeline

    out = Path((argv or sys.argv[1:] or ["views_demo"])[0])
    tables = demo_tables(out)
    video = tables.videos.loc[tables.videos["tad"] & tables.videos["mr"], "video_id"].iloc[0]
    fig = plot_timeline(tables, video, task="tad", top_k=10)
    fig.savefig(out / "timeline_tad.png", dpi=150)
    fig.savefig(out / "timeline_tad.pdf")
    plot_timeline(tables, video, task="mr", top_k=5).savefig(out / "timeline_mr.png", dpi=150)
    report = error_analysis(tables)
    report.fp_profile_figure(backend="matplotlib").savefig(out / "fp_profile.png", dpi=150)
    print(report)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
