"""Ego4D NLQ recall (official ``evaluate_nlq_performance``; METRICS.md §4), vectorised.

* GT window of an entry = ``[clip_start_sec, clip_end_sec]`` of ``nlq_val.json`` keyed by
  ``(clip_uid, annotation_uid, query_idx)``; an entry without GT is an error (the original asserts).
* IoU = inter / (max(ends) - min(starts)) (the hull; both clipped at 0; 0/0 = NaN never hits).
* A hit at (thr, K) needs ``IoU > thr`` (QUIRK: strict) for one of the first K windows; an empty list misses.
* ``R{K}@{thr}`` = hits / number of submitted entries (QUIRK: not the number of GT queries; duplicates count).
* ``mIoU`` = ``np.mean`` of the first window's IoU over the entries with a non-empty list.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from unimd_lib.backend import get_xp
from unimd_lib.errors import DataError
from unimd_lib.eval import _xp

THRESHOLDS = (0.3, 0.5, 0.01)
TOP_K = (1, 3, 5)


@dataclass(frozen=True)
class NLQResult:
    thresholds: tuple[float, ...]
    top_k: tuple[int, ...]
    hits: np.ndarray  # [thr, K] int
    num_entries: int
    num_gt_queries: int
    recall: np.ndarray  # [thr, K] = mean_results of the original
    mIoU: float

    def metrics(self) -> dict[str, float]:
        out = {}
        for i, thr in enumerate(self.thresholds):
            out.update({f"R{k}@{thr:.2f}": float(self.recall[i, j]) for j, k in enumerate(self.top_k)})
        out["mIoU"] = float(self.mIoU)
        return out


def nlq_iou(xp, p_start, p_end, g_start, g_end):
    """Official NLQ IoU: inter / hull (both clipped at 0; 0/0 = NaN, which never hits)."""
    inter = xp.maximum(0.0, xp.minimum(p_end, g_end) - xp.maximum(p_start, g_start))
    union = xp.maximum(0.0, xp.maximum(p_end, g_end) - xp.minimum(p_start, g_start))
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 * inter / union


def nlq_hit(xp, iou, thr: float):
    return iou > thr  # QUIRK: strict


def flatten_windows(submission: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(entry index, rank, start, end) of every predicted window of a submission table."""
    lengths = submission["predicted_times"].map(len).to_numpy(np.int64)
    entry = np.repeat(np.arange(len(submission)), lengths)
    rank = np.arange(len(entry)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    flat = [w for times in submission["predicted_times"] for w in times]
    win = np.asarray(flat, dtype=np.float64).reshape(len(flat), 2) if flat else np.zeros((0, 2))
    return entry, rank, win[:, 0], win[:, 1]


def evaluate_nlq(
    gt: pd.DataFrame,
    submission: pd.DataFrame,
    thresholds=THRESHOLDS,
    top_k=TOP_K,
    backend: str = "numpy",
    source: str | None = None,
) -> NLQResult:
    """``gt``: ``read_nlq_official`` table; ``submission``: ``clip_uid, annotation_uid, query_idx,
    predicted_times`` (one row per submitted entry, in file order)."""
    xp = get_xp(backend)
    thresholds, top_k = tuple(float(t) for t in thresholds), tuple(int(k) for k in top_k)
    n = len(submission)
    print(f"Evaluated: {n} / {len(gt)} instances", file=sys.stderr)
    keys = ["clip_uid", "annotation_uid", "query_idx"]
    gt_index = pd.MultiIndex.from_frame(gt[keys].astype({"query_idx": np.int64}))
    sub_keys = pd.MultiIndex.from_frame(submission[keys].astype({"query_idx": np.int64}))
    gi = gt_index.get_indexer(sub_keys) if n else np.zeros(0, dtype=np.int64)
    if (gi < 0).any():
        bad = submission.iloc[int(np.argmax(gi < 0))]
        raise DataError(
            source,
            f"entry {int(np.argmax(gi < 0))}",
            f"no GT query for clip {bad['clip_uid']}, annotation {bad['annotation_uid']}, query_idx {bad['query_idx']}",
        )
    entry, rank, ws, we = flatten_windows(submission)
    g = gi[entry]
    gs = xp.asarray(gt["t_start"].to_numpy(np.float64)[g])
    ge = xp.asarray(gt["t_end"].to_numpy(np.float64)[g])
    ws, we = xp.asarray(ws), xp.asarray(we)
    iou = nlq_iou(xp, ws, we, gs, ge)
    e, r = xp.asarray(entry), xp.asarray(rank)
    hits = np.zeros((len(thresholds), len(top_k)), dtype=np.int64)
    for i, thr in enumerate(thresholds):
        best = xp.full(n, np.iinfo(np.int64).max, dtype=xp.int64)
        m = nlq_hit(xp, iou, thr)
        _xp.scatter_min(xp, best, e[m], r[m])
        for j, k in enumerate(top_k):
            hits[i, j] = int((best < k).sum())
    first = _xp.host(iou[r == 0])  # one per non-empty entry, entry order
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = hits / np.float64(n)  # = np.mean of the per-entry 0/1 hits (exact integer sums)
        miou = float(np.mean(first)) if len(first) else float("nan")
    return NLQResult(thresholds, top_k, hits, n, len(gt), recall, miou)
